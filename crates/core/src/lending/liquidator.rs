//! Liquidators: watch every position of one market at this block's oracle prices, repay the
//! debt of those under water with their own capital (the close factor and the dust rule
//! applied as the venue applies them), and sell the seized collateral: on the pools, through the
//! best route, as ordinary public transactions the next block (sandwichable, ordered by the
//! policy, linked to the liquidation in cascades), or on the CEX at the external price (the
//! counterfactual that moves no pool).

use bevy_ecs::prelude::*;
use meshsim_math::U256;
use meshsim_math::lending::WAD;
use meshsim_scenario::{AgentKind, MarketId, OracleKind, PoolId, Sale, TokenId};
use smallvec::SmallVec;

use super::Lending;
use super::book::MarketState;
use crate::agents::{AgentMeta, MarketView, PendingTxs, ViewParams, spawn_agent};
use crate::engine::{App, Fresh, Phase, State, shared};
use crate::ledger::{Ledger, Special};
use crate::market::ExternalPrices;
use crate::pools::routing::{RouteTable, route};
use crate::pools::{PoolBook, Pools, Provenance};
use crate::tx::{Action, Cause, Lend, LendOp, PositionId, Receipts, Sender, Swap, Tx, TxId, TxKind};
use crate::{SimConfig, SimError, SimStatus};

/// Collateral waiting to be sold: what, how much, for which token, and the liquidation it came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Seized {
    /// Collateral token.
    pub token: TokenId,
    /// Amount, base units.
    pub amount: u128,
    /// Token to sell it for (the debt token repaid).
    pub into: TokenId,
    /// The liquidation (or failed sale) it came from.
    pub cause: TxId,
}

/// A liquidator's configuration and its collateral to sell.
#[derive(Component, Debug, Clone)]
pub struct Liquidator {
    /// Market watched.
    pub market: MarketId,
    /// Minimum profit net of gas, numeraire.
    pub min_profit: f64,
    /// Where it sells.
    pub sell: Sale,
    /// Liquidates with flash loans, selling in the same transaction.
    pub flash: bool,
    /// Priority fee bid, wei per gas.
    pub priority_fee_wei: u128,
    /// Collateral to sell next block.
    pub to_sell: Vec<Seized>,
    /// Pools that read into the market's oracles, with their windows (for causes).
    pub twap_sources: Vec<(PoolId, u64)>,
}

/// Routes between the tokens of the lending markets, shared by liquidators and borrowers.
#[derive(Component, Debug, Clone, Default)]
pub struct LendingRoutes {
    /// Candidate paths.
    pub table: RouteTable,
    /// Every pool, sorted (liquidators may use any).
    pub venues: Vec<PoolId>,
}

/// Spawns the world's liquidators and registers their systems.
pub(super) fn build(app: &mut App<'_>) -> Result<(), SimError> {
    let s = app.scenario;
    let mut any = false;
    for a in &s.agents {
        let AgentKind::Liquidator { market, min_profit, sell, flash } = a.kind else { continue };
        let twap_sources = twap_sources(s, market);
        let cfg = Liquidator {
            market,
            min_profit,
            sell,
            flash,
            priority_fee_wei: a.priority_fee_wei,
            to_sell: Vec::new(),
            twap_sources,
        };
        spawn_agent(app, a, "liquidator")?.insert(cfg);
        any = true;
    }
    if any {
        app.add_systems(Phase::Decide, decide_liquidations);
        app.add_systems(Phase::Account, collect_seized);
    }
    Ok(())
}

/// Routes between every lending market's tokens through every pool.
pub(super) fn routes(app: &App<'_>) -> LendingRoutes {
    let mut tokens: Vec<TokenId> =
        app.scenario.lending.iter().flat_map(|m| m.reserves.iter().map(|r| r.token)).collect();
    tokens.sort_unstable();
    tokens.dedup();
    let pools = app.state::<Pools>();
    LendingRoutes {
        table: RouteTable::new(&pools.entries, &tokens, 2),
        venues: pools.entries.iter().map(|e| e.id).collect(),
    }
}

/// The pools a market's TWAP oracles read, with their windows.
pub(super) fn twap_sources(s: &meshsim_scenario::Scenario, market: MarketId) -> Vec<(PoolId, u64)> {
    s.lending
        .get(market.0 as usize)
        .into_iter()
        .flat_map(|m| m.reserves.iter().filter_map(|r| r.oracle))
        .filter_map(|o| match s.oracles.get(o.index())?.kind {
            OracleKind::Twap { pool, window_blocks } => Some((pool, window_blocks)),
            OracleKind::Push { .. } => None,
        })
        .collect()
}

/// Why a liquidation is possible now: the transactions that moved the pools the market's TWAP
/// oracles read over their windows, or (push oracles) the external price.
pub fn liquidation_cause(sources: &[(PoolId, u64)], provenance: &Provenance, block: u64) -> Cause {
    let mut movers: SmallVec<[TxId; 16]> = SmallVec::new();
    for (pool, window) in sources {
        movers.extend(provenance.moved_between(*pool, block.saturating_sub(*window), block));
    }
    movers.sort_unstable();
    movers.dedup();
    if movers.is_empty() { Cause::External } else { Cause::Moves(movers.into_iter().rev().take(8).collect()) }
}

/// Pure policy: sell what was seized (pool sellers), then liquidate every position under water
/// that pays at least the minimum profit with the capital left, writing transactions to `out`.
pub fn plan_liquidations<B: PoolBook + ?Sized>(
    view: &MarketView<'_, B>,
    market: &MarketState,
    routes: &LendingRoutes,
    me: &AgentMeta,
    cfg: &Liquidator,
    out: &mut Vec<Tx>,
) {
    let sender = Sender::Agent(me.id);
    let seq = |out: &Vec<Tx>| out.len() as u32;
    if cfg.sell == Sale::Pools {
        for s in &cfg.to_sell {
            let amount = s.amount.min(view.balance(me.account, s.token));
            if amount == 0 {
                continue;
            }
            let routed = route(view.pools, &routes.table, &routes.venues, s.token, s.into, amount, false);
            let Some(r) = routed.into_iter().next() else { continue };
            // a liquidator dumps, but not at any price: 2 % below the quote at most
            let min_out = r.amount_out / 100 * 98;
            let mut tx = Tx::new(
                sender,
                seq(out),
                TxKind::CollateralSale,
                cfg.priority_fee_wei,
                Swap::new(r.path, r.amount_in, min_out).into(),
                view.block + 2,
            );
            tx.cause = Cause::Moves(smallvec::smallvec![s.cause]);
            out.push(tx);
        }
    }
    let gas_units = view.gas.base_tx + view.gas.liquidation;
    let gas_value = view.gas_fee_value(gas_units, cfg.priority_fee_wei);
    let mut spent: SmallVec<[(TokenId, u128); 4]> = SmallVec::new();
    let native_gas = view.gas_fee_wei(gas_units, cfg.priority_fee_wei);
    let mut gas_left = view.balance(me.account, view.native);
    for (k, p) in market.positions.iter().enumerate() {
        if p.lines.iter().all(|l| l.scaled_debt.is_zero()) {
            continue;
        }
        let Ok(data) = market.account_at(PositionId(k as u32), view.block) else { continue };
        if data.health >= WAD {
            continue;
        }
        // the largest debt it can repay and the largest collateral
        let value_of = |r: usize, amount: U256| -> f64 {
            let rs = &market.reserves[r];
            view.prices.value(rs.spec.token, u128::try_from(amount).unwrap_or(u128::MAX))
        };
        let mut best_debt: Option<(usize, f64, u128)> = None;
        let mut best_coll: Option<(usize, f64)> = None;
        for (r, (l, rs)) in p.lines.iter().zip(&market.reserves).enumerate() {
            let idx = &rs.reserve;
            if !l.scaled_debt.is_zero() {
                let owed = meshsim_math::lending::ray_mul(l.scaled_debt, idx.variable_borrow_index).unwrap_or_default();
                let used = spent.iter().find(|(t, _)| *t == rs.spec.token).map_or(0, |(_, v)| *v);
                let available = view.balance(me.account, rs.spec.token).saturating_sub(used);
                let v = value_of(r, owed);
                if (available > 0 || cfg.flash) && best_debt.is_none_or(|(_, bv, _)| v > bv) {
                    best_debt = Some((r, v, available));
                }
            }
            if l.collateral && !l.scaled_supply.is_zero() && rs.spec.liquidation_threshold_bps != 0 {
                let held = meshsim_math::lending::ray_mul(l.scaled_supply, idx.liquidity_index).unwrap_or_default();
                let v = value_of(r, held);
                if best_coll.is_none_or(|(_, bv)| v > bv) {
                    best_coll = Some((r, v));
                }
            }
        }
        if cfg.flash {
            if let (Some((d, _, _)), Some((c, _))) = (best_debt, best_coll)
                && let Some(tx) = flash_liquidation(view, market, routes, cfg, sender, seq(out), k, c, d, gas_left)
            {
                // (it checked that it can pay its own, larger, gas)
                gas_left = gas_left.saturating_sub(native_gas);
                out.push(tx);
            }
            continue;
        }
        let (Some((d, _, available)), Some((c, _))) = (best_debt, best_coll) else { continue };
        let Ok(terms) = market.liquidation_terms(&market.reserves, &p.lines, c, d, U256::from(available)) else {
            continue;
        };
        let s = terms.seizure;
        let repaid = u128::try_from(s.debt_repaid).unwrap_or(u128::MAX);
        // debt grows between this plan and the block's execution: cover a little more than
        // planned (the venue caps it at the close factor), or a full liquidation would leave a
        // few base units behind and trip the dust rule
        let cover = repaid.saturating_add(repaid / 1_000 + 1).min(available);
        let got = u128::try_from(s.collateral_to_liquidator).unwrap_or(u128::MAX);
        let (debt_token, coll_token) = (market.reserves[d].spec.token, market.reserves[c].spec.token);
        let profit = view.prices.value(coll_token, got) - view.prices.value(debt_token, repaid) - gas_value;
        if profit < cfg.min_profit || gas_left < native_gas {
            continue;
        }
        gas_left -= native_gas;
        match spent.iter_mut().find(|(t, _)| *t == debt_token) {
            Some(e) => e.1 += cover,
            None => spent.push((debt_token, cover)),
        }
        let op = LendOp::Liquidate {
            user: PositionId(k as u32),
            collateral: coll_token,
            debt: debt_token,
            debt_to_cover: cover,
        };
        let lend = Lend::new(market.id, op);
        let mut tx = Tx::new(sender, seq(out), TxKind::Liquidation, cfg.priority_fee_wei, lend.into(), view.block);
        tx.cause = liquidation_cause(&cfg.twap_sources, view.provenance, view.block);
        out.push(tx);
    }
}

/// A flash liquidation of position `k` (debt reserve `d`, collateral `c`) if its sale on the best
/// route repays the loan and its premium with at least the minimum profit to spare.
#[expect(clippy::too_many_arguments, reason = "the policy's inputs, passed apart to keep it pure")]
fn flash_liquidation<B: PoolBook + ?Sized>(
    view: &MarketView<'_, B>,
    market: &MarketState,
    routes: &LendingRoutes,
    cfg: &Liquidator,
    sender: Sender,
    seq: u32,
    k: usize,
    c: usize,
    d: usize,
    gas_left: u128,
) -> Option<Tx> {
    let p = &market.positions[k];
    let terms = market.liquidation_terms(&market.reserves, &p.lines, c, d, U256::from(u128::MAX)).ok()?;
    let repaid = u128::try_from(terms.seizure.debt_repaid).ok()?;
    let seized = u128::try_from(terms.seizure.collateral_to_liquidator).ok()?;
    let (debt_token, coll_token) = (market.reserves[d].spec.token, market.reserves[c].spec.token);
    let routed = route(view.pools, &routes.table, &routes.venues, coll_token, debt_token, seized, false);
    let r = routed.into_iter().next()?;
    let premium = repaid * crate::tx::FLASH_PREMIUM_BPS / 10_000;
    let gas_units = view.gas.base_tx
        + view.gas.liquidation
        + r.path.iter().filter_map(|l| view.pools.pool(l.pool)).map(|e| view.hop_gas(e, 0)).sum::<u64>();
    let spare = r.amount_out.checked_sub(repaid.saturating_add(premium))?;
    let profit = view.prices.value(debt_token, spare) - view.gas_fee_value(gas_units, cfg.priority_fee_wei);
    if profit < cfg.min_profit || gas_left < view.gas_fee_wei(gas_units, cfg.priority_fee_wei) {
        return None;
    }
    // as with its own capital: cover a little more than planned for the block's interest
    let op = LendOp::Liquidate {
        user: PositionId(k as u32),
        collateral: coll_token,
        debt: debt_token,
        debt_to_cover: repaid.saturating_add(repaid / 1_000 + 1),
    };
    // the sale may come in below the quote by the slippage the pools allow a liquidator
    let min_profit = spare / 2;
    let flash = crate::tx::FlashLiquidate { lend: Lend::new(market.id, op), sell: r.path, min_profit };
    let mut tx = Tx::new(
        sender,
        seq,
        TxKind::Liquidation,
        cfg.priority_fee_wei,
        Action::FlashLiquidate(Box::new(flash)),
        view.block,
    );
    tx.cause = liquidation_cause(&cfg.twap_sources, view.provenance, view.block);
    Some(tx)
}

/// Decide phase: each liquidator's sales and liquidations for this block.
fn decide_liquidations(
    view: ViewParams,
    lending: State<(&Lending, &LendingRoutes)>,
    mut agents: Fresh<(&AgentMeta, &mut Liquidator, &mut PendingTxs)>,
) {
    let (lending, routes) = shared(lending);
    view.with_view(|v| {
        for (me, mut cfg, mut out) in &mut agents {
            if me.chain != v.chain {
                continue;
            }
            let Some(market) = lending.markets.get(cfg.market.0 as usize) else { continue };
            plan_liquidations(v, market, routes, me, &cfg, &mut out.0);
            cfg.to_sell.clear();
        }
    });
}

/// Account phase: each liquidator learns what its liquidations seized (and which sales failed,
/// to try again); CEX sellers sell at once at the external price.
fn collect_seized(
    state: State<(&Receipts, &ExternalPrices, &SimConfig, &mut Ledger, &mut SimStatus)>,
    mut agents: Fresh<(&AgentMeta, &mut Liquidator)>,
) {
    let (receipts, prices, config, mut ledger, mut status) = shared(state);
    let cex = config.layout.special(Special::Cex);
    for (me, mut cfg) in &mut agents {
        for r in receipts.items.iter().filter(|r| r.tx.sender == Sender::Agent(me.id)) {
            match (&r.tx.kind, r.succeeded()) {
                (TxKind::Liquidation, true) => {
                    let (Some(e), crate::tx::Action::Lend(l)) = (r.lend(), &r.tx.action) else { continue };
                    let LendOp::Liquidate { collateral, debt, .. } = l.op else { continue };
                    if e.seized == 0 {
                        continue;
                    }
                    if cfg.sell == Sale::Cex {
                        let back = meshsim_math::f64_to_u128(
                            meshsim_math::u128_to_f64(e.seized) * prices.rate(collateral, debt),
                        );
                        // the CEX takes the collateral at the external price; nothing on chain moves
                        let sold = ledger
                            .transfer(me.account, cex, collateral, e.seized)
                            .and_then(|_| ledger.transfer(cex, me.account, debt, back));
                        if let Err(e) = sold
                            && status.failure.is_none()
                        {
                            status.failure = Some(SimError::Lending {
                                market: format!("{}", cfg.market.0),
                                reason: format!("{}'s CEX sale of seized collateral failed: {e}", me.name),
                            });
                        }
                    } else {
                        cfg.to_sell.push(Seized { token: collateral, amount: e.seized, into: debt, cause: r.tx.id });
                    }
                }
                (TxKind::CollateralSale, false) => {
                    let Some(s) = r.tx.swap() else { continue };
                    let cause = r.tx.cause.parents().first().copied().unwrap_or(r.tx.id);
                    cfg.to_sell.push(Seized { token: s.token_in(), amount: s.amount_in, into: s.token_out(), cause });
                }
                _ => {}
            }
        }
    }
}
