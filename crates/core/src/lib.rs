//! meshsim's engine.
//!
//! A `bevy_ecs` world whose systems tick once per block through a chained schedule of named
//! [`schedule::Phase`]s on the single-threaded executor: the clock advances, external prices move,
//! agents decide on a read-only view and write their own pending transactions, one system orders
//! them and one executes them against exact pool math and a conserving [`ledger::Ledger`].
//! Every random draw comes from a ChaCha stream derived from (seed, purpose, stable id).
//! Front ends use only the [`Simulation`] facade.
//!
//! ```
//! # let text = r#"World(version: 1, name: "tiny", seed: 1, blocks: 10,
//! #     chain: (block_time: Fixed(12.0), gas_limit: 30000000, base_fee_gwei: 1.0, native_token: "ETH"),
//! #     numeraire: "USDC",
//! #     tokens: [(symbol: "ETH", decimals: 18), (symbol: "USDC", decimals: 6)],
//! #     market: (assets: [(token: "ETH", price: 2000.0, volatility: 0.5)]),
//! #     pools: [ConstantProduct(name: "eth-usdc", tokens: ("ETH", "USDC"), reserves: ("100", "200000"), fee_bps: 30.0)],
//! #     agents: [Arbitrageur(name: "arb", capital: [("ETH", "10"), ("USDC", "20000")])],
//! # )"#;
//! let scenario = meshsim_scenario::parse_str(text, "tiny.ron", std::path::Path::new(".")).unwrap();
//! let mut sim = meshsim_core::Simulation::new(&scenario).unwrap();
//! sim.run_blocks(10).unwrap();
//! assert_eq!(sim.block(), 10);
//! let digest = sim.digest(); // same world + seed => same digest
//! # assert_eq!(digest, { let mut s = meshsim_core::Simulation::new(&scenario).unwrap(); s.run_blocks(10).unwrap(); s.digest() });
//! ```

pub mod agents;
pub mod attribution;
pub mod builder;
pub mod cascade;
pub mod chain;
mod check;
pub mod execute;
pub mod ledger;
pub mod market;
pub mod mempool;
pub mod metrics;
pub mod oracles;
pub mod pools;
pub mod record;
pub mod rng;
pub mod schedule;
pub mod searchers;
mod sim_config;
mod simulation;
mod snapshot;
pub mod tx;
pub mod vaults;

pub use bevy_ecs;
pub use meshsim_math as math;
pub use meshsim_scenario as scenario;
pub use sim_config::SimConfig;
pub use simulation::{SimOptions, Simulation, StateDigest};
pub use snapshot::{AgentSnapshot, PoolSnapshot, Snapshot, TokenSnapshot, VaultSnapshot};

/// The world's scheduled stress events (volatility and gas spikes, oracle freezes, liquidity
/// withdrawals), one resource read by the systems they affect.
#[derive(bevy_ecs::prelude::Resource, Debug, Clone, Default)]
pub struct StressEvents(pub meshsim_scenario::Events);

/// Why a run stopped.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SimError {
    /// Genesis balances could not be issued.
    #[error("genesis: {0}")]
    Genesis(String),
    /// The block schedule could not be built (e.g. an ambiguous system order).
    #[error("schedule: {0}")]
    Schedule(String),
    /// Token totals changed.
    #[error("block {block}: {source}")]
    Conservation {
        /// Block.
        block: u64,
        /// The ledger's report.
        #[source]
        source: ledger::LedgerError,
    },
    /// A pool's ledger balance disagrees with its state.
    #[error("block {block}: pool {pool}: {detail}")]
    PoolMismatch {
        /// Block.
        block: u64,
        /// Pool name.
        pool: String,
        /// The figures.
        detail: String,
    },
    /// A command does not fit this world.
    #[error("block {block}: command: {reason}")]
    Command {
        /// Blocks run when it was given.
        block: u64,
        /// Why.
        reason: String,
    },
}
