//! What every agent has, whatever it does: an [`AgentMeta`] (id, name, account, chain), its own
//! [`PendingTxs`] outbox, a [`Latency`], and the read-only [`MarketView`] its policy decides on.
//! Behaviours live in their domains (`arbitrage`, `searchers`); each is a pure policy function
//! over the view (unit-tested without a World) wrapped by a short system.

mod view;

use bevy_ecs::prelude::*;
use meshsim_scenario::{AgentId, AgentSpec};

pub use view::{MarketView, ViewParams};

use crate::SimError;
use crate::chain::ChainId;
use crate::engine::{App, StateView};
use crate::ledger::{AccountId, Ledger};
use crate::snapshot::{AgentSnapshot, Snapshot};
use crate::tx::Tx;

/// Identity of an agent entity.
#[derive(Component, Debug, Clone)]
pub struct AgentMeta {
    /// Stable id.
    pub id: AgentId,
    /// Name from the world file.
    pub name: String,
    /// Its ledger account.
    pub account: AccountId,
    /// The chain it acts on.
    pub chain: ChainId,
    /// What it is, for front ends.
    pub label: &'static str,
}

/// Exact pool quotes a sender's pending transactions were sized with; they go to the chain's
/// mempool with the transactions, and the executor reuses each while its pool has not moved.
#[derive(Component, Debug, Clone, Default)]
pub struct SharedQuotes(pub Vec<crate::pools::SharedQuote>);

/// A sender's transactions for the next block (written only by its own decision system).
#[derive(Component, Debug, Clone, Default)]
pub struct PendingTxs(pub Vec<Tx>);

impl PendingTxs {
    /// An outbox with room for `n` transactions a block, so that a sender's first busy block does
    /// not allocate in the middle of a run.
    pub fn with_capacity(n: usize) -> Self {
        PendingTxs(Vec::with_capacity(n))
    }
}

/// Network latency of a sender, seconds (first-come-first-served ordering): how long after a
/// block starts its submission reaches that chain's builder.
#[derive(Component, Debug, Clone, Default)]
pub struct Latency {
    /// To any chain not listed below.
    pub seconds: f64,
    /// To particular chains, (chain, seconds).
    pub by_chain: Vec<(crate::chain::ChainId, f64)>,
}

impl Latency {
    /// The same latency to every chain.
    pub fn uniform(seconds: f64) -> Self {
        Latency { seconds, by_chain: Vec::new() }
    }

    /// Its latency to `chain`.
    #[inline]
    pub fn to(&self, chain: crate::chain::ChainId) -> f64 {
        self.by_chain.iter().find(|(c, _)| *c == chain).map_or(self.seconds, |(_, s)| *s)
    }
}

/// Mints an agent's genesis capital and spawns it with its meta, outbox and latency; the caller
/// adds its behaviour.
pub fn spawn_agent<'w>(
    app: &'w mut App<'_>,
    spec: &AgentSpec,
    label: &'static str,
) -> Result<EntityWorldMut<'w>, SimError> {
    let account = app.state::<crate::SimConfig>().layout.agent(spec.id);
    let mut ledger = app.state_mut::<Ledger>();
    for (t, b) in &spec.capital {
        ledger.mint_genesis(account, *t, *b).map_err(SimError::Genesis)?;
    }
    let meta = AgentMeta { id: spec.id, name: spec.name.clone(), account, chain: spec.chain, label };
    // an agent sends at most about one transaction per pool in a block
    let outbox = PendingTxs::with_capacity(app.scenario.pools.len().max(4));
    let latency = Latency { seconds: spec.latency_s, by_chain: spec.chain_latency_s.clone() };
    Ok(app.world.spawn((meta, outbox, latency)))
}

/// Adds every agent with a `Marker` component to the snapshot (the facade sorts them by id).
pub fn snapshot_agents<Marker: Component>(world: StateView<'_>, snap: &mut Snapshot) {
    let ledger = world.state::<Ledger>();
    let metrics = world.state::<crate::metrics::Metrics>();
    let Some(mut q) = world.world.try_query_filtered::<&AgentMeta, With<Marker>>() else { return };
    for m in q.iter(world.world) {
        snap.agents.push(AgentSnapshot {
            id: m.id,
            name: m.name.clone(),
            kind: m.label,
            balances: ledger.account(m.account).to_vec(),
            profit: metrics.agents.get(m.id.index()).map_or(0.0, |a| a.profit),
        });
    }
}
