//! The read-only market view every policy decides on.

use bevy_ecs::prelude::*;
use bevy_ecs::system::SystemParam;
use meshsim_scenario::{GasCosts, TokenId};

use crate::SimConfig;
use crate::chain::Chains;
use crate::ledger::{AccountId, Ledger};
use crate::market::ExternalPrices;
use crate::pools::{DirtyPools, PoolBook, PoolEntry, Pools, Provenance, venue::hop_gas};

/// What an agent may look at when deciding: external prices, pools, gas, its balances.
pub struct MarketView<'a, B: PoolBook + ?Sized> {
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
    /// Pools touched in the previous block.
    pub dirty: &'a [bool],
    /// Balances.
    pub ledger: &'a Ledger,
    /// Who moved each pool recently.
    pub provenance: &'a Provenance,
}

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

/// The ECS resources a [`MarketView`] is built from.
#[derive(SystemParam)]
pub struct ViewParams<'w> {
    pools: Res<'w, Pools>,
    prices: Res<'w, ExternalPrices>,
    chains: Res<'w, Chains>,
    config: Res<'w, SimConfig>,
    dirty: Res<'w, DirtyPools>,
    ledger: Res<'w, Ledger>,
    provenance: Res<'w, Provenance>,
}

impl ViewParams<'_> {
    /// Calls `f` with the view of this block.
    pub fn with_view<R>(&self, f: impl FnOnce(&MarketView<'_, Pools>) -> R) -> R {
        let chain = self.chains.active();
        let view = MarketView {
            block: chain.clock.number,
            timestamp: chain.clock.timestamp,
            prices: &self.prices,
            pools: &*self.pools,
            base_fee_wei: chain.gas.base_fee_wei,
            gas: &self.config.gas,
            native: self.config.native,
            dirty: &self.dirty.previous,
            ledger: &self.ledger,
            provenance: &self.provenance,
        };
        f(&view)
    }
}
