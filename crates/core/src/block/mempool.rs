//! The mempool: signed transactions wait here, with ids and arrival times, until a block takes
//! them or their deadline passes. Searchers read its public part and answer with bundles.

use bevy_ecs::prelude::*;
use meshsim_scenario::AgentId;

use crate::agents::{Latency, PendingTxs, SharedQuotes};
use crate::pools::QuoteCache;
use crate::tx::{DropReason, Effect, Outcome, Receipt, Sender, Tx, TxId, Visibility};

/// Pending transactions of one chain, in id order.
#[derive(Debug, Clone, Default)]
pub struct Mempool {
    /// Waiting transactions.
    pub pending: Vec<Tx>,
    /// Exact quotes their senders sized them with (the executor reuses them).
    pub quotes: QuoteCache,
    next_id: u64,
    /// Added to every id: the chain's id in the top 16 bits, so that ids are unique across chains
    /// (and chain 0's are what they always were).
    id_base: u64,
}

impl Mempool {
    /// An empty mempool of `chain`.
    pub fn of_chain(chain: crate::chain::ChainId) -> Self {
        Mempool { pending: Vec::new(), quotes: QuoteCache::default(), next_id: 0, id_base: u64::from(chain.0) << 48 }
    }

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
        tx.id = TxId(self.id_base + self.next_id);
        tx.chain = self.chain();
    }

    /// Removes and returns a pending transaction.
    pub fn take(&mut self, id: TxId) -> Option<Tx> {
        self.pending.binary_search_by_key(&id, |t| t.id).ok().map(|k| self.pending.remove(k))
    }

    /// The chain it belongs to.
    pub fn chain(&self) -> crate::chain::ChainId {
        crate::chain::ChainId((self.id_base >> 48) as u16)
    }

    /// The id the next transaction will get, less one.
    pub fn last_id(&self) -> u64 {
        self.next_id
    }

    /// Whether `sender` has a transaction waiting.
    pub fn has_pending(&self, sender: Sender) -> bool {
        self.pending.iter().any(|t| t.sender == sender)
    }
}

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

/// Every sender's new transactions enter the mempool in a fixed order (sender, then sequence),
/// get ids and arrival times; expired ones leave with a receipt.
pub(super) fn submit(
    senders: &mut Query<(&mut PendingTxs, Option<&Latency>, Option<&mut SharedQuotes>)>,
    now: u64,
    pool: &mut Mempool,
    receipts: &mut Vec<Receipt>,
) {
    let first = pool.pending.len();
    let chain = pool.chain();
    for (mut pending, latency, quotes) in senders.iter_mut() {
        if pending.0.is_empty() {
            continue;
        }
        if let Some(mut quotes) = quotes {
            for q in quotes.0.drain(..) {
                pool.quotes.put(q);
            }
        }
        let latency = latency.map_or(0.0, |l| l.to(chain));
        let from = pool.pending.len();
        // moved as one block of memory, not one transaction at a time
        pool.pending.append(&mut pending.0);
        for tx in &mut pool.pending[from..] {
            tx.arrival = latency;
        }
    }
    // ids in (sender, seq) order, which is unique: each sender numbers its own transactions
    // usually in order already: senders are visited in spawn order
    if !pool.pending[first..].is_sorted_by_key(|t| (t.sender, t.seq)) {
        pool.pending[first..].sort_unstable_by_key(|t| (t.sender, t.seq));
    }
    for tx in &mut pool.pending[first..] {
        pool.next_id += 1;
        tx.id = TxId(pool.id_base + pool.next_id);
        tx.chain = chain;
    }
    // a sender learns that its transaction expired unincluded (a vault counts a failed attempt)
    for tx in pool.pending.extract_if(.., |t| t.deadline_block < now) {
        receipts.push(Receipt {
            block: now,
            position: None,
            tx,
            outcome: Outcome::Dropped(DropReason::ExpiredInMempool),
            gas_used: 0,
            fee_wei: 0,
            effect: Effect::None,
            sandwich_shortfall: None,
            builder_bid_wei: 0,
        });
    }
}
