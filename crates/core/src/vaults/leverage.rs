//! A leveraged vault: its risky token supplied as collateral to a lending market and the debt
//! token borrowed against it, held at a target leverage (risky value over NAV) within its
//! trigger's band. Above the band it deleverages (withdraws collateral, sells it for the debt
//! token, repays); below it levers up (supplies what is idle, borrows, buys the risky token,
//! supplies it); each in one block, in order. Its health factor is a trigger of its own: below
//! its floor it deleverages whatever the band says, before liquidators would.

use meshsim_scenario::Strategy;

use super::plan::{Decision, Reading, band_fired};
use super::routing::{RouteTable, route};
use super::{VaultConfig, VaultMeta, VaultState};
use crate::agents::MarketView;
use crate::lending::{Lending, Owner};
use crate::pools::PoolBook;
use crate::tx::{Lend, LendOp, Sender, Swap, Tx, TxKind, Visibility};

/// The vault's position in its market, at the market's prices: collateral and debt in the
/// numeraire, the liquidation threshold, and the health factor.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Position {
    /// Collateral value.
    pub collateral: f64,
    /// Debt value.
    pub debt: f64,
    /// Weighted liquidation threshold, 0 to 1.
    pub threshold: f64,
    /// Weighted loan-to-value, 0 to 1.
    pub ltv: f64,
    /// Health factor (infinite without debt).
    pub health: f64,
}

/// The vault's position in its market.
pub fn position(cfg: &VaultConfig, lending: &Lending, meta: &VaultMeta) -> Option<Position> {
    let Strategy::Leveraged { market, .. } = cfg.spec.strategy else { return None };
    let m = lending.markets.get(market.0 as usize)?;
    let Some(id) = m.position_of(Owner::Vault(meta.id)) else {
        // nothing supplied yet: the risky reserve's parameters apply to what it will supply
        let (threshold, ltv) = match cfg.spec.strategy {
            Strategy::Leveraged { risky, .. } => m.reserve_of(risky).map_or((0.0, 0.0), |k| {
                let spec = &m.reserves[k].spec;
                (f64::from(spec.liquidation_threshold_bps) / 1e4, f64::from(spec.ltv_bps) / 1e4)
            }),
            _ => (0.0, 0.0),
        };
        return Some(Position { collateral: 0.0, debt: 0.0, threshold, ltv, health: f64::INFINITY });
    };
    let data = m.account(id).ok()?;
    let base = |x| meshsim_math::u256_to_f64(x) / 1e8;
    Some(Position {
        collateral: base(data.collateral),
        debt: base(data.debt),
        threshold: meshsim_math::u256_to_f64(data.average_threshold_bps) / 1e4,
        ltv: meshsim_math::u256_to_f64(data.average_ltv_bps) / 1e4,
        health: meshsim_math::lending::health_f64(data.health),
    })
}

/// The best route selling `amount` of `from` for `to` (each with its price per base unit), and the
/// least it must pay: the oracle rate less the vault's slippage. `None` (the plan says why) when
/// nothing routes, or the route pays less than that now (the move waits).
fn swap_leg<B: PoolBook + ?Sized>(
    view: &MarketView<'_, B>,
    table: &RouteTable,
    cfg: &VaultConfig,
    (from, p_from): (meshsim_scenario::TokenId, f64),
    (to, p_to): (meshsim_scenario::TokenId, f64),
    amount: u128,
    plan: &mut Decision,
) -> Option<(crate::pools::routing::Routed, u128)> {
    let Some(r) = route(view.pools, table, &cfg.spec.venues, from, to, amount, false).into_iter().next() else {
        plan.no_route = true;
        return None;
    };
    let min_out = (meshsim_math::u128_to_f64(amount) * p_from / p_to * (1.0 - cfg.spec.slippage)) as u128;
    if r.amount_out < min_out {
        plan.remaining = true;
        return None;
    }
    Some((r, min_out))
}

/// Pure policy: check the band and the health floor, size the move back to the target leverage
/// and write its transactions to `out`.
#[expect(clippy::too_many_arguments, reason = "a vault's decision reads all of these")]
pub fn decide<B: PoolBook + ?Sized>(
    view: &MarketView<'_, B>,
    meta: &VaultMeta,
    cfg: &VaultConfig,
    state: &VaultState,
    prices: &[f64],
    table: &RouteTable,
    reading: &Reading,
    pos: Position,
    out: &mut Vec<Tx>,
) -> Decision {
    let spec = &cfg.spec;
    let Strategy::Leveraged { market, risky, debt, target_leverage, health_floor } = spec.strategy else {
        return Decision::default();
    };
    let (Some(r), Some(d)) =
        (cfg.universe.iter().position(|t| *t == risky), cfg.universe.iter().position(|t| *t == debt))
    else {
        return Decision::default();
    };
    let unhealthy = pos.health < health_floor;
    let start =
        !state.in_progress && view.block >= state.retry_at && (unhealthy || band_fired(view, cfg, state, reading));
    let mut plan = Decision::default();
    let nav = reading.val.nav;
    if !(state.in_progress || start) || nav.is_nan() || nav <= 0.0 || prices.iter().any(|p| !p.is_finite() || *p <= 0.0)
    {
        return plan;
    }
    plan.started = start;
    let (pr, pd) = (prices[r], prices[d]);
    let delta = target_leverage * nav - reading.val.values[r];
    let sender = Sender::Vault(meta.id);
    let deadline = view.block + spec.deadline_blocks - 1;
    let first = out.len();
    let push = |out: &mut Vec<Tx>, kind: TxKind, action: crate::tx::Action| {
        let mut tx = Tx::new(sender, (out.len() - first) as u32, kind, spec.priority_fee_wei, action, deadline);
        if spec.private_relay {
            tx.visibility = Visibility::Private;
        }
        if let Some(max_fee) = spec.max_fee_wei {
            tx.gas.max_fee_wei = max_fee;
        }
        out.push(tx);
    };
    let lend = |op| Lend::new(market, op).into();
    let idle_risky = view.balance(meta.account, risky);
    if delta < 0.0 {
        // too much leverage: sell risky for the debt token and repay; what comes out of the
        // market is capped so that health stays at 1.02 or more before the repayment lands
        let room = if pos.threshold > 0.0 { pos.collateral - 1.02 * pos.debt / pos.threshold } else { 0.0 };
        let want = -delta;
        let idle_value = meshsim_math::u128_to_f64(idle_risky) * pr;
        let from_market = (want - idle_value).clamp(0.0, room.max(0.0));
        if from_market < want - idle_value {
            plan.remaining = true;
        }
        let sell = ((idle_value.min(want) + from_market) / pr) as u128;
        let withdraw = ((from_market / pr) as u128).min(sell);
        if sell == 0 {
            return plan;
        }
        let Some((route, min_out)) = swap_leg(view, table, cfg, (risky, pr), (debt, pd), sell, &mut plan) else {
            return plan;
        };
        if withdraw > 0 {
            push(out, TxKind::Lending, lend(LendOp::Withdraw { token: risky, amount: withdraw }));
        }
        push(out, TxKind::Rebalance, Swap::new(route.path, sell, min_out).into());
        push(out, TxKind::Lending, lend(LendOp::Repay { token: debt, amount: min_out }));
    } else {
        // too little: put idle risky in as collateral, borrow, buy risky, supply it. Without a
        // flash loan one turn borrows only what the collateral already in allows: the rest of
        // the way is the next turns'
        let collateral = pos.collateral + meshsim_math::u128_to_f64(idle_risky) * pr;
        let room = (pos.ltv * collateral - pos.debt) * 0.98;
        if room < delta {
            plan.remaining = true;
        }
        let borrow = (delta.min(room).max(0.0) / pd) as u128;
        if borrow == 0 {
            return plan;
        }
        let Some((route, min_out)) = swap_leg(view, table, cfg, (debt, pd), (risky, pr), borrow, &mut plan) else {
            return plan;
        };
        if idle_risky > 0 {
            push(out, TxKind::Lending, lend(LendOp::Supply { token: risky, amount: idle_risky }));
        }
        push(out, TxKind::Lending, lend(LendOp::Borrow { token: debt, amount: borrow }));
        push(out, TxKind::Rebalance, Swap::new(route.path, borrow, min_out).into());
        push(out, TxKind::Lending, lend(LendOp::Supply { token: risky, amount: min_out }));
    }
    plan
}
