//! Cascades: every included transaction names its cause (a schedule, the external price, the
//! earlier transactions whose price impact tripped it, or the pending transaction it exploits).
//! Following those links from each block's root events gives the cascades: who set off whom,
//! how deep it went, how much volume it triggered, and how long until the pools it touched were
//! back within their fee band of the external price.

use std::collections::BTreeMap;

use bevy_ecs::prelude::*;
use meshsim_scenario::PoolId;
use smallvec::SmallVec;

use crate::tx::{TxId, TxKind};

/// Blocks a transaction can still be named as a cause (pool movers are remembered 64 deep; one
/// TWAP window rarely exceeds this).
const WINDOW: u64 = 2_048;

#[derive(Debug, Clone)]
struct Node {
    block: u64,
    events: SmallVec<[u64; 2]>,
    depth: u32,
}

/// A cause already recorded: its id, the events it belongs to, its depth.
type KnownParent = (TxId, SmallVec<[u64; 2]>, u32);

/// One cascade.
#[derive(Debug, Clone, PartialEq)]
pub struct Cascade {
    /// Block of the root event.
    pub root_block: u64,
    /// Transactions of the root event (caused by no other transaction).
    pub roots: Vec<TxId>,
    /// Every member, roots included, in execution order.
    pub members: Vec<TxId>,
    /// Links (cause, effect) inside the cascade.
    pub links: Vec<(TxId, TxId)>,
    /// Longest chain of links, roots counting 1.
    pub depth: u32,
    /// Value traded by all members, numeraire.
    pub volume: f64,
    /// Value traded by the roots.
    pub root_volume: f64,
    /// Last block with a member.
    pub end_block: u64,
    /// Pools its members traded.
    pub pools: Vec<PoolId>,
    /// Vault rebalances among the members.
    pub rebalances: u32,
}

impl Cascade {
    /// Volume triggered per unit of root volume.
    pub fn amplification(&self) -> f64 {
        if self.root_volume > 0.0 { (self.volume - self.root_volume) / self.root_volume } else { 0.0 }
    }

    /// Blocks from the root to the last member, inclusive.
    pub fn duration(&self) -> u64 {
        self.end_block - self.root_block + 1
    }
}

/// Builds cascades as blocks execute.
#[derive(Resource, Debug, Default)]
pub struct CascadeTracker {
    nodes: BTreeMap<TxId, Node>,
    events: BTreeMap<u64, Cascade>,
}

impl CascadeTracker {
    /// Records an included transaction with the transactions it names as causes.
    pub fn record(&mut self, tx: TxId, kind: TxKind, block: u64, parents: &[TxId], value: f64, pools: &[PoolId]) {
        let known: SmallVec<[KnownParent; 4]> =
            parents.iter().filter_map(|p| self.nodes.get(p).map(|n| (*p, n.events.clone(), n.depth))).collect();
        let node = if known.is_empty() {
            let event = self.events.entry(block).or_insert_with(|| Cascade {
                root_block: block,
                roots: Vec::new(),
                members: Vec::new(),
                links: Vec::new(),
                depth: 1,
                volume: 0.0,
                root_volume: 0.0,
                end_block: block,
                pools: Vec::new(),
                rebalances: 0,
            });
            event.roots.push(tx);
            event.root_volume += value;
            Node { block, events: smallvec::smallvec![block], depth: 1 }
        } else {
            let mut events: SmallVec<[u64; 2]> = known.iter().flat_map(|(_, e, _)| e.iter().copied()).collect();
            events.sort_unstable();
            events.dedup();
            let depth = 1 + known.iter().map(|(_, _, d)| *d).max().unwrap_or(0);
            for e in &events {
                if let Some(c) = self.events.get_mut(e) {
                    c.depth = c.depth.max(depth);
                    c.end_block = c.end_block.max(block);
                    for (p, pe, _) in &known {
                        if pe.contains(e) {
                            c.links.push((*p, tx));
                        }
                    }
                }
            }
            Node { block, events, depth }
        };
        for e in &node.events {
            if let Some(c) = self.events.get_mut(e) {
                c.members.push(tx);
                c.volume += value;
                c.pools.extend_from_slice(pools);
                c.pools.sort_unstable();
                c.pools.dedup();
                if kind == TxKind::Rebalance {
                    c.rebalances += 1;
                }
            }
        }
        self.nodes.insert(tx, node);
    }

    /// Forgets transactions too old to be named as causes, and root events nothing followed.
    pub fn prune(&mut self, block: u64) {
        let horizon = block.saturating_sub(WINDOW);
        self.nodes.retain(|_, n| n.block >= horizon);
        self.events.retain(|b, c| *b >= horizon || c.members.len() > c.roots.len());
    }

    /// Cascades in which at least one transaction was set off by another, by root block.
    pub fn cascades(&self) -> impl Iterator<Item = &Cascade> {
        self.events.values().filter(|c| c.members.len() > c.roots.len())
    }
}

/// When each pool was outside its fee band of the external price: transitions (block, outside).
#[derive(Resource, Debug, Clone, Default)]
pub struct BandHistory {
    /// Per pool.
    pub transitions: Vec<Vec<(u64, bool)>>,
}

impl BandHistory {
    /// Records the band state of `pool` at `block` if it changed.
    pub fn observe(&mut self, pool: usize, block: u64, outside: bool) {
        if self.transitions.len() <= pool {
            self.transitions.resize(pool + 1, Vec::new());
        }
        let t = &mut self.transitions[pool];
        if t.last().map_or(outside, |(_, o)| *o != outside) {
            t.push((block, outside));
        }
    }

    /// First block at or after `from` at which every pool in `pools` is inside its band, if any
    /// by `last`.
    pub fn all_inside_from(&self, pools: &[PoolId], from: u64, last: u64) -> Option<u64> {
        let inside_at = |p: usize, b: u64| {
            let t = self.transitions.get(p).map_or(&[][..], |v| v.as_slice());
            match t.partition_point(|(at, _)| *at <= b) {
                0 => true,
                k => !t[k - 1].1,
            }
        };
        // candidate blocks: `from` and every later transition into the band
        let mut candidates: Vec<u64> = vec![from];
        for p in pools {
            if let Some(t) = self.transitions.get(p.index()) {
                candidates.extend(t.iter().filter(|(at, o)| *at >= from && !o).map(|(at, _)| *at));
            }
        }
        candidates.sort_unstable();
        candidates.into_iter().filter(|b| *b <= last).find(|b| pools.iter().all(|p| inside_at(p.index(), *b)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_chain_into_one_cascade_with_its_depth() {
        let mut t = CascadeTracker::default();
        let (a, b, c, d) = (TxId(1), TxId(2), TxId(3), TxId(4));
        t.record(a, TxKind::Rebalance, 10, &[], 100.0, &[PoolId(0)]);
        t.record(b, TxKind::Rebalance, 11, &[a], 50.0, &[PoolId(1)]);
        t.record(c, TxKind::Rebalance, 12, &[b], 25.0, &[PoolId(2)]);
        t.record(d, TxKind::Arbitrage, 12, &[], 10.0, &[PoolId(3)]);
        let all: Vec<&Cascade> = t.cascades().collect();
        assert_eq!(all.len(), 1, "the lone arbitrage root is not a cascade");
        let c0 = all[0];
        assert_eq!((c0.depth, c0.members.len(), c0.duration()), (3, 3, 3));
        assert_eq!(c0.links, vec![(a, b), (b, c)]);
        assert!((c0.amplification() - 0.75).abs() < 1e-12);
    }

    #[test]
    fn recovery_is_the_first_block_every_pool_is_back_in_band() {
        let mut h = BandHistory::default();
        h.observe(0, 5, true);
        h.observe(0, 9, false);
        h.observe(1, 6, true);
        h.observe(1, 12, false);
        assert_eq!(h.all_inside_from(&[PoolId(0), PoolId(1)], 7, 100), Some(12));
        assert_eq!(h.all_inside_from(&[PoolId(0)], 7, 100), Some(9));
        assert_eq!(h.all_inside_from(&[PoolId(1)], 7, 10), None);
    }
}
