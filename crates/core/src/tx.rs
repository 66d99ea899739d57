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
    /// A searcher's front-run of a public swap.
    SandwichFront,
    /// A searcher's back-run closing a sandwich.
    SandwichBack,
    /// A searcher's arbitrage right after a large public swap.
    Backrun,
    /// A searcher positioning ahead of a vault rebalance it predicts.
    PredictFront,
    /// Unwinding that position after the vault traded.
    PredictUnwind,
}

impl TxKind {
    /// Name in tables.
    pub fn name(self) -> &'static str {
        match self {
            TxKind::Arbitrage => "arbitrage",
            TxKind::CycleArbitrage => "cycle_arbitrage",
            TxKind::Rebalance => "rebalance",
            TxKind::SandwichFront => "sandwich_front",
            TxKind::SandwichBack => "sandwich_back",
            TxKind::Backrun => "backrun",
            TxKind::PredictFront => "predict_front",
            TxKind::PredictUnwind => "predict_unwind",
        }
    }

    /// Arbitrage-like: it trades pools back toward the external price.
    pub fn is_arbitrage(self) -> bool {
        matches!(self, TxKind::Arbitrage | TxKind::CycleArbitrage | TxKind::Backrun)
    }

    /// Extracted from someone else's transaction.
    pub fn is_mev(self) -> bool {
        matches!(
            self,
            TxKind::SandwichFront
                | TxKind::SandwichBack
                | TxKind::Backrun
                | TxKind::PredictFront
                | TxKind::PredictUnwind
        )
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

/// A transaction's stable id, assigned when it enters the mempool (0 = not yet submitted).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TxId(pub u64);

/// Who can see a pending transaction.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Visibility {
    /// The public mempool: searchers see it.
    #[default]
    Public,
    /// A private relay: invisible to searchers, never bundled.
    Private,
}

/// Why a transaction was sent: the links cascades are built from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Cause {
    /// The external price moved (a cascade root).
    #[default]
    External,
    /// A schedule or a depositor flow (a root).
    Schedule,
    /// Earlier transactions moved the prices that tripped it.
    Moves(SmallVec<[TxId; 4]>),
    /// It exploits this pending transaction.
    Victim(TxId),
}

impl Cause {
    /// The transactions it links to.
    pub fn parents(&self) -> &[TxId] {
        match self {
            Cause::Moves(v) => v,
            Cause::Victim(t) => std::slice::from_ref(t),
            Cause::External | Cause::Schedule => &[],
        }
    }
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
    /// Id, assigned at submission.
    pub id: TxId,
    /// Public or private.
    pub visibility: Visibility,
    /// Why it was sent.
    pub cause: Cause,
    /// The rule that fired (vault rebalances), for the tables.
    pub note: String,
    /// Seconds after the block's start at which it reaches the builder.
    pub arrival: f64,
    /// Most gas units it may burn: past this it reverts "out of gas" and pays for all of them.
    pub gas_limit: u64,
    /// Most it pays per gas, base fee included (EIP-1559): below the base fee it waits, and its
    /// tip is capped at what is left above the base fee.
    pub max_fee_wei: u128,
}

/// Gas limit of a transaction whose sender sets none: room for a three-hop v3 swap crossing a
/// few dozen ticks.
pub const DEFAULT_GAS_LIMIT: u64 = 1_500_000;

impl Tx {
    /// A public transaction with no cause yet; callers fill in the rest.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        sender: Sender,
        seq: u32,
        kind: TxKind,
        priority_fee_wei: u128,
        legs: Path,
        amount_in: u128,
        min_out: u128,
        deadline_block: u64,
    ) -> Self {
        Tx {
            sender,
            seq,
            kind,
            priority_fee_wei,
            legs,
            amount_in,
            min_out,
            hedge: false,
            deadline_block,
            id: TxId(0),
            visibility: Visibility::Public,
            cause: Cause::External,
            note: String::new(),
            arrival: 0.0,
            gas_limit: DEFAULT_GAS_LIMIT,
            max_fee_wei: u128::MAX,
        }
    }
}

/// A sender's transactions for the next block (written only by its own decision system).
#[derive(Component, Debug, Clone, Default)]
pub struct PendingTxs(pub Vec<Tx>);
