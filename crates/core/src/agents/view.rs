//! The read-only market view every policy decides on.

use crate::engine::State;
use bevy_ecs::system::SystemParam;
use meshsim_scenario::{GasCosts, TokenId};

use crate::SimConfig;
use crate::chain::Chains;
use crate::ledger::{AccountId, Ledger};
use crate::market::ExternalPrices;
use crate::pools::{PoolBook, PoolEntry, Pools, Provenance, venue::hop_gas};

/// What an agent may look at when deciding: external prices, pools, gas, its balances.
pub struct MarketView<'a, B: PoolBook + ?Sized> {
    /// The chain whose block is being built (the active chain).
    pub chain: crate::chain::ChainId,
    /// Block being built.
    pub block: u64,
    /// Its timestamp, seconds since genesis.
    pub timestamp: f64,
    /// External prices.
    pub prices: &'a ExternalPrices,
    /// Pools.
    pub pools: &'a B,
    /// Base fee of the block, wei per gas.
    pub base_fee_wei: u128,
    /// Gas units per action.
    pub gas: &'a GasCosts,
    /// Token gas is paid in.
    pub native: TokenId,
    /// The token each token takes its external price from (the same asset on every chain).
    pub assets: &'a [TokenId],
    /// Pools touched in the previous block.
    pub dirty: &'a [bool],
    /// Balances.
    pub ledger: &'a Ledger,
    /// Who moved each pool recently.
    pub provenance: &'a Provenance,
    /// The order books, in worlds that have them.
    pub books: Option<&'a crate::books::state::Books>,
    /// Whole tokens per base unit, by token id.
    pub units: &'a [f64],
}

impl<B: PoolBook + ?Sized> Clone for MarketView<'_, B> {
    fn clone(&self) -> Self {
        *self
    }
}

// references and plain values only, whatever the pool book
impl<B: PoolBook + ?Sized> Copy for MarketView<'_, B> {}

impl<B: PoolBook + ?Sized> MarketView<'_, B> {
    /// Gas units of one swap hop on `entry` that crosses `ticks` initialized ticks.
    pub fn hop_gas(&self, entry: &PoolEntry, ticks: u32) -> u64 {
        hop_gas(self.gas, entry.pool.kind(), ticks)
    }

    /// Fee in wei for `gas_units` at this block's base fee plus `priority_fee_wei`.
    pub fn gas_fee_wei(&self, gas_units: u64, priority_fee_wei: u128) -> u128 {
        u128::from(gas_units).saturating_mul(self.base_fee_wei.saturating_add(priority_fee_wei))
    }

    /// Numeraire value of a gas fee.
    pub fn gas_fee_value(&self, gas_units: u64, priority_fee_wei: u128) -> f64 {
        self.prices.value(self.native, self.gas_fee_wei(gas_units, priority_fee_wei))
    }

    /// Balance of an account.
    pub fn balance(&self, account: AccountId, token: TokenId) -> u128 {
        self.ledger.balance(account, token)
    }
}

/// The state a [`MarketView`] is built from, in one query of the state entity.
#[derive(SystemParam)]
pub struct ViewParams<'w, 's> {
    state: State<'w, 's, ViewParts>,
}

/// What a view is built from, in one query of the state entity.
type ViewParts = (
    &'static Pools,
    &'static ExternalPrices,
    &'static Chains,
    &'static SimConfig,
    &'static Ledger,
    Option<&'static crate::books::state::Books>,
);

impl ViewParams<'_, '_> {
    #[inline]
    fn parts(&self) -> (&Pools, &ExternalPrices, &Chains, &SimConfig, &Ledger, Option<&crate::books::state::Books>) {
        self.state.get()
    }

    /// Run constants.
    pub fn config(&self) -> &SimConfig {
        self.parts().3
    }

    /// Every chain's clock and gas market.
    pub fn chains(&self) -> &Chains {
        self.parts().2
    }

    /// Calls `f` with the view of this block.
    pub fn with_view<R>(&self, f: impl FnOnce(&MarketView<'_, Pools>) -> R) -> R {
        self.with_view_in(|view, _, _| f(view))
    }

    /// Calls `f` with the view of this block, the run constants and every chain (one fetch of
    /// the state for all three).
    pub fn with_view_in<R>(&self, f: impl FnOnce(&MarketView<'_, Pools>, &SimConfig, &Chains) -> R) -> R {
        let (pools, prices, chains, config, ledger, books) = self.parts();
        let chain = chains.active();
        let view = MarketView {
            chain: chain.id,
            block: chain.clock.number,
            timestamp: chain.clock.timestamp,
            prices,
            pools,
            base_fee_wei: chain.gas.base_fee_wei,
            gas: &config.gas,
            native: config.native(chain.id),
            assets: &config.assets,
            dirty: &pools.dirty.previous,
            ledger,
            provenance: &pools.provenance,
            books,
            units: &config.unit,
        };
        f(&view, config, chains)
    }
}
