//! Block production on each chain: the mempool (transactions wait, get ids, expire), the builder
//! (the chain's ordering policy turns the mempool and searchers' bundles into a plan), and the
//! executor (runs the plan, dispatching each action to the venue that owns it, and files a
//! receipt for every transaction).
//!
//! With searchers in the world these are three systems (Submit, Build, Execute) with the Search
//! phase between them. Without searchers nothing runs between them, so one system does all three
//! in the Execute phase: the same functions in the same order, one system's overhead.

pub mod batch;
pub mod builder;
pub mod execute;
mod executor;
pub mod mempool;

use bevy_ecs::prelude::*;

pub use builder::{BlockPlan, Item};
pub use mempool::{Bundle, Mempool, PendingBundles};

use crate::agents::{Latency, PendingTxs, SharedQuotes};
use crate::chain::{ChainId, Chains};
use crate::engine::{App, Fresh, Phase, Plugin, State, StateView, shared};
use crate::ledger::Ledger;
use crate::lending::Lending;
use crate::market::ExternalPrices;
use crate::pools::Pools;
use crate::snapshot::Snapshot;
use crate::tx::Receipts;
use crate::{SimConfig, SimError};
use execute::ExecScratch;

/// Mempool, builder, executor, receipts.
pub struct BlockPlugin;

impl Plugin for BlockPlugin {
    fn name(&self) -> &'static str {
        "block"
    }

    fn build(&self, app: &mut App<'_>) -> Result<(), SimError> {
        // room for every sender's full outbox, so that steady state never grows these
        let room: usize = app.world.query::<&PendingTxs>().iter(&app.world).map(|p| p.0.capacity()).sum();
        let blocks = (0..app.scenario.chains.len())
            .map(|k| {
                let mut block =
                    ChainBlock { mempool: Mempool::of_chain(ChainId(k as u16)), plan: BlockPlan::default() };
                block.mempool.pending.reserve(room);
                block.plan.txs.reserve(room);
                block
            })
            .collect();
        app.insert_state(Blocks(blocks));
        let mut receipts = Receipts::default();
        receipts.items.reserve(room);
        app.insert_state(receipts);
        let searchers =
            app.scenario.agents.iter().any(|a| matches!(a.kind, meshsim_scenario::AgentKind::Searcher { .. }));
        if searchers {
            app.add_systems(Phase::Submit, submit_phase);
            app.add_systems(Phase::Build, build_phase);
            app.add_systems(Phase::Execute, execute_phase);
        } else if app.world.get::<Lending>(app.state).is_some()
            || app.world.get::<crate::bridges::Bridges>(app.state).is_some()
            || app.world.get::<crate::books::Books>(app.state).is_some()
        {
            app.add_systems(Phase::Execute, produce_block);
        } else {
            app.add_systems(Phase::Execute, produce_block_amm);
        }
        Ok(())
    }

    fn digest(&self, world: StateView<'_>, h: &mut sha2::Sha256) {
        use sha2::Digest as _;
        // what waits for a later block is state too: a run resumed from this digest's state must
        // include the same transactions
        for b in &world.state::<Blocks>().0 {
            h.update(b.mempool.last_id().to_le_bytes());
            h.update((b.mempool.pending.len() as u64).to_le_bytes());
            for tx in &b.mempool.pending {
                crate::tx::hash_tx(h, tx);
            }
        }
    }

    fn snapshot(&self, world: StateView<'_>, snap: &mut Snapshot) {
        let chains = world.state::<Chains>();
        snap.pending.clone_from(&world.state::<Blocks>().of(chains.active).mempool.pending);
    }
}

/// One chain's mempool and block plan.
#[derive(Debug, Default)]
pub struct ChainBlock {
    /// Transactions waiting.
    pub mempool: Mempool,
    /// The block being built.
    pub plan: BlockPlan,
}

/// Each chain's mempool and block plan, by chain id.
#[derive(Component, Debug, Default)]
pub struct Blocks(pub Vec<ChainBlock>);

impl Blocks {
    /// A chain's block production.
    pub fn of(&self, chain: ChainId) -> &ChainBlock {
        &self.0[chain.index()]
    }

    /// A chain's block production, mutably.
    pub fn of_mut(&mut self, chain: ChainId) -> &mut ChainBlock {
        &mut self.0[chain.index()]
    }
}

/// The senders' outboxes.
type Senders<'w, 's> =
    Fresh<'w, 's, (&'static mut PendingTxs, Option<&'static Latency>, Option<&'static mut SharedQuotes>)>;

/// Reused buffers of block production.
#[derive(Default)]
struct Scratch {
    bundles: Vec<Bundle>,
    exec: ExecScratch,
}

/// What executing a block reads and writes of the shared state.
type ExecState<'w, 's> = State<
    'w,
    's,
    (
        &'static mut Blocks,
        &'static mut Receipts,
        &'static mut Pools,
        &'static mut Ledger,
        &'static mut Chains,
        &'static ExternalPrices,
        &'static SimConfig,
    ),
>;

/// The venues besides the pools, in worlds that have any (each fetched component costs every
/// block, so a pools-only world does not ask for them).
type OtherVenues<'w, 's> = State<
    'w,
    's,
    (
        Option<&'static mut Lending>,
        Option<&'static mut crate::bridges::Bridges>,
        Option<&'static mut crate::books::Books>,
    ),
>;

/// Submit, build and execute in one system (worlds without searchers).
fn produce_block(senders: Senders, state: ExecState, others: OtherVenues, scratch: Local<Scratch>) {
    let (mut lending, mut bridges, mut books) = shared(others);
    let others = (lending.as_deref_mut(), bridges.as_deref_mut(), books.as_deref_mut());
    produce(senders, state, others, scratch);
}

/// [`produce_block`] in a world whose only venues are pools.
fn produce_block_amm(senders: Senders, state: ExecState, scratch: Local<Scratch>) {
    produce(senders, state, (None, None, None), scratch);
}

/// Mutable access to the venues besides the pools.
type Others<'a> =
    (Option<&'a mut Lending>, Option<&'a mut crate::bridges::Bridges>, Option<&'a mut crate::books::Books>);

fn produce(mut senders: Senders, state: ExecState, (lending, bridges, books): Others<'_>, mut scratch: Local<Scratch>) {
    let (mut blocks, mut receipts, mut pools, mut ledger, mut chains, prices, config) = shared(state);
    let scratch = &mut *scratch;
    let chain = chains.active_mut();
    let block = blocks.of_mut(chain.id);
    // last block's receipts have been read
    receipts.items.clear();
    mempool::submit(&mut senders, chain.clock.number, &mut block.mempool, &mut receipts.items);
    if block.mempool.pending.is_empty() {
        // an empty block: nothing to build or execute
        return;
    }
    builder::build(None, chain, config, &mut block.mempool, &mut block.plan, &mut scratch.bundles);
    let venues = execute::Venues { pools: &mut pools, quotes: &block.mempool.quotes, lending, bridges, books };
    let plan = &mut block.plan;
    execute::execute(plan, venues, &mut ledger, chain, prices, config, &mut receipts.items, &mut scratch.exec);
}

/// Submit phase (worlds with searchers).
fn submit_phase(mut senders: Senders, state: State<(&mut Blocks, &mut Receipts, &Chains)>) {
    let (mut blocks, mut receipts, chains) = shared(state);
    let chain = chains.active();
    receipts.items.clear();
    let mempool = &mut blocks.of_mut(chain.id).mempool;
    mempool::submit(&mut senders, chain.clock.number, mempool, &mut receipts.items);
}

/// Build phase (worlds with searchers).
fn build_phase(
    mut searchers: Fresh<&mut PendingBundles>,
    state: State<(&mut Blocks, &Chains, &SimConfig)>,
    mut bundles: Local<Vec<Bundle>>,
) {
    let (mut blocks, chains, config) = shared(state);
    let chain = chains.active();
    let block = blocks.of_mut(chain.id);
    builder::build(Some(&mut searchers), chain, config, &mut block.mempool, &mut block.plan, &mut bundles);
}

/// Execute phase (worlds with searchers).
fn execute_phase(state: ExecState, others: OtherVenues, mut scratch: Local<ExecScratch>) {
    let (mut blocks, mut receipts, mut pools, mut ledger, mut chains, prices, config) = shared(state);
    let (mut lending, mut bridges, mut books) = shared(others);
    let chain = chains.active_mut();
    let block = blocks.of_mut(chain.id);
    let plan = &mut block.plan;
    let venues = execute::Venues {
        pools: &mut pools,
        quotes: &block.mempool.quotes,
        lending: lending.as_deref_mut(),
        bridges: bridges.as_deref_mut(),
        books: books.as_deref_mut(),
    };
    execute::execute(plan, venues, &mut ledger, chain, prices, config, &mut receipts.items, &mut scratch);
}
