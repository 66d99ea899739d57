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
pub mod state;
pub mod venue;

pub use state::*;

use meshsim_math::book::Side;
use sha2::{Digest as _, Sha256};

use crate::chain::Chains;
use crate::engine::{App, Phase, Plugin, State, StateView, shared};
use crate::ledger::Ledger;
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
        snap.books = world.state::<Books>().list.iter().map(|b| book_snapshot(b, prices)).collect();
        crate::agents::snapshot_agents::<maker::Maker>(world, snap);
        crate::agents::snapshot_agents::<noise::NoiseTrader>(world, snap);
    }
}

/// A book as the front ends see it.
fn book_snapshot(b: &BookState, _prices: &ExternalPrices) -> BookSnapshot {
    BookSnapshot {
        id: b.spec.id,
        name: b.spec.name.clone(),
        base: b.spec.base,
        quote: b.spec.quote,
        bids: b.book.depth(Side::Bid, 20),
        asks: b.book.depth(Side::Ask, 20),
        lot_size: b.spec.lot_size,
        tick_size: b.spec.tick_size,
        stats: b.stats,
    }
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
