//! Block production on each chain: the mempool (transactions wait, get ids, expire), the builder
//! (the chain's ordering policy turns the mempool and searchers' bundles into a plan), and the
//! executor (runs the plan, dispatching each action to the venue that owns it, and files a
//! receipt for every transaction).

pub mod batch;
pub mod builder;
pub mod execute;
pub mod mempool;

use bevy_ecs::prelude::*;

pub use builder::{BlockPlan, Item};
pub use mempool::{Bundle, Mempool, PendingBundles};

use crate::SimError;
use crate::chain::ChainId;
use crate::engine::{App, Phase, Plugin};
use crate::snapshot::Snapshot;
use crate::tx::Receipts;

/// Mempool, builder, executor, receipts.
pub struct BlockPlugin;

impl Plugin for BlockPlugin {
    fn name(&self) -> &'static str {
        "block"
    }

    fn build(&self, app: &mut App<'_>) -> Result<(), SimError> {
        app.world.insert_resource(Mempools(vec![Mempool::default()]));
        app.world.insert_resource(BlockPlans(vec![BlockPlan::default()]));
        app.world.insert_resource(Receipts::default());
        app.add_systems(Phase::Begin, clear_receipts);
        app.add_systems(Phase::Submit, mempool::submit_to_mempool);
        app.add_systems(Phase::Build, builder::build_block);
        app.add_systems(Phase::Execute, execute::execute_block);
        Ok(())
    }

    fn snapshot(&self, world: &World, snap: &mut Snapshot) {
        let chains = world.resource::<crate::chain::Chains>();
        snap.pending.clone_from(&world.resource::<Mempools>().of(chains.active).pending);
    }
}

/// Each chain's mempool, by chain id.
#[derive(Resource, Debug, Default)]
pub struct Mempools(pub Vec<Mempool>);

impl Mempools {
    /// A chain's mempool.
    pub fn of(&self, chain: ChainId) -> &Mempool {
        &self.0[chain.index()]
    }

    /// A chain's mempool, mutably.
    pub fn of_mut(&mut self, chain: ChainId) -> &mut Mempool {
        &mut self.0[chain.index()]
    }
}

/// Each chain's block plan, by chain id.
#[derive(Resource, Debug, Default)]
pub struct BlockPlans(pub Vec<BlockPlan>);

impl BlockPlans {
    /// A chain's plan, mutably.
    pub fn of_mut(&mut self, chain: ChainId) -> &mut BlockPlan {
        &mut self.0[chain.index()]
    }
}

/// Begin phase: last block's receipts have been read; the buffer is kept.
fn clear_receipts(mut receipts: ResMut<Receipts>) {
    receipts.items.clear();
}
