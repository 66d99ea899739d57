//! Rebalancing vaults. Custody (the vault's ledger account and its shares) is kept apart from
//! strategy: the pure rules in [`strategy`] say what to hold, [`plan_rebalance`] turns that into
//! routed swap transactions, and only the execute phase moves tokens. Deposits and withdrawals
//! follow ERC-4626 share accounting, rounding in the vault's favour.

pub mod routing;
pub mod strategy;

use bevy_ecs::prelude::*;
use meshsim_math::{U256, f64_to_u256};
use meshsim_scenario::{Flow, Sizing, Strategy, TokenId, Trigger, VaultId, VaultSpec};
use rand::RngExt;
use rand_chacha::ChaCha12Rng;
use rand_distr::{Distribution, Exp1, Poisson};

use crate::agents::{MarketView, ViewParams};
use crate::attribution::Provenance;
use crate::chain::BlockClock;
use crate::ledger::{AccountId, Ledger};
use crate::market::ExternalPrices;
use crate::metrics::Metrics;
use crate::oracles::OracleBook;
use crate::pools::PoolBook;
use crate::sim_config::SimConfig;
use crate::tx::{Cause, PendingTxs, Sender, Tx, TxId, TxKind, Visibility};
use routing::{RouteTable, route};
use strategy::{
    Valuation, bands, current_band, desired_weights, pair_trades, target_weights, tracking_error, triggered,
};

/// Shares of one whole numeraire unit at genesis (share price 1, 18 decimals).
pub const SHARE_UNIT: f64 = 1e18;

/// Identity and accounts of a vault entity.
#[derive(Component, Debug, Clone)]
pub struct VaultMeta {
    /// Stable id.
    pub id: VaultId,
    /// Name.
    pub name: String,
    /// Custody account.
    pub account: AccountId,
    /// Keeper account (pays gas).
    pub keeper: AccountId,
    /// Depositors' account.
    pub depositors: AccountId,
}

/// The vault's configuration and the tokens it values.
#[derive(Component, Debug, Clone)]
pub struct VaultConfig {
    /// From the world file.
    pub spec: VaultSpec,
    /// Every token it holds, targets or accepts, sorted by id.
    pub universe: Vec<TokenId>,
    /// Tokens priced by a pool TWAP: (pool, window in blocks), for cause attribution.
    pub twap_sources: Vec<(meshsim_scenario::PoolId, u64)>,
    /// Oracle names per token, for the notes in the tables.
    pub oracle_names: Vec<(TokenId, String)>,
}

/// Outstanding shares (all held by the depositors, founders included).
#[derive(Component, Debug, Clone, Copy, PartialEq, Eq)]
pub struct VaultShares {
    /// Total supply, 18 decimals.
    pub total: u128,
}

/// The strategy's own history.
#[derive(Component, Debug, Clone)]
pub struct VaultState {
    /// Block and time of the last rebalance start.
    pub last_rebalance: Option<(u64, f64)>,
    /// A rebalance is being worked through (capped per block).
    pub in_progress: bool,
    /// EWMA of squared per-block log returns (averaged over the priced tokens).
    pub ewma_var: f64,
    /// Log oracle prices of the last block, per universe token.
    pub last_log_prices: Vec<f64>,
    /// Seconds between the last two observations.
    pub last_dt: f64,
    /// CPPI floor per share, numeraire.
    pub floor_per_share: f64,
    /// Highest share price seen (CPPI ratchet).
    pub peak_share_price: f64,
    /// No new rebalance before this block (after a failure).
    pub retry_at: u64,
    /// This block's view, for tables: band, targets, weights, whether it traded.
    pub band: f64,
    /// Targets this block.
    pub targets: Vec<f64>,
    /// Weights at oracle prices this block (before its trades).
    pub weights: Vec<f64>,
    /// Whether it sent rebalancing transactions this block.
    pub trading: bool,
    /// Failed transactions seen so far, and how many in a row (for the retry back-off).
    pub failures_seen: u64,
    /// Consecutive failed attempts.
    pub failure_streak: u32,
    /// Why the rebalance in progress started.
    pub cause: Cause,
    /// What fired, for the tables.
    pub note: String,
    /// A fired trigger waits until this block (timing jitter).
    pub armed_at: Option<u64>,
    /// The vault's own stream for timing jitter.
    pub timing_rng: ChaCha12Rng,
}

impl VaultState {
    /// Annualized volatility from the EWMA.
    pub fn annualized_vol(&self) -> f64 {
        if self.last_dt <= 0.0 {
            return 0.0;
        }
        libm::sqrt(self.ewma_var / (self.last_dt / crate::market::SECONDS_PER_YEAR))
    }
}

/// Depositor flow state: its own random stream and scheduled bank runs.
#[derive(Component, Debug, Clone)]
pub struct FlowState {
    rng: ChaCha12Rng,
    /// Bank runs in progress: (last block, shares per block).
    runs: Vec<(u64, u128)>,
}

impl FlowState {
    /// Position of the flow stream (for digests).
    pub fn rng_word_pos(&self) -> u128 {
        self.rng.get_word_pos()
    }
}

/// Benchmarks on the same price path, per share: buy-and-hold of the genesis holdings, and the
/// same targets rebalanced every block at external prices with no cost.
#[derive(Component, Debug, Clone)]
pub struct Benchmark {
    /// Genesis holdings per share, whole tokens, per universe token.
    pub hold_units: Vec<f64>,
    /// Value per share of the costless continuously rebalanced portfolio, numeraire.
    pub continuous: f64,
    /// Its CPPI floor per share.
    pub continuous_floor: f64,
    /// External prices at the last update, per universe token (whole units).
    pub prices: Vec<f64>,
}

/// Numeraire per base unit of each universe token at the vault's oracle prices.
pub fn oracle_prices(cfg: &VaultConfig, book: &OracleBook, config: &SimConfig) -> Vec<f64> {
    cfg.universe
        .iter()
        .map(|t| {
            let whole = if *t == config.numeraire {
                1.0
            } else {
                cfg.spec.oracles.iter().find(|(x, _)| x == t).map_or(f64::NAN, |(_, o)| book.price[o.index()])
            };
            whole * libm::pow(10.0, -f64::from(config.decimals[t.index()]))
        })
        .collect()
}

/// What a vault decided this block.
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
    /// Band, targets, weights seen.
    pub band: f64,
    /// Targets.
    pub targets: Vec<f64>,
    /// Weights.
    pub weights: Vec<f64>,
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
    let balances: Vec<u128> = cfg.universe.iter().map(|t| view.balance(meta.account, *t)).collect();
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
                r.path,
                r.amount_in,
                min_out,
                view.block + spec.deadline_blocks - 1,
            );
            if spec.private_relay {
                tx.visibility = Visibility::Private;
            }
            if let Some(max_fee) = spec.max_fee_wei {
                tx.max_fee_wei = max_fee;
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
    let mut movers: Vec<TxId> = Vec::new();
    for (pool, window) in &cfg.twap_sources {
        movers.extend(provenance.moved_between(*pool, block.saturating_sub(*window), block));
    }
    movers.sort_unstable();
    movers.dedup();
    if movers.is_empty() { Cause::External } else { Cause::Moves(movers.into_iter().rev().take(8).collect()) }
}

/// What fired, for the tables: the rule and each oracle reading.
fn trigger_note(cfg: &VaultConfig, plan: &Plan, prices: &[f64], decimals: &[u8]) -> String {
    let rule = match cfg.spec.trigger {
        Trigger::Threshold { relative, .. } => {
            format!("threshold{} band {:.4}", if relative { " (relative)" } else { "" }, plan.band)
        }
        Trigger::VolatilityAdjusted { .. } => format!("volatility-adjusted band {:.4}", plan.band),
        Trigger::PeriodicBlocks(n) => format!("every {n} blocks"),
        Trigger::PeriodicSeconds(s) => format!("every {s} s"),
    };
    let readings: Vec<String> = cfg
        .oracle_names
        .iter()
        .filter_map(|(t, name)| {
            let k = cfg.universe.iter().position(|u| u == t)?;
            Some(format!("{name}={:.6}", prices[k] * libm::pow(10.0, f64::from(decimals[t.index()]))))
        })
        .collect();
    format!("{rule}; {}", readings.join(", "))
}

/// Observe phase: each vault's own history sees this block's oracle prices (EWMA volatility,
/// CPPI ratchet).
pub fn observe_vaults(
    mut vaults: Query<(&VaultMeta, &VaultConfig, &VaultShares, &mut VaultState)>,
    book: Res<OracleBook>,
    config: Res<SimConfig>,
    clock: Res<BlockClock>,
    ledger: Res<Ledger>,
) {
    for (meta, cfg, shares, mut state) in &mut vaults {
        let prices = oracle_prices(cfg, &book, &config);
        let logs: Vec<f64> = prices.iter().map(|p| libm::log(*p)).collect();
        // mean squared log return over the priced (non-numeraire) tokens
        let returns: Vec<f64> = cfg
            .universe
            .iter()
            .zip(logs.iter().zip(&state.last_log_prices))
            .filter(|(t, _)| **t != config.numeraire)
            .map(|(_, (now, before))| (now - before) * (now - before))
            .collect();
        if let Trigger::VolatilityAdjusted { halflife_blocks, .. } = cfg.spec.trigger
            && !returns.is_empty()
        {
            let r2 = returns.iter().sum::<f64>() / returns.len() as f64;
            let lambda = libm::exp(-std::f64::consts::LN_2 / halflife_blocks);
            state.ewma_var = lambda * state.ewma_var + (1.0 - lambda) * r2;
        }
        state.last_log_prices = logs;
        state.last_dt = clock.dt;
        if let Strategy::Cppi { ratchet: Some(r), .. } = cfg.spec.strategy {
            let balances: Vec<u128> = cfg.universe.iter().map(|t| ledger.balance(meta.account, *t)).collect();
            let nav = Valuation::new(&balances, &prices).nav;
            let sp = nav / (meshsim_math::u128_to_f64(shares.total) / SHARE_UNIT);
            if sp > state.peak_share_price {
                state.peak_share_price = sp;
                state.floor_per_share = state.floor_per_share.max(r * sp);
            }
        }
    }
}

/// Decide phase: each vault plans its rebalancing transactions.
#[allow(clippy::type_complexity, clippy::too_many_arguments)] // a system's parameters are its data access
pub fn decide_vaults(
    view: ViewParams,
    mut vaults: Query<(&VaultMeta, &VaultConfig, &VaultShares, &mut VaultState, &mut PendingTxs)>,
    book: Res<OracleBook>,
    config: Res<SimConfig>,
    table: Res<RouteTable>,
    clock: Res<BlockClock>,
    provenance: Res<Provenance>,
    mut metrics: ResMut<Metrics>,
    mempool: Res<crate::mempool::Mempool>,
) {
    view.with_view(|v| {
        for (meta, cfg, shares, mut state, mut pending) in &mut vaults {
            // one rebalance in flight at a time: wait while its transactions are still pending
            // (a full block, or a base fee above its max fee)
            if mempool.has_pending(Sender::Vault(meta.id)) {
                continue;
            }
            let prices = oracle_prices(cfg, &book, &config);
            let m = &mut metrics.vaults[meta.id.index()];
            // retry by its own rule: after a failed attempt, back off exponentially (2, 4, ... 256
            // blocks, at least the minimum interval); a success resets the streak
            if m.failed > state.failures_seen {
                state.failures_seen = m.failed;
                state.failure_streak += 1;
                state.in_progress = false;
                let backoff = (1u64 << state.failure_streak.min(8)).max(cfg.spec.min_interval_blocks);
                state.retry_at = clock.number + backoff;
            } else if state.trading {
                state.failure_streak = 0;
            }
            let mut plan = plan_rebalance(v, meta, cfg, &state, shares, &prices, &table);
            // timing jitter: a fired trigger waits a random 0..=N blocks, then is checked again
            if plan.started && cfg.spec.jitter_blocks > 0 {
                match state.armed_at {
                    None => {
                        let delay = state.timing_rng.random_range(0..=cfg.spec.jitter_blocks);
                        state.armed_at = Some(clock.number + delay);
                        if delay > 0 {
                            plan.txs.clear();
                            plan.started = false;
                        }
                    }
                    Some(at) if clock.number < at => {
                        plan.txs.clear();
                        plan.started = false;
                    }
                    Some(_) => {}
                }
                if plan.started {
                    state.armed_at = None;
                }
            }
            if plan.started {
                state.cause = trigger_cause(cfg, &provenance, clock.number);
                state.note = trigger_note(cfg, &plan, &prices, &config.decimals);
            }
            for tx in &mut plan.txs {
                tx.cause = state.cause.clone();
                tx.note = state.note.clone();
            }
            let m = &mut metrics.vaults[meta.id.index()];
            // a trigger that finds nothing worth trading is not a rebalance
            if plan.started && (!plan.txs.is_empty() || plan.no_route) {
                m.rebalances += 1;
                state.last_rebalance = Some((clock.number, clock.timestamp));
            }
            if plan.no_route {
                m.no_route += 1;
                m.last_failure = "no route".into();
                // retry by its own rule: after the minimum interval, at least the next block
                state.retry_at = clock.number + cfg.spec.min_interval_blocks.max(1);
            }
            state.in_progress = plan.remaining;
            state.trading = !plan.txs.is_empty();
            state.band = plan.band;
            state.targets = plan.targets;
            state.weights = plan.weights;
            pending.0.extend(plan.txs);
        }
    });
}

/// Converts a value to shares at `nav` for `total` shares, rounding down (the vault's favour).
fn shares_for(value_fp: U256, nav_fp: U256, total: u128) -> u128 {
    if nav_fp.is_zero() {
        return 0;
    }
    meshsim_math::full_math::mul_div(value_fp, U256::from(total), nav_fp)
        .ok()
        .and_then(|s| u128::try_from(s).ok())
        .unwrap_or(0)
}

/// Fixed-point value of `amount` at `price` (numeraire per base unit), scaled by 2^128 so that
/// share conversions stay in integers.
fn value_fp(amount: u128, price: f64) -> U256 {
    let p = f64_to_u256(price * 340_282_366_920_938_463_463_374_607_431_768_211_456.0);
    U256::from(amount).saturating_mul(p)
}

/// Observe phase: depositor flows. Deposits are priced at the vault's oracle NAV and mint shares
/// rounded down; withdrawals burn shares and pay every holding pro rata, rounded down.
#[allow(clippy::type_complexity)]
pub fn apply_flows(
    mut vaults: Query<(&VaultMeta, &VaultConfig, &mut VaultShares, &mut FlowState)>,
    mut ledger: ResMut<Ledger>,
    book: Res<OracleBook>,
    config: Res<SimConfig>,
    clock: Res<BlockClock>,
    mut metrics: ResMut<Metrics>,
) {
    let days = clock.dt / 86_400.0;
    for (meta, cfg, mut shares, mut flow) in &mut vaults {
        let mut deposits: Vec<u128> = Vec::new();
        let mut withdraw_fractions: Vec<f64> = Vec::new();
        let mut withdraw_shares: u128 = 0;
        let flow = &mut *flow;
        for f in &cfg.spec.flows {
            match *f {
                Flow::Poisson { deposits_per_day, mean_deposit, withdrawals_per_day, mean_withdraw_fraction } => {
                    let n_dep = Poisson::new(deposits_per_day * days).map_or(0.0, |d| d.sample(&mut flow.rng)) as u64;
                    for _ in 0..n_dep {
                        let e: f64 = Exp1.sample(&mut flow.rng);
                        deposits.push((e * meshsim_math::u128_to_f64(mean_deposit)) as u128);
                    }
                    let n_wd = Poisson::new(withdrawals_per_day * days).map_or(0.0, |d| d.sample(&mut flow.rng)) as u64;
                    for _ in 0..n_wd {
                        let e: f64 = Exp1.sample(&mut flow.rng);
                        withdraw_fractions.push((e * mean_withdraw_fraction).min(1.0));
                    }
                }
                Flow::Deposit { block, amount } if block == clock.number => deposits.push(amount),
                Flow::Withdraw { block, fraction } if block == clock.number => withdraw_fractions.push(fraction),
                Flow::WithdrawShares { block, shares } if block == clock.number => {
                    withdraw_shares = withdraw_shares.saturating_add(shares);
                }
                Flow::BankRun { start_block, blocks, fraction } if start_block == clock.number => {
                    let per_block = (meshsim_math::u128_to_f64(shares.total) * fraction / blocks as f64) as u128;
                    flow.runs.push((start_block + blocks - 1, per_block));
                }
                _ => {}
            }
        }
        for (last, per_block) in &flow.runs {
            if clock.number <= *last {
                withdraw_shares = withdraw_shares.saturating_add(*per_block);
            }
        }
        flow.runs.retain(|(last, _)| clock.number < *last);

        let prices = oracle_prices(cfg, &book, &config);
        let m = &mut metrics.vaults[meta.id.index()];
        for amount in deposits {
            let available = ledger.balance(meta.depositors, cfg.spec.deposit_token);
            let amount = amount.min(available);
            let nav_fp = cfg
                .universe
                .iter()
                .zip(&prices)
                .fold(U256::ZERO, |acc, (t, p)| acc.saturating_add(value_fp(ledger.balance(meta.account, *t), *p)));
            let k = cfg.universe.iter().position(|t| *t == cfg.spec.deposit_token).unwrap_or(0);
            let minted = shares_for(value_fp(amount, prices[k]), nav_fp, shares.total);
            if amount == 0 || minted == 0 {
                continue;
            }
            if ledger.transfer(meta.depositors, meta.account, cfg.spec.deposit_token, amount).is_ok() {
                shares.total += minted;
                m.deposits += 1;
            }
        }
        for fraction in withdraw_fractions {
            withdraw_shares =
                withdraw_shares.saturating_add((meshsim_math::u128_to_f64(shares.total) * fraction) as u128);
        }
        let burn = withdraw_shares.min(shares.total.saturating_sub(1)); // the vault never empties completely
        if burn > 0 {
            for t in &cfg.universe {
                let held = ledger.balance(meta.account, *t);
                let out =
                    meshsim_math::full_math::mul_div(U256::from(held), U256::from(burn), U256::from(shares.total))
                        .ok()
                        .and_then(|v| u128::try_from(v).ok())
                        .unwrap_or(0);
                // cannot fail: out <= held
                let _ = ledger.transfer(meta.account, meta.depositors, *t, out);
            }
            shares.total -= burn;
            m.withdrawals += 1;
        }
    }
}

/// Observe phase: move both benchmarks along this block's external prices.
pub fn update_benchmarks(mut vaults: Query<(&VaultConfig, &mut Benchmark)>, prices: Res<ExternalPrices>) {
    for (cfg, mut bench) in &mut vaults {
        let now: Vec<f64> = cfg.universe.iter().map(|t| prices.per_token[t.index()]).collect();
        let value = bench.continuous;
        // the costless portfolio holds its targets over the block, set at the block's start
        let targets = target_weights(&cfg.spec.strategy, &cfg.universe, value, bench.continuous_floor);
        let growth: f64 = targets.iter().zip(now.iter().zip(&bench.prices)).map(|(w, (n, o))| w * n / o).sum();
        bench.continuous = value * growth;
        if let Strategy::Cppi { ratchet: Some(r), .. } = cfg.spec.strategy {
            bench.continuous_floor = bench.continuous_floor.max(r * bench.continuous);
        }
        bench.prices = now;
    }
}

impl Benchmark {
    /// Buy-and-hold value per share at external prices `per_token` (whole units, by token id).
    pub fn hold_value(&self, cfg: &VaultConfig, per_token: &[f64]) -> f64 {
        cfg.universe.iter().zip(&self.hold_units).map(|(t, u)| u * per_token[t.index()]).sum()
    }
}

/// Builds a vault's components at genesis. `holdings_value` is its genesis NAV at external prices.
pub fn genesis(
    spec: &VaultSpec,
    universe: Vec<TokenId>,
    nav: f64,
    prices_whole: &[f64],
    decimals: &[u8],
    seed: u64,
) -> (VaultShares, VaultState, FlowState, Benchmark) {
    let total = (nav * SHARE_UNIT) as u128;
    let shares_f = nav; // genesis share price is 1
    let floor = match spec.strategy {
        Strategy::Cppi { floor, .. } => floor, // fraction of the genesis NAV = per share (price 1)
        Strategy::ConstantMix { .. } => 0.0,
    };
    let hold_units = universe
        .iter()
        .map(|t| {
            let held = spec.holdings.iter().find(|(x, _)| x == t).map_or(0, |(_, a)| *a);
            meshsim_math::u128_to_f64(held) * libm::pow(10.0, -f64::from(decimals[t.index()])) / shares_f
        })
        .collect();
    let n = universe.len();
    (
        VaultShares { total },
        VaultState {
            last_rebalance: None,
            in_progress: false,
            ewma_var: 0.0,
            last_log_prices: universe
                .iter()
                .map(|t| libm::log(prices_whole[t.index()] * libm::pow(10.0, -f64::from(decimals[t.index()]))))
                .collect(),
            last_dt: 0.0,
            floor_per_share: floor,
            peak_share_price: 1.0,
            retry_at: 0,
            band: 0.0,
            targets: vec![0.0; n],
            weights: vec![0.0; n],
            trading: false,
            failures_seen: 0,
            failure_streak: 0,
            cause: Cause::External,
            note: String::new(),
            armed_at: None,
            timing_rng: crate::rng::stream(seed, crate::rng::Purpose::Agent, 1_000_000 + u64::from(spec.id.0)),
        },
        FlowState { rng: crate::rng::stream(seed, crate::rng::Purpose::Flow, u64::from(spec.id.0)), runs: Vec::new() },
        Benchmark {
            hold_units,
            continuous: 1.0,
            continuous_floor: floor,
            prices: universe.iter().map(|t| prices_whole[t.index()]).collect(),
        },
    )
}

/// The tracking error of a vault now (for tables).
pub fn vault_tracking_error(state: &VaultState) -> f64 {
    tracking_error(&state.weights, &state.targets)
}

/// Record phase: every vault's tracking error at external prices enters its running mean and
/// maximum, and its share price its peak and largest drawdown (whether or not rows are
/// recorded), for summaries and sweeps.
pub fn measure_tracking(
    vaults: Query<(&VaultMeta, &VaultConfig, &VaultState, &VaultShares)>,
    ledger: Res<Ledger>,
    prices: Res<ExternalPrices>,
    mut metrics: ResMut<Metrics>,
) {
    for (meta, cfg, state, shares) in &vaults {
        let balances: Vec<u128> = cfg.universe.iter().map(|t| ledger.balance(meta.account, *t)).collect();
        let per_unit: Vec<f64> = cfg.universe.iter().map(|t| prices.per_base_unit[t.index()]).collect();
        let val = Valuation::new(&balances, &per_unit);
        let te = tracking_error(&val.weights(), &state.targets);
        let Some(m) = metrics.vaults.get_mut(meta.id.index()) else { continue };
        if te.is_finite() {
            m.tracking_sum += te;
            m.tracking_max = m.tracking_max.max(te);
            m.tracked_blocks += 1;
        }
        let share_price = val.nav / (meshsim_math::u128_to_f64(shares.total) / SHARE_UNIT);
        if share_price.is_finite() && share_price > 0.0 {
            m.peak_share_price = m.peak_share_price.max(share_price);
            m.max_drawdown = m.max_drawdown.max(1.0 - share_price / m.peak_share_price);
        }
    }
}

/// Record phase: vault rows (every `Records::vault_every` blocks).
pub fn record_vaults(
    vaults: Query<(&VaultMeta, &VaultConfig, &VaultShares, &VaultState, &Benchmark)>,
    ledger: Res<Ledger>,
    prices: Res<ExternalPrices>,
    clock: Res<BlockClock>,
    mut records: ResMut<crate::record::Records>,
) {
    if !records.enabled || !clock.number.is_multiple_of(records.vault_every.max(1)) {
        return;
    }
    let mut rows: Vec<crate::record::VaultRow> = vaults
        .iter()
        .map(|(meta, cfg, shares, state, bench)| {
            let balances: Vec<u128> = cfg.universe.iter().map(|t| ledger.balance(meta.account, *t)).collect();
            let per_unit: Vec<f64> = cfg.universe.iter().map(|t| prices.per_base_unit[t.index()]).collect();
            let val = Valuation::new(&balances, &per_unit);
            let weights = val.weights();
            let shares_f = meshsim_math::u128_to_f64(shares.total) / SHARE_UNIT;
            crate::record::VaultRow {
                block: clock.number,
                vault: meta.id,
                nav: val.nav,
                share_price: val.nav / shares_f,
                shares: shares.total,
                tracking_error: tracking_error(&weights, &state.targets),
                tokens: cfg.universe.clone(),
                weights,
                targets: state.targets.clone(),
                band: state.band,
                rebalancing: state.trading,
                hold_nav: bench.hold_value(cfg, &prices.per_token) * shares_f,
                continuous_nav: bench.continuous * shares_f,
            }
        })
        .collect();
    rows.sort_by_key(|r| r.vault);
    records.vaults.extend(rows);
}
