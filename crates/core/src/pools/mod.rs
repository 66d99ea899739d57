//! AMM pools: the venue that executes swaps. [`Pools`] holds every pool's exact math state by
//! stable id (a table, not entities: the executor needs random access by id, and id order is the
//! only order anything iterates them in). [`PoolBook`] is the read-only lookup policies are
//! written against, so they run the same on the world's pools and on a plain `Vec` in unit tests.

mod provenance;
pub mod routing;
pub mod venue;

use bevy_ecs::prelude::*;
use meshsim_math::{Pool, U256};
use meshsim_scenario::{PoolId, TokenId};
use sha2::{Digest as _, Sha256};

pub use provenance::{Mover, Provenance};
pub use venue::{QuoteCache, SharedQuote};

use crate::chain::{ChainId, Chains};
use crate::engine::{App, Phase, Plugin, State, StateView, shared};
use crate::ledger::{AccountId, Ledger, Special};
use crate::market::ExternalPrices;
use crate::snapshot::{PoolSnapshot, Snapshot};
use crate::{SimConfig, SimError, SimStatus};

/// Pools, their genesis balances, touched-pool tracking and scheduled liquidity withdrawals.
pub struct PoolsPlugin;

impl Plugin for PoolsPlugin {
    fn name(&self) -> &'static str {
        "pools"
    }

    fn build(&self, app: &mut App<'_>) -> Result<(), SimError> {
        let s = app.scenario;
        let layout = app.state::<SimConfig>().layout;
        let decimals: Vec<u8> = s.tokens.iter().map(|t| t.decimals).collect();
        let entries: Vec<PoolEntry> = s
            .pools
            .iter()
            .map(|p| {
                let (d0, d1) = (decimals[p.tokens[0].index()], decimals[p.tokens[1].index()]);
                let mut e = PoolEntry::new(
                    p.id,
                    p.name.clone(),
                    p.tokens.clone(),
                    p.pool.clone(),
                    layout.pool(p.id),
                    libm::pow(10.0, f64::from(d0) - f64::from(d1)),
                );
                e.chain = s.pool_chain(p.id);
                e
            })
            .collect();
        let mut ledger = app.state_mut::<Ledger>();
        for p in &s.pools {
            for (t, b) in p.tokens.iter().zip(&p.balances) {
                ledger.mint_genesis(layout.pool(p.id), *t, *b).map_err(SimError::Genesis)?;
            }
        }
        let n = entries.len();
        app.insert_state(Pools { entries, dirty: DirtyPools::all(n), provenance: Provenance::new(n) });
        if s.events.0.iter().any(|e| matches!(e, meshsim_scenario::Event::LiquidityWithdrawal { .. })) {
            app.add_systems(Phase::Begin, withdraw_liquidity);
        }
        // touched pools are handed on at the end of each block (one system with the checks)
        if app.options.check_conservation {
            app.add_systems(Phase::Settle, check_and_settle_pools);
        } else {
            app.add_systems(Phase::Settle, settle_pools);
        }
        Ok(())
    }

    fn digest(&self, world: StateView<'_>, h: &mut Sha256) {
        for e in &world.state::<Pools>().entries {
            h.update(e.id.0.to_le_bytes());
            hash_pool(h, &e.pool);
        }
    }

    fn snapshot(&self, world: StateView<'_>, snap: &mut Snapshot) {
        let prices = world.state::<ExternalPrices>();
        let ledger = world.state::<Ledger>();
        snap.pools = world
            .state::<Pools>()
            .entries
            .iter()
            .map(|e| {
                let price = e.whole_price();
                let external = prices.per_token[e.tokens[0].index()] / prices.per_token[e.tokens[1].index()];
                PoolSnapshot {
                    id: e.id,
                    name: e.name.clone(),
                    kind: e.pool.kind(),
                    tokens: e.tokens.clone(),
                    balances: e.tokens.iter().map(|t| ledger.balance(e.account, *t)).collect(),
                    price,
                    deviation: price / external - 1.0,
                    fee: e.pool.fee_fraction(),
                    value: pool_value(e, ledger, prices),
                }
            })
            .collect();
    }
}

/// A two-token pool's tokens and its net prices both ways (`net[0]` is `net_price(0, 1)`,
/// `net[1]` is `net_price(1, 0)`), kept inline in its entry: what every arbitrageur's screen of
/// every pool reads every block, in one place rather than behind two vectors.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PairPrices {
    /// The two tokens, in the pool's order.
    pub tokens: [TokenId; 2],
    /// Net prices: token 0 to 1, then 1 to 0.
    pub net: [f64; 2],
}

/// One pool's state.
#[derive(Debug, Clone)]
pub struct PoolEntry {
    /// Stable id.
    pub id: PoolId,
    /// The chain it lives on.
    pub chain: ChainId,
    /// Name from the world file.
    pub name: String,
    /// Token ids in the pool's own order.
    pub tokens: Vec<TokenId>,
    /// The exact math state. Read it freely; change it only through [`PoolEntry::apply_quote`]
    /// and [`PoolEntry::set_pool`], which keep the price cache in step.
    pub pool: Pool,
    /// Its ledger account.
    pub account: AccountId,
    /// `10^(decimals0 - decimals1)`: base-unit price to whole-token price.
    pub whole_price_scale: f64,
    /// `pool.marginal_price(i, j)` and `pool.net_price(i, j)` at `i * n + j`, computed when the
    /// pool changes: agents screen every pool every block, pools change far less often.
    marginal: Vec<f64>,
    net: Vec<f64>,
    // a two-token pool's tokens and net prices both ways, inline (see `PairPrices`)
    pair: Option<PairPrices>,
    // counts the pool's state changes: a quote made at one version holds while it stands
    version: u64,
}

impl PoolEntry {
    /// A pool entry with its price cache filled.
    pub fn new(
        id: PoolId,
        name: String,
        tokens: Vec<TokenId>,
        pool: Pool,
        account: AccountId,
        whole_price_scale: f64,
    ) -> Self {
        let mut e = PoolEntry {
            id,
            chain: ChainId(0),
            name,
            tokens,
            pool,
            account,
            whole_price_scale,
            marginal: Vec::new(),
            net: Vec::new(),
            pair: None,
            version: 0,
        };
        e.refresh_prices();
        e
    }

    #[inline]
    fn refresh_prices(&mut self) {
        let n = self.tokens.len();
        self.marginal.resize(n * n, 1.0);
        self.net.resize(n * n, 1.0);
        self.pool.marginal_prices(&mut self.marginal);
        // exactly Pool::net_price: marginal price times (1 - fee)
        let keep = 1.0 - self.pool.fee_fraction();
        if let ([_, m01, m10, _], [_, n01, n10, _]) = (&self.marginal[..], &mut self.net[..]) {
            // a two-token pool (most of them, after every swap): its two directions, no loop
            (*n01, *n10) = (m01 * keep, m10 * keep);
            if let [t0, t1] = self.tokens[..] {
                self.pair = Some(PairPrices { tokens: [t0, t1], net: [*n01, *n10] });
            }
            return;
        }
        self.pair = None;
        for i in 0..n {
            for j in (0..n).filter(|j| *j != i) {
                self.net[i * n + j] = self.marginal[i * n + j] * keep;
            }
        }
    }

    /// `pool.marginal_price(i, j)`, cached.
    #[inline]
    pub fn marginal_price(&self, i: usize, j: usize) -> f64 {
        self.marginal[i * self.tokens.len() + j]
    }

    /// `pool.net_price(i, j)`, cached.
    #[inline]
    pub fn net_price(&self, i: usize, j: usize) -> f64 {
        self.net[i * self.tokens.len() + j]
    }

    /// A two-token pool's tokens and cached net prices; `None` for a pool of more tokens.
    #[inline]
    pub fn pair(&self) -> Option<&PairPrices> {
        self.pair.as_ref()
    }

    /// [`meshsim_math::Pool::input_to_price`] for a caller that has seen `net_price(i, j) >
    /// target_net` on this entry (the cached net price is the pool's own): a constant-product
    /// pool goes straight to its closed form, the pool's own check of the net price and of the
    /// indices being already answered. Other kinds take the general path.
    #[inline]
    pub fn input_to_price_above(&self, i: usize, j: usize, target_net: f64) -> meshsim_math::MathResult<u128> {
        let fast = match &self.pool {
            meshsim_math::Pool::ConstantProduct(p)
                if target_net.is_finite()
                    && target_net > 0.0
                    && i != j
                    && i.max(j) < 2
                    && self.net_price(i, j) > target_net =>
            {
                Some(p.input_to_price(i == 0, target_net))
            }
            _ => None,
        };
        let Some(a) = fast else { return self.pool.input_to_price(i, j, target_net) };
        debug_assert_eq!(Ok(a), self.pool.input_to_price(i, j, target_net), "the closed form the pool would give");
        Ok(a)
    }

    /// Applies an exact-input swap quoted on the pool's current state (see
    /// [`meshsim_math::Pool::apply_quote`]).
    pub fn apply_quote(
        &mut self,
        i: usize,
        j: usize,
        q: &meshsim_math::SwapQuote,
    ) -> meshsim_math::MathResult<meshsim_math::SwapQuote> {
        let applied = self.pool.apply_quote(i, j, q);
        self.version += 1;
        self.refresh_prices();
        applied
    }

    /// Replaces the pool's state (a liquidity change).
    pub fn set_pool(&mut self, pool: Pool) {
        self.pool = pool;
        self.version += 1;
        self.refresh_prices();
    }

    /// Which state the pool is in: it changes whenever the pool does (through
    /// [`PoolEntry::apply_quote`] or [`PoolEntry::set_pool`]), so a quote made at one version
    /// is the quote while the version stands.
    #[inline]
    pub fn version(&self) -> u64 {
        self.version
    }

    /// Position of `token` in the pool, if it trades it.
    pub fn index_of(&self, token: TokenId) -> Option<usize> {
        self.tokens.iter().position(|t| *t == token)
    }

    /// Marginal price of token0 in token1, whole-token units.
    pub fn whole_price(&self) -> f64 {
        self.marginal_price(0, 1) * self.whole_price_scale
    }
}

/// Every pool by id, with what the executor remembers about who touched them. This is the AMM
/// venue ([`venue`]).
#[derive(Component, Debug, Clone, Default)]
pub struct Pools {
    /// By id.
    pub entries: Vec<PoolEntry>,
    /// Which pools the last blocks touched.
    pub dirty: DirtyPools,
    /// Who moved each pool recently.
    pub provenance: Provenance,
}

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

impl PoolBook for Pools {
    fn pool(&self, id: PoolId) -> Option<&PoolEntry> {
        self.entries.get(id.index())
    }
    fn len(&self) -> usize {
        self.entries.len()
    }
}

/// Numeraire value of a pool's holdings at current external prices.
pub fn pool_value(entry: &PoolEntry, ledger: &Ledger, prices: &ExternalPrices) -> f64 {
    entry.tokens.iter().map(|t| prices.value(*t, ledger.balance(entry.account, *t))).sum()
}

/// Pools touched by transactions: in the block just executed, and in the one before; and which
/// vault last traded each.
#[derive(Debug, Clone, Default)]
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
        DirtyPools {
            current: vec![false; n],
            previous: vec![true; n],
            vault_current: vec![None; n],
            vault_previous: vec![None; n],
        }
    }
}

/// End of a block: this block's touched pools become what the next block's deciders look at.
fn rotate_dirty(pools: &mut Pools, chains: &Chains) {
    let d = &mut pools.dirty;
    if chains.list.len() == 1 {
        std::mem::swap(&mut d.previous, &mut d.current);
        d.current.iter_mut().for_each(|x| *x = false);
        std::mem::swap(&mut d.vault_previous, &mut d.vault_current);
        d.vault_current.iter_mut().for_each(|x| *x = None);
        return;
    }
    // only the active chain's pools: another chain's deciders see what its own last block touched
    for (k, e) in pools.entries.iter().enumerate() {
        if e.chain == chains.active {
            d.previous[k] = std::mem::take(&mut d.current[k]);
            d.vault_previous[k] = d.vault_current[k].take();
        }
    }
}

/// Settle phase: the block's touched pools are handed to the next block.
fn settle_pools(state: State<(&mut Pools, &Chains)>) {
    let (mut pools, chains) = shared(state);
    rotate_dirty(&mut pools, chains);
}

/// Settle phase with checks: every pool's ledger balance agrees with its own state, then the
/// block's touched pools are handed to the next block.
fn check_and_settle_pools(state: State<(&mut Pools, &Ledger, &Chains, &mut SimStatus)>) {
    let (mut pools, ledger, chains, mut status) = shared(state);
    if status.failure.is_none() {
        let block = chains.active().clock.number;
        if let Some(failure) = pool_mismatch(&pools, ledger, block) {
            status.failure = Some(failure);
        }
    }
    rotate_dirty(&mut pools, chains);
}

/// Begin phase: scheduled liquidity withdrawals (stress events). The pool's passive LPs take
/// their share out through the pool's own burn; the tokens go to the LP account, and deciders
/// see the pool as touched.
fn withdraw_liquidity(state: State<(&Chains, &SimConfig, &mut Pools, &mut Ledger, &mut SimStatus)>) {
    let (chains, config, mut pools, mut ledger, mut status) = shared(state);
    if !chains.hub_block {
        // scheduled in hub blocks
        return;
    }
    let block = chains.hub_number();
    let lp = config.layout.special(Special::Lp);
    let pools = &mut *pools;
    for (id, share_ppm) in config.events.withdrawals_at(block) {
        let Some(entry) = pools.entries.get_mut(id.index()) else { continue };
        // on a copy, so that a burn the contract would refuse leaves the pool as it was
        let mut next = entry.pool.clone();
        let Ok(paid) = next.remove_share(share_ppm) else { continue };
        entry.set_pool(next);
        for (token, amount) in entry.tokens.iter().zip(paid) {
            if let Err(source) = ledger.transfer(entry.account, lp, *token, amount) {
                status.failure.get_or_insert(SimError::Conservation { block, source });
            }
        }
        if let Some(d) = pools.dirty.previous.get_mut(id.index()) {
            *d = true;
        }
    }
}

/// The first pool whose ledger balances disagree with its own state, as an error. Nothing is
/// allocated unless one does.
fn pool_mismatch(pools: &Pools, ledger: &Ledger, block: u64) -> Option<SimError> {
    for e in &pools.entries {
        let held = |k: usize| ledger.balance(e.account, e.tokens[k]);
        let mismatch = |expected: String| SimError::PoolMismatch {
            block,
            pool: e.name.clone(),
            held: (0..e.tokens.len()).map(held).collect(),
            expected,
        };
        let state: &[u128] = match &e.pool {
            Pool::ConstantProduct(p) => &[p.reserve0, p.reserve1],
            Pool::StableSwap(p) => p.balances(),
            Pool::Weighted(p) => p.balances(),
            // v3 keeps fees outside its state: the ledger must cover at least the principal
            Pool::Concentrated(p) => {
                if let Ok((a0, a1)) = p.principal_amounts()
                    && (U256::from(held(0)) < a0 || U256::from(held(1)) < a1)
                {
                    return Some(mismatch(format!("positions need at least ({a0}, {a1})")));
                }
                continue;
            }
        };
        if state.len() != e.tokens.len() || state.iter().enumerate().any(|(k, b)| *b != held(k)) {
            return Some(mismatch(format!("pool state says {state:?}")));
        }
    }
    None
}

/// Writes a pool's exact state into a digest.
fn hash_pool(h: &mut Sha256, pool: &Pool) {
    let u = |h: &mut Sha256, v: U256| h.update(v.to_le_bytes::<32>());
    match pool {
        Pool::ConstantProduct(p) => {
            h.update([0u8]);
            h.update(p.reserve0.to_le_bytes());
            h.update(p.reserve1.to_le_bytes());
            h.update(p.total_supply.to_le_bytes());
        }
        Pool::Concentrated(p) => {
            h.update([1u8]);
            u(h, p.sqrt_price_x96());
            h.update(p.tick().to_le_bytes());
            h.update(p.liquidity().to_le_bytes());
            let (g0, g1) = p.fee_growth_global_x128();
            u(h, g0);
            u(h, g1);
            for (t, info) in p.ticks() {
                h.update(t.to_le_bytes());
                h.update(info.liquidity_gross.to_le_bytes());
                h.update(info.liquidity_net.to_le_bytes());
                u(h, info.fee_growth_outside0_x128);
                u(h, info.fee_growth_outside1_x128);
            }
            for (k, pos) in p.positions() {
                h.update(k.owner.to_le_bytes());
                h.update(k.tick_lower.to_le_bytes());
                h.update(k.tick_upper.to_le_bytes());
                h.update(pos.liquidity.to_le_bytes());
                h.update(pos.tokens_owed0.to_le_bytes());
                h.update(pos.tokens_owed1.to_le_bytes());
            }
        }
        Pool::StableSwap(p) => {
            h.update([2u8]);
            for b in p.balances() {
                h.update(b.to_le_bytes());
            }
        }
        Pool::Weighted(p) => {
            h.update([3u8]);
            for b in p.balances() {
                h.update(b.to_le_bytes());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::testkit::Market;

    #[test]
    fn the_closed_form_shortcut_gives_what_the_pool_gives() {
        // every pool of S2 and of the mesh (v2, v3, stableswap, weighted), both directions,
        // targets from far below the net price to above it (where the answer is zero)
        let mut checked = 0;
        for world in ["bench/s2.ron", "mesh.ron"] {
            let m = Market::of(world);
            for e in &m.pools {
                let n = e.tokens.len();
                for (i, j) in (0..n).flat_map(|i| (0..n).map(move |j| (i, j))).filter(|(i, j)| i != j) {
                    let net = e.net_price(i, j);
                    for f in [0.5, 0.9, 0.99, 0.999_999, 1.0, 1.000_001, 1.1, f64::NAN, -1.0] {
                        let target = net * f;
                        assert_eq!(
                            e.input_to_price_above(i, j, target),
                            e.pool.input_to_price(i, j, target),
                            "{world} pool {} {i}->{j} at {f} of the net price",
                            e.name
                        );
                        checked += 1;
                    }
                }
            }
        }
        assert!(checked > 400, "{checked}");
    }
}
