//! Agents: entities with an [`AgentMeta`], a behaviour component and their own [`PendingTxs`].
//! Each behaviour is a pure policy function over a read-only [`MarketView`] (unit-tested without a
//! World) wrapped by a short system.

pub mod arbitrage;
pub mod cycle;
mod view;

use bevy_ecs::prelude::*;
use meshsim_scenario::AgentId;

pub use view::{MarketView, ViewParams};

use crate::ledger::AccountId;

/// Identity of an agent entity.
#[derive(Component, Debug, Clone)]
pub struct AgentMeta {
    /// Stable id.
    pub id: AgentId,
    /// Name from the world file.
    pub name: String,
    /// Its ledger account.
    pub account: AccountId,
}
