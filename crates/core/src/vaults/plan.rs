//! A vault's decision as a pure function: value it at its oracle prices, check its trigger, size
//! the trades and route them. No ECS: the vault plugin's system is a few lines around it.

use std::sync::Arc;

use meshsim_scenario::{Sizing, Trigger};
use smallvec::SmallVec;

use super::routing::{self, RouteTable, route};
use super::strategy::{
    PerToken, Valuation, bands, current_band, desired_weights, pair_trades, per_token, target_weights, triggered_with,
};
use super::{Holdings, OracleSlot, SHARE_UNIT, VaultConfig, VaultMeta, VaultShares, VaultState};
use crate::SimConfig;
use crate::agents::MarketView;
use crate::oracles::OracleBook;
use crate::pools::{PoolBook, Provenance};
use crate::tx::{Action, BookAction, BookOp, Cause, Note, Sender, Swap, TriggerNote, Tx, TxId, TxKind, Visibility};
use meshsim_scenario::Execution;

use super::on_book;

/// Numeraire per base unit of each universe token at the vault's oracle prices.
pub fn oracle_prices(cfg: &VaultConfig, book: &OracleBook) -> PerToken<f64> {
    per_token(cfg.oracle_of.len(), |k| oracle_price(cfg.oracle_of[k], book) * cfg.unit[k])
}

/// What a vault sees this block at its oracle prices: holdings, weights, targets and band.
#[derive(Debug, Clone, Default)]
pub struct Reading {
    /// Balances per universe token, base units.
    pub balances: PerToken<u128>,
    /// Holdings valued at the oracle prices.
    pub val: Valuation,
    /// Weights at the oracle prices.
    pub weights: PerToken<f64>,
    /// Target weights now.
    pub targets: PerToken<f64>,
    /// The trigger's band now.
    pub band: f64,
    /// Half-width of each token's band.
    pub band_widths: PerToken<f64>,
    /// Where a triggered rebalance trades back to, off each target (a cost-aware trigger's
    /// return point); `None`: as its sizing says.
    pub back_to: Option<PerToken<f64>>,
}

/// Reads a vault with `holdings` at its oracle prices (`prices`: numeraire per base unit of each
/// universe token).
pub fn read(
    holdings: &Holdings,
    cfg: &VaultConfig,
    state: &VaultState,
    shares: &VaultShares,
    prices: &PerToken<f64>,
) -> Reading {
    let spec = &cfg.spec;
    let balances = holdings.units;
    let val = Valuation::at(&holdings.units_f, prices);
    let weights = val.weights();
    let targets = match &cfg.fixed_targets {
        Some(t) => *t,
        None => {
            let shares_f = meshsim_math::u128_to_f64(shares.total) / SHARE_UNIT;
            target_weights(&spec.strategy, &cfg.universe, val.nav, state.floor_per_share * shares_f)
        }
    };
    let (band, mut band_widths) = match &cfg.fixed_bands {
        Some(fixed) => *fixed,
        None => {
            let band = current_band(&spec.trigger, state.annualized_vol());
            (band, bands(&spec.trigger, &targets, band))
        }
    };
    if cfg.across.is_some() {
        narrow_transit_bands(&mut band_widths, &targets);
    }
    let mut band = band;
    let mut back_to = None;
    if let (Trigger::CostAware { .. }, Some((widths, ret))) = (&spec.trigger, &state.cost_bands) {
        band_widths = *widths;
        band = widths.iter().copied().fold(0.0, f64::max);
        back_to = Some(*ret);
    }
    if state.band_scale != 1.0 {
        // this band's secret scale (commit-reveal style band jitter)
        band *= state.band_scale;
        band_widths.iter_mut().for_each(|w| *w *= state.band_scale);
    }
    Reading { balances, val, weights, targets, band, band_widths, back_to }
}

/// What a vault's quiet block leaves in its state: the band, targets and weights it saw, and
/// the screen that proves the next blocks quiet too while prices stay near.
#[derive(Debug, Clone, Copy)]
pub struct Quiet {
    /// The trigger's band.
    pub band: f64,
    /// The fixed targets.
    pub targets: PerToken<f64>,
    /// Weights at the oracle prices.
    pub weights: PerToken<f64>,
    /// `None` when a weight is too near its band's edge for a bound worth keeping.
    pub screen: Option<QuietScreen>,
}

/// Proof that a quiet threshold vault is still quiet: while its holdings stand (its account's
/// ledger version), its band is the one it was armed under and each oracle price stays inside
/// `[lo, hi]` (a factor [`super::strategy::quiet_move`] either way of the price it was armed
/// at), no weight can have left its band, so [`quiet_block`] would find the block quiet again:
/// the check is skipped, with the decision unchanged. Only the weights it would have written go
/// unwritten. The band is the caller's to watch: a screen is forgotten when the band changes
/// ([`super::QuietScreens::forget`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct QuietScreen {
    /// Each priced token's oracle and the range its price stays in (the numeraire's never moves).
    bounds: [(u32, f64, f64); super::strategy::MAX_VAULT_TOKENS],
    len: u8,
    /// The chain whose blocks it decides in.
    chain: crate::chain::ChainId,
    /// The vault's account and that account's ledger version when armed.
    holdings: (crate::ledger::AccountId, u64),
}

impl QuietScreen {
    /// The screen of weights `weights` at `book`'s prices now, if they are far enough inside
    /// their bands `widths` of `targets`.
    fn arm(
        cfg: &VaultConfig,
        book: &OracleBook,
        holdings: &Holdings,
        chain: crate::chain::ChainId,
        (weights, targets, widths): (&[f64], &[f64], &[f64]),
    ) -> Option<Self> {
        let holdings = holdings.seen()?;
        let m = super::strategy::quiet_move(weights, targets, widths)?;
        let (up, down) = (libm::exp(m), libm::exp(-m));
        let mut screen =
            QuietScreen { bounds: [(0, 0.0, 0.0); super::strategy::MAX_VAULT_TOKENS], len: 0, chain, holdings };
        for slot in cfg.oracle_of.iter() {
            match *slot {
                OracleSlot::Numeraire => {}
                OracleSlot::Oracle(o) => {
                    let p = book.price[o.index()];
                    screen.bounds[usize::from(screen.len)] = (o.0, p * down, p * up);
                    screen.len += 1;
                }
                // no price, no weights to bound (they are NaN: quiet_move has none)
                OracleSlot::Missing => return None,
            }
        }
        Some(screen)
    }

    /// Whether the block is of the vault's chain and its holdings stand: [`QuietScreen::holds`]
    /// but for the prices.
    #[inline]
    pub fn stands(&self, chain: crate::chain::ChainId, ledger: &crate::ledger::Ledger) -> bool {
        chain == self.chain && ledger.version(self.holdings.0) == self.holdings.1
    }

    /// Each priced token's oracle and the range its price must stay in.
    pub fn bounds(&self) -> &[(u32, f64, f64)] {
        &self.bounds[..usize::from(self.len)]
    }

    /// Whether the vault is provably still quiet in a block of `chain`, its holdings read from
    /// `ledger` and its prices from `book`.
    #[inline]
    pub fn holds(&self, chain: crate::chain::ChainId, ledger: &crate::ledger::Ledger, book: &OracleBook) -> bool {
        self.stands(chain, ledger) && self.bounds().iter().all(|&(o, lo, hi)| price_inside(book, o, lo, hi))
    }
}

/// Whether oracle `o`'s price in `book` lies in `[lo, hi]` (NaN is never inside).
#[inline]
pub fn price_inside(book: &OracleBook, o: u32, lo: f64, hi: f64) -> bool {
    book.price.get(o as usize).is_some_and(|p| *p >= lo && *p <= hi)
}

/// A token's oracle price in whole units (the numeraire is worth one; no oracle, no price).
#[inline]
fn oracle_price(slot: OracleSlot, book: &OracleBook) -> f64 {
    match slot {
        OracleSlot::Numeraire => 1.0,
        OracleSlot::Oracle(o) => book.price[o.index()],
        OracleSlot::Missing => f64::NAN,
    }
}

/// A threshold vault's block when its full decision would find nothing to do, or `None` when the
/// decision must run: the common block of a constant-mix vault at its fixed targets and bands,
/// with nothing in progress, whose band did not fire. What [`read`] and [`decide`] would
/// conclude, without building the reading: the caller writes the same state.
pub fn quiet_block<B: PoolBook + ?Sized>(
    view: &MarketView<'_, B>,
    cfg: &VaultConfig,
    state: &VaultState,
    holdings: &Holdings,
    (prices, book): (&PerToken<f64>, &OracleBook),
) -> Option<Quiet> {
    let spec = &cfg.spec;
    let plain = matches!(spec.trigger, Trigger::Threshold { .. })
        && spec.yield_leg.is_none()
        && cfg.across.is_none()
        && !cfg.rests_orders()
        && !state.in_progress
        && state.band_scale == 1.0;
    let (true, Some(targets), Some((band, widths))) = (plain, &cfg.fixed_targets, &cfg.fixed_bands) else {
        return None;
    };
    let weights = Valuation::at(&holdings.units_f, prices).weights();
    // band_fired, for a threshold trigger (no predictive estimate)
    let since = state.last_rebalance.map(|(b, t)| (view.block - b, view.timestamp - t));
    let fires = view.block >= state.retry_at
        && since.is_none_or(|(b, _)| b >= spec.min_interval_blocks)
        && triggered_with(&spec.trigger, &weights, targets, widths, since);
    if fires {
        return None;
    }
    // in band with room to spare: the next blocks are quiet while prices stay near (the gate
    // of retry and interval aside, which can only hold a trigger back)
    let screen = cfg
        .screens_quiet
        .then(|| QuietScreen::arm(cfg, book, holdings, view.chain, (&weights, targets, widths)))
        .flatten();
    Some(Quiet { band: *band, targets: *targets, weights, screen })
}

/// A cost-aware trigger's band and return point for each universe token this block
/// ([`super::cost_band`]): the proportional cost is the fee and impact of selling the token's
/// share of a trade the size of its current band (at least 0.1 % of NAV) for the token with the
/// largest other target, on the vault's best route, at its oracle prices; the fixed cost is the gas
/// of a rebalance at this block's base fee and the vault's priority fee, over its NAV.
pub fn cost_bands<B: PoolBook + ?Sized>(
    view: &MarketView<'_, B>,
    cfg: &VaultConfig,
    state: &VaultState,
    holdings: &Holdings,
    prices: &PerToken<f64>,
    table: &RouteTable,
) -> (PerToken<f64>, PerToken<f64>) {
    let spec = &cfg.spec;
    let Trigger::CostAware { risk_aversion, min_band, max_band, gas_units } = spec.trigger else {
        let n = cfg.universe.len();
        return (PerToken::from_elem(0.0, n), PerToken::from_elem(0.0, n));
    };
    let val = Valuation::at(&holdings.units_f, prices);
    let targets: PerToken<f64> = match &cfg.fixed_targets {
        Some(t) => *t,
        None => state.targets,
    };
    let n = cfg.universe.len();
    let gas = gas_units.unwrap_or(view.gas.base_tx + view.gas.swap_concentrated + 2 * view.gas.tick_cross);
    let phi = if val.nav > 0.0 { view.gas_fee_value(gas, spec.priority_fee_wei) / val.nav } else { 0.0 };
    let mut widths = PerToken::from_elem(max_band, n);
    let mut back = PerToken::from_elem(0.0, n);
    for k in 0..n {
        let w = targets.get(k).copied().unwrap_or(0.0);
        if w <= 0.0
            || w >= 1.0
            || w.is_nan()
            || val.nav.is_nan()
            || val.nav <= 0.0
            || !prices[k].is_finite()
            || prices[k] <= 0.0
        {
            // a token it does not target: any holding of it is off target
            widths[k] = min_band;
            continue;
        }
        // the partner: the token with the largest other target
        let partner = (0..n).filter(|j| *j != k).max_by(|a, b| {
            targets.get(*a).copied().unwrap_or(0.0).total_cmp(&targets.get(*b).copied().unwrap_or(0.0)).then(b.cmp(a))
        });
        let previous = state.cost_bands.as_ref().map_or(0.01, |(h, _)| h.get(k).copied().unwrap_or(0.01));
        let value = previous.max(1e-3) * val.nav;
        let c = match partner {
            Some(j) if prices[j].is_finite() && prices[j] > 0.0 => {
                let amount = (value / prices[k]) as u128;
                let routes = route(view.pools, table, &spec.venues, cfg.universe[k], cfg.universe[j], amount, false);
                match routes.first() {
                    Some(r) if r.amount_in > 0 => {
                        let out = meshsim_math::u128_to_f64(r.amount_out) * prices[j];
                        (1.0 - out / (meshsim_math::u128_to_f64(r.amount_in) * prices[k])).max(0.0)
                    }
                    // nothing routes: trading it costs everything it would sell
                    _ => 1.0,
                }
            }
            _ => 1.0,
        };
        // sigma cancels out of the band: any positive value does
        let (v, kappa) = super::cost_band::drift_and_penalty(w, 1.0, risk_aversion);
        let (h, rho) = super::cost_band::no_trade_band(v, kappa, c, phi);
        widths[k] = h.clamp(min_band, max_band);
        back[k] = rho.min(widths[k]);
    }
    (widths, back)
}

/// Value parked on its way between chains (a token a vault across chains does not target) moves
/// on: its band is a basis point of NAV, wide enough only for dust.
#[cold]
#[inline(never)]
fn narrow_transit_bands(band_widths: &mut PerToken<f64>, targets: &[f64]) {
    for (w, t) in band_widths.iter_mut().zip(targets) {
        if *t == 0.0 {
            *w = 1e-4;
        }
    }
}

/// What a vault decided this block; its transactions went to the caller's outbox.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Decision {
    /// A new rebalance started.
    pub started: bool,
    /// More to trade in later blocks.
    pub remaining: bool,
    /// Some trade found no route.
    pub no_route: bool,
}

/// What a vault decided this block, with its transactions (for callers that want them together).
#[derive(Debug, Clone, Default)]
pub struct Plan {
    /// Transactions to send.
    pub txs: Vec<Tx>,
    /// A new rebalance started.
    pub started: bool,
    /// More to trade in later blocks.
    pub remaining: bool,
    /// Some trade found no route.
    pub no_route: bool,
    /// The band seen.
    pub band: f64,
    /// Targets seen.
    pub targets: PerToken<f64>,
    /// Weights seen.
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
    prices: &PerToken<f64>,
    table: &RouteTable,
) -> Plan {
    let holdings = Holdings::of(view.ledger, meta.account, &cfg.universe);
    let mut state = state.clone();
    if matches!(cfg.spec.trigger, Trigger::CostAware { .. }) {
        state.cost_bands = Some(cost_bands(view, cfg, &state, &holdings, prices, table));
    }
    let state = &state;
    let reading = read(&holdings, cfg, state, shares, prices);
    let mut txs = Vec::new();
    let d = decide(view, meta, cfg, state, prices, table, &reading, &mut txs);
    Plan {
        txs,
        started: d.started,
        remaining: d.remaining,
        no_route: d.no_route,
        band: reading.band,
        targets: reading.targets,
        weights: reading.weights,
    }
}

/// Whether the vault's trigger fires this block: its minimum interval has passed and its rule
/// (band, period) says so.
pub fn band_fired<B: PoolBook + ?Sized>(
    view: &MarketView<'_, B>,
    cfg: &VaultConfig,
    state: &VaultState,
    reading: &Reading,
) -> bool {
    let spec = &cfg.spec;
    let since = state.last_rebalance.map(|(b, t)| (view.block - b, view.timestamp - t));
    since.is_none_or(|(b, _)| b >= spec.min_interval_blocks)
        && (triggered_with(&spec.trigger, &reading.weights, &reading.targets, &reading.band_widths, since)
            || predictive_fires(view, cfg, state, reading))
}

/// A predictive trigger's early firing: a breach of the band within its horizon is more likely
/// than its threshold (from each token's EWMA drift and volatility) and gas is at or below its
/// recent median; or (crowd variant) another vault is predicted to trade the same way soon.
pub fn predictive_fires<B: PoolBook + ?Sized>(
    view: &MarketView<'_, B>,
    cfg: &VaultConfig,
    state: &VaultState,
    reading: &Reading,
) -> bool {
    let Trigger::Predictive { horizon_blocks, probability, crowd, .. } = cfg.spec.trigger else { return false };
    if crowd && state.crowd_ahead {
        return true;
    }
    let likely = (0..reading.weights.len()).any(|k| {
        let mu = state.drift[k];
        let sigma = libm::sqrt((state.drift_sq[k] - mu * mu).max(0.0));
        let p = super::strategy::breach_probability(
            reading.weights[k],
            reading.targets[k],
            reading.band_widths[k],
            mu,
            sigma,
            horizon_blocks as f64,
        );
        p > probability
    });
    likely && gas_is_cheap(state, view.base_fee_wei)
}

/// Whether `base_fee` is at or below the median of the vault's recent base fees (no history yet:
/// it is).
fn gas_is_cheap(state: &VaultState, base_fee: u128) -> bool {
    let n = state.gas_window.len();
    if n == 0 {
        return true;
    }
    // the median without sorting a copy every block: count what lies at or below
    let below = state.gas_window.iter().filter(|g| **g < base_fee).count();
    below <= n / 2
}

/// Pure policy on a [`Reading`]: check the trigger, size and route the trades, and append the
/// transactions to `out`.
#[expect(clippy::too_many_arguments, reason = "a vault's decision reads all of these")]
pub fn decide<B: PoolBook + ?Sized>(
    view: &MarketView<'_, B>,
    meta: &VaultMeta,
    cfg: &VaultConfig,
    state: &VaultState,
    prices: &[f64],
    table: &RouteTable,
    reading: &Reading,
    out: &mut Vec<Tx>,
) -> Decision {
    let spec = &cfg.spec;
    let Reading { balances, val, weights, targets, band_widths, .. } = reading;
    let mut plan = Decision::default();
    let start = !state.in_progress && view.block >= state.retry_at && band_fired(view, cfg, state, reading);
    if !(state.in_progress || start) {
        if cfg.rests_orders() {
            // a passive rebalance that is over leaves nothing resting
            cancel_resting(view, meta, cfg, out);
        }
        return plan;
    }
    // nothing to do without a value and prices (checked once something would be done)
    if val.nav.is_nan() || val.nav <= 0.0 || prices.iter().any(|p| !p.is_finite() || *p <= 0.0) {
        return plan;
    }
    plan.started = start;
    let first = out.len();
    let sizing = if matches!(spec.trigger, Trigger::PeriodicBlocks(_) | Trigger::PeriodicSeconds(_)) {
        Sizing::Full
    } else {
        spec.sizing
    };
    let desired = match &reading.back_to {
        // a cost-aware trigger trades back to its return point, inside the band
        Some(ret) => desired_weights(Sizing::ToBandEdge, weights, targets, ret),
        None => desired_weights(sizing, weights, targets, band_widths),
    };
    let mut trades = pair_trades(weights, &desired, val.nav, val.nav * 1e-7);
    let total: f64 = trades.iter().map(|t| t.2).sum();
    if let Some(cap) = spec.max_trade_value
        && total > cap
    {
        trades.iter_mut().for_each(|t| t.2 *= cap / total);
        plan.remaining = true;
    }
    let exact = trades.len() == 1 && !plan.remaining && cfg.across.is_none();
    for (s, b, value) in trades {
        let (ts, tb) = (cfg.universe[s], cfg.universe[b]);
        let amount = ((value / prices[s]) as u128).min(balances[s]);
        if amount == 0 {
            continue;
        }
        if let Some(across) = &cfg.across {
            // a token is sold in its own chain's block; the rest of the rebalance waits
            if across.chain[s] != view.chain {
                plan.remaining = true;
                continue;
            }
            if across.chain[b] != view.chain {
                // a step across chains pays a bridge transfer's gas: not for dust
                let step_gas = view.gas_fee_value(view.gas.base_tx + view.gas.bridge_send, spec.priority_fee_wei);
                if value < 20.0 * step_gas {
                    continue;
                }
                match across_step(view, meta, cfg, across, (s, b), amount, prices, table) {
                    Some(mut tx) => {
                        tx.seq = (out.len() - first) as u32;
                        out.push(tx);
                    }
                    None => plan.no_route = true,
                }
                // what it sends on arrives as another chain's token, which the next blocks move on
                plan.remaining = true;
                continue;
            }
        }
        let mut amount = amount;
        let mut on_a_book = false;
        if let (Some(books), false) = (view.books, spec.books.is_empty())
            && let Some(book) = on_book::book_for(books, &spec.books, ts, tb, view.chain)
        {
            let owner = crate::books::owner_of(Sender::Vault(meta.id));
            let fair = prices[s] / prices[b];
            if let Execution::Passive { offset, requote, max_wait_blocks } = spec.execution {
                let since = state.last_rebalance.map_or(0, |(at, _)| view.block.saturating_sub(at));
                if start || since < max_wait_blocks {
                    let ops = on_book::passive_ops(
                        book,
                        view.units,
                        owner,
                        ts,
                        amount,
                        fair,
                        (offset, requote),
                        max_wait_blocks,
                    );
                    if !ops.is_empty() {
                        let seq = (out.len() - first) as u32;
                        out.push(book_tx(view, meta, cfg, book.spec.id, ops.into_iter().collect(), seq));
                    }
                    // the rebalance goes on while its order rests
                    plan.remaining = true;
                    continue;
                }
                // waited long enough: what rests is cancelled, and the rest taken below
                let cancels = on_book::cancel_all(books, &[book.spec.id], owner);
                for (id, ops) in cancels {
                    let seq = (out.len() - first) as u32;
                    out.push(book_tx(view, meta, cfg, id, ops, seq));
                }
            }
            let worst = fair * (1.0 - spec.slippage);
            let whole = route(view.pools, table, &spec.venues, ts, tb, amount, false);
            let gas_in = |units: u64| view.gas_fee_value(units, spec.priority_fee_wei) / prices[b];
            let taken = match whole.first() {
                Some(r) => {
                    let pool_gas = view.gas.base_tx + r.path.len() as u64 * view.gas.swap_concentrated;
                    let book_gas = view.gas.base_tx + view.gas.book_order + 2 * view.gas.book_fill;
                    let gas = (gas_in(book_gas), gas_in(pool_gas));
                    on_book::split(view, book, view.units, owner, &r.path, ts, amount, worst, gas)
                }
                None => on_book::take(book, view.units, owner, ts, amount, worst),
            };
            if let Some(t) = taken {
                let seq = (out.len() - first) as u32;
                let ops = smallvec::smallvec![BookOp::Place(t.order)];
                out.push(book_tx(view, meta, cfg, book.spec.id, ops, seq));
                amount = amount.saturating_sub(t.amount_in);
                on_a_book = true;
                // less than a lot's worth left over: not worth a swap's gas
                let swap_gas = view.gas_fee_value(view.gas.base_tx + view.gas.swap_concentrated, spec.priority_fee_wei);
                if meshsim_math::u128_to_f64(amount) * prices[s] < 10.0 * swap_gas {
                    amount = 0;
                }
            }
            if amount == 0 {
                continue;
            }
        }
        let mut routes = route(view.pools, table, &spec.venues, ts, tb, amount, spec.split);
        if routes.is_empty() {
            // what a book took is done; the rest has nowhere to go this block
            if on_a_book {
                plan.remaining = true;
            } else {
                plan.no_route = true;
            }
            continue;
        }
        if exact && !on_a_book && routes.len() == 1 {
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
                let mut v = val.values;
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
            let swap = Swap::new(r.path, r.amount_in, min_out).into();
            let seq = (out.len() - first) as u32;
            out.push(vault_tx(view, meta, cfg, TxKind::Rebalance, swap, seq));
        }
    }
    plan
}

/// A vault's transaction: its keeper's priority fee, deadline, relay and fee cap.
fn vault_tx<B: PoolBook + ?Sized>(
    view: &MarketView<'_, B>,
    meta: &VaultMeta,
    cfg: &VaultConfig,
    kind: TxKind,
    action: Action,
    seq: u32,
) -> Tx {
    let spec = &cfg.spec;
    let mut tx = Tx::new(
        Sender::Vault(meta.id),
        seq,
        kind,
        spec.priority_fee_wei,
        action,
        view.block + spec.deadline_blocks - 1,
    );
    if spec.private_relay {
        tx.visibility = Visibility::Private;
    }
    if let Some(max_fee) = spec.max_fee_wei {
        tx.gas.max_fee_wei = max_fee;
    }
    tx
}

/// A vault's transaction on a book.
fn book_tx<B: PoolBook + ?Sized>(
    view: &MarketView<'_, B>,
    meta: &VaultMeta,
    cfg: &VaultConfig,
    book: meshsim_scenario::BookId,
    ops: SmallVec<[BookOp; 2]>,
    seq: u32,
) -> Tx {
    vault_tx(view, meta, cfg, TxKind::Rebalance, Action::Book(BookAction { book, ops }), seq)
}

/// Cancels whatever the vault has resting on its books.
#[cold]
#[inline(never)]
fn cancel_resting<B: PoolBook + ?Sized>(
    view: &MarketView<'_, B>,
    meta: &VaultMeta,
    cfg: &VaultConfig,
    out: &mut Vec<Tx>,
) {
    let Some(books) = view.books else { return };
    let owner = crate::books::owner_of(Sender::Vault(meta.id));
    for (k, (id, ops)) in on_book::cancel_all(books, &cfg.spec.books, owner).into_iter().enumerate() {
        let mut tx = book_tx(view, meta, cfg, id, ops, k as u32);
        tx.cause = Cause::Schedule;
        out.push(tx);
    }
}

/// The first step of moving value from universe token `s` to `b` on another chain: the same
/// asset is bridged; otherwise the cheaper of swapping here into `b`'s asset (to bridge it next)
/// and bridging `s`'s asset to `b`'s chain (to swap it there next), each costed by its pools'
/// fees and impact and the bridge's fee and time in transit. The step's output is a token of the
/// vault's universe with a target of zero, which later blocks move on to `b`.
#[expect(clippy::too_many_arguments, reason = "a step reads the vault, its pair, prices and routes")]
// out of line: vaults on one chain never come here, and keep their decision's code compact
#[cold]
#[inline(never)]
fn across_step<B: PoolBook + ?Sized>(
    view: &MarketView<'_, B>,
    meta: &VaultMeta,
    cfg: &VaultConfig,
    across: &super::Across,
    (s, b): (usize, usize),
    amount: u128,
    prices: &[f64],
    table: &RouteTable,
) -> Option<Tx> {
    let spec = &cfg.spec;
    let u = &cfg.universe;
    let capital = across.capital_cost_bps_per_hour;
    let bridge_tx = |send: crate::tx::BridgeSend| {
        let mut tx = Tx::new(
            Sender::Vault(meta.id),
            0,
            TxKind::Bridge,
            spec.priority_fee_wei,
            crate::tx::Action::Bridge(send),
            view.block + spec.deadline_blocks - 1,
        );
        if let Some(max_fee) = spec.max_fee_wei {
            tx.gas.max_fee_wei = max_fee;
        }
        tx
    };
    if across.asset[s] == across.asset[b] {
        let (send, _) = crate::bridges::cheapest(&across.bridges, u[s], u[b], amount, capital)?;
        return Some(bridge_tx(send));
    }
    // a route's cost: one less its output at the vault's prices over its input
    let swap_cost = |from: usize, to: usize, a: u128| -> Option<(f64, routing::Routed)> {
        let r = route(view.pools, table, &spec.venues, u[from], u[to], a, false).into_iter().next()?;
        let eff = meshsim_math::u128_to_f64(r.amount_out) * prices[to] / (meshsim_math::u128_to_f64(a) * prices[from]);
        Some(((1.0 - eff) * 1e4, r))
    };
    let here = (0..u.len()).find(|k| across.chain[*k] == view.chain && across.asset[*k] == across.asset[b]);
    let there = (0..u.len()).find(|k| across.chain[*k] == across.chain[b] && across.asset[*k] == across.asset[s]);
    // swap here, then bridge
    let a = here.and_then(|m| {
        let (cost, r) = swap_cost(s, m, amount)?;
        let (_, bridge) = crate::bridges::cheapest(&across.bridges, u[m], u[b], r.amount_out, capital)?;
        Some((cost + bridge, r, m))
    });
    // bridge, then swap there
    let bb = there.and_then(|m| {
        let (send, bridge) = crate::bridges::cheapest(&across.bridges, u[s], u[m], amount, capital)?;
        let (cost, _) = swap_cost(m, b, amount)?;
        Some((cost + bridge, send))
    });
    match (a, bb) {
        (Some((ca, r, m)), other) if other.as_ref().is_none_or(|(cb, _)| ca <= *cb) => {
            let fair = meshsim_math::u128_to_f64(r.amount_in) * prices[s] / prices[m];
            let min_out = (fair * (1.0 - spec.slippage)) as u128;
            Some(vault_tx(view, meta, cfg, TxKind::Rebalance, Swap::new(r.path, r.amount_in, min_out).into(), 0))
        }
        (_, Some((_, send))) => Some(bridge_tx(send)),
        _ => None,
    }
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

#[cfg(test)]
mod tests {
    use meshsim_scenario::{TokenId, VaultId};

    use super::*;
    use crate::chain::ChainId;
    use crate::testkit::Market;
    use crate::vaults::strategy::per_token;
    use crate::vaults::{genesis, universe_of};
    use rand::{RngExt, SeedableRng};

    const USD: TokenId = TokenId(0);
    const T1: TokenId = TokenId(1);

    /// S2's first vault ({USD .5, T1 .5}, relative 5 % band, 5 % slippage) at genesis.
    struct Vault {
        meta: VaultMeta,
        cfg: VaultConfig,
        state: VaultState,
        shares: VaultShares,
        table: RouteTable,
    }

    fn vault(m: &Market) -> Vault {
        vault_n(m, 0)
    }

    /// S2's vault `n` at genesis.
    fn vault_n(m: &Market, n: usize) -> Vault {
        let s = &m.scenario;
        let spec = &s.vaults[n];
        let universe = universe_of(spec);
        let decimals: Vec<u8> = s.tokens.iter().map(|t| t.decimals).collect();
        let nav: f64 = spec.holdings.iter().map(|(t, a)| m.prices.value(*t, *a)).sum();
        let (shares, state, ..) = genesis(spec, universe.clone(), nav, &m.prices.per_token, &decimals, s.seed);
        let id = VaultId(n as u32);
        let meta = VaultMeta {
            id,
            name: spec.name.clone(),
            account: m.layout.vault(id),
            keeper: m.layout.keeper(id),
            depositors: m.layout.depositors(id),
            chain: ChainId(0),
        };
        let table = RouteTable::new(&m.pools, &universe, spec.max_hops);
        Vault { meta, cfg: VaultConfig::new(spec.clone(), universe, s), state, shares, table }
    }

    /// The vault's plan with its oracles reading the external prices.
    fn plan(m: &Market, v: &Vault) -> Plan {
        let prices = per_token(v.cfg.universe.len(), |k| m.prices.per_base_unit[v.cfg.universe[k].index()]);
        plan_rebalance(&m.view(10), &v.meta, &v.cfg, &v.state, &v.shares, &prices, &v.table)
    }

    /// Oracles reading the external prices.
    fn oracle_book(m: &Market) -> OracleBook {
        OracleBook { price: m.scenario.oracles.iter().map(|o| m.prices.per_token[o.token.index()]).collect() }
    }

    #[test]
    fn a_quiet_screen_holds_only_while_the_check_it_skips_is_quiet() {
        // S2's fourth vault ({T2 .5, T4 .5}: two priced tokens) on random walks of both prices,
        // armed by each quiet check it does not skip, as the vaults' decision uses it
        let mut m = Market::of("bench/s2.ron");
        let (t2, t4) = (TokenId(2), TokenId(4));
        let mut v = vault_n(&m, 3);
        let holdings = Holdings::of(&m.ledger, v.meta.account, &v.cfg.universe);
        let mut rng = rand_chacha::ChaCha12Rng::seed_from_u64(7);
        let (mut skipped, mut checked, mut fired) = (0, 0, 0);
        let mut screen: Option<QuietScreen> = None;
        let chain = m.view(10).chain;
        let (mut p2, mut p4) = (150.0, 4.0);
        for _ in 0..4000 {
            // up to 1 % a block either way: bands of 5 % of the targets are left now and then
            p2 *= libm::exp(0.01 * (2.0 * rng.random::<f64>() - 1.0));
            p4 *= libm::exp(0.01 * (2.0 * rng.random::<f64>() - 1.0));
            m.set_price(t2, p2);
            m.set_price(t4, p4);
            let book = oracle_book(&m);
            let prices = oracle_prices(&v.cfg, &book);
            let quiet = quiet_block(&m.view(10), &v.cfg, &v.state, &holdings, (&prices, &book));
            if screen.is_some_and(|s| s.holds(chain, &m.ledger, &book)) {
                assert!(quiet.is_some(), "skipped a check that fires at {p2} / {p4}");
                skipped += 1;
                continue;
            }
            checked += 1;
            match quiet {
                Some(q) => screen = q.screen,
                None => {
                    // a rebalance back to the targets: the walk goes on from them
                    fired += 1;
                    screen = None;
                    (p2, p4) = (150.0, 4.0);
                }
            }
        }
        assert!(skipped > 3 * checked && fired > 10, "{skipped} skipped, {checked} checked, {fired} fired");
        // armed at the targets: new holdings, or a block of another chain, void it (a new band
        // is the caller's to watch: `QuietScreens::forget`)
        m.set_price(t2, 150.0);
        m.set_price(t4, 4.0);
        let book = oracle_book(&m);
        let prices = oracle_prices(&v.cfg, &book);
        let q = quiet_block(&m.view(10), &v.cfg, &v.state, &holdings, (&prices, &book)).expect("quiet at its targets");
        let armed = q.screen.expect("a screen at its targets");
        assert!(armed.holds(chain, &m.ledger, &book));
        assert!(!armed.holds(crate::chain::ChainId(chain.0 + 1), &m.ledger, &book), "another chain");
        let pool = m.layout.pool(meshsim_scenario::PoolId(0));
        m.ledger.transfer(v.meta.account, pool, t2, 1).expect("moves");
        assert!(!armed.holds(chain, &m.ledger, &book), "holdings moved");
        // a world with a crowd-aware vault arms none
        v.cfg.screens_quiet = false;
        let q = quiet_block(&m.view(10), &v.cfg, &v.state, &holdings, (&prices, &book)).expect("quiet");
        assert!(q.screen.is_none());
    }

    #[test]
    fn the_quiet_path_is_the_full_decision_finding_nothing() {
        // S2's first vault across price moves, with and without a recent rebalance and a retry
        // pending: whenever the shortcut answers, the full decision does nothing and sees the
        // same weights; whenever it declines, the full decision starts
        let mut m = Market::of("bench/s2.ron");
        let mut v = vault(&m);
        let (mut quiet, mut fired) = (0, 0);
        for last in [None, Some((9, 108.0)), Some((0, 0.0))] {
            for retry_at in [0, 11] {
                v.state.last_rebalance = last;
                v.state.retry_at = retry_at;
                v.cfg.spec.min_interval_blocks = 5;
                for move_pct in [-30.0, -12.0, -9.0, -1.0, 0.0, 2.0, 9.0, 11.0, 25.0] {
                    m.set_price(T1, 2000.0 * (1.0 + move_pct / 100.0));
                    let full = plan(&m, &v);
                    let prices = per_token(v.cfg.universe.len(), |k| m.prices.per_base_unit[v.cfg.universe[k].index()]);
                    let holdings = Holdings::of(&m.ledger, v.meta.account, &v.cfg.universe);
                    match quiet_block(&m.view(10), &v.cfg, &v.state, &holdings, (&prices, &oracle_book(&m))) {
                        Some(q) => {
                            assert!(!full.started && full.txs.is_empty() && !full.remaining, "{move_pct} %");
                            assert_eq!(&q.weights[..], &full.weights[..]);
                            assert_eq!((q.band, &q.targets[..]), (full.band, &full.targets[..]));
                            quiet += 1;
                        }
                        None => {
                            // and it declines only what does start (no wasted full decisions)
                            assert!(full.started, "declined a quiet block at {move_pct} %");
                            fired += 1;
                        }
                    }
                }
            }
        }
        assert!(quiet > 20 && fired > 5, "{quiet} quiet blocks, {fired} fired");
    }

    #[test]
    fn at_its_targets_or_inside_its_band_a_vault_does_nothing() {
        let mut m = Market::of("bench/s2.ron");
        let v = vault(&m);
        let p = plan(&m, &v);
        assert!(!p.started && p.txs.is_empty());
        assert!((p.weights[1] - 0.5).abs() < 1e-9, "{:?}", p.weights);
        // +3 %: T1's weight is 0.507, inside 0.5 +- 0.025
        m.set_price(T1, 2000.0 * 1.03);
        let p = plan(&m, &v);
        assert!(!p.started && p.txs.is_empty(), "{:?}", p.weights);
    }

    #[test]
    fn out_of_its_band_it_sells_the_overweight_token_back_to_its_target() {
        let mut m = Market::of("bench/s2.ron");
        let v = vault(&m);
        m.set_price(T1, 2000.0 * 1.2);
        let p = plan(&m, &v);
        assert!(p.started && !p.txs.is_empty(), "{:?}", p.weights);
        let nav: f64 = v.cfg.universe.iter().map(|t| m.prices.value(*t, m.ledger.balance(v.meta.account, *t))).sum();
        let excess = (p.weights[1] - 0.5) * nav;
        let mut sold = 0.0;
        for tx in &p.txs {
            let s = tx.swap().expect("a swap");
            assert_eq!((s.token_in(), s.token_out(), tx.kind), (T1, USD, TxKind::Rebalance));
            assert_eq!(tx.sender, Sender::Vault(v.meta.id));
            // the minimum is the fair value less the slippage tolerance
            let fair = m.prices.value(T1, s.amount_in) / m.prices.per_base_unit[USD.index()];
            assert!((s.min_out as f64 / fair - 0.95).abs() < 1e-6, "{} of {fair}", s.min_out);
            sold += m.prices.value(T1, s.amount_in);
        }
        // it sells about the excess (the sizing allows for the fees and impact it will pay)
        assert!((sold / excess - 1.0).abs() < 0.02, "sold {sold} of an excess of {excess}");
    }
}
