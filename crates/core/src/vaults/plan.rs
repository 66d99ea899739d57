//! A vault's decision as a pure function: value it at its oracle prices, check its trigger, size
//! the trades and route them. No ECS: the vault plugin's system is a few lines around it.

use std::sync::Arc;

use meshsim_scenario::{Sizing, Trigger};
use smallvec::SmallVec;

use super::routing::{self, RouteTable, route};
use super::strategy::{
    PerToken, Valuation, bands, current_band, desired_weights, pair_trades, target_weights, triggered,
};
use super::{SHARE_UNIT, VaultConfig, VaultMeta, VaultShares, VaultState};
use crate::SimConfig;
use crate::agents::MarketView;
use crate::oracles::OracleBook;
use crate::pools::{PoolBook, Provenance};
use crate::tx::{Cause, Note, Sender, Swap, TriggerNote, Tx, TxId, TxKind, Visibility};

/// Numeraire per base unit of each universe token at the vault's oracle prices.
pub fn oracle_prices(cfg: &VaultConfig, book: &OracleBook, config: &SimConfig) -> PerToken<f64> {
    cfg.universe
        .iter()
        .map(|t| {
            let whole = if *t == config.numeraire {
                1.0
            } else {
                cfg.spec.oracles.iter().find(|(x, _)| x == t).map_or(f64::NAN, |(_, o)| book.price[o.index()])
            };
            whole * config.unit(*t)
        })
        .collect()
}

/// What a vault decided this block.
#[derive(Debug, Clone, Default)]
pub struct Plan {
    /// Transactions to send.
    pub txs: SmallVec<[Tx; 2]>,
    /// A new rebalance started.
    pub started: bool,
    /// More to trade in later blocks.
    pub remaining: bool,
    /// Some trade found no route.
    pub no_route: bool,
    /// Band, targets, weights seen.
    pub band: f64,
    /// Targets.
    pub targets: PerToken<f64>,
    /// Weights.
    pub weights: PerToken<f64>,
}

/// Pure policy: value the vault at its oracle prices, check its trigger, size and route the
/// trades. `prices` are numeraire per base unit of each universe token.
pub fn plan_rebalance<B: PoolBook + ?Sized>(
    view: &MarketView<'_, B>,
    meta: &VaultMeta,
    cfg: &VaultConfig,
    state: &VaultState,
    shares: &VaultShares,
    prices: &[f64],
    table: &RouteTable,
) -> Plan {
    let spec = &cfg.spec;
    let balances: PerToken<u128> = cfg.universe.iter().map(|t| view.balance(meta.account, *t)).collect();
    let val = Valuation::new(&balances, prices);
    let weights = val.weights();
    let shares_f = meshsim_math::u128_to_f64(shares.total) / SHARE_UNIT;
    let targets = target_weights(&spec.strategy, &cfg.universe, val.nav, state.floor_per_share * shares_f);
    let band = current_band(&spec.trigger, state.annualized_vol());
    let band_widths = bands(&spec.trigger, &targets, band);
    let mut plan = Plan { band, targets: targets.clone(), weights: weights.clone(), ..Default::default() };
    if val.nav.is_nan() || val.nav <= 0.0 || prices.iter().any(|p| !p.is_finite() || *p <= 0.0) {
        return plan;
    }
    let since = state.last_rebalance.map(|(b, t)| (view.block - b, view.timestamp - t));
    let interval_ok = since.is_none_or(|(b, _)| b >= spec.min_interval_blocks);
    let start = !state.in_progress
        && view.block >= state.retry_at
        && interval_ok
        && triggered(&spec.trigger, &weights, &targets, band, since);
    if !(state.in_progress || start) {
        return plan;
    }
    plan.started = start;
    let sizing = if matches!(spec.trigger, Trigger::PeriodicBlocks(_) | Trigger::PeriodicSeconds(_)) {
        Sizing::Full
    } else {
        spec.sizing
    };
    let desired = desired_weights(sizing, &weights, &targets, &band_widths);
    let mut trades = pair_trades(&weights, &desired, val.nav, val.nav * 1e-7);
    let total: f64 = trades.iter().map(|t| t.2).sum();
    if let Some(cap) = spec.max_trade_value
        && total > cap
    {
        trades.iter_mut().for_each(|t| t.2 *= cap / total);
        plan.remaining = true;
    }
    let exact = trades.len() == 1 && !plan.remaining;
    for (s, b, value) in trades {
        let (ts, tb) = (cfg.universe[s], cfg.universe[b]);
        let amount = ((value / prices[s]) as u128).min(balances[s]);
        if amount == 0 {
            continue;
        }
        let mut routes = route(view.pools, table, &spec.venues, ts, tb, amount, spec.split);
        if routes.is_empty() {
            plan.no_route = true;
            continue;
        }
        if exact && routes.len() == 1 {
            // one pair: size so that the seller lands exactly on its desired weight after execution.
            // Execution is modelled as the oracle price less the path's fees and impact (the
            // quote relative to the path's marginal price): arbitrageurs ahead of the vault in the
            // block pull the pools to the external price, so the pool's own stale price would
            // mis-size the trade.
            let path = routes[0].path.clone();
            let marginal = routing::path_marginal(view.pools, &path);
            let oracle_rate = prices[s] / prices[b];
            let weight_after = |a: u128| -> Option<f64> {
                let out = routing::path_output(view.pools, &path, a)?;
                let a_f = meshsim_math::u128_to_f64(a);
                let efficiency = meshsim_math::u128_to_f64(out) / (a_f * marginal);
                let expected_out = a_f * oracle_rate * efficiency;
                let mut v = val.values.clone();
                v[s] -= a_f * prices[s];
                v[b] += expected_out * prices[b];
                Some(v[s] / v.iter().sum::<f64>())
            };
            // seller weight falls as it sells; find the largest sale keeping it at or above target
            let goal = desired[s];
            let hi = balances[s];
            // clamped: with a goal of zero (CPPI below its floor) every sale "keeps the weight at
            // or above it", and the solver would run past the balance
            let a = meshsim_math::solve_rate(amount.min(hi), (amount >> 30).max(1), goal, |a| weight_after(a.min(hi)))
                .min(hi);
            if let Some(out) = routing::path_output(view.pools, &path, a) {
                routes[0].amount_in = a;
                routes[0].amount_out = out;
            }
        }
        for mut r in routes {
            // a piece whose fees and impact alone would use more than half the slippage tolerance
            // is cut down (the rest waits for the next block): the other half is headroom for the
            // pool to move between planning and inclusion, so the trade does not revert
            let efficiency = 1.0 - spec.slippage / 2.0;
            match routing::fit_to_efficiency(view.pools, &r.path, r.amount_in, efficiency) {
                Some((a, out)) if a < r.amount_in => {
                    (r.amount_in, r.amount_out) = (a, out);
                    plan.remaining = true;
                }
                Some(_) => {}
                None => continue,
            }
            if r.amount_in == 0 {
                continue;
            }
            let fair = meshsim_math::u128_to_f64(r.amount_in) * prices[s] / prices[b];
            let min_out = (fair * (1.0 - spec.slippage)) as u128;
            let mut tx = Tx::new(
                Sender::Vault(meta.id),
                plan.txs.len() as u32,
                TxKind::Rebalance,
                spec.priority_fee_wei,
                Swap::new(r.path, r.amount_in, min_out).into(),
                view.block + spec.deadline_blocks - 1,
            );
            if spec.private_relay {
                tx.visibility = Visibility::Private;
            }
            if let Some(max_fee) = spec.max_fee_wei {
                tx.gas.max_fee_wei = max_fee;
            }
            plan.txs.push(tx);
        }
    }
    plan
}

/// Why a vault's trigger fired: a schedule, or the transactions that moved the pools its TWAP
/// oracles read over their windows, or (push oracles) the external price.
pub fn trigger_cause(cfg: &VaultConfig, provenance: &Provenance, block: u64) -> Cause {
    if matches!(cfg.spec.trigger, Trigger::PeriodicBlocks(_) | Trigger::PeriodicSeconds(_)) {
        return Cause::Schedule;
    }
    let mut movers: SmallVec<[TxId; 16]> = SmallVec::new();
    for (pool, window) in &cfg.twap_sources {
        movers.extend(provenance.moved_between(*pool, block.saturating_sub(*window), block));
    }
    movers.sort_unstable();
    movers.dedup();
    if movers.is_empty() { Cause::External } else { Cause::Moves(movers.into_iter().rev().take(8).collect()) }
}

/// What fired, for the tables: the rule, its band, and each oracle reading (numeraire per whole
/// token).
pub fn trigger_note(cfg: &VaultConfig, band: f64, prices: &[f64], config: &SimConfig) -> Note {
    let readings = cfg
        .spec
        .oracles
        .iter()
        .filter_map(|(t, o)| {
            let k = cfg.universe.iter().position(|u| u == t)?;
            Some((*o, prices[k] * libm::pow(10.0, f64::from(config.decimals[t.index()]))))
        })
        .collect();
    Note::Trigger(Arc::new(TriggerNote { rule: cfg.spec.trigger, band, readings }))
}
