//! Transactions: what agents intend, how a block orders them, and what happened to each.

use bevy_ecs::prelude::*;
use meshsim_scenario::{AgentId, PoolId, TokenId, VaultId};
use smallvec::SmallVec;

/// A swap path: at most three hops stay inline.
pub type Path = SmallVec<[Leg; 3]>;

/// What a transaction is for (a column of the `trades` table).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum TxKind {
    /// CEX-DEX arbitrage.
    Arbitrage,
    /// Cyclic DEX arbitrage.
    CycleArbitrage,
    /// A vault rebalancing toward its targets.
    Rebalance,
}

impl TxKind {
    /// Name in tables.
    pub fn name(self) -> &'static str {
        match self {
            TxKind::Arbitrage => "arbitrage",
            TxKind::CycleArbitrage => "cycle_arbitrage",
            TxKind::Rebalance => "rebalance",
        }
    }
}

/// One hop: swap token `i` for token `j` of a pool (indices in the pool's order).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Leg {
    /// Pool.
    pub pool: PoolId,
    /// Input token's index in the pool.
    pub i: u8,
    /// Output token's index in the pool.
    pub j: u8,
    /// Input token id.
    pub token_in: TokenId,
    /// Output token id.
    pub token_out: TokenId,
}

/// Who sends a transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Sender {
    /// An agent (it pays tokens and gas from its own account).
    Agent(AgentId),
    /// A vault's keeper (tokens come from the vault, gas from the keeper).
    Vault(VaultId),
}

/// A signed transaction waiting for a block.
#[derive(Debug, Clone, PartialEq)]
pub struct Tx {
    /// Sender.
    pub sender: Sender,
    /// Sender's sequence number within the block (orders a sender's own transactions).
    pub seq: u32,
    /// Purpose.
    pub kind: TxKind,
    /// Priority fee, wei per gas.
    pub priority_fee_wei: u128,
    /// Swap path; each hop feeds the next.
    pub legs: Path,
    /// Exact input of the first hop.
    pub amount_in: u128,
    /// Revert unless the last hop pays at least this.
    pub min_out: u128,
    /// After the swap, sell the output back into the input token on the CEX at the external
    /// price (CEX-DEX arbitrage closes its position).
    pub hedge: bool,
    /// Last block in which the transaction may be included.
    pub deadline_block: u64,
}

/// A sender's transactions for the next block (written only by its own decision system).
#[derive(Component, Debug, Clone, Default)]
pub struct PendingTxs(pub Vec<Tx>);

/// The current block's ordered transactions.
#[derive(Resource, Debug, Clone, Default)]
pub struct BlockTxs(pub Vec<Tx>);

/// Order phase: gather every sender's pending transactions and order them: priority fee (high
/// first), then sender id, then sequence. Query order never reaches the result.
pub fn order_transactions(mut senders: Query<&mut PendingTxs>, mut block: ResMut<BlockTxs>) {
    block.0.clear();
    for mut pending in &mut senders {
        block.0.append(&mut pending.0);
    }
    block.0.sort_by(|a, b| {
        b.priority_fee_wei.cmp(&a.priority_fee_wei).then(a.sender.cmp(&b.sender)).then(a.seq.cmp(&b.seq))
    });
}
