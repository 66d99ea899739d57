//! The one action type. Every transaction carries one [`Action`], executed by the venue that
//! owns it; new venues (lending markets, bridges, order books) add variants here, and the
//! compiler then points at every match that must learn about them.

use meshsim_math::book::{OrderId, OrderType, Side};
use meshsim_scenario::{BookId, BridgeId, MarketId, TokenId};
use smallvec::SmallVec;

use crate::bridges::model::{Direction, Speed};

use super::Path;

/// What a transaction does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Swap along a path of AMM pools.
    Swap(Swap),
    /// Act on a lending market.
    Lend(Lend),
    /// Liquidate with a flash loan of the debt, sell the seized collateral along a path of
    /// pools and repay the loan with its premium, all or nothing.
    FlashLiquidate(Box<FlashLiquidate>),
    /// Send value to another chain through a bridge.
    Bridge(BridgeSend),
    /// Place, cancel or replace orders on an order book.
    Book(BookAction),
}

/// Operations on one order book, executed in order, each on its own (a bulk action, as on-chain
/// books take them): one that fails leaves the others standing; if all fail the transaction
/// reverts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BookAction {
    /// The book.
    pub book: BookId,
    /// The operations (two inline: a market maker's bid and ask).
    pub ops: SmallVec<[BookOp; 2]>,
}

/// One operation on a book.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BookOp {
    /// A new order.
    Place(PlaceOrder),
    /// Cancel one of the sender's resting orders.
    Cancel(OrderId),
    /// Move one of the sender's resting orders: a smaller size at the same price keeps its place
    /// in the queue; anything else is a cancel and a new limit order at the back.
    Replace {
        /// The resting order.
        order: OrderId,
        /// New price, ticks.
        tick: u64,
        /// New size, lots.
        lots: u64,
    },
}

impl BookOp {
    /// A cancel (the `CancelsFirst` policy runs these first).
    pub fn is_cancel(&self) -> bool {
        matches!(self, BookOp::Cancel(_))
    }

    /// Adds liquidity rather than taking it: a replace, or a limit or post-only order.
    pub fn is_maker(&self) -> bool {
        match self {
            BookOp::Replace { .. } => true,
            BookOp::Place(o) => matches!(o.kind, OrderType::Limit | OrderType::PostOnly),
            BookOp::Cancel(_) => false,
        }
    }
}

/// A new order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PlaceOrder {
    /// Buy or sell the base token.
    pub side: Side,
    /// Limit, market, immediate-or-cancel, fill-or-kill or post-only.
    pub kind: OrderType,
    /// Limit price, ticks (a market order's is ignored).
    pub tick: u64,
    /// Size, lots.
    pub lots: u64,
    /// What rests expires after this many blocks of the book's chain (0: until cancelled).
    pub ttl_blocks: u64,
    /// Sell what it bought (or buy back what it sold) on the CEX at the external price right
    /// after (CEX-book arbitrage closes its position).
    pub hedge: bool,
}

/// A bridge transfer: `amount` of one of the bridge's token pairs leaves the sender on the source
/// chain (the transaction's chain) and reaches the sender's own account on the other chain, less
/// the bridge's fee, when the bridge delivers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BridgeSend {
    /// The bridge.
    pub bridge: BridgeId,
    /// Which of its token pairs.
    pub pair: u8,
    /// Out (first chain to second) or back.
    pub direction: Direction,
    /// Standard or fast (attestation bridges).
    pub speed: Speed,
    /// Amount sent, base units of the source token.
    pub amount: u128,
}

/// A flash-loan liquidation: the liquidator needs no capital of the debt token, only gas.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlashLiquidate {
    /// The liquidation (its op is [`LendOp::Liquidate`]).
    pub lend: Lend,
    /// Where the seized collateral is sold for the debt token.
    pub sell: Path,
    /// Revert unless the sale leaves at least this much of the debt token after the loan and
    /// its premium are repaid.
    pub min_profit: u128,
}

/// Flash-loan premium, bps (Aave v3: 5).
pub const FLASH_PREMIUM_BPS: u128 = 5;

/// A position in a lending market: its index in the market's book, stable for the run
/// (positions are opened, never removed).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PositionId(pub u32);

/// An action on one lending market, for the sender's own position, or (an agent standing for
/// a population of borrowers) for its `k`-th position, as Aave's `onBehalfOf`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lend {
    /// The market.
    pub market: MarketId,
    /// What to do.
    pub op: LendOp,
    /// Which of the sender's positions (`None`: its own single position).
    pub on_behalf: Option<u32>,
}

impl Lend {
    /// An action for the sender's own position.
    pub fn new(market: MarketId, op: LendOp) -> Self {
        Lend { market, op, on_behalf: None }
    }
}

/// The operations of a lending market (Aave v3's `Pool` entry points). Amounts in base units.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LendOp {
    /// Deposit `amount` of `token` (it counts as collateral if the reserve allows).
    Supply {
        /// Token.
        token: TokenId,
        /// Amount.
        amount: u128,
    },
    /// Take back up to `amount` of a deposit; fails beyond what the reserve holds, or if the
    /// position's health would fall below 1.
    Withdraw {
        /// Token.
        token: TokenId,
        /// Amount.
        amount: u128,
    },
    /// Borrow `amount`; needs the loan-to-value room and health of at least 1 after.
    Borrow {
        /// Token.
        token: TokenId,
        /// Amount.
        amount: u128,
    },
    /// Repay up to `amount` of the position's debt in `token`.
    Repay {
        /// Token.
        token: TokenId,
        /// Amount.
        amount: u128,
    },
    /// Repay up to `debt_to_cover` of `user`'s debt in `debt`, receiving its collateral in
    /// `collateral` at the liquidation bonus; needs `user`'s health below 1.
    Liquidate {
        /// The position liquidated.
        user: PositionId,
        /// Collateral token seized.
        collateral: TokenId,
        /// Debt token repaid.
        debt: TokenId,
        /// Most debt to repay (capped by the close factor).
        debt_to_cover: u128,
    },
}

impl LendOp {
    /// Name in tables.
    pub fn name(&self) -> &'static str {
        match self {
            LendOp::Supply { .. } => "supply",
            LendOp::Withdraw { .. } => "withdraw",
            LendOp::Borrow { .. } => "borrow",
            LendOp::Repay { .. } => "repay",
            LendOp::Liquidate { .. } => "liquidate",
        }
    }

    /// The token the sender pays in (supply, repay, liquidate), if any.
    pub fn token_in(&self) -> Option<TokenId> {
        match *self {
            LendOp::Supply { token, .. } | LendOp::Repay { token, .. } => Some(token),
            LendOp::Liquidate { debt, .. } => Some(debt),
            LendOp::Withdraw { .. } | LendOp::Borrow { .. } => None,
        }
    }
}

impl From<Lend> for Action {
    fn from(l: Lend) -> Self {
        Action::Lend(l)
    }
}

/// An exact-input swap along a path; each hop feeds the next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Swap {
    /// The hops.
    pub legs: Path,
    /// Exact input of the first hop, base units.
    pub amount_in: u128,
    /// Revert unless the last hop pays at least this.
    pub min_out: u128,
    /// After the swap, sell the output back into the input token on the CEX at the external
    /// price (CEX-DEX arbitrage closes its position).
    pub hedge: bool,
}

impl Swap {
    /// A swap without a CEX hedge.
    pub fn new(legs: Path, amount_in: u128, min_out: u128) -> Self {
        Swap { legs, amount_in, min_out, hedge: false }
    }

    /// First hop's input token. Paths are never empty (every constructor gives at least a hop).
    pub fn token_in(&self) -> TokenId {
        self.legs.first().map_or(TokenId(0), |l| l.token_in)
    }

    /// Last hop's output token.
    pub fn token_out(&self) -> TokenId {
        self.legs.last().map_or(TokenId(0), |l| l.token_out)
    }
}

impl From<Swap> for Action {
    fn from(s: Swap) -> Self {
        Action::Swap(s)
    }
}
