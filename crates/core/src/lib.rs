//! meshsim's engine.
//!
//! A `bevy_ecs` world whose systems tick once per block through a schedule of named
//! [`engine::Phase`]s, run in order on one thread. Each domain is an [`engine::Plugin`] in its
//! own module (chain and gas, external market, custody, pools, arbitrage, oracles, vaults, block
//! building and execution, searchers, metrics, cascades, records): it builds its part of genesis
//! from the scenario, registers its systems into the phases, and contributes its part of the state
//! digest and of the snapshot. A transaction carries one [`tx::Action`], executed by the venue
//! that owns it; execution emits typed [`tx::Receipt`]s that metrics, cascades, tables and each
//! sender's inbox read in later phases. Every random draw comes from a ChaCha stream derived from
//! (seed, purpose, stable id). Front ends use only the [`Simulation`] facade.
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
pub mod arbitrage;
pub mod block;
pub mod books;
pub mod bridges;
pub mod cascade;
pub mod chain;
mod config;
pub mod engine;
pub mod ledger;
pub mod lending;
pub mod market;
pub mod metrics;
pub mod oracles;
pub mod pools;
pub mod record;
pub mod rng;
pub mod searchers;
mod simulation;
mod snapshot;
pub mod tx;
pub mod vaults;

#[cfg(test)]
mod testkit;

pub use bevy_ecs;
use bevy_ecs::prelude::Component;
pub use config::SimConfig;
pub use meshsim_math as math;
pub use meshsim_scenario as scenario;
pub use simulation::{PLUGINS, Simulation, StateDigest};
pub use snapshot::{
    AgentSnapshot, BookSnapshot, BridgeSnapshot, ChainSnapshot, MarketSnapshot, PoolSnapshot, ReserveSnapshot,
    Snapshot, TokenSnapshot, VaultSnapshot,
};

/// How to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SimOptions {
    /// Keep per-block and per-trade rows for [`Simulation::drain_records`], notes for them, and
    /// each cascade's members, links and recovery time.
    pub record: bool,
    /// Check conservation every block (on by default in debug builds and tests).
    pub check_conservation: bool,
    /// Record vault rows every this many blocks.
    pub vault_every: u64,
}

impl Default for SimOptions {
    fn default() -> Self {
        SimOptions { record: false, check_conservation: cfg!(debug_assertions), vault_every: 1 }
    }
}

/// Why a run stopped. Messages never repeat their source: front ends print the chain (the CLI
/// with `{:#}`).
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    /// Genesis balances could not be issued.
    #[error("genesis balances")]
    Genesis(#[source] ledger::LedgerError),
    /// Token totals changed, or a transfer the engine relies on failed.
    #[error("block {block}: token accounting")]
    Conservation {
        /// The block whose end state broke it.
        block: u64,
        /// The ledger's report.
        #[source]
        source: ledger::LedgerError,
    },
    /// A pool's ledger balance disagrees with its state.
    #[error("block {block}: pool {pool}: ledger holds {held:?}, {expected}")]
    PoolMismatch {
        /// The block whose end state broke it.
        block: u64,
        /// Pool name.
        pool: String,
        /// What the ledger holds in the pool's account, per pool token.
        held: Vec<u128>,
        /// What the pool's own state says it should hold.
        expected: String,
    },
    /// A price or amount left the range the simulation represents (prices compounded past any
    /// meaningful value by shocks, drift or volatility; a base fee pushed up for too long).
    #[error("block {block}: {what} reached {value:e}, outside [{min:e}, {max:e}]; the run stops here")]
    OutOfRange {
        /// The block in which it happened.
        block: u64,
        /// What left its range, e.g. `the external price of ETH`.
        what: String,
        /// The value it reached.
        value: f64,
        /// Lowest value represented.
        min: f64,
        /// Highest value represented.
        max: f64,
    },
    /// A lending market's math failed or its books disagree with the ledger.
    #[error("lending market {market}: {reason}")]
    Lending {
        /// Market name.
        market: String,
        /// What went wrong.
        reason: String,
    },
    /// A bridge's books disagree with the ledger (funds lost or created in flight).
    #[error("block {block}: bridges: {reason}")]
    Bridge {
        /// The hub block in which it happened.
        block: u64,
        /// What disagrees.
        reason: String,
    },
    /// An order book's escrow disagrees with its resting orders or the ledger.
    #[error("block {block}: book {book}: {reason}")]
    Book {
        /// The block (of the book's chain) in which it happened.
        block: u64,
        /// Book name.
        book: String,
        /// What disagrees.
        reason: String,
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

/// The first failure of a run, if any; systems record it, the facade returns it.
#[derive(Component, Debug, Default)]
pub struct SimStatus {
    /// The failure.
    pub failure: Option<SimError>,
}
