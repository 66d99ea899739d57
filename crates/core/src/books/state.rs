//! The books' state, plain data: each book, its escrow records and totals, the rows of its tables,
//! and how the engine's senders map to the pure book's owners. Below the agents that read it.

use std::collections::BTreeMap;

use bevy_ecs::prelude::*;
use meshsim_math::book::{Book, Fill, Market, OrderId, Owner, Side};
use meshsim_scenario::{AgentId, BookSpec, VaultId};

use crate::ledger::book::{AccountId, AccountLayout};
use crate::tx::Sender;

/// Owner numbers of the pure book: agents even, vaults odd.
pub fn owner_of(sender: Sender) -> Owner {
    match sender {
        Sender::Agent(a) => a.0 * 2,
        Sender::Vault(v) => v.0 * 2 + 1,
    }
}

/// The sender an owner number stands for.
pub fn sender_of(owner: Owner) -> Sender {
    if owner.is_multiple_of(2) { Sender::Agent(AgentId(owner / 2)) } else { Sender::Vault(VaultId(owner / 2)) }
}

/// The account a sender's tokens are in.
pub fn account_of(layout: &AccountLayout, sender: Sender) -> AccountId {
    match sender {
        Sender::Agent(a) => layout.agent(a),
        Sender::Vault(v) => layout.vault(v),
    }
}

/// A book's totals since genesis.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct BookStats {
    /// Orders placed (not refused).
    pub placed: u64,
    /// Orders cancelled by their owners.
    pub cancelled: u64,
    /// Orders expired.
    pub expired: u64,
    /// Fills.
    pub fills: u64,
    /// Base units traded.
    pub volume_base: u128,
    /// Quote units traded.
    pub volume_quote: u128,
    /// Taker fees, quote units.
    pub taker_fees: u128,
    /// Maker fees less rebates, quote units.
    pub maker_fees: i128,
}

impl BookStats {
    pub(crate) fn record_fill(&mut self, f: &Fill) {
        self.fills += 1;
        self.volume_base += f.base;
        self.volume_quote += f.quote;
        self.taker_fees += f.taker_fee;
        self.maker_fees += f.maker_fee;
    }
}

/// A maker's fills on one book, valued at the external price when each filled.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct MakerStats {
    /// Fills.
    pub fills: u64,
    /// Quote traded, numeraire.
    pub volume: f64,
    /// What it earned against the external price at each fill (half the spread when quotes
    /// are fresh; negative when it was picked off), numeraire.
    pub edge: f64,
    /// Fees paid, numeraire (negative: rebates earned).
    pub fees: f64,
    /// Losses on fills against arbitrageurs and searchers (stale quotes taken), numeraire.
    pub picked_off: f64,
}

/// A taker's fills on one book.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct TakerStats {
    /// Fills.
    pub fills: u64,
    /// Quote traded, numeraire.
    pub volume: f64,
    /// What it paid against the external price at each fill, fees included, numeraire
    /// (negative: it gained, as an arbitrageur does).
    pub cost: f64,
}

/// One book.
#[derive(Debug, Clone)]
pub struct BookState {
    /// Its parameters.
    pub spec: BookSpec,
    /// The orders.
    pub book: Book,
    /// What each resting order has in escrow (base for an ask, quote for a bid).
    pub escrow: BTreeMap<OrderId, u128>,
    /// Each resting order's owner and side (kept until its escrow is paid back).
    pub(crate) sides: BTreeMap<OrderId, (Owner, Side)>,
    /// Where resting orders' tokens wait.
    pub escrow_account: AccountId,
    /// Where fees go.
    pub fee_account: AccountId,
    /// Totals.
    pub stats: BookStats,
    /// Each maker's fills.
    pub makers: BTreeMap<Sender, MakerStats>,
    /// Each taker's fills.
    pub takers: BTreeMap<Sender, TakerStats>,
}

/// Bands of the `book` table's depth columns, as fractions of the mid.
pub const DEPTH_BANDS: [f64; 3] = [0.001, 0.005, 0.01];

impl BookState {
    /// An empty book of `spec`, its accounts numbered by `layout`.
    pub fn new(spec: &BookSpec, layout: &AccountLayout) -> Self {
        let market = Market {
            lot_size: spec.lot_size,
            tick_value: spec.tick_value,
            maker_fee_ppm: spec.maker_fee_ppm,
            taker_fee_ppm: spec.taker_fee_ppm,
        };
        BookState {
            spec: spec.clone(),
            book: Book::new(market),
            escrow: BTreeMap::new(),
            sides: BTreeMap::new(),
            escrow_account: layout.book_escrow(spec.id),
            fee_account: layout.book_fees(spec.id),
            stats: BookStats::default(),
            makers: BTreeMap::new(),
            takers: BTreeMap::new(),
        }
    }

    /// Quote tokens per whole base token at `tick`.
    /// `units`: whole tokens per base unit, by token id.
    pub fn price(&self, tick: u64, units: &[f64]) -> f64 {
        // divided by 10^decimals rather than scaled by 10^-decimals: whole-cent prices stay exact
        let one = libm::round(1.0 / units[self.spec.quote.index()]);
        tick as f64 * meshsim_math::u128_to_f64(self.spec.tick_size) / one
    }

    /// The tick nearest below (`up` false) or above a price in quote tokens per whole base token.
    pub fn tick_of(&self, price: f64, up: bool, units: &[f64]) -> u64 {
        let step = meshsim_math::u128_to_f64(self.spec.tick_size) * units[self.spec.quote.index()];
        let t = price / step;
        let t = if up { libm::ceil(t - 1e-9) } else { libm::floor(t + 1e-9) };
        if t.is_finite() && t >= 1.0 { t.min(u64::MAX as f64 / 2.0) as u64 } else { 1 }
    }

    /// The mid, quote tokens per whole base token, if both sides have orders.
    pub fn mid(&self, units: &[f64]) -> Option<f64> {
        let (b, _) = self.book.best_bid()?;
        let (a, _) = self.book.best_ask()?;
        Some((self.price(b, units) + self.price(a, units)) / 2.0)
    }

    /// Base tokens resting within `band` of `mid` on each side (bid, ask).
    pub fn depth(&self, mid: f64, band: f64, units: &[f64]) -> (f64, f64) {
        let lot = meshsim_math::u128_to_f64(self.spec.lot_size) * units[self.spec.base.index()];
        let bid = self.book.depth_within(Side::Bid, self.tick_of(mid * (1.0 - band), true, units));
        let ask = self.book.depth_within(Side::Ask, self.tick_of(mid * (1.0 + band), false, units));
        (bid as f64 * lot, ask as f64 * lot)
    }
}

/// Every book, by id.
#[derive(Component, Debug, Clone)]
pub struct Books {
    /// By id.
    pub list: Vec<BookState>,
    /// Rows of the `book` table since the last drain (recorded runs).
    pub rows: Vec<BookRow>,
    /// Rows of the `fills` table since the last drain (recorded runs).
    pub fills: Vec<FillRow>,
}

/// One row of the `fills` table: a taker's order against one resting order.
#[derive(Debug, Clone, PartialEq)]
pub struct FillRow {
    /// Block of the book's chain.
    pub block: u64,
    /// The book.
    pub book: meshsim_scenario::BookId,
    /// The taker's transaction.
    pub tx_id: crate::tx::TxId,
    /// Who took.
    pub taker: Sender,
    /// Whose resting order it was.
    pub maker: Sender,
    /// The resting order.
    pub maker_order: u64,
    /// The taker bought (true) or sold.
    pub taker_buys: bool,
    /// Price, quote tokens per whole base token.
    pub price: f64,
    /// Base units.
    pub base: u128,
    /// Quote units before fees.
    pub quote: u128,
    /// Taker fee, quote units.
    pub taker_fee: u128,
    /// Maker fee (negative: rebate), quote units.
    pub maker_fee: i128,
    /// External price at the fill, quote tokens per whole base token.
    pub external: f64,
}

/// One row of the `book` table: a book at the end of a block of its chain.
#[derive(Debug, Clone, PartialEq)]
pub struct BookRow {
    /// The chain's block.
    pub block: u64,
    /// Its time, seconds.
    pub timestamp: f64,
    /// The book.
    pub book: meshsim_scenario::BookId,
    /// Best bid and ask, quote tokens per whole base token.
    pub best_bid: Option<f64>,
    /// Best ask.
    pub best_ask: Option<f64>,
    /// The external price, quote tokens per whole base token.
    pub external: f64,
    /// Base tokens resting within each of [`DEPTH_BANDS`] of the mid (the external price when one
    /// side is empty), bids then asks.
    pub depth: [(f64, f64); 3],
    /// Resting orders.
    pub orders: u64,
}
