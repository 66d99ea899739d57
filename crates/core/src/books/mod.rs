//! Central limit order books as venues beside the pools: orders, cancels and replaces are
//! transactions ([`crate::tx::Action::Book`]) ordered by the chain's policy and matched by
//! [`meshsim_math::book`] when they execute. What rests is held in the book's escrow account;
//! every block of the book's chain first expires the short-lived orders whose last block has
//! passed and pays their escrow back.
//!
//! Nothing is lost: the escrow account holds exactly what the resting orders put up (checked every
//! block in checked runs, with every resting order covered), and the fee account exactly the fees
//! less the rebates.
//!
//! Agents that live here: Avellaneda-Stoikov market makers ([`maker`]), noise traders
//! ([`noise`]), and the CEX-book leg of the arbitrageurs ([`arb`]).

pub mod arb;
pub mod maker;
pub mod noise;
pub mod venue;

use std::collections::BTreeMap;

use bevy_ecs::prelude::*;
use meshsim_math::book::{Book, Fill, Market, OrderId, Owner, Side};
use meshsim_scenario::{AgentId, BookSpec, VaultId};
use sha2::{Digest as _, Sha256};

use crate::chain::Chains;
use crate::engine::{App, Phase, Plugin, State, StateView, shared};
use crate::ledger::{AccountId, AccountLayout, Ledger};
use crate::market::ExternalPrices;
use crate::snapshot::{BookSnapshot, Snapshot};
use crate::tx::Sender;
use crate::{SimConfig, SimError, SimStatus};

/// Order books: genesis, expiry every block, the escrow check, the `book` table's rows.
pub struct BooksPlugin;

impl Plugin for BooksPlugin {
    fn name(&self) -> &'static str {
        "books"
    }

    fn present(&self, s: &meshsim_scenario::Scenario, _: &crate::SimOptions) -> bool {
        !s.books.is_empty()
    }

    fn build(&self, app: &mut App<'_>) -> Result<(), SimError> {
        let layout = app.state::<SimConfig>().layout;
        let list = app.scenario.books.iter().map(|spec| BookState::new(spec, &layout)).collect();
        app.insert_state(Books { list, rows: Vec::new(), fills: Vec::new() });
        app.add_systems(Phase::Begin, expire);
        app.add_systems(Phase::Account, account);
        maker::build(app)?;
        noise::build(app)?;
        arb::build(app)?;
        if app.options.record {
            app.add_systems(Phase::Record, record);
        }
        if app.options.check_conservation {
            app.add_systems(Phase::Settle, check_escrow);
        }
        Ok(())
    }

    fn digest(&self, world: StateView<'_>, h: &mut Sha256) {
        for b in &world.state::<Books>().list {
            for o in b.book.resting() {
                h.update(o.id.0.to_le_bytes());
                h.update(o.owner.to_le_bytes());
                h.update([o.side as u8]);
                for x in [o.tick, o.lots, o.expires_at] {
                    h.update(x.to_le_bytes());
                }
                h.update(b.escrow.get(&o.id).copied().unwrap_or(0).to_le_bytes());
            }
            let s = &b.stats;
            for x in [s.placed, s.cancelled, s.expired, s.fills] {
                h.update(x.to_le_bytes());
            }
            h.update(s.volume_base.to_le_bytes());
            h.update(s.volume_quote.to_le_bytes());
        }
        // where each noise trader's stream stands, in agent id order
        if let Some(mut q) = world.world.try_query::<(&crate::agents::AgentMeta, &noise::NoiseTrader)>() {
            let mut streams: Vec<(u32, u128)> =
                q.iter(world.world).map(|(m, n)| (m.id.0, n.rng.get_word_pos())).collect();
            streams.sort_unstable();
            for (id, pos) in streams {
                h.update(id.to_le_bytes());
                h.update(pos.to_le_bytes());
            }
        }
    }

    fn snapshot(&self, world: StateView<'_>, snap: &mut Snapshot) {
        let prices = world.state::<ExternalPrices>();
        snap.books = world.state::<Books>().list.iter().map(|b| b.snapshot(prices)).collect();
        crate::agents::snapshot_agents::<maker::Maker>(world, snap);
        crate::agents::snapshot_agents::<noise::NoiseTrader>(world, snap);
    }
}

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
    fn record_fill(&mut self, f: &Fill) {
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
    sides: BTreeMap<OrderId, (Owner, Side)>,
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

    fn snapshot(&self, _prices: &ExternalPrices) -> BookSnapshot {
        BookSnapshot {
            id: self.spec.id,
            name: self.spec.name.clone(),
            base: self.spec.base,
            quote: self.spec.quote,
            bids: self.book.depth(Side::Bid, 20),
            asks: self.book.depth(Side::Ask, 20),
            lot_size: self.spec.lot_size,
            tick_size: self.spec.tick_size,
            stats: self.stats,
        }
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

/// Expires the active chain's books' short-lived orders and pays their escrow back.
fn expire(state: State<(&mut Books, &mut Ledger, &Chains, &SimConfig, &mut SimStatus)>) {
    let (mut books, mut ledger, chains, config, mut status) = shared(state);
    let chain = chains.active();
    for b in books.list.iter_mut().filter(|b| b.spec.chain == chain.id) {
        for o in b.book.expire(chain.clock.number) {
            b.stats.expired += 1;
            let Some(held) = b.escrow.remove(&o.id) else { continue };
            b.sides.remove(&o.id);
            let token = if o.side == Side::Ask { b.spec.base } else { b.spec.quote };
            let to = account_of(&config.layout, sender_of(o.owner));
            if let Err(e) = ledger.transfer(b.escrow_account, to, token, held) {
                status.failure.get_or_insert(SimError::Conservation { block: chain.clock.number, source: e });
            }
        }
    }
}

/// Values each fill for its maker and its taker at the external price; a maker's edge less its
/// fees counts as its profit.
fn account(state: State<(&mut Books, &crate::tx::Receipts, &ExternalPrices, &mut crate::metrics::Metrics)>) {
    let (mut books, receipts, prices, mut metrics) = shared(state);
    for r in &receipts.items {
        let Some(e) = r.book() else { continue };
        let Some(b) = e.book.and_then(|id| books.list.get_mut(id.index())) else { continue };
        let (base, quote) = (b.spec.base, b.spec.quote);
        let exploited = r.tx.kind.is_arbitrage() || r.tx.kind.is_mev();
        for f in &e.fills {
            let (bv, qv) = (prices.value(base, f.base), prices.value(quote, f.quote));
            // the maker sold base for quote when the taker bought
            let edge = if f.taker_side == Side::Bid { qv - bv } else { bv - qv };
            let maker_fee = if f.maker_fee >= 0 {
                prices.value(quote, f.maker_fee.unsigned_abs())
            } else {
                -prices.value(quote, f.maker_fee.unsigned_abs())
            };
            let m = b.makers.entry(f.maker).or_default();
            m.fills += 1;
            m.volume += qv;
            m.edge += edge;
            m.fees += maker_fee;
            if exploited && edge < 0.0 {
                m.picked_off -= edge;
            }
            let t = b.takers.entry(r.tx.sender).or_default();
            t.fills += 1;
            t.volume += qv;
            t.cost += edge + prices.value(quote, f.taker_fee);
            match f.maker {
                Sender::Agent(a) => {
                    if let Some(am) = metrics.agents.get_mut(a.index()) {
                        am.profit += edge - maker_fee;
                    }
                }
                // a vault's resting order filled: what it paid (or earned) against the external
                // price is its execution cost, fees apart
                Sender::Vault(v) => {
                    if let Some(vm) = metrics.vaults.get_mut(v.index()) {
                        vm.fees += maker_fee;
                        vm.slippage -= edge;
                        let sold = if f.taker_side == Side::Bid { bv } else { qv };
                        vm.turnover_value += sold;
                        vm.passive_turnover += sold;
                    }
                }
            }
        }
    }
}

fn record(state: State<(&mut Books, &Chains, &SimConfig, &ExternalPrices, &crate::tx::Receipts)>) {
    let (mut books, chains, config, prices, receipts) = shared(state);
    let chain = chains.active();
    let Books { list, rows, fills } = &mut *books;
    for r in &receipts.items {
        let Some(e) = r.book() else { continue };
        let Some(b) = e.book.and_then(|id| list.get(id.index())) else { continue };
        let external = prices.per_token[b.spec.base.index()] / prices.per_token[b.spec.quote.index()];
        for f in &e.fills {
            fills.push(FillRow {
                block: r.block,
                book: b.spec.id,
                tx_id: r.tx.id,
                taker: r.tx.sender,
                maker: f.maker,
                maker_order: f.maker_order.0,
                taker_buys: f.taker_side == Side::Bid,
                price: b.price(f.tick, &config.unit),
                base: f.base,
                quote: f.quote,
                taker_fee: f.taker_fee,
                maker_fee: f.maker_fee,
                external,
            });
        }
    }
    for b in list.iter().filter(|b| b.spec.chain == chain.id) {
        let price = |t: Option<(u64, u64)>| t.map(|(t, _)| b.price(t, &config.unit));
        let external = prices.per_token[b.spec.base.index()] / prices.per_token[b.spec.quote.index()];
        let mid = b.mid(&config.unit).unwrap_or(external);
        rows.push(BookRow {
            block: chain.clock.number,
            timestamp: chain.clock.timestamp,
            book: b.spec.id,
            best_bid: price(b.book.best_bid()),
            best_ask: price(b.book.best_ask()),
            external,
            depth: DEPTH_BANDS.map(|band| b.depth(mid, band, &config.unit)),
            orders: b.book.len() as u64,
        });
    }
}

/// The escrow account holds exactly what the resting orders put up, and each resting order has
/// at least what it needs.
fn check_escrow(state: State<(&Books, &Ledger, &Chains, &mut SimStatus)>) {
    let (books, ledger, chains, mut status) = shared(state);
    if status.failure.is_some() {
        return;
    }
    for b in &books.list {
        let (mut base, mut quote) = (0u128, 0u128);
        let mut problem = None;
        for o in b.book.resting() {
            let held = b.escrow.get(&o.id).copied().unwrap_or(0);
            let need = venue::escrow_for(&b.book, o.side, o.tick, o.lots).unwrap_or(u128::MAX);
            // a bid's fee slack is spent as it fills; its quote never is
            let floor =
                if o.side == Side::Bid { u128::from(o.lots) * u128::from(o.tick) * b.spec.tick_value } else { need };
            if held < floor {
                problem = Some(format!("order {} holds {held} in escrow, needs {floor}", o.id.0));
            }
            match o.side {
                Side::Ask => base += held,
                Side::Bid => quote += held,
            }
        }
        if b.escrow.len() != b.book.len() {
            problem = Some(format!("{} escrow records for {} resting orders", b.escrow.len(), b.book.len()));
        }
        let (hb, hq) = (ledger.balance(b.escrow_account, b.spec.base), ledger.balance(b.escrow_account, b.spec.quote));
        if (hb, hq) != (base, quote) {
            problem = Some(format!("escrow holds ({hb}, {hq}) of (base, quote), its orders put up ({base}, {quote})"));
        }
        if let Some(reason) = problem {
            status.failure =
                Some(SimError::Book { block: chains.active().clock.number, book: b.spec.name.clone(), reason });
            return;
        }
    }
}
