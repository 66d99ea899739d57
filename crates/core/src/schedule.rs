//! One block = one chained schedule of named phases, on the single-threaded executor.

use bevy_ecs::prelude::*;
use bevy_ecs::schedule::{LogLevel, ScheduleBuildSettings, SingleThreadedExecutor};

use crate::agents::{arbitrage, cycle};
use crate::{builder, chain, check, execute, market, mempool, metrics, oracles, pools, record, searchers, vaults};

/// The phases of a block, in order.
#[derive(SystemSet, Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Phase {
    /// Block number and time advance; last block's touched pools become visible.
    Begin,
    /// External prices move.
    Market,
    /// Metrics observe the price move on current holdings.
    Observe,
    /// Agents decide on a read-only view and write their own pending transactions.
    Decide,
    /// New transactions enter the mempool.
    Submit,
    /// Searchers read the public mempool and send bundles.
    Search,
    /// One system builds the block by the ordering policy.
    Build,
    /// One system executes it.
    Execute,
    /// Rows for the output tables.
    Record,
    /// Base fee rolls; conservation is checked.
    Settle,
}

/// Builds the block schedule. Ambiguity detection is an error: two systems that could touch
/// the same data in either order would make results depend on the executor.
pub fn block_schedule() -> Schedule {
    let mut schedule = Schedule::default();
    schedule.set_executor(SingleThreadedExecutor::new());
    schedule.set_build_settings(ScheduleBuildSettings { ambiguity_detection: LogLevel::Error, ..Default::default() });
    schedule.configure_sets(
        (
            Phase::Begin,
            Phase::Market,
            Phase::Observe,
            Phase::Decide,
            Phase::Submit,
            Phase::Search,
            Phase::Build,
            Phase::Execute,
            Phase::Record,
            Phase::Settle,
        )
            .chain(),
    );
    schedule.add_systems(
        (chain::advance_clock, pools::rotate_dirty_pools, pools::withdraw_liquidity).chain().in_set(Phase::Begin),
    );
    schedule.add_systems(market::advance_external_prices.in_set(Phase::Market));
    schedule.add_systems(
        (
            oracles::update_oracles,
            vaults::apply_flows,
            vaults::observe_vaults,
            vaults::update_benchmarks,
            metrics::accumulate_holdings_gain,
        )
            .chain()
            .in_set(Phase::Observe),
    );
    schedule.add_systems(
        (
            arbitrage::decide_cex_dex,
            cycle::decide_cycles,
            vaults::decide_vaults,
            searchers::predictor::open_predictions,
        )
            .chain()
            .in_set(Phase::Decide),
    );
    schedule.add_systems(mempool::submit_to_mempool.in_set(Phase::Submit));
    schedule.add_systems((searchers::search, searchers::predictor::unwind_predictions).chain().in_set(Phase::Search));
    schedule.add_systems(builder::build_block.in_set(Phase::Build));
    schedule.add_systems(execute::execute_block.in_set(Phase::Execute));
    schedule.add_systems(
        (
            record::record_block,
            vaults::record_vaults,
            vaults::measure_tracking,
            metrics::update_pool_values,
            metrics::observe_bands,
        )
            .chain()
            .in_set(Phase::Record),
    );
    schedule.add_systems((check::check_conservation, chain::roll_base_fee).chain().in_set(Phase::Settle));
    schedule
}
