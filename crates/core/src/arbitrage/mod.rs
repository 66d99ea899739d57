//! Arbitrage: CEX-DEX arbitrageurs who trade each watched pool back to the external price and
//! hedge on the CEX, and cyclic arbitrageurs who close price loops across the mesh.

pub mod cex_dex;
pub mod cross_chain;
pub mod cycle;

use meshsim_scenario::AgentKind;

use crate::SimError;
use crate::agents::{SharedQuotes, snapshot_agents, spawn_agent};
use crate::engine::{App, Phase, Plugin};
use crate::pools::Pools;
use crate::snapshot::Snapshot;
pub use cex_dex::CexDexArb;
pub use cycle::CycleArb;

/// CEX-DEX and cyclic arbitrageurs.
pub struct ArbitragePlugin;

impl Plugin for ArbitragePlugin {
    fn name(&self) -> &'static str {
        "arbitrage"
    }

    fn present(&self, s: &meshsim_scenario::Scenario, _: &crate::SimOptions) -> bool {
        s.agents.iter().any(|a| {
            matches!(
                a.kind,
                AgentKind::Arbitrageur { .. }
                    | AgentKind::CycleArbitrageur { .. }
                    | AgentKind::CrossChainArbitrageur { .. }
            )
        })
    }

    fn build(&self, app: &mut App<'_>) -> Result<(), SimError> {
        let s = app.scenario;
        let (mut cex, mut cyc, mut cross) = (false, false, false);
        for a in &s.agents {
            match &a.kind {
                AgentKind::Arbitrageur { pools, min_profit, .. } => {
                    let cfg = CexDexArb {
                        pools: pools.clone(),
                        min_profit: *min_profit,
                        priority_fee_wei: a.priority_fee_wei,
                    };
                    spawn_agent(app, a, "arbitrageur")?.insert((cfg, SharedQuotes::default()));
                    cex = true;
                }
                AgentKind::CycleArbitrageur { max_cycle_len, min_profit, .. } => {
                    let cfg = CycleArb::new(
                        &app.state::<Pools>().entries,
                        a.chain,
                        *max_cycle_len,
                        *min_profit,
                        a.priority_fee_wei,
                    );
                    spawn_agent(app, a, "cycle_arbitrageur")?.insert(cfg);
                    cyc = true;
                }
                AgentKind::CrossChainArbitrageur {
                    pools,
                    bridges,
                    refill_below,
                    capital_cost_bps_per_hour,
                    min_profit,
                    bridged,
                } => {
                    let cfg = cross_chain::CrossChainArb {
                        pools: pools.clone(),
                        chains: pools.iter().map(|p| s.pool_chain(*p)).collect(),
                        bridges: bridges.iter().map(|b| s.bridges[b.index()].clone()).collect(),
                        refill_below: *refill_below,
                        capital_cost_bps_per_hour: *capital_cost_bps_per_hour,
                        min_profit: *min_profit,
                        bridged: *bridged,
                        priority_fee_wei: a.priority_fee_wei,
                        genesis: a.capital.clone(),
                        owed: Vec::new(),
                        sent: Vec::new(),
                        next_seq: 0,
                    };
                    spawn_agent(app, a, "cross_chain_arbitrageur")?.insert(cfg);
                    cross = true;
                }
                AgentKind::Searcher { .. }
                | AgentKind::Liquidator { .. }
                | AgentKind::Borrowers { .. }
                | AgentKind::Supplier { .. }
                | AgentKind::MarketMaker(_)
                | AgentKind::NoiseTrader(_) => {}
            }
        }
        if cex {
            app.add_systems(Phase::Decide, cex_dex::decide_cex_dex);
        }
        if cyc {
            app.add_systems(Phase::Decide, cycle::decide_cycles);
        }
        if cross {
            app.add_systems(Phase::Decide, cross_chain::decide_cross_chain);
            app.add_systems(Phase::Account, cross_chain::collect_legs);
        }
        Ok(())
    }

    fn snapshot(&self, world: crate::engine::StateView<'_>, snap: &mut Snapshot) {
        snapshot_agents::<CexDexArb>(world, snap);
        snapshot_agents::<CycleArb>(world, snap);
        snapshot_agents::<cross_chain::CrossChainArb>(world, snap);
    }
}
