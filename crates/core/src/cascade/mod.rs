//! Cascades: every included transaction names its cause (a schedule, the external price, the
//! earlier transactions whose price impact tripped it, or the pending transaction it exploits).
//! Following those links from each block's root events gives the cascades: who set off whom,
//! how deep it went, how much volume it triggered, and (when rows are recorded) how long until
//! the pools it touched were back within their fee band of the external price.
//!
//! The tracker costs a constant amount per transaction and per block, whatever the run length:
//! transactions that can still be named as causes live in a direct-mapped table keyed by id
//! (a lookup checks the id and that the entry is young enough), each recent block's root event in
//! a ring, and a root event is promoted to a cascade only when something links to it. Member
//! lists, links and pools are kept only when rows are recorded; the summary needs only scalars.

use bevy_ecs::prelude::*;
use meshsim_scenario::PoolId;
use smallvec::SmallVec;

use crate::SimError;
use crate::chain::Chains;
use crate::engine::{App, Phase, Plugin, State, shared};
use crate::market::ExternalPrices;
use crate::pools::Pools;
use crate::tx::{Receipts, TxId, TxKind};

/// Blocks a transaction can still be named as a cause (pool movers are remembered 64 deep; one
/// TWAP window rarely exceeds this).
pub const WINDOW: u64 = 2_048;

/// Slots of the root ring: every block from the oldest live one to the current one.
const RING: usize = WINDOW as usize + 2;

/// Cascade tracking.
pub struct CascadesPlugin;

impl Plugin for CascadesPlugin {
    fn name(&self) -> &'static str {
        "cascades"
    }

    fn build(&self, app: &mut App<'_>) -> Result<(), SimError> {
        let mut tracker = CascadeTracker::new(app.options.record);
        tracker.forget_arbitrages = !arbitrages_nameable(app.scenario);
        app.insert_state(tracker);
        if !can_cascade(app.scenario) {
            // every transaction would be a root of its own block's event, which is not a
            // cascade: the tracker stays empty, and reads the same as one that watched
            return Ok(());
        }
        if app.options.record {
            // recovery needs each block's end state: close the block in the Record phase
            app.add_systems(Phase::Account, record_cascades);
            app.add_systems(Phase::Record, close_block);
        } else {
            // nothing reads the tracker between blocks: close the previous block first thing in
            // the next one, in the same system
            app.add_systems(Phase::Account, close_and_record_cascades);
        }
        Ok(())
    }
}

/// Whether a transaction of this world can ever name another as its cause. Only a vault, a
/// searcher, a liquidator or a trader who is not an arbitrageur moves a pool away from its
/// external price on its own account (an arbitrage names those movers as its causes, and names
/// nothing when only arbitrages moved the pool); CEX-DEX arbitrages answer only the external
/// price. In a world with nothing but CEX-DEX arbitrageurs every transaction is a root and no
/// cascade forms.
pub fn can_cascade(s: &meshsim_scenario::Scenario) -> bool {
    !s.vaults.is_empty() || s.agents.iter().any(|a| !matches!(a.kind, meshsim_scenario::AgentKind::Arbitrageur { .. }))
}

/// Whether anything in this world can name a CEX-DEX arbitrage as its cause. An arbitrage names
/// only the non-arbitrage movers of its pool, a push oracle's reader names the external price;
/// what can name an arbitrage is a reader of a pool's TWAP (a vault's trigger or a lending
/// market's liquidation reads the pool's movers over the window, arbitrages included), a
/// searcher or predictor (its victim), or another kind of agent. In a world with none of these,
/// an arbitrage is never looked up again, and the tracker keeps no entry for it.
pub fn arbitrages_nameable(s: &meshsim_scenario::Scenario) -> bool {
    s.oracles.iter().any(|o| matches!(o.kind, meshsim_scenario::OracleKind::Twap { .. }))
        || !s.lending.is_empty()
        || s.agents.iter().any(|a| {
            !matches!(
                a.kind,
                meshsim_scenario::AgentKind::Arbitrageur { .. } | meshsim_scenario::AgentKind::CycleArbitrageur { .. }
            )
        })
}

/// One cascade.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Cascade {
    /// Block of the root event.
    pub root_block: u64,
    /// Transactions of the root event (caused by no other transaction); recorded runs only.
    pub roots: Vec<TxId>,
    /// Every member, roots included, in execution order; recorded runs only.
    pub members: Vec<TxId>,
    /// Links (cause, effect) inside the cascade; recorded runs only.
    pub links: Vec<(TxId, TxId)>,
    /// Number of roots.
    pub root_count: u32,
    /// Number of members, roots included.
    pub member_count: u32,
    /// Longest chain of links, roots counting 1.
    pub depth: u32,
    /// Value traded by all members, numeraire.
    pub volume: f64,
    /// Value traded by the roots.
    pub root_volume: f64,
    /// Last block with a member.
    pub end_block: u64,
    /// Pools its members traded, sorted; recorded runs only.
    pub pools: Vec<PoolId>,
    /// Vault rebalances among the members.
    pub rebalances: u32,
    /// Lending liquidations among the members.
    pub liquidations: u32,
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

    /// Whether something was set off: a root event alone is not a cascade.
    pub fn is_cascade(&self) -> bool {
        self.member_count > self.root_count
    }

    /// Counts a new member.
    fn tally(&mut self, tx: TxId, kind: TxKind, value: f64, pools: impl IntoIterator<Item = PoolId>, detail: bool) {
        self.member_count += 1;
        self.volume += value;
        if detail {
            self.members.push(tx);
            for p in pools {
                if let Err(k) = self.pools.binary_search(&p) {
                    self.pools.insert(k, p);
                }
            }
        }
        match kind {
            TxKind::Rebalance => self.rebalances += 1,
            TxKind::Liquidation => self.liquidations += 1,
            _ => {}
        }
    }

    fn reset(&mut self, block: u64) {
        self.root_block = block;
        self.roots.clear();
        self.members.clear();
        self.links.clear();
        self.pools.clear();
        self.root_count = 0;
        self.member_count = 0;
        self.depth = 1;
        self.volume = 0.0;
        self.root_volume = 0.0;
        self.end_block = block;
        self.rebalances = 0;
        self.liquidations = 0;
    }
}

/// Count, deepest and largest amplification of a run's cascades.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct CascadeSummary {
    /// Cascades.
    pub count: u64,
    /// Longest chain of links.
    pub deepest: u32,
    /// Largest volume triggered per unit of root volume.
    pub largest_amplification: f64,
}

impl CascadeSummary {
    fn add(&mut self, c: &Cascade) {
        self.count += 1;
        self.deepest = self.deepest.max(c.depth);
        self.largest_amplification = self.largest_amplification.max(c.amplification());
    }
}

/// A cascade and, in recorded runs, the first block from its last member on at which every pool
/// it touched was back within its fee band.
#[derive(Debug, Clone, Default)]
struct Tracked {
    cascade: Cascade,
    recovered_at: Option<u64>,
}

/// A transaction that can still be named as a cause.
#[derive(Debug, Clone, Default)]
struct Node {
    id: TxId,
    block: u64,
    depth: u32,
    /// Root blocks of the events it belongs to.
    events: Events,
}

/// Builds cascades as blocks execute.
#[derive(Component, Debug)]
pub struct CascadeTracker {
    /// Keep members, links, pools and recovery (recorded runs).
    detail: bool,
    /// Keep no entry for CEX-DEX arbitrages: nothing in the world can name one
    /// ([`arbitrages_nameable`]).
    forget_arbitrages: bool,
    /// Direct-mapped by id; grows when a live entry would be overwritten.
    nodes: Vec<Node>,
    /// Oldest block whose transactions can still be named (set at each block's close).
    horizon: u64,
    /// Root events of recent blocks, by `block % RING`.
    ring: Vec<Tracked>,
    /// Ring slots holding a cascade whose recovery is still to be seen (recorded runs).
    watch: Vec<usize>,
    /// Cascades whose root block left the ring while members can still join.
    open: Vec<Tracked>,
    /// Finished cascades (recorded runs), by the order they finished.
    finished: Vec<Tracked>,
    /// Finished cascades whose recovery is still to be seen, by index.
    finished_watch: Vec<usize>,
    /// Scalars of every finished cascade.
    finished_summary: CascadeSummary,
}

/// Where an id goes in the direct-mapped table: the id itself on the first chain (dense from 1);
/// another chain's ids carry the chain in their top bits, which are spread over the low ones so
/// that the chains' dense ranges do not land on the same slots.
fn slot_of(id: TxId) -> usize {
    let chain = id.0 >> 48;
    (id.0 ^ chain.wrapping_mul(0x9E37_79B9_7F4A_7C15)) as usize
}

/// A cause already recorded: its id, the events it belongs to, its depth.
type KnownParent = (TxId, Events, u32);

/// The root events a transaction belongs to: inline up to four (a member of more cascades at once
/// is rare and spills to the heap).
type Events = SmallVec<[u64; 4]>;

impl CascadeTracker {
    /// An empty tracker; `detail` keeps member lists, links, pools and recovery times.
    pub fn new(detail: bool) -> Self {
        CascadeTracker {
            detail,
            forget_arbitrages: false,
            nodes: vec![Node::default(); 1 << 12],
            horizon: 0,
            ring: (0..RING)
                .map(|_| Tracked { cascade: Cascade { depth: 1, ..Cascade::default() }, recovered_at: None })
                .collect(),
            watch: Vec::with_capacity(16),
            open: Vec::with_capacity(16),
            finished: Vec::new(),
            finished_watch: Vec::new(),
            finished_summary: CascadeSummary::default(),
        }
    }

    fn node(&self, id: TxId) -> Option<&Node> {
        let n = &self.nodes[slot_of(id) & (self.nodes.len() - 1)];
        (n.id == id && id.0 != 0 && n.block >= self.horizon).then_some(n)
    }

    fn insert_node(&mut self, node: Node) {
        loop {
            let mask = self.nodes.len() - 1;
            let slot = &mut self.nodes[slot_of(node.id) & mask];
            if slot.id.0 == 0 || slot.id == node.id || slot.block < self.horizon {
                *slot = node;
                return;
            }
            // a live entry sits there: double the table and place the live entries again
            let old = std::mem::take(&mut self.nodes);
            self.nodes = vec![Node::default(); old.len() * 2];
            let mask = self.nodes.len() - 1;
            for n in old.into_iter().filter(|n| n.id.0 != 0 && n.block >= self.horizon) {
                let k = slot_of(n.id) & mask;
                self.nodes[k] = n;
            }
        }
    }

    /// The tracked event rooted at `block`, wherever it is.
    fn event_mut(&mut self, block: u64) -> Option<&mut Tracked> {
        let k = (block % RING as u64) as usize;
        let slot = &self.ring[k];
        if slot.cascade.root_block == block && slot.cascade.root_count > 0 {
            return Some(&mut self.ring[k]);
        }
        self.open.iter_mut().find(|t| t.cascade.root_block == block)
    }

    /// A linked member joined the event rooted at `block`: if it sits in the ring, watch it for
    /// recovery (recorded runs).
    fn watch(&mut self, block: u64) {
        let k = (block % RING as u64) as usize;
        if self.detail && self.ring[k].cascade.root_block == block && !self.watch.contains(&k) {
            self.watch.push(k);
        }
    }

    /// The ring slot for `block`'s root event, recycled if it held an older block.
    fn root_slot(&mut self, block: u64) -> &mut Tracked {
        let k = (block % RING as u64) as usize;
        if self.ring[k].cascade.root_block != block {
            self.recycle(k);
            self.ring[k].cascade.reset(block);
        }
        &mut self.ring[k]
    }

    /// Frees a ring slot: a real cascade moves to the open list, anything else is forgotten.
    fn recycle(&mut self, k: usize) {
        self.watch.retain(|w| *w != k);
        let slot = &mut self.ring[k];
        if slot.cascade.is_cascade() {
            let moved = std::mem::take(slot);
            self.open.push(moved);
        }
        self.ring[k].cascade.reset(0);
        self.ring[k].recovered_at = None;
    }

    /// Records an included transaction with the transactions it names as causes.
    pub fn record(
        &mut self,
        tx: TxId,
        kind: TxKind,
        block: u64,
        parents: &[TxId],
        value: f64,
        pools: impl IntoIterator<Item = PoolId> + Clone,
    ) {
        let mut known: SmallVec<[KnownParent; 8]> = SmallVec::new();
        for p in parents {
            if let Some(n) = self.node(*p) {
                known.push((*p, n.events.clone(), n.depth));
            }
        }
        let detail = self.detail;
        let keep = !(self.forget_arbitrages && kind == TxKind::Arbitrage);
        if known.is_empty() {
            // a root of this block's event: the only event it belongs to
            let c = &mut self.root_slot(block).cascade;
            if detail {
                c.roots.push(tx);
            }
            c.root_count += 1;
            c.root_volume += value;
            c.tally(tx, kind, value, pools, detail);
            if keep {
                self.insert_node(Node { id: tx, block, depth: 1, events: smallvec::smallvec![block] });
            }
            return;
        }
        let mut events: Events = known.iter().flat_map(|(_, e, _)| e.iter().copied()).collect();
        events.sort_unstable();
        events.dedup();
        let depth = 1 + known.iter().map(|(_, _, d)| *d).max().unwrap_or(0);
        for e in &events {
            self.watch(*e);
            if let Some(t) = self.event_mut(*e) {
                let c = &mut t.cascade;
                c.depth = c.depth.max(depth);
                if block > c.end_block {
                    c.end_block = block;
                }
                // a new member: recovery counts again from it
                t.recovered_at = None;
                if detail {
                    for (p, pe, _) in &known {
                        if pe.contains(e) {
                            c.links.push((*p, tx));
                        }
                    }
                }
                c.tally(tx, kind, value, pools.clone(), detail);
            }
        }
        if keep {
            self.insert_node(Node { id: tx, block, depth, events });
        }
    }

    /// The end of `block`: transactions older than the window can no longer be named, root events
    /// nothing followed are forgotten, and cascades that can no longer grow are finished. With
    /// `inside`, recorded runs check which cascades' pools are all back inside their fee band.
    fn close(&mut self, block: u64, inside: impl Fn(PoolId) -> bool) {
        self.horizon = block.saturating_sub(WINDOW);
        // the ring slot of the block that just left the window
        if self.horizon > 0 {
            let gone = self.horizon - 1;
            let k = (gone % RING as u64) as usize;
            if self.ring[k].cascade.root_block == gone {
                self.recycle(k);
            }
        }
        if self.detail {
            // recovered: the first block from the last member on with every pool back in band
            let check = |t: &mut Tracked| {
                if t.recovered_at.is_none()
                    && t.cascade.is_cascade()
                    && t.cascade.end_block <= block
                    && t.cascade.pools.iter().all(|p| inside(*p))
                {
                    t.recovered_at = Some(block);
                }
                t.recovered_at.is_none()
            };
            let ring = &mut self.ring;
            self.watch.retain(|k| check(&mut ring[*k]));
            self.open.iter_mut().for_each(|t| {
                check(t);
            });
            let finished = &mut self.finished;
            self.finished_watch.retain(|k| check(&mut finished[*k]));
        }
        // no member of these is young enough to be named any more
        let mut k = 0;
        while k < self.open.len() {
            if self.open[k].cascade.end_block < self.horizon {
                let t = self.open.swap_remove(k);
                self.finished_summary.add(&t.cascade);
                if self.detail {
                    if t.recovered_at.is_none() {
                        self.finished_watch.push(self.finished.len());
                    }
                    self.finished.push(t);
                }
            } else {
                k += 1;
            }
        }
    }

    /// Every cascade so far (finished or not), by root block, with the blocks from its last
    /// member until every pool it touched was back within its fee band (None: not yet, or the run
    /// does not record rows). Member lists are empty unless the run records rows.
    pub fn cascades(&self) -> Vec<(Cascade, Option<u64>)> {
        let mut all: Vec<(Cascade, Option<u64>)> = self
            .finished
            .iter()
            .chain(&self.open)
            .chain(self.ring.iter().filter(|t| t.cascade.is_cascade()))
            .map(|t| (t.cascade.clone(), t.recovered_at.map(|b| b - t.cascade.end_block)))
            .collect();
        all.sort_by_key(|(c, _)| c.root_block);
        all
    }

    /// Count, deepest and largest amplification over every cascade so far.
    pub fn summary(&self) -> CascadeSummary {
        let mut s = self.finished_summary;
        for t in self.open.iter().chain(self.ring.iter().filter(|t| t.cascade.is_cascade())) {
            s.add(&t.cascade);
        }
        s
    }
}

/// Account phase: every included transaction joins the cascades its causes belong to.
fn record_cascades(state: State<(&Receipts, &ExternalPrices, &Chains, &mut CascadeTracker)>) {
    let (receipts, prices, chains, mut tracker) = shared(state);
    record_receipts(receipts, prices, chains.steps, &mut tracker);
}

/// Account phase of runs that do not record rows: close the previous block, then record.
fn close_and_record_cascades(state: State<(&Receipts, &ExternalPrices, &Chains, &mut CascadeTracker)>) {
    let (receipts, prices, chains, mut tracker) = shared(state);
    // steps, not block numbers: with several chains a cascade runs on one clock across them (one
    // chain: the same thing)
    let step = chains.steps;
    tracker.close(step.saturating_sub(1), |_| true);
    record_receipts(receipts, prices, step, &mut tracker);
}

fn record_receipts(receipts: &Receipts, prices: &ExternalPrices, step: u64, tracker: &mut CascadeTracker) {
    for r in receipts.items.iter().filter(|r| r.succeeded()) {
        // what the trade put in, at external prices (as the metrics value it)
        let value_in = match (r.tx.swap(), r.swap(), &r.tx.action, r.lend()) {
            (Some(s), Some(e), _, _) => prices.value(s.token_in(), e.amount_in),
            // a liquidation trades the debt it repays for collateral
            (_, _, crate::tx::Action::Lend(l), Some(e)) => l.op.token_in().map_or(0.0, |t| prices.value(t, e.amount)),
            (_, _, crate::tx::Action::FlashLiquidate(f), Some(e)) => {
                f.lend.op.token_in().map_or(0.0, |t| prices.value(t, e.amount))
            }
            _ => 0.0,
        };
        tracker.record(r.tx.id, r.tx.kind, step, r.tx.cause.parents(), value_in, r.tx.pools());
    }
}

/// Record phase: close the block for the tracker.
fn close_block(state: State<(&Chains, &Pools, &ExternalPrices, &mut CascadeTracker)>) {
    let (chains, pools, prices, mut tracker) = shared(state);
    let block = chains.steps;
    tracker.close(block, |p| pools.entries.get(p.index()).is_some_and(|e| inside_band(e, prices)));
}

/// Whether a pool's price is within its fee band of the external price (with a little room for
/// rounding and gas).
fn inside_band(e: &crate::pools::PoolEntry, prices: &ExternalPrices) -> bool {
    let external = prices.rate(e.tokens[0], e.tokens[1]);
    let gamma = -libm::log(1.0 - e.pool.fee_fraction());
    let deviation = libm::log(e.marginal_price(0, 1) / external).abs();
    !(deviation.is_nan() || deviation > gamma + 1e-3)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::world;

    #[test]
    fn a_world_of_cex_dex_arbitrageurs_names_no_cause() {
        // the premise on which such a world leaves the tracker out: no transaction names a cause
        for name in ["bench/s1.ron", "lvr.ron"] {
            let s = world(name);
            assert!(!can_cascade(&s), "{name}");
            let mut sim = crate::Simulation::new(&s).expect("builds");
            let mut included = 0;
            for _ in 0..3_000 {
                sim.step_block().expect("steps");
                for r in sim.view().state::<Receipts>().items.iter().filter(|r| r.succeeded()) {
                    assert!(r.tx.cause.parents().is_empty(), "{name}: {:?} names a cause", r.tx.id);
                    included += 1;
                }
            }
            assert!(included > 10, "{name}: only {included} transactions");
        }
        // vaults, searchers and other traders move pools on their own account
        for name in ["bench/s2.ron", "mev.ron", "orderbook.ron", "cascade.ron"] {
            assert!(can_cascade(&world(name)), "{name}");
        }
    }

    #[test]
    fn where_arbitrages_are_forgotten_nothing_names_one() {
        // the premise on which the tracker keeps no entry for a CEX-DEX arbitrage: in such a
        // world no transaction ever names one as its cause (a TWAP reader, a lending market or a
        // searcher would, and makes the world keep them)
        let mut forgetting = Vec::new();
        let mut named_any = 0;
        for name in [
            "bench/s1.ron",
            "bench/s2.ron",
            "lvr.ron",
            "mesh.ron",
            "cost-aware.ron",
            "crash.ron",
            "fee-arbitrage.ron",
            "cascade.ron",
            "vaults.ron",
            "mev.ron",
            "lending.ron",
        ] {
            let s = world(name);
            if arbitrages_nameable(&s) {
                continue;
            }
            forgetting.push(name);
            let mut sim = crate::Simulation::new(&s).expect("builds");
            let mut arbitrages = std::collections::BTreeSet::new();
            let (mut named, mut counted) = (0u64, 0);
            // S2's vaults rebalance a few times in 10,000 blocks, and the arbitrages after name them
            let blocks = if name == "bench/s2.ron" { 20_000 } else { 2_000 };
            for _ in 0..blocks {
                sim.step_block().expect("steps");
                for r in sim.view().state::<Receipts>().items.iter().filter(|r| r.succeeded()) {
                    for p in r.tx.cause.parents() {
                        named += 1;
                        assert!(!arbitrages.contains(p), "{name}: {:?} names the arbitrage {p:?}", r.tx.id);
                    }
                    if r.tx.kind == TxKind::Arbitrage {
                        arbitrages.insert(r.tx.id);
                        counted += 1;
                    }
                }
            }
            assert!(counted > 50, "{name}: only {counted} arbitrages");
            named_any += named;
        }
        assert!(named_any > 0, "no transaction named a cause: the check above checked nothing");
        assert!(forgetting.contains(&"bench/s2.ron"), "S2 forgets its arbitrages");
        for name in ["cascade.ron", "vaults.ron", "mev.ron", "lending.ron"] {
            assert!(arbitrages_nameable(&world(name)), "{name} reads TWAPs, lends or has searchers");
        }
    }

    #[test]
    fn links_chain_into_one_cascade_with_its_depth() {
        let mut t = CascadeTracker::new(true);
        let (a, b, c, d) = (TxId(1), TxId(2), TxId(3), TxId(4));
        t.record(a, TxKind::Rebalance, 10, &[], 100.0, [PoolId(0)]);
        t.record(b, TxKind::Rebalance, 11, &[a], 50.0, [PoolId(1)]);
        t.record(c, TxKind::Rebalance, 12, &[b], 25.0, [PoolId(2)]);
        t.record(d, TxKind::Arbitrage, 12, &[], 10.0, [PoolId(3)]);
        let all = t.cascades();
        assert_eq!(all.len(), 1, "the lone arbitrage root is not a cascade");
        let c0 = &all[0].0;
        assert_eq!((c0.depth, c0.members.len(), c0.duration()), (3, 3, 3));
        assert_eq!(c0.links, vec![(a, b), (b, c)]);
        assert!((c0.amplification() - 0.75).abs() < 1e-12);
        assert_eq!(t.summary(), CascadeSummary { count: 1, deepest: 3, largest_amplification: c0.amplification() });
    }

    #[test]
    fn causes_older_than_the_window_are_forgotten_and_cascades_finish() {
        let mut t = CascadeTracker::new(false);
        t.record(TxId(1), TxKind::Rebalance, 1, &[], 100.0, [PoolId(0)]);
        t.record(TxId(2), TxKind::Arbitrage, 2, &[TxId(1)], 10.0, [PoolId(0)]);
        let live = &t.cascades()[0].0;
        assert!(live.members.is_empty(), "no member lists without detail");
        assert_eq!((live.member_count, live.root_count), (2, 1));
        for b in 2..=WINDOW + 2 {
            t.close(b, |_| true);
        }
        // at the close of WINDOW + 2 the horizon is block 2: TxId(2) can still be named
        t.record(TxId(3), TxKind::Arbitrage, WINDOW + 3, &[TxId(2)], 10.0, [PoolId(0)]);
        t.close(WINDOW + 3, |_| true);
        assert_eq!(t.summary().deepest, 3);
        for b in WINDOW + 4..=2 * WINDOW + 4 {
            t.close(b, |_| true);
        }
        // now block WINDOW + 3 has left the window too
        t.record(TxId(4), TxKind::Arbitrage, 2 * WINDOW + 5, &[TxId(3)], 10.0, [PoolId(0)]);
        let s = t.summary();
        assert_eq!((s.count, s.deepest), (1, 3), "the cause left the window: no fourth link");
        assert!(t.cascades().is_empty(), "finished cascades keep only their scalars without detail");
    }

    #[test]
    fn recovery_is_the_first_block_every_pool_is_back_in_band() {
        let mut t = CascadeTracker::new(true);
        t.record(TxId(1), TxKind::Rebalance, 5, &[], 100.0, [PoolId(0)]);
        t.record(TxId(2), TxKind::Arbitrage, 6, &[TxId(1)], 10.0, [PoolId(1)]);
        t.close(5, |_| false);
        t.close(6, |p| p == PoolId(0));
        t.close(7, |p| p == PoolId(0));
        assert_eq!(t.cascades()[0].1, None);
        t.close(8, |_| true);
        assert_eq!(t.cascades()[0].1, Some(2), "back in band two blocks after its last member");
        // a later member restarts the count
        t.record(TxId(3), TxKind::Arbitrage, 9, &[TxId(2)], 10.0, [PoolId(1)]);
        assert_eq!(t.cascades()[0].1, None);
        t.close(9, |_| true);
        assert_eq!(t.cascades()[0].1, Some(0));
    }

    #[test]
    fn the_node_table_grows_instead_of_losing_a_live_cause() {
        let mut t = CascadeTracker::new(false);
        let n = t.nodes.len() as u64;
        // two live ids in the same slot
        t.record(TxId(1), TxKind::Rebalance, 1, &[], 1.0, [PoolId(0)]);
        t.record(TxId(1 + n), TxKind::Rebalance, 1, &[], 1.0, [PoolId(0)]);
        t.record(TxId(2 + n), TxKind::Arbitrage, 2, &[TxId(1)], 1.0, [PoolId(0)]);
        assert!(t.nodes.len() > n as usize);
        assert_eq!(t.summary().count, 1);
    }
}
