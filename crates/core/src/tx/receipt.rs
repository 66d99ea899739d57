//! Receipts: what happened to each transaction, typed. The executor (and the mempool, for
//! transactions that expire waiting) emits them; metrics, cascades, tables and each sender's
//! inbox read them in later phases. Nothing upstream of execution reads them to decide.

use std::fmt;

use bevy_ecs::prelude::*;
use meshsim_math::{MathError, SwapQuote};
use meshsim_scenario::TokenId;
use smallvec::SmallVec;

use super::Tx;
use crate::ledger::book::LedgerError;

/// Quotes of a path's hops (inline for up to three).
pub type Quotes = SmallVec<[SwapQuote; 3]>;

/// What one executed hop did, as far as accounting needs it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HopFill {
    /// Input the pool took, base units.
    pub amount_in: u128,
    /// Fee kept by liquidity providers, in the token `fee_in_output` says.
    pub lp_fee: u128,
    /// Whether the fee is in the hop's output token (Curve) rather than its input.
    pub fee_in_output: bool,
}

impl From<&SwapQuote> for HopFill {
    fn from(q: &SwapQuote) -> Self {
        HopFill { amount_in: q.amount_in, lp_fee: q.lp_fee, fee_in_output: q.fee_in_output }
    }
}

/// The hops of an executed path (inline for up to three).
pub type Fills = SmallVec<[HopFill; 3]>;

/// Why an included transaction reverted (it still paid its gas). The larger payloads are boxed:
/// every receipt carries an outcome, few carry these.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RevertReason {
    /// The venue's contract reverted.
    Venue(Box<MathError>),
    /// The action names a venue this world does not have.
    UnknownVenue,
    /// A concentrated pool ran out of liquidity before taking the whole input.
    InsufficientLiquidity,
    /// The output fell short of the sender's minimum.
    BelowMinimum {
        /// What it would have received.
        out: u128,
        /// Its minimum.
        min: u128,
        /// The token both are in (for people: the amounts are base units).
        token: TokenId,
    },
    /// The payer does not hold the input.
    InsufficientBalance,
    /// It needed more gas than its limit.
    OutOfGas,
    /// A custody transfer failed (a bug: balances are checked first).
    Ledger(Box<LedgerError>),
    /// The CEX leg of a hedged swap failed.
    CexHedge(Box<LedgerError>),
    /// A bridge refused the transfer (halted, zero, all fee) or it was sent on the wrong chain.
    Bridge(&'static str),
    /// An order book refused every operation (the first one's reason).
    Book(meshsim_math::book::BookError),
}

impl fmt::Display for RevertReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RevertReason::Venue(e) => write!(f, "{e}"),
            RevertReason::UnknownVenue => f.write_str("unknown pool"),
            RevertReason::InsufficientLiquidity => f.write_str("insufficient liquidity"),
            RevertReason::BelowMinimum { out, min, .. } => write!(f, "output {out} below minimum {min}"),
            RevertReason::InsufficientBalance => f.write_str("insufficient balance"),
            RevertReason::OutOfGas => f.write_str("out of gas"),
            RevertReason::Ledger(e) => write!(f, "ledger: {e}"),
            RevertReason::CexHedge(e) => write!(f, "cex hedge: {e}"),
            RevertReason::Bridge(why) => write!(f, "bridge: {why}"),
            RevertReason::Book(e) => write!(f, "book: {e}"),
        }
    }
}

/// Why a transaction was not included (it paid nothing).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DropReason {
    /// Its deadline passed before execution.
    Expired,
    /// Its deadline passed while it waited in the mempool.
    ExpiredInMempool,
    /// Its max fee is below the base fee.
    MaxFeeBelowBaseFee,
    /// It does not fit the block's gas limit.
    BlockGasLimit,
    /// The batch has no gas room left for it.
    BlockFull,
    /// Its gas payer cannot pay.
    CannotPayGas,
    /// Its payer does not hold the input (batch admission).
    InsufficientBalance,
    /// The batch's residual cannot trade.
    BatchCannotClear,
    /// The batch price would break its limit.
    LimitNotMet,
}

impl DropReason {
    /// Its text in tables and summaries.
    pub fn text(self) -> &'static str {
        match self {
            DropReason::Expired => "expired",
            DropReason::ExpiredInMempool => "expired in the mempool",
            DropReason::MaxFeeBelowBaseFee => "max fee below base fee",
            DropReason::BlockGasLimit => "block gas limit",
            DropReason::BlockFull => "block full",
            DropReason::CannotPayGas => "cannot pay gas",
            DropReason::InsufficientBalance => "insufficient balance",
            DropReason::BatchCannotClear => "batch cannot clear",
            DropReason::LimitNotMet => "limit not met at the batch price",
        }
    }
}

impl fmt::Display for DropReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.text())
    }
}

/// What went wrong with a sender's attempt (a vault's last failure).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// Included and reverted.
    Reverted(RevertReason),
    /// Not included.
    Dropped(DropReason),
    /// No route between the tokens it meant to trade.
    NoRoute,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Reverted(r) => write!(f, "{r}"),
            Failure::Dropped(d) => write!(f, "{d}"),
            Failure::NoRoute => f.write_str("no route"),
        }
    }
}

/// What happened to a transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Included and executed.
    Included,
    /// Included, reverted, gas paid.
    Reverted(RevertReason),
    /// Not included.
    Dropped(DropReason),
}

impl Outcome {
    /// The failure, if it failed.
    pub fn failure(&self) -> Option<Failure> {
        match self {
            Outcome::Included => None,
            Outcome::Reverted(r) => Some(Failure::Reverted(r.clone())),
            Outcome::Dropped(d) => Some(Failure::Dropped(*d)),
        }
    }
}

/// A swap's result: exact amounts and each hop's quote (fees, ticks crossed).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SwapEffect {
    /// Input taken (a batch order may differ from its request; a revert reports the request).
    pub amount_in: u128,
    /// Output of the last hop (0 if reverted).
    pub amount_out: u128,
    /// The hops as executed (empty if reverted). A batch order's hops carry its pro-rata share of
    /// the residual's fees.
    pub hops: Fills,
}

/// What an action did, by venue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    /// Nothing (dropped).
    None,
    /// A swap.
    Swap(SwapEffect),
    /// A lending action.
    Lend(LendEffect),
    /// A flash-loan liquidation: the liquidation, and the sale of what it seized (boxed: few
    /// receipts carry one, and every receipt would be as large as the largest effect).
    FlashLiquidation(Box<(LendEffect, SwapEffect)>),
    /// A bridge transfer sent.
    Bridge(BridgeEffect),
    /// Order book operations and the fills they made (boxed: few receipts carry one).
    Book(Box<BookEffect>),
}

/// What a book action did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BookEffect {
    /// The book.
    pub book: Option<meshsim_scenario::BookId>,
    /// Each operation's result, in order.
    pub ops: SmallVec<[OpResult; 2]>,
    /// The fills it took, in matching order.
    pub fills: Vec<BookFill>,
}

/// One operation's result.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OpResult {
    /// The order it placed (or moved); `None` for a cancel or a refusal.
    pub order: Option<meshsim_math::book::OrderId>,
    /// Lots left resting.
    pub rested: u64,
    /// Lots cancelled (an immediate order's remainder; a cancel's size).
    pub cancelled: u64,
    /// Why it was refused, if it was.
    pub error: Option<BookRefusal>,
}

/// Why a book refused one operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BookRefusal {
    /// The book's own rule.
    Book(meshsim_math::book::BookError),
    /// The sender does not hold what the order needs.
    InsufficientBalance,
}

/// One fill of a taker's order against a resting one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BookFill {
    /// The resting order.
    pub maker_order: meshsim_math::book::OrderId,
    /// Its owner.
    pub maker: super::Sender,
    /// The taker bought (bid) or sold (ask).
    pub taker_side: meshsim_math::book::Side,
    /// Price, ticks.
    pub tick: u64,
    /// Base units.
    pub base: u128,
    /// Quote units, before fees.
    pub quote: u128,
    /// The taker's fee, quote units.
    pub taker_fee: u128,
    /// The maker's fee (negative: its rebate), quote units.
    pub maker_fee: i128,
}

/// What sending a bridge transfer did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BridgeEffect {
    /// The token sent (on the source chain).
    pub token: meshsim_scenario::TokenId,
    /// The transfer's id within its bridge pair.
    pub transfer: u64,
    /// Amount taken from the sender (a revert reports the request).
    pub amount: u128,
    /// The bridge's or relayer's fee, out of the amount.
    pub fee: u128,
    /// When it arrives, milliseconds since genesis (`u64::MAX`: waiting for a relayer).
    pub arrives_at_ms: u64,
}

/// What a lending action moved, base units.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LendEffect {
    /// Supplied, withdrawn, borrowed, repaid, or (liquidation) debt repaid. A revert reports the
    /// request.
    pub amount: u128,
    /// Liquidation: collateral to the liquidator, bonus included.
    pub seized: u128,
    /// Liquidation: collateral to the protocol (its fee on the bonus).
    pub protocol_fee: u128,
    /// Liquidation: debt left without collateral, written off as the reserves' deficit, in
    /// base currency (8 decimals).
    pub bad_debt_base: u128,
    /// The position acted on.
    pub position: u32,
    /// Flash liquidation: the premium paid on the loan, in the debt token.
    pub premium: u128,
    /// Liquidation: health factor of the position before, a wad.
    pub health_before: u128,
    /// Health factor of that position after, a wad (`u128::MAX`: no debt).
    pub health_after: u128,
}

/// One transaction's receipt.
#[derive(Debug, Clone, PartialEq)]
pub struct Receipt {
    /// Block it was decided in.
    pub block: u64,
    /// Position among the block's included transactions (None: not included).
    pub position: Option<u32>,
    /// The transaction.
    pub tx: Tx,
    /// What happened.
    pub outcome: Outcome,
    /// Gas units used.
    pub gas_used: u64,
    /// Gas fee paid, wei (base fee burned plus tip).
    pub fee_wei: u128,
    /// What it did.
    pub effect: Effect,
    /// A sandwich victim: the output it would have received without the front-run less what it
    /// received, in its output token.
    pub sandwich_shortfall: Option<u128>,
    /// Paid to the builder for the bundle this transaction opens, wei of the native token.
    pub builder_bid_wei: u128,
}

impl Receipt {
    /// The lending action's result, if it was one.
    pub fn lend(&self) -> Option<&LendEffect> {
        match &self.effect {
            Effect::Lend(l) => Some(l),
            Effect::FlashLiquidation(f) => Some(&f.0),
            _ => None,
        }
    }

    /// Included and not reverted.
    pub fn succeeded(&self) -> bool {
        self.outcome == Outcome::Included
    }

    /// The book action's result, if it was one that was included.
    pub fn book(&self) -> Option<&BookEffect> {
        match &self.effect {
            Effect::Book(b) if self.succeeded() => Some(b),
            _ => None,
        }
    }

    /// The bridge transfer it sent, if it was one that was included.
    pub fn bridge(&self) -> Option<&BridgeEffect> {
        match &self.effect {
            Effect::Bridge(b) if self.succeeded() => Some(b),
            _ => None,
        }
    }

    /// The swap's result, if it was a swap that was included.
    pub fn swap(&self) -> Option<&SwapEffect> {
        match &self.effect {
            Effect::Swap(s) => Some(s),
            Effect::FlashLiquidation(f) => Some(&f.1),
            Effect::None | Effect::Lend(_) | Effect::Bridge(_) | Effect::Book(_) => None,
        }
    }
}

/// This block's receipts, in the order things happened: the mempool's expiries, then the block's
/// transactions in execution order. Cleared at the start of each block (its buffer is kept).
#[derive(Component, Debug, Default)]
pub struct Receipts {
    /// The receipts.
    pub items: Vec<Receipt>,
}
