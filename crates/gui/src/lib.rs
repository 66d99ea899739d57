//! meshsim's window (egui / eframe): open a world, play it block by block, and watch the
//! liquidity mesh react: prices, vault weights, trades, sandwiches and cascades as they happen.
//! Shocks and vault changes made here are logged as commands, so a session replays headless
//! with `meshsim run WORLD --commands FILE` to the same digest.
//!
//! The simulation runs on its own thread ([`session`]); the window only reads what it publishes
//! and sends it orders.

pub mod app;
pub mod cascades;
pub mod charts;
pub mod compare;
pub mod events;
pub mod export;
pub mod fmt;
pub mod forms;
pub mod frames;
pub mod history;
pub mod inspector;
pub mod mesh;
pub mod recorded;
pub mod session;
pub mod timeline;
pub mod worlds;

pub use app::MeshsimApp;

use meshsim_scenario::{AgentId, PoolId, TokenId, VaultId};

/// What the inspector shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Selection {
    /// A pool.
    Pool(PoolId),
    /// A vault.
    Vault(VaultId),
    /// An agent.
    Agent(AgentId),
    /// A token.
    Token(TokenId),
    /// A lending market.
    Market(meshsim_scenario::MarketId),
    /// An order book.
    Book(meshsim_scenario::BookId),
}
