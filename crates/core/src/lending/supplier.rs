//! Rate-sensitive suppliers: an agent keeps its deposits of one token in whichever of its
//! markets pays the best supply rate, and moves them (withdraw, then supply, in one block) when
//! another pays more by at least its spread, looking every N blocks (Morpho-style
//! reallocation). A withdrawal beyond what a reserve holds reverts, and the supply after it
//! with it: deposits in a fully used market stay where they are.

use bevy_ecs::prelude::*;
use meshsim_math::U256;
use meshsim_math::lending::RAY;
use meshsim_scenario::{MarketId, TokenId};

use super::Lending;
use super::book::Owner;
use crate::agents::{AgentMeta, MarketView, PendingTxs, ViewParams};
use crate::engine::{Fresh, State, shared};
use crate::pools::PoolBook;
use crate::tx::{Cause, Lend, LendOp, Sender, Tx, TxKind};

/// A supplier's configuration.
#[derive(Component, Debug, Clone)]
pub struct Supplier {
    /// Token.
    pub token: TokenId,
    /// Markets it chooses among, in its order.
    pub markets: Vec<MarketId>,
    /// Least advantage that moves it, bps a year.
    pub min_spread_bps: u32,
    /// Blocks between looks.
    pub every_blocks: u64,
    /// Priority fee bid, wei per gas.
    pub priority_fee_wei: u128,
}

/// Pure policy: on its blocks, supply what is idle to the best-paying market, and move each
/// deposit from a market paying at least the spread less. Ties go to the market listed first.
pub fn plan_supplier<B: PoolBook + ?Sized>(
    view: &MarketView<'_, B>,
    lending: &Lending,
    me: &AgentMeta,
    cfg: &Supplier,
    out: &mut Vec<Tx>,
) {
    if !view.block.is_multiple_of(cfg.every_blocks) {
        return;
    }
    let rate = |m: MarketId| -> Option<U256> {
        let market = lending.markets.get(m.0 as usize)?;
        let r = market.reserve_of(cfg.token)?;
        Some(market.reserves[r].reserve.rates.liquidity_rate)
    };
    let Some((best, best_rate)) =
        cfg.markets.iter().filter_map(|m| Some((*m, rate(*m)?))).fold(None, |acc: Option<(MarketId, U256)>, (m, r)| {
            match acc {
                Some((_, b)) if b >= r => acc,
                _ => Some((m, r)),
            }
        })
    else {
        return;
    };
    let spread = RAY * U256::from(cfg.min_spread_bps) / U256::from(10_000u32);
    let sender = Sender::Agent(me.id);
    let push = |out: &mut Vec<Tx>, market: MarketId, op: LendOp| {
        let mut tx = Tx::new(
            sender,
            out.len() as u32,
            TxKind::Lending,
            cfg.priority_fee_wei,
            Lend::new(market, op).into(),
            view.block,
        );
        tx.cause = Cause::Schedule;
        out.push(tx);
    };
    // the wallet's whole balance goes in (less gas for a few transactions if it is the gas token)
    let gas = if cfg.token == view.native { view.gas_fee_wei(2_000_000, cfg.priority_fee_wei) } else { 0 };
    let idle = view.balance(me.account, cfg.token).saturating_sub(gas);
    if idle > 0 {
        push(out, best, LendOp::Supply { token: cfg.token, amount: idle });
    }
    for m in &cfg.markets {
        let (Some(r), true) = (rate(*m), *m != best) else { continue };
        if best_rate < r.saturating_add(spread) {
            continue;
        }
        let held = lending.supplied(*m, Owner::Agent(me.id), cfg.token);
        let market = &lending.markets[m.0 as usize];
        let available = market
            .reserve_of(cfg.token)
            .map_or(0, |k| u128::try_from(market.reserves[k].reserve.available).unwrap_or(u128::MAX));
        // what the reserve can pay now; the rest waits for liquidity to come back
        let amount = held.min(available);
        if amount > 0 {
            push(out, *m, LendOp::Withdraw { token: cfg.token, amount });
            push(out, best, LendOp::Supply { token: cfg.token, amount });
        }
    }
}

/// Decide phase: each supplier's reallocation.
pub(super) fn decide_suppliers(
    view: ViewParams,
    lending: State<(&Lending,)>,
    mut agents: Fresh<(&AgentMeta, &Supplier, &mut PendingTxs)>,
) {
    let (lending,) = shared(lending);
    view.with_view(|v| {
        for (me, cfg, mut out) in &mut agents {
            if me.chain != v.chain {
                continue;
            }
            plan_supplier(v, lending, me, cfg, &mut out.0);
        }
    });
}

/// Spawns the world's suppliers and registers their system.
pub(super) fn build(app: &mut crate::engine::App<'_>) -> Result<(), crate::SimError> {
    let s = app.scenario;
    let mut any = false;
    for a in &s.agents {
        let meshsim_scenario::AgentKind::Supplier { token, ref markets, min_spread_bps, every_blocks } = a.kind else {
            continue;
        };
        let cfg = Supplier {
            token,
            markets: markets.clone(),
            min_spread_bps,
            every_blocks,
            priority_fee_wei: a.priority_fee_wei,
        };
        crate::agents::spawn_agent(app, a, "supplier")?.insert(cfg);
        any = true;
    }
    if any {
        app.add_systems(crate::engine::Phase::Decide, decide_suppliers);
    }
    Ok(())
}
