//! The mempool: signed transactions wait here, with ids and arrival times, until a block takes
//! them or their deadline passes. Searchers read its public part and answer with bundles.

use bevy_ecs::prelude::*;
use meshsim_scenario::AgentId;

use crate::chain::BlockClock;
use crate::metrics::Metrics;
use crate::tx::{PendingTxs, Tx, TxId, Visibility};

/// Pending transactions, in id order.
#[derive(Resource, Debug, Clone, Default)]
pub struct Mempool {
    /// Waiting transactions.
    pub pending: Vec<Tx>,
    next_id: u64,
}

impl Mempool {
    /// Public pending transactions (what searchers see).
    pub fn public(&self) -> impl Iterator<Item = &Tx> {
        self.pending.iter().filter(|t| t.visibility == Visibility::Public)
    }

    /// A pending transaction by id.
    pub fn get(&self, id: TxId) -> Option<&Tx> {
        self.pending.binary_search_by_key(&id, |t| t.id).ok().map(|k| &self.pending[k])
    }

    /// Gives a transaction that bypasses the mempool (a bundle's own) the next id.
    pub fn assign_id(&mut self, tx: &mut Tx) {
        self.next_id += 1;
        tx.id = TxId(self.next_id);
    }

    /// Removes and returns a pending transaction.
    pub fn take(&mut self, id: TxId) -> Option<Tx> {
        self.pending.binary_search_by_key(&id, |t| t.id).ok().map(|k| self.pending.remove(k))
    }
}

/// Network latency of a sender, seconds (first-come-first-served ordering).
#[derive(Component, Debug, Clone, Copy, Default)]
pub struct Latency(pub f64);

/// A searcher's ordered group: its own transactions before and after a victim's, with a bid to
/// the builder. All or nothing.
#[derive(Debug, Clone, PartialEq)]
pub struct Bundle {
    /// The searcher.
    pub searcher: AgentId,
    /// Its sequence number within the block.
    pub seq: u32,
    /// Its transactions before the victim.
    pub before: Vec<Tx>,
    /// The pending transaction it surrounds, if any.
    pub victim: Option<TxId>,
    /// Its transactions after the victim.
    pub after: Vec<Tx>,
    /// Paid to the builder if included (builder auction), wei of the native token.
    pub bid_wei: u128,
}

impl Bundle {
    /// The bundle's own transactions in order.
    pub fn own(&self) -> impl Iterator<Item = &Tx> {
        self.before.iter().chain(&self.after)
    }
}

/// A searcher's bundles for this block (written only by its own system).
#[derive(Component, Debug, Clone, Default)]
pub struct PendingBundles(pub Vec<Bundle>);

/// Submit phase: every sender's new transactions enter the mempool in a fixed order (sender,
/// then sequence), get ids and arrival times; expired ones leave.
pub fn submit_to_mempool(
    mut senders: Query<(&mut PendingTxs, Option<&Latency>)>,
    clock: Res<BlockClock>,
    mut pool: ResMut<Mempool>,
    mut metrics: ResMut<Metrics>,
) {
    let mut fresh: Vec<Tx> = Vec::new();
    for (mut pending, latency) in &mut senders {
        let latency = latency.map_or(0.0, |l| l.0);
        for mut tx in pending.0.drain(..) {
            tx.arrival = latency;
            fresh.push(tx);
        }
    }
    fresh.sort_by(|a, b| a.sender.cmp(&b.sender).then(a.seq.cmp(&b.seq)));
    for mut tx in fresh {
        pool.next_id += 1;
        tx.id = TxId(pool.next_id);
        pool.pending.push(tx);
    }
    let now = clock.number;
    let (live, expired): (Vec<Tx>, Vec<Tx>) =
        std::mem::take(&mut pool.pending).into_iter().partition(|t| t.deadline_block >= now);
    pool.pending = live;
    metrics.expired += expired.len() as u64;
    // a vault learns that its rebalance expired unincluded: a failed attempt, retried by its rule
    for tx in expired {
        if let crate::tx::Sender::Vault(v) = tx.sender
            && let Some(m) = metrics.vaults.get_mut(v.index())
        {
            m.failed += 1;
            m.last_failure = "expired in the mempool".into();
        }
    }
}

impl Mempool {
    /// Whether `sender` has a transaction waiting.
    pub fn has_pending(&self, sender: crate::tx::Sender) -> bool {
        self.pending.iter().any(|t| t.sender == sender)
    }
}
