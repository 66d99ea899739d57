//! One run of a sweep: build the point's world at the run's seed, simulate it without per-block
//! output, and reduce it to a row of figures (and one row per vault).

use meshsim_core::{SimOptions, Simulation};
use meshsim_scenario::AgentKind;

use crate::plan::{Plan, Run};

/// Figures of a run, in [`RUN_METRICS`] order.
pub const RUN_METRICS: [&str; 30] = [
    "blocks",
    "arbitrage_profit",
    "searcher_profit",
    "gas_paid",
    "lp_fees",
    "lvr",
    "vault_cost",
    "vault_gas",
    "vault_fees",
    "vault_impact",
    "vault_mev_loss",
    "vault_rebalances",
    "vault_failed",
    "tracking_error",
    "tracking_error_max",
    "cascades",
    "cascade_max_depth",
    "cascade_max_amplification",
    "sandwiched",
    "reverted",
    "liquidations",
    "liquidation_bonus",
    "bad_debt",
    "oracle_gap_min",
    "pool_gap_min",
    "vault_bridge_fees",
    "bridge_transfers",
    "chain_gap_mean_bps",
    "chain_gap_p99_bps",
    "chain_gap_max_bps",
];

/// Figures of a vault in a run, in [`VAULT_METRICS`] order.
pub const VAULT_METRICS: [&str; 14] = [
    "tracking_error",
    "tracking_error_max",
    "rebalances",
    "failed",
    "gas",
    "fees",
    "impact",
    "mev_loss",
    "cost",
    "share_price",
    "nav",
    "shortfall_vs_continuous",
    "max_drawdown",
    "bridge_fees",
];

/// What a run produced.
#[derive(Debug, Clone, PartialEq)]
pub struct RunResult {
    /// Which run.
    pub run: Run,
    /// Figures (empty if it failed).
    pub metrics: Vec<f64>,
    /// Per vault: name and figures.
    pub vaults: Vec<(String, Vec<f64>)>,
    /// Final state digest (empty if it failed).
    pub digest: String,
    /// Why it failed.
    pub error: Option<String>,
}

/// Runs one run of `plan`; `check` turns the per-block conservation check on.
pub fn execute(plan: &Plan, run: Run, check: bool) -> RunResult {
    let fail =
        |e: String| RunResult { run, metrics: Vec::new(), vaults: Vec::new(), digest: String::new(), error: Some(e) };
    let point = &plan.point(run.point);
    let scenario = match plan.scenario(point, run.seed) {
        Ok(s) => s,
        Err(e) => return fail(e.to_string()),
    };
    match figures(&scenario, plan.spec.focus.as_deref(), check) {
        Ok(f) => RunResult { run, metrics: f.metrics, vaults: f.vaults, digest: f.digest, error: None },
        Err(e) => fail(e),
    }
}

/// The figures of one simulated world.
#[derive(Debug, Clone, PartialEq)]
pub struct Figures {
    /// In [`RUN_METRICS`] order.
    pub metrics: Vec<f64>,
    /// Per vault: name and figures in [`VAULT_METRICS`] order.
    pub vaults: Vec<(String, Vec<f64>)>,
    /// Final state digest.
    pub digest: String,
}

/// Simulates `scenario` for its `blocks` without per-block output and reduces it to figures; the
/// vault columns of the run figures sum the vaults named in `focus` (all when `None`).
pub fn figures(
    scenario: &meshsim_scenario::Scenario,
    focus: Option<&[String]>,
    check: bool,
) -> Result<Figures, String> {
    let fail = |e: String| Err(e);
    let options = SimOptions { record: false, check_conservation: check, vault_every: 1 };
    let mut sim = match Simulation::with_options(scenario, options) {
        Ok(s) => s,
        Err(e) => return fail(e.to_string()),
    };
    if let Err(e) = sim.run_blocks(scenario.blocks) {
        return fail(e.to_string());
    }
    let snapshot = sim.snapshot();
    let m = &snapshot.metrics;
    let agents = |pick: fn(&AgentKind) -> bool, f: fn(&meshsim_core::metrics::AgentMetrics) -> f64| -> f64 {
        scenario.agents.iter().zip(&m.agents).filter(|(a, _)| pick(&a.kind)).map(|(_, x)| f(x)).sum()
    };
    let arbitrage = agents(
        |k| {
            matches!(
                k,
                AgentKind::Arbitrageur { .. }
                    | AgentKind::CycleArbitrageur { .. }
                    | AgentKind::CrossChainArbitrageur { .. }
            )
        },
        |a| a.profit,
    );
    let searchers = agents(|k| matches!(k, AgentKind::Searcher { .. }), |a| a.mev_profit);
    let focused: Vec<&meshsim_core::metrics::VaultMetrics> = scenario
        .vaults
        .iter()
        .zip(&m.vaults)
        .filter(|(spec, _)| focus.is_none_or(|f| f.contains(&spec.name)))
        .map(|(_, x)| x)
        .collect();
    let v = &focused;
    let sum = |f: fn(&meshsim_core::metrics::VaultMetrics) -> f64| v.iter().map(|x| f(x)).sum::<f64>();
    let cascades = sim.cascade_summary();
    let lending = LendingFigures::of(sim.lending());
    let gaps = sim.chain_gaps();
    let tracking_mean =
        if v.is_empty() { 0.0 } else { v.iter().map(|x| x.tracking_mean()).sum::<f64>() / v.len() as f64 };
    let metrics = vec![
        scenario.blocks as f64,
        arbitrage,
        searchers,
        m.gas_value,
        m.pools.iter().map(|p| p.fees).sum(),
        m.pools.iter().zip(&snapshot.pools).map(|(p, now)| p.lvr(now.value)).sum(),
        sum(|x| x.cost()),
        sum(|x| x.gas_value),
        sum(|x| x.fees),
        sum(|x| x.slippage),
        sum(|x| x.mev_loss),
        sum(|x| x.rebalances as f64),
        sum(|x| x.failed as f64),
        tracking_mean,
        v.iter().map(|x| x.tracking_max).fold(0.0, f64::max),
        cascades.count as f64,
        f64::from(cascades.deepest),
        cascades.largest_amplification,
        sum(|x| x.sandwiched as f64),
        m.reverted as f64,
        lending.liquidations,
        lending.bonus,
        lending.bad_debt,
        lending.oracle_gap_min,
        lending.pool_gap_min,
        sum(|x| x.bridge_fees),
        sim.bridges().map_or(0.0, |b| b.list.iter().flat_map(|b| &b.pairs).map(|p| p.stats.sent as f64).sum()),
        // gaps between chains: the mean over pairs of pools of each pair's time-weighted mean; the
        // worst pair's 99th percentile and maximum
        gaps.map_or(0.0, |g| g.pairs.iter().map(|p| p.mean()).sum::<f64>() / g.pairs.len().max(1) as f64),
        gaps.map_or(0.0, |g| g.pairs.iter().map(|p| p.quantile(0.99)).fold(0.0, f64::max)),
        gaps.map_or(0.0, |g| g.pairs.iter().map(|p| p.max).fold(0.0, f64::max)),
    ];
    let vaults = snapshot
        .vaults
        .iter()
        .zip(&m.vaults)
        .map(|(s, x)| {
            let shortfall = if s.continuous_nav > 0.0 { (s.continuous_nav - s.nav) / s.continuous_nav } else { 0.0 };
            (
                s.name.clone(),
                vec![
                    x.tracking_mean(),
                    x.tracking_max,
                    x.rebalances as f64,
                    x.failed as f64,
                    x.gas_value,
                    x.fees,
                    x.slippage,
                    x.mev_loss,
                    x.cost(),
                    s.share_price,
                    s.nav,
                    shortfall,
                    x.max_drawdown,
                    x.bridge_fees,
                ],
            )
        })
        .collect();
    Ok(Figures { metrics, vaults, digest: sim.digest().to_string() })
}

/// A run's lending figures, summed over markets (numeraire at the final oracle prices).
#[derive(Debug, Clone, Copy, Default)]
struct LendingFigures {
    liquidations: f64,
    bonus: f64,
    bad_debt: f64,
    oracle_gap_min: f64,
    pool_gap_min: f64,
}

impl LendingFigures {
    fn of(markets: &[meshsim_core::lending::MarketState]) -> Self {
        let mut f = LendingFigures::default();
        for r in markets.iter().flat_map(|m| &m.reserves) {
            let value = |amount: u128| r.value(amount);
            f.liquidations += r.stats.liquidations as f64;
            f.bonus += value(r.stats.bonus);
            f.bad_debt += value(u128::try_from(r.reserve.deficit).unwrap_or(u128::MAX));
            f.oracle_gap_min = f.oracle_gap_min.min(r.stats.oracle_gap_min);
            f.pool_gap_min = f.pool_gap_min.min(r.stats.pool_gap_min);
        }
        f
    }
}
