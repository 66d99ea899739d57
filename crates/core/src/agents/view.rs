//! The read-only market view every policy decides on.

use bevy_ecs::prelude::*;
use bevy_ecs::system::SystemParam;
use meshsim_scenario::{GasCosts, TokenId};

use crate::attribution::Provenance;
use crate::chain::{BlockClock, GasMarket};
use crate::ledger::{AccountId, Ledger};
use crate::market::ExternalPrices;
use crate::pools::{DirtyPools, EcsPools, PoolBook, PoolEntry, PoolIndex};
use crate::sim_config::SimConfig;

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
        use meshsim_math::PoolKind::*;
        match entry.pool.kind() {
            ConstantProduct => self.gas.swap_constant_product,
            Concentrated => self.gas.swap_concentrated + u64::from(ticks) * self.gas.tick_cross,
            StableSwap => self.gas.swap_stableswap,
            Weighted => self.gas.swap_weighted,
        }
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
pub struct ViewParams<'w, 's> {
    pools: Query<'w, 's, &'static PoolEntry>,
    index: Res<'w, PoolIndex>,
    prices: Res<'w, ExternalPrices>,
    clock: Res<'w, BlockClock>,
    gas: Res<'w, GasMarket>,
    config: Res<'w, SimConfig>,
    dirty: Res<'w, DirtyPools>,
    ledger: Res<'w, Ledger>,
    provenance: Res<'w, Provenance>,
}

impl<'w, 's> ViewParams<'w, 's> {
    /// Calls `f` with the view of this block.
    pub fn with_view<R>(&self, f: impl FnOnce(&MarketView<'_, EcsPools<'_, 'w, 's>>) -> R) -> R {
        let pools = EcsPools { query: &self.pools, index: &self.index };
        let view = MarketView {
            block: self.clock.number,
            timestamp: self.clock.timestamp,
            prices: &self.prices,
            pools: &pools,
            base_fee_wei: self.gas.base_fee_wei,
            gas: &self.config.gas,
            native: self.config.native,
            dirty: &self.dirty.previous,
            ledger: &self.ledger,
            provenance: &self.provenance,
        };
        f(&view)
    }
}
