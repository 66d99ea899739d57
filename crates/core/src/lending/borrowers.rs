//! Leveraged borrowers: one agent stands for a population of leveraged longs sharing a wallet.
//! New positions arrive at Poisson times; each supplies collateral, borrows a share of the
//! loan-to-value in the debt token and buys more collateral with it on the pools, and supplies
//! what it bought the next block (one turn of the leverage loop). A position whose health falls
//! below its floor withdraws some collateral, sells it and repays: three transactions in one
//! block, in order, the sale on the same pools everyone trades (so deleveraging moves prices as
//! liquidations do).

use bevy_ecs::prelude::*;
use meshsim_math::U256;
use meshsim_math::lending::{WAD, ray_mul, value_in_base};
use meshsim_scenario::{MarketId, TokenId};
use rand_chacha::ChaCha12Rng;
use rand_distr::{Distribution, Exp1, Poisson};

use super::Lending;
use super::book::{MarketState, Owner};
use super::liquidator::{LendingRoutes, liquidation_cause};
use crate::agents::{AgentMeta, MarketView, PendingTxs, ViewParams};
use crate::engine::{Fresh, State, shared};
use crate::pools::PoolBook;
use crate::pools::routing::route;
use crate::tx::{Action, Cause, Lend, LendOp, Receipts, Sender, Swap, Tx, TxKind};

/// A population of leveraged borrowers and its own state.
#[derive(Component, Debug, Clone)]
pub struct Borrowers {
    /// Market.
    pub market: MarketId,
    /// Collateral token.
    pub collateral: TokenId,
    /// Debt token.
    pub debt: TokenId,
    /// New positions a day.
    pub arrivals_per_day: f64,
    /// Mean collateral of a new position, base units.
    pub mean_collateral: u128,
    /// Share of the reserve's loan-to-value borrowed.
    pub target_ltv: f64,
    /// Health floor.
    pub deleverage_below: f64,
    /// Slippage tolerance of its swaps.
    pub slippage: f64,
    /// Priority fee bid, wei per gas.
    pub priority_fee_wei: u128,
    /// Positions opened so far (cohort indexes `0..opened`).
    pub opened: u32,
    /// Collateral bought last block to supply now: (position, amount).
    pub to_supply: Vec<(u32, u128)>,
    /// This block's purchases: (sequence number, position), matched to their receipts.
    pub buying: Vec<(u32, u32)>,
    /// Its own random stream (arrivals and sizes).
    pub rng: ChaCha12Rng,
    /// Pools that read into the market's oracles (for causes).
    pub twap_sources: Vec<(meshsim_scenario::PoolId, u64)>,
}

impl Borrowers {
    /// Where its random stream stands (the digest).
    pub fn rng_word_pos(&self) -> u128 {
        self.rng.get_word_pos()
    }
}

/// How much of the collateral a position under its floor withdraws and sells: enough to bring
/// it back above the floor if the sale repaid at the oracle price, at most what keeps its health
/// at 1.02 after the withdrawal (the venue refuses to go below 1), never below zero.
pub fn deleverage_amount(collateral_value: f64, debt_value: f64, threshold: f64, floor: f64) -> f64 {
    if debt_value <= 0.0 || threshold <= 0.0 {
        return 0.0;
    }
    // (C - w) t / (D - w) = floor  =>  w = (floor D - C t) / (floor - t)
    let to_floor = (floor * 1.05 * debt_value - collateral_value * threshold) / (floor * 1.05 - threshold);
    // (C - w) t / D >= 1.02  =>  w <= C - 1.02 D / t
    let room = collateral_value - 1.02 * debt_value / threshold;
    to_floor.min(room).max(0.0)
}

/// Pure policy: supply last block's purchases, deleverage positions under their floor, and open
/// the positions that arrive, writing transactions to `out` in execution order.
pub fn plan_borrowers<B: PoolBook + ?Sized>(
    view: &MarketView<'_, B>,
    market: &MarketState,
    routes: &LendingRoutes,
    me: &AgentMeta,
    cfg: &mut Borrowers,
    elapsed: f64,
    out: &mut Vec<Tx>,
) {
    let (Some(c), Some(d)) = (market.reserve_of(cfg.collateral), market.reserve_of(cfg.debt)) else { return };
    let (sender, fee, market_id) = (Sender::Agent(me.id), cfg.priority_fee_wei, cfg.market);
    let tx = |out: &Vec<Tx>, kind, action: Action, cause: Cause| {
        let mut t = Tx::new(sender, out.len() as u32, kind, fee, action, view.block);
        t.cause = cause;
        t
    };
    let lend = |k: u32, op: LendOp| Action::Lend(Lend { market: market_id, op, on_behalf: Some(k) });
    let mut idle = view.balance(me.account, cfg.collateral);
    // 1. what was bought last block goes in as collateral (those positions wait a block before
    //    they borrow again)
    let supplying: smallvec::SmallVec<[u32; 16]> = cfg.to_supply.iter().map(|(k, _)| *k).collect();
    for (k, amount) in std::mem::take(&mut cfg.to_supply) {
        let amount = amount.min(idle);
        if amount > 0 {
            idle -= amount;
            let t =
                tx(out, TxKind::Lending, lend(k, LendOp::Supply { token: cfg.collateral, amount }), Cause::Schedule);
            out.push(t);
        }
    }
    // 2. positions under their floor sell some collateral and repay
    let cr = &market.reserves[c];
    let dr = &market.reserves[d];
    let threshold = f64::from(cr.spec.liquidation_threshold_bps) / 1e4;
    let floor = WAD * U256::from((cfg.deleverage_below * 1e4) as u64) / U256::from(10_000u32);
    // the debt a position aims at, in base currency, for its collateral's value
    let share = U256::from((f64::from(cr.spec.ltv_bps) * cfg.target_ltv) as u64);
    let aim = |collateral_base: U256| collateral_base * share / U256::from(10_000u32);
    let unit = U256::from(10u8).pow(U256::from(dr.decimals));
    let to_debt_tokens =
        |base: U256| if dr.price.is_zero() { 0 } else { u128::try_from(base * unit / dr.price).unwrap_or(0) };
    let mut relevered = 0;
    for k in 0..cfg.opened {
        let Some(id) = market.position_of(Owner::Cohort(me.id, k)) else { continue };
        let Ok(data) = market.account_at(id, view.block) else { continue };
        if data.debt.is_zero() {
            continue;
        }
        if data.health >= floor {
            // the leverage loop, one turn a block: borrow up to the aim and buy more collateral,
            // a few positions a block
            let room = aim(data.collateral).saturating_sub(data.debt);
            let pending = supplying.contains(&k) || cfg.buying.iter().any(|(_, b)| *b == k);
            if relevered < 16 && !pending && room * U256::from(20u8) > aim(data.collateral) {
                let borrow = to_debt_tokens(room);
                let routed = route(view.pools, &routes.table, &routes.venues, cfg.debt, cfg.collateral, borrow, false);
                if let (true, Some(r)) = (borrow > 0, routed.into_iter().next()) {
                    relevered += 1;
                    let min_out = (meshsim_math::u128_to_f64(r.amount_out) * (1.0 - cfg.slippage)) as u128;
                    out.push(tx(
                        out,
                        TxKind::Lending,
                        lend(k, LendOp::Borrow { token: cfg.debt, amount: borrow }),
                        Cause::Schedule,
                    ));
                    let seq = out.len() as u32;
                    out.push(tx(out, TxKind::Leverage, Swap::new(r.path, borrow, min_out).into(), Cause::Schedule));
                    cfg.buying.push((seq, k));
                }
            }
            continue;
        }
        let lines = &market.positions[id.0 as usize].lines;
        let held = ray_mul(lines[c].scaled_supply, cr.reserve.liquidity_index).unwrap_or_default();
        let (coll_base, debt_base) = (
            meshsim_math::u256_to_f64(value_in_base(held, cr.price, cr.decimals).unwrap_or_default()),
            meshsim_math::u256_to_f64(data.debt),
        );
        let sell_base = deleverage_amount(coll_base, debt_base, threshold, cfg.deleverage_below);
        let amount = (meshsim_math::u256_to_f64(held) * sell_base / coll_base.max(1.0)) as u128;
        if amount == 0 {
            continue;
        }
        let routed = route(view.pools, &routes.table, &routes.venues, cfg.collateral, cfg.debt, amount, false);
        let Some(r) = routed.into_iter().next() else { continue };
        let min_out = (meshsim_math::u128_to_f64(r.amount_out) * (1.0 - cfg.slippage)) as u128;
        let cause = liquidation_cause(&cfg.twap_sources, view.provenance, view.block);
        out.push(tx(out, TxKind::Lending, lend(k, LendOp::Withdraw { token: cfg.collateral, amount }), cause.clone()));
        let swap = Swap::new(r.path, amount, min_out);
        out.push(tx(out, TxKind::Deleverage, swap.into(), cause.clone()));
        out.push(tx(out, TxKind::Lending, lend(k, LendOp::Repay { token: cfg.debt, amount: min_out }), cause));
    }
    // 3. new positions
    let expected = cfg.arrivals_per_day * elapsed / 86_400.0;
    let arrivals =
        if expected > 0.0 { Poisson::new(expected).map_or(0.0, |p| p.sample(&mut cfg.rng)) as u32 } else { 0 };
    for _ in 0..arrivals {
        let e: f64 = Exp1.sample(&mut cfg.rng);
        let size = ((e * meshsim_math::u128_to_f64(cfg.mean_collateral)) as u128).min(idle);
        // a position needs a few dollars' worth to borrow anything
        if size == 0 || view.prices.value(cfg.collateral, size) < 100.0 {
            continue;
        }
        // borrow toward its aim at the market's own prices (what the venue checks)
        let borrow = to_debt_tokens(aim(value_in_base(U256::from(size), cr.price, cr.decimals).unwrap_or_default()));
        let k = cfg.opened;
        cfg.opened += 1;
        idle -= size;
        out.push(tx(
            out,
            TxKind::Lending,
            lend(k, LendOp::Supply { token: cfg.collateral, amount: size }),
            Cause::Schedule,
        ));
        if borrow == 0 {
            continue;
        }
        out.push(tx(
            out,
            TxKind::Lending,
            lend(k, LendOp::Borrow { token: cfg.debt, amount: borrow }),
            Cause::Schedule,
        ));
        let routed = route(view.pools, &routes.table, &routes.venues, cfg.debt, cfg.collateral, borrow, false);
        if let Some(r) = routed.into_iter().next() {
            let min_out = (meshsim_math::u128_to_f64(r.amount_out) * (1.0 - cfg.slippage)) as u128;
            let seq = out.len() as u32;
            out.push(tx(out, TxKind::Leverage, Swap::new(r.path, borrow, min_out).into(), Cause::Schedule));
            cfg.buying.push((seq, k));
        }
    }
}

/// Decide phase: each borrower population's transactions for this block.
pub(super) fn decide_borrowers(
    view: ViewParams,
    lending: State<(&Lending, &LendingRoutes)>,
    mut agents: Fresh<(&AgentMeta, &mut Borrowers, &mut PendingTxs)>,
) {
    let (lending, routes) = shared(lending);
    let elapsed = view.chains().active().clock.dt;
    view.with_view(|v| {
        for (me, mut cfg, mut out) in &mut agents {
            if me.chain != v.chain {
                continue;
            }
            let Some(market) = lending.markets.get(cfg.market.0 as usize) else { continue };
            cfg.buying.clear();
            plan_borrowers(v, market, routes, me, &mut cfg, elapsed, &mut out.0);
        }
    });
}

/// Account phase: what each purchase bought is supplied the next block.
pub(super) fn collect_purchases(state: State<(&Receipts,)>, mut agents: Fresh<(&AgentMeta, &mut Borrowers)>) {
    let (receipts,) = shared(state);
    for (me, mut cfg) in &mut agents {
        let cfg = &mut *cfg;
        let mine =
            receipts.items.iter().filter(|r| r.tx.sender == Sender::Agent(me.id) && r.tx.kind == TxKind::Leverage);
        for r in mine {
            let (Some(e), true) = (r.swap(), r.succeeded()) else { continue };
            if let Some((_, k)) = cfg.buying.iter().find(|(seq, _)| *seq == r.tx.seq) {
                cfg.to_supply.push((*k, e.amount_out));
            }
        }
    }
}

/// Spawns the world's borrower populations and registers their systems.
pub(super) fn build(app: &mut crate::engine::App<'_>) -> Result<(), crate::SimError> {
    let s = app.scenario;
    let mut any = false;
    for a in &s.agents {
        let meshsim_scenario::AgentKind::Borrowers {
            market,
            collateral,
            debt,
            arrivals_per_day,
            mean_collateral,
            target_ltv,
            deleverage_below,
            slippage,
        } = a.kind
        else {
            continue;
        };
        let cfg = Borrowers {
            market,
            collateral,
            debt,
            arrivals_per_day,
            mean_collateral,
            target_ltv,
            deleverage_below,
            slippage,
            priority_fee_wei: a.priority_fee_wei,
            opened: 0,
            to_supply: Vec::new(),
            buying: Vec::new(),
            rng: crate::rng::stream(s.seed, crate::rng::Purpose::Agent, u64::from(a.id.0)),
            twap_sources: super::liquidator::twap_sources(s, market),
        };
        crate::agents::spawn_agent(app, a, "borrowers")?.insert(cfg);
        any = true;
    }
    if any {
        app.add_systems(crate::engine::Phase::Decide, decide_borrowers);
        app.add_systems(crate::engine::Phase::Account, collect_purchases);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::deleverage_amount;

    /// Health after withdrawing and selling `w` of collateral `c` to repay debt `d`.
    fn health(c: f64, d: f64, w: f64, t: f64) -> f64 {
        (c - w) * t / (d - w)
    }

    #[test]
    fn a_deleverage_lifts_health_just_above_the_floor_when_it_can() {
        // $10,000 of collateral at an 83 % threshold against $7,220 of debt: health 1.1496
        let w = deleverage_amount(10_000.0, 7_220.0, 0.83, 1.15);
        assert!(w > 0.0);
        let after = health(10_000.0, 7_220.0, w, 0.83);
        assert!((after - 1.15 * 1.05).abs() < 1e-9, "{after}");
        // the withdrawal itself keeps health at 1.02 or more before the repayment lands
        assert!((10_000.0 - w) * 0.83 / 7_220.0 >= 1.02 - 1e-12);
    }

    #[test]
    fn close_to_liquidation_it_sells_only_what_the_venue_allows() {
        // health 1.03: withdrawing more than leaves 1.02 would be refused
        let (c, d, t) = (10_000.0, 8_058.0, 0.83);
        let w = deleverage_amount(c, d, t, 1.15);
        assert!(((c - w) * t / d - 1.02).abs() < 1e-9, "capped at health 1.02 after the withdrawal");
        assert!(health(c, d, w, t) > c * t / d, "and the repayment still helps");
        // under 1.02 already: nothing can come out
        assert_eq!(deleverage_amount(10_000.0, 8_200.0, 0.83, 1.15), 0.0);
        assert_eq!(deleverage_amount(10_000.0, 0.0, 0.83, 1.15), 0.0);
    }
}
