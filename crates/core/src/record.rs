//! Per-block and per-transaction rows, buffered for a front end to drain. Nothing here does I/O.

use bevy_ecs::prelude::*;
use meshsim_scenario::{PoolId, TokenId};

use crate::chain::{BlockClock, GasMarket};
use crate::ledger::Ledger;
use crate::pools::PoolEntry;
use crate::sim_config::SimConfig;
use crate::tx::{Sender, TxKind};

/// One row of the `trades` table.
#[derive(Debug, Clone, PartialEq)]
pub struct TradeRow {
    /// Block number.
    pub block: u64,
    /// Position in the block.
    pub index: u32,
    /// Transaction id.
    pub tx_id: crate::tx::TxId,
    /// Sender.
    pub sender: Sender,
    /// Purpose.
    pub kind: TxKind,
    /// Pools of the path.
    pub pools: Vec<PoolId>,
    /// First hop's input token.
    pub token_in: TokenId,
    /// Last hop's output token.
    pub token_out: TokenId,
    /// Input, base units.
    pub amount_in: u128,
    /// Output, base units (0 if reverted).
    pub amount_out: u128,
    /// Gas used.
    pub gas_used: u64,
    /// Gas fee paid, wei.
    pub gas_fee_wei: u128,
    /// Reverted.
    pub reverted: bool,
    /// Why it reverted (empty otherwise).
    pub revert_reason: String,
    /// Profit net of gas, numeraire (for arbitrageurs).
    pub profit: f64,
    /// Why it was sent.
    pub cause: crate::tx::Cause,
    /// The rule that fired, for vault rebalances.
    pub note: String,
    /// Input value at external prices, numeraire.
    pub value_in: f64,
}

/// One pool's state in a block row.
#[derive(Debug, Clone, PartialEq)]
pub struct PoolRow {
    /// Marginal price of token0 in token1, whole-token units.
    pub price: f64,
    /// Balances held, base units, in the pool's token order.
    pub balances: Vec<u128>,
}

/// One row of the `blocks` table.
#[derive(Debug, Clone, PartialEq)]
pub struct BlockRow {
    /// Block number.
    pub block: u64,
    /// Seconds since genesis.
    pub timestamp: f64,
    /// Base fee of the block, wei.
    pub base_fee_wei: u128,
    /// Gas used in the block.
    pub gas_used: u64,
    /// External price of every token, numeraire per whole token.
    pub prices: Vec<f64>,
    /// Pools by id.
    pub pools: Vec<PoolRow>,
}

/// One row of the `vaults` table.
#[derive(Debug, Clone, PartialEq)]
pub struct VaultRow {
    /// Block number.
    pub block: u64,
    /// Vault.
    pub vault: meshsim_scenario::VaultId,
    /// NAV at external prices, numeraire.
    pub nav: f64,
    /// NAV per share (1.0 at genesis).
    pub share_price: f64,
    /// Shares outstanding, 18 decimals.
    pub shares: u128,
    /// The vault's tokens (its universe), by id.
    pub tokens: Vec<TokenId>,
    /// Weights at external prices, per universe token.
    pub weights: Vec<f64>,
    /// Targets, per universe token.
    pub targets: Vec<f64>,
    /// L2 distance of the weights (at external prices) from the targets.
    pub tracking_error: f64,
    /// The trigger's band this block.
    pub band: f64,
    /// It sent rebalancing transactions this block.
    pub rebalancing: bool,
    /// Buy-and-hold benchmark NAV.
    pub hold_nav: f64,
    /// Costless continuously rebalanced benchmark NAV.
    pub continuous_nav: f64,
}

/// Buffered rows since the last drain.
#[derive(Resource, Debug, Clone, Default)]
pub struct Records {
    /// Collect rows at all (off for benchmarks and sweeps).
    pub enabled: bool,
    /// Block rows.
    pub blocks: Vec<BlockRow>,
    /// Trade rows.
    pub trades: Vec<TradeRow>,
    /// Vault rows.
    pub vaults: Vec<VaultRow>,
    /// Write vault rows every this many blocks (1 = every block).
    pub vault_every: u64,
}

/// Marginal price of a pool's token0 in token1, whole-token units.
pub fn pool_price(entry: &PoolEntry, decimals: &[u8]) -> f64 {
    let d0 = decimals[entry.tokens[0].index()];
    let d1 = decimals[entry.tokens[1].index()];
    entry.pool.marginal_price(0, 1) * libm::pow(10.0, f64::from(d0) - f64::from(d1))
}

/// Record phase: one block row.
pub fn record_block(
    clock: Res<BlockClock>,
    gas: Res<GasMarket>,
    prices: Res<crate::market::ExternalPrices>,
    pools: Query<&PoolEntry>,
    ledger: Res<Ledger>,
    config: Res<SimConfig>,
    mut records: ResMut<Records>,
) {
    if !records.enabled {
        return;
    }
    let mut rows: Vec<(PoolId, PoolRow)> = pools
        .iter()
        .map(|e| {
            let balances = e.tokens.iter().map(|t| ledger.balance(e.account, *t)).collect();
            (e.id, PoolRow { price: pool_price(e, &config.decimals), balances })
        })
        .collect();
    rows.sort_by_key(|(id, _)| *id);
    records.blocks.push(BlockRow {
        block: clock.number,
        timestamp: clock.timestamp,
        base_fee_wei: gas.base_fee_wei,
        gas_used: gas.gas_used,
        prices: prices.per_token.clone(),
        pools: rows.into_iter().map(|(_, r)| r).collect(),
    });
}
