//! Pools as entities: each carries a [`PoolEntry`] (its math state, tokens and account); the
//! [`PoolIndex`] maps stable pool ids to entities. [`PoolBook`] is the read-only lookup policies
//! are written against, so they run the same on the ECS and on a plain `Vec` in unit tests.

use bevy_ecs::prelude::*;
use meshsim_math::Pool;
use meshsim_scenario::{PoolId, TokenId};

use crate::ledger::AccountId;

/// A pool entity's state.
#[derive(Component, Debug, Clone)]
pub struct PoolEntry {
    /// Stable id.
    pub id: PoolId,
    /// Name from the world file.
    pub name: String,
    /// Token ids in the pool's own order.
    pub tokens: Vec<TokenId>,
    /// The exact math state.
    pub pool: Pool,
    /// Its ledger account.
    pub account: AccountId,
}

impl PoolEntry {
    /// Position of `token` in the pool, if it trades it.
    pub fn index_of(&self, token: TokenId) -> Option<usize> {
        self.tokens.iter().position(|t| *t == token)
    }
}

/// Pool entities by stable id.
#[derive(Resource, Debug, Clone, Default)]
pub struct PoolIndex(pub Vec<Entity>);

/// Read-only access to pools by id.
pub trait PoolBook {
    /// The pool with this id.
    fn pool(&self, id: PoolId) -> Option<&PoolEntry>;
    /// Number of pools.
    fn len(&self) -> usize;
    /// No pools at all.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl PoolBook for [PoolEntry] {
    fn pool(&self, id: PoolId) -> Option<&PoolEntry> {
        self.get(id.index())
    }
    fn len(&self) -> usize {
        <[PoolEntry]>::len(self)
    }
}

impl PoolBook for Vec<PoolEntry> {
    fn pool(&self, id: PoolId) -> Option<&PoolEntry> {
        self.get(id.index())
    }
    fn len(&self) -> usize {
        Vec::len(self)
    }
}

/// The ECS-backed [`PoolBook`].
pub struct EcsPools<'a, 'w, 's> {
    /// Pool entities.
    pub query: &'a Query<'w, 's, &'static PoolEntry>,
    /// Id -> entity.
    pub index: &'a PoolIndex,
}

impl PoolBook for EcsPools<'_, '_, '_> {
    fn pool(&self, id: PoolId) -> Option<&PoolEntry> {
        let e = *self.index.0.get(id.index())?;
        self.query.get(e).ok()
    }
    fn len(&self) -> usize {
        self.index.0.len()
    }
}

/// Pools touched by transactions: in the block just executed, and in the one before; and which
/// vault last traded each.
#[derive(Resource, Debug, Clone, Default)]
pub struct DirtyPools {
    /// Touched in the block being executed.
    pub current: Vec<bool>,
    /// Touched in the previous block (what deciders see).
    pub previous: Vec<bool>,
    /// Vault that last traded the pool in the block being executed.
    pub vault_current: Vec<Option<meshsim_scenario::VaultId>>,
    /// Same, previous block.
    pub vault_previous: Vec<Option<meshsim_scenario::VaultId>>,
}

impl DirtyPools {
    /// All pools dirty (the first block sees everything as new).
    pub fn all(n: usize) -> Self {
        // rotated into `previous` at the start of block 1
        DirtyPools {
            current: vec![true; n],
            previous: vec![false; n],
            vault_current: vec![None; n],
            vault_previous: vec![None; n],
        }
    }
}

/// Begin phase: last block's touched pools become what deciders look at.
pub fn rotate_dirty_pools(mut dirty: ResMut<DirtyPools>) {
    let d = &mut *dirty;
    std::mem::swap(&mut d.previous, &mut d.current);
    d.current.iter_mut().for_each(|x| *x = false);
    std::mem::swap(&mut d.vault_previous, &mut d.vault_current);
    d.vault_current.iter_mut().for_each(|x| *x = None);
}

/// Begin phase: scheduled liquidity withdrawals (stress events). The pool's passive LPs take
/// their share out through the pool's own burn; the tokens go to the LP account, and deciders
/// see the pool as touched.
#[allow(clippy::too_many_arguments)] // one system, each resource used once
pub fn withdraw_liquidity(
    events: Res<crate::StressEvents>,
    clock: Res<crate::chain::BlockClock>,
    index: Res<PoolIndex>,
    config: Res<crate::sim_config::SimConfig>,
    mut pools: Query<&mut PoolEntry>,
    mut ledger: ResMut<crate::ledger::Ledger>,
    mut dirty: ResMut<DirtyPools>,
    mut status: ResMut<crate::check::SimStatus>,
) {
    let lp = config.layout.special(crate::ledger::Special::Lp);
    for (id, share_ppm) in events.0.withdrawals_at(clock.number) {
        let Some(mut entry) = index.0.get(id.index()).and_then(|e| pools.get_mut(*e).ok()) else { continue };
        // on a copy, so that a burn the contract would refuse leaves the pool as it was
        let mut next = entry.pool.clone();
        let Ok(paid) = next.remove_share(share_ppm) else { continue };
        entry.pool = next;
        for (token, amount) in entry.tokens.clone().into_iter().zip(paid) {
            if let Err(source) = ledger.transfer(entry.account, lp, token, amount) {
                status.failure.get_or_insert(crate::SimError::Conservation { block: clock.number, source });
            }
        }
        if let Some(d) = dirty.previous.get_mut(id.index()) {
            *d = true;
        }
    }
}
