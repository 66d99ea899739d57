//! Transactions: what a sender intends ([`Action`]), how it bids for inclusion, why it was sent,
//! and what happened to it ([`Receipt`]). Plain data shared by every domain; no systems here.

mod action;
mod receipt;

use std::sync::Arc;

use meshsim_scenario::{AgentId, OracleId, PoolId, TokenId, VaultId};
use smallvec::SmallVec;

pub use action::{
    Action, BookAction, BookOp, BridgeSend, FLASH_PREMIUM_BPS, FlashLiquidate, Lend, LendOp, PlaceOrder, PositionId,
    Swap,
};
pub use receipt::{
    BookEffect, BookFill, BookRefusal, BridgeEffect, DropReason, Effect, Failure, Fills, HopFill, LendEffect, OpResult,
    Outcome, Quotes, Receipt, Receipts, RevertReason, SwapEffect,
};

pub use meshsim_scenario::ChainId;

/// A swap path: at most three hops stay inline.
pub type Path = SmallVec<[Leg; 3]>;

/// What a transaction is for (a column of the `trades` table).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum TxKind {
    /// CEX-DEX arbitrage.
    Arbitrage,
    /// Cyclic DEX arbitrage.
    CycleArbitrage,
    /// One leg of a cross-chain arbitrage.
    CrossChainArbitrage,
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
    /// A lending market liquidation.
    Liquidation,
    /// Selling collateral a liquidation seized.
    CollateralSale,
    /// Supplying, withdrawing, borrowing or repaying on a lending market.
    Lending,
    /// Sending value to another chain through a bridge.
    Bridge,
    /// A market maker's quotes.
    MarketMaking,
    /// A noise trader's order.
    NoiseTrade,
    /// A borrower buying collateral with what it borrowed.
    Leverage,
    /// A borrower selling collateral to repay debt.
    Deleverage,
}

impl TxKind {
    /// Every kind.
    pub const ALL: [TxKind; 17] = [
        TxKind::Arbitrage,
        TxKind::CycleArbitrage,
        TxKind::CrossChainArbitrage,
        TxKind::Rebalance,
        TxKind::SandwichFront,
        TxKind::SandwichBack,
        TxKind::Backrun,
        TxKind::PredictFront,
        TxKind::PredictUnwind,
        TxKind::Liquidation,
        TxKind::CollateralSale,
        TxKind::Lending,
        TxKind::Bridge,
        TxKind::MarketMaking,
        TxKind::NoiseTrade,
        TxKind::Leverage,
        TxKind::Deleverage,
    ];

    /// The kind a table names (see [`TxKind::name`]).
    pub fn from_name(name: &str) -> Option<TxKind> {
        TxKind::ALL.into_iter().find(|k| k.name() == name)
    }

    /// Name in tables.
    pub fn name(self) -> &'static str {
        match self {
            TxKind::Arbitrage => "arbitrage",
            TxKind::CycleArbitrage => "cycle_arbitrage",
            TxKind::CrossChainArbitrage => "cross_chain_arbitrage",
            TxKind::Rebalance => "rebalance",
            TxKind::SandwichFront => "sandwich_front",
            TxKind::SandwichBack => "sandwich_back",
            TxKind::Backrun => "backrun",
            TxKind::PredictFront => "predict_front",
            TxKind::PredictUnwind => "predict_unwind",
            TxKind::Liquidation => "liquidation",
            TxKind::CollateralSale => "collateral_sale",
            TxKind::Lending => "lending",
            TxKind::Bridge => "bridge",
            TxKind::MarketMaking => "market_making",
            TxKind::NoiseTrade => "noise_trade",
            TxKind::Leverage => "leverage",
            TxKind::Deleverage => "deleverage",
        }
    }

    /// Arbitrage-like: it trades pools back toward the external price.
    pub fn is_arbitrage(self) -> bool {
        matches!(self, TxKind::Arbitrage | TxKind::CycleArbitrage | TxKind::CrossChainArbitrage | TxKind::Backrun)
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

impl Leg {
    /// The same hop the other way round.
    pub fn reversed(self) -> Leg {
        Leg { pool: self.pool, i: self.j, j: self.i, token_in: self.token_out, token_out: self.token_in }
    }
}

/// A path walked backwards: what undoes it.
pub fn reverse_path(path: &[Leg]) -> Path {
    path.iter().rev().map(|l| l.reversed()).collect()
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

/// Transactions a cause names (inline up to four: an arbitrage names at most four movers; the
/// rarer longer lists of cyclic arbitrage and TWAP triggers spill to the heap).
pub type CauseTxs = SmallVec<[TxId; 4]>;

/// Why a transaction was sent: the links cascades are built from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Cause {
    /// The external price moved (a cascade root).
    #[default]
    External,
    /// A schedule or a depositor flow (a root).
    Schedule,
    /// Earlier transactions moved the prices that tripped it.
    Moves(CauseTxs),
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

    /// Name in the `trades` table.
    pub fn name(&self) -> &'static str {
        match self {
            Cause::External => "external_price",
            Cause::Schedule => "schedule",
            Cause::Moves(_) => "price_moves",
            Cause::Victim(_) => "victim",
        }
    }
}

/// What fired a vault's rebalance, kept for the tables: the rule and the oracle readings it saw
/// (numeraire per whole token). Shared by every transaction of that rebalance.
#[derive(Debug, Clone, PartialEq)]
pub struct TriggerNote {
    /// The rule, with its band at the time.
    pub rule: meshsim_scenario::Trigger,
    /// The band in force.
    pub band: f64,
    /// Oracle readings by oracle.
    pub readings: Vec<(OracleId, f64)>,
}

/// A note for the tables. Typed, and only filled when rows are recorded, so that the block loop
/// never formats text.
#[derive(Debug, Clone, Default, PartialEq)]
pub enum Note {
    /// Nothing to say.
    #[default]
    None,
    /// A vault rebalance and what fired it.
    Trigger(Arc<TriggerNote>),
    /// A predictor's position ahead of this vault.
    Predicts(VaultId),
    /// A predictor unwinding a position whose vault never traded.
    PredictionMissed,
}

/// How a transaction bids for inclusion (EIP-1559).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GasBid {
    /// Priority fee, wei per gas.
    pub priority_fee_wei: u128,
    /// Most it pays per gas, base fee included: below the base fee it waits, and its tip is
    /// capped at what is left above the base fee.
    pub max_fee_wei: u128,
    /// Most gas units it may burn: past this it reverts "out of gas" and pays for all of them.
    pub gas_limit: u64,
}

impl GasBid {
    /// Effective tip per gas at `base_fee`: the priority fee, capped by what the max fee leaves.
    pub fn tip(&self, base_fee: u128) -> u128 {
        self.priority_fee_wei.min(self.max_fee_wei.saturating_sub(base_fee))
    }
}

/// Gas limit of a transaction whose sender sets none: room for a three-hop v3 swap crossing a
/// few dozen ticks.
pub const DEFAULT_GAS_LIMIT: u64 = 1_500_000;

/// A signed transaction waiting for a block.
#[derive(Debug, Clone, PartialEq)]
pub struct Tx {
    /// Id, assigned at submission.
    pub id: TxId,
    /// The chain it is sent on.
    pub chain: ChainId,
    /// Sender.
    pub sender: Sender,
    /// Sender's sequence number within the block (orders a sender's own transactions).
    pub seq: u32,
    /// Purpose.
    pub kind: TxKind,
    /// What it does, executed by the venue that owns it.
    pub action: Action,
    /// Its bid for inclusion.
    pub gas: GasBid,
    /// Last block in which the transaction may be included.
    pub deadline_block: u64,
    /// Public or private.
    pub visibility: Visibility,
    /// Why it was sent.
    pub cause: Cause,
    /// For the tables.
    pub note: Note,
    /// Seconds after the block's start at which it reaches the builder.
    pub arrival: f64,
}

impl Tx {
    /// A public transaction with no cause yet, on chain 0; callers fill in the rest.
    pub fn new(
        sender: Sender,
        seq: u32,
        kind: TxKind,
        priority_fee_wei: u128,
        action: Action,
        deadline_block: u64,
    ) -> Self {
        Tx {
            id: TxId(0),
            chain: ChainId(0),
            sender,
            seq,
            kind,
            action,
            gas: GasBid { priority_fee_wei, max_fee_wei: u128::MAX, gas_limit: DEFAULT_GAS_LIMIT },
            deadline_block,
            visibility: Visibility::Public,
            cause: Cause::External,
            note: Note::None,
            arrival: 0.0,
        }
    }

    /// The swap it makes, if it is one.
    pub fn swap(&self) -> Option<&Swap> {
        match &self.action {
            Action::Swap(s) => Some(s),
            Action::Lend(_) | Action::FlashLiquidate(_) | Action::Bridge(_) | Action::Book(_) => None,
        }
    }

    /// The pools it trades through, in order: a swap's path, or a flash liquidation's sale.
    pub fn path(&self) -> &[Leg] {
        match &self.action {
            Action::Swap(s) => &s.legs,
            Action::FlashLiquidate(f) => &f.sell,
            Action::Lend(_) | Action::Bridge(_) | Action::Book(_) => &[],
        }
    }

    /// Pools it touches.
    pub fn pools(&self) -> impl Iterator<Item = PoolId> + Clone + '_ {
        self.path().iter().map(|l| l.pool)
    }
}

/// Writes a transaction's content into a digest: everything that decides what it does and where
/// it lands (the note, for tables only, is left out).
pub fn hash_tx(h: &mut sha2::Sha256, tx: &Tx) {
    use sha2::Digest as _;
    h.update(tx.id.0.to_le_bytes());
    h.update(tx.chain.0.to_le_bytes());
    let (tag, id) = match tx.sender {
        Sender::Agent(a) => (0u8, a.0),
        Sender::Vault(v) => (1u8, v.0),
    };
    h.update([tag]);
    h.update(id.to_le_bytes());
    h.update(tx.seq.to_le_bytes());
    h.update(tx.kind.name().as_bytes());
    match &tx.action {
        Action::Swap(s) => {
            for l in &s.legs {
                h.update(l.pool.0.to_le_bytes());
                h.update([l.i, l.j]);
            }
            h.update(s.amount_in.to_le_bytes());
            h.update(s.min_out.to_le_bytes());
            h.update([u8::from(s.hedge)]);
        }
        Action::FlashLiquidate(f) => {
            h.update(b"flash");
            hash_lend(h, &f.lend);
            for l in &f.sell {
                h.update(l.pool.0.to_le_bytes());
                h.update([l.i, l.j]);
            }
            h.update(f.min_profit.to_le_bytes());
        }
        Action::Lend(l) => hash_lend(h, l),
        Action::Bridge(b) => {
            h.update(b"bridge");
            h.update(b.bridge.0.to_le_bytes());
            h.update([b.pair, b.direction as u8, b.speed as u8]);
            h.update(b.amount.to_le_bytes());
        }
        Action::Book(b) => {
            h.update(b"book");
            h.update(b.book.0.to_le_bytes());
            for op in &b.ops {
                match *op {
                    BookOp::Place(o) => {
                        h.update([0, o.side as u8, o.kind as u8, u8::from(o.hedge)]);
                        for x in [o.tick, o.lots, o.ttl_blocks] {
                            h.update(x.to_le_bytes());
                        }
                    }
                    BookOp::Cancel(id) => {
                        h.update([1]);
                        h.update(id.0.to_le_bytes());
                    }
                    BookOp::Replace { order, tick, lots } => {
                        h.update([2]);
                        for x in [order.0, tick, lots] {
                            h.update(x.to_le_bytes());
                        }
                    }
                }
            }
        }
    }
    h.update(tx.gas.priority_fee_wei.to_le_bytes());
    h.update(tx.gas.max_fee_wei.to_le_bytes());
    h.update(tx.gas.gas_limit.to_le_bytes());
    h.update(tx.deadline_block.to_le_bytes());
    h.update([u8::from(tx.visibility == Visibility::Private)]);
    h.update(tx.arrival.to_bits().to_le_bytes());
    h.update(tx.cause.name().as_bytes());
    for p in tx.cause.parents() {
        h.update(p.0.to_le_bytes());
    }
}

/// A lending action's content, for the digest.
fn hash_lend(h: &mut sha2::Sha256, l: &Lend) {
    use sha2::Digest as _;
    h.update(l.market.0.to_le_bytes());
    h.update(l.op.name().as_bytes());
    h.update(l.on_behalf.map_or(u64::MAX, u64::from).to_le_bytes());
    let (a, b, c, amount) = match l.op {
        LendOp::Supply { token, amount }
        | LendOp::Withdraw { token, amount }
        | LendOp::Borrow { token, amount }
        | LendOp::Repay { token, amount } => (u32::from(token.0), 0, 0, amount),
        LendOp::Liquidate { user, collateral, debt, debt_to_cover } => {
            (u32::from(collateral.0), u32::from(debt.0), user.0, debt_to_cover)
        }
    };
    for x in [a, b, c] {
        h.update(x.to_le_bytes());
    }
    h.update(amount.to_le_bytes());
}

#[cfg(test)]
mod kind_names {
    use super::TxKind;

    #[test]
    fn every_kind_reads_back_from_its_table_name_and_names_are_distinct() {
        for k in TxKind::ALL {
            assert_eq!(TxKind::from_name(k.name()), Some(k));
        }
        let mut names: Vec<&str> = TxKind::ALL.iter().map(|k| k.name()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), TxKind::ALL.len());
        assert_eq!(TxKind::from_name("no such kind"), None);
    }
}
