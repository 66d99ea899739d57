//! A vault's trades on order books. Active: a trade goes to the pools, a book (an
//! immediate-or-cancel order up to the vault's slippage bound) or both, split in sixteenths to
//! whichever gives more for the next piece (the book's walk against the pools' quote), and kept
//! whole on one venue when the second transaction's gas outweighs what the split gains. Passive:
//! the vault rests a post-only order at its oracle price (an offset better for it), keeps it
//! while the price stays within its requote distance (shrinking it in place as it fills, which
//! keeps its place in the queue), and moves it otherwise; what has not filled after its wait is
//! cancelled and taken actively.

use meshsim_math::book::{NewOrder, OrderType, Owner, Side};
use meshsim_scenario::{BookId, ChainId, TokenId};
use smallvec::SmallVec;

use crate::agents::MarketView;
use crate::books::venue::escrow_for;
use crate::books::{BookState, Books};
use crate::pools::{PoolBook, routing};
use crate::tx::{BookOp, Leg, PlaceOrder};

/// An immediate-or-cancel order a vault would send, and what it would do on the book as it is.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BookTake {
    /// The order.
    pub order: PlaceOrder,
    /// What it spends of the token sold, base units.
    pub amount_in: u128,
    /// What it gets of the other token, fees paid, base units.
    pub amount_out: u128,
    /// Fills it makes.
    pub fills: u32,
}

/// The first of `ids` that trades `sell` against `buy` on `chain`.
pub fn book_for<'a>(
    books: &'a Books,
    ids: &[BookId],
    sell: TokenId,
    buy: TokenId,
    chain: ChainId,
) -> Option<&'a BookState> {
    ids.iter().filter_map(|id| books.list.get(id.index())).find(|b| {
        b.spec.chain == chain
            && ((b.spec.base == sell && b.spec.quote == buy) || (b.spec.quote == sell && b.spec.base == buy))
    })
}

/// Quote tokens per whole base token for a rate of `rate` units of `buy` per unit of `sell`
/// (base units), on book `b`.
fn whole_price(b: &BookState, units: &[f64], sell: TokenId, rate: f64) -> f64 {
    let per_base_unit = if sell == b.spec.base { rate } else { 1.0 / rate };
    per_base_unit * units[b.spec.quote.index()] / units[b.spec.base.index()]
}

/// Selling up to `amount` of `sell` on `b` now at rates no worse than `worst` (units of the other
/// token per unit of `sell`): an immediate-or-cancel order and what it would take.
pub fn take(b: &BookState, units: &[f64], owner: Owner, sell: TokenId, amount: u128, worst: f64) -> Option<BookTake> {
    if !(worst.is_finite() && worst > 0.0) || amount == 0 {
        return None;
    }
    let price = whole_price(b, units, sell, worst);
    let probe = |side: Side, tick: u64, lots: u64| NewOrder::ioc(owner, side, tick, lots);
    let order = |side, tick, lots| PlaceOrder {
        side,
        kind: OrderType::ImmediateOrCancel,
        tick,
        lots,
        ttl_blocks: 0,
        hedge: false,
    };
    if sell == b.spec.base {
        // sell base: lots it has, at bids no lower than the worst price
        let tick = b.tick_of(price, true, units);
        let lots = u64::try_from(amount / b.spec.lot_size).ok()?.min(b.book.depth_within(Side::Bid, tick));
        if lots == 0 {
            return None;
        }
        let t = b.book.preview(&probe(Side::Ask, tick, lots)).ok()?;
        (t.lots > 0).then(|| BookTake {
            order: order(Side::Ask, tick, t.lots),
            amount_in: t.base,
            amount_out: t.quote - t.taker_fee,
            fills: t.fills,
        })
    } else {
        // buy base with quote: the most lots whose cost, fees included, fits in the amount
        let tick = b.tick_of(price, false, units);
        let (mut lo, mut hi) = (0u64, b.book.depth_within(Side::Ask, tick));
        let cost = |lots: u64| b.book.preview(&probe(Side::Bid, tick, lots)).ok().map(|t| t.quote + t.taker_fee);
        while lo < hi {
            let mid = lo + (hi - lo).div_ceil(2);
            if cost(mid).is_some_and(|c| c <= amount) { lo = mid } else { hi = mid - 1 }
        }
        if lo == 0 {
            return None;
        }
        let t = b.book.preview(&probe(Side::Bid, tick, lo)).ok()?;
        Some(BookTake {
            order: order(Side::Bid, tick, t.lots),
            amount_in: t.quote + t.taker_fee,
            amount_out: t.base,
            fills: t.fills,
        })
    }
}

/// How much of `amount` to sell on the book, the rest along `path`: in sixteenths, each to the
/// venue that gives more for it; then whichever of that split, all on the pools and all on the
/// book gives the most after gas (`book_gas` and `pool_gas`, in units of the token bought).
#[expect(clippy::too_many_arguments, reason = "a split reads both venues and the sale")]
pub fn split<B: PoolBook + ?Sized>(
    view: &MarketView<'_, B>,
    b: &BookState,
    units: &[f64],
    owner: Owner,
    path: &[Leg],
    sell: TokenId,
    amount: u128,
    worst: f64,
    (book_gas, pool_gas): (f64, f64),
) -> Option<BookTake> {
    let book_out = |x: u128| take(b, units, owner, sell, x, worst).map_or((0, 0), |t| (t.amount_in, t.amount_out));
    let pool_out = |y: u128| if y == 0 { 0 } else { routing::path_output(view.pools, path, y).unwrap_or(0) };
    let chunk = (amount / 16).max(1);
    let (mut x, mut y) = (0u128, 0u128);
    while x + y < amount {
        let c = chunk.min(amount - x - y);
        let gain_book = book_out(x + c).1.saturating_sub(book_out(x).1);
        let gain_pool = pool_out(y + c).saturating_sub(pool_out(y));
        if gain_book > gain_pool { x += c } else { y += c }
    }
    let f = meshsim_math::u128_to_f64;
    let score = |x: u128| -> f64 {
        let (spent, got) = book_out(x);
        // what the book leaves unsold goes to the pools
        let rest = amount - spent.min(amount);
        let gas = if spent > 0 { book_gas } else { 0.0 } + if rest > 0 { pool_gas } else { 0.0 };
        f(got) + f(pool_out(rest)) - gas
    };
    let best = [x, 0, amount].into_iter().max_by(|a, b| score(*a).total_cmp(&score(*b)).then(b.cmp(a)))?;
    if best == 0 { None } else { take(b, units, owner, sell, best, worst) }
}

/// The operations that keep a vault's passive order for selling `amount` of `sell` where it
/// should be: resting at `fair` (units of the other token per unit of `sell`) moved `offset` in
/// the vault's favour, never crossing the book; kept while within `requote` of that price (and
/// shrunk in place when it should be smaller); otherwise its orders on the book are cancelled
/// and a new one placed. Empty: nothing to change.
#[expect(clippy::too_many_arguments, reason = "a passive order reads the book, the sale and its rule")]
pub fn passive_ops(
    b: &BookState,
    units: &[f64],
    owner: Owner,
    sell: TokenId,
    amount: u128,
    fair: f64,
    (offset, requote): (f64, f64),
    ttl_blocks: u64,
) -> SmallVec<[BookOp; 4]> {
    let mut ops = SmallVec::new();
    let side = if sell == b.spec.base { Side::Ask } else { Side::Bid };
    let fair_whole = whole_price(b, units, sell, fair);
    let (tick, lots) = match side {
        Side::Ask => {
            let mut tick = b.tick_of(fair_whole * (1.0 + offset), true, units);
            if let Some((bid, _)) = b.book.best_bid() {
                tick = tick.max(bid + 1);
            }
            (tick, u64::try_from(amount / b.spec.lot_size).unwrap_or(u64::MAX))
        }
        Side::Bid => {
            let mut tick = b.tick_of(fair_whole * (1.0 - offset), false, units);
            if let Some((ask, _)) = b.book.best_ask() {
                tick = tick.min(ask.saturating_sub(1)).max(1);
            }
            let per_lot = escrow_for(&b.book, Side::Bid, tick, 1).unwrap_or(u128::MAX).max(1);
            (tick, u64::try_from(amount / per_lot).unwrap_or(u64::MAX))
        }
    };
    let mine: SmallVec<[meshsim_math::book::Resting; 2]> =
        b.book.resting().filter(|o| o.owner == owner).copied().collect();
    if let [o] = mine.as_slice()
        && o.side == side
        && lots > 0
    {
        let off = (b.price(o.tick, units) - b.price(tick, units)).abs() / b.price(tick, units);
        if off <= requote {
            if o.lots > lots {
                ops.push(BookOp::Replace { order: o.id, tick: o.tick, lots });
            }
            return ops;
        }
    }
    ops.extend(mine.iter().map(|o| BookOp::Cancel(o.id)));
    if lots > 0 {
        ops.push(BookOp::Place(PlaceOrder { side, kind: OrderType::PostOnly, tick, lots, ttl_blocks, hedge: false }));
    }
    ops
}

/// Cancels of every resting order of `owner` on `ids`' books: (book, cancels).
pub fn cancel_all(books: &Books, ids: &[BookId], owner: Owner) -> Vec<(BookId, SmallVec<[BookOp; 2]>)> {
    ids.iter()
        .filter_map(|id| {
            let b = books.list.get(id.index())?;
            let ops: SmallVec<[BookOp; 2]> =
                b.book.resting().filter(|o| o.owner == owner).map(|o| BookOp::Cancel(o.id)).collect();
            (!ops.is_empty()).then_some((*id, ops))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use meshsim_math::book::{NewOrder, OrderType, SelfTrade, Side};
    use meshsim_scenario::{BookId, BookSpec, ChainId, TokenId};

    use super::*;
    use crate::ledger::AccountLayout;

    const ETH: TokenId = TokenId(0);
    const USDC: TokenId = TokenId(1);
    const UNITS: [f64; 2] = [1e-18, 1e-6];
    const VAULT: Owner = 1;

    /// ETH/USDC, 0.01 USDC ticks, 0.001 ETH lots, 2 bp taker fee; asks of another owner at
    /// 2000.00 (5 lots) and 2000.50 (10 lots), a bid at 1999.90 (5 lots).
    fn book() -> BookState {
        let spec = BookSpec {
            id: BookId(0),
            name: "b".into(),
            base: ETH,
            quote: USDC,
            chain: ChainId(0),
            lot_size: 1_000_000_000_000_000,
            tick_size: 10_000,
            tick_value: 10,
            maker_fee_ppm: 0,
            taker_fee_ppm: 200,
        };
        let layout = AccountLayout { pools: 0, agents: 1, vaults: 1, markets: 0, bridges: 0, books: 1 };
        let mut b = BookState::new(&spec, &layout);
        for (side, tick, lots) in [(Side::Ask, 200_000, 5), (Side::Ask, 200_050, 10), (Side::Bid, 199_990, 5)] {
            let o = NewOrder {
                owner: 0,
                side,
                kind: OrderType::Limit,
                tick,
                lots,
                self_trade: SelfTrade::CancelResting,
                expires_at: u64::MAX,
            };
            b.book.place(o).unwrap();
        }
        b
    }

    /// USDC base units per ETH base unit at `price` USDC per ETH.
    fn rate(price: f64) -> f64 {
        price * 1e6 / 1e18
    }

    #[test]
    fn taking_buys_the_most_lots_the_amount_pays_for_within_the_worst_price() {
        let b = book();
        // 7 lots: 5 at 2000.00 and 2 at 2000.50, plus 2 bp, is 14.0038...: 15 USDC buys 7 lots
        let t = take(&b, &UNITS, VAULT, USDC, 15_000_000, 1.0 / rate(2001.0)).unwrap();
        assert_eq!((t.order.side, t.order.lots, t.fills), (Side::Bid, 7, 2));
        assert!(t.amount_in <= 15_000_000 && t.amount_in > 14_000_000, "{}", t.amount_in);
        assert_eq!(t.amount_out, 7 * 1_000_000_000_000_000);
        // a worst price below 2000.50 leaves only the first level
        let t = take(&b, &UNITS, VAULT, USDC, 15_000_000, 1.0 / rate(2000.2)).unwrap();
        assert_eq!(t.order.lots, 5);
        // selling ETH: the one bid level, less the taker fee
        let t = take(&b, &UNITS, VAULT, ETH, 9 * 1_000_000_000_000_000, rate(1999.0)).unwrap();
        assert_eq!((t.order.side, t.order.lots), (Side::Ask, 5));
        assert_eq!(t.amount_out, 9_999_500 - meshsim_math::book::ppm_of(9_999_500, 200, true));
        // nothing within the bound
        assert!(take(&b, &UNITS, VAULT, ETH, 1_000_000_000_000_000, rate(2000.0)).is_none());
    }

    #[test]
    fn a_passive_order_rests_at_the_fair_price_without_crossing_and_moves_only_past_its_threshold() {
        let mut b = book();
        let sell_eth = 3 * 1_000_000_000_000_000;
        // fair 1999.95: an ask there would rest above the 1999.90 bid
        let ops = passive_ops(&b, &UNITS, VAULT, ETH, sell_eth, rate(1999.95), (0.0, 5e-4), 10);
        let [BookOp::Place(o)] = ops.as_slice() else { panic!("{ops:?}") };
        assert_eq!((o.side, o.kind, o.tick, o.lots), (Side::Ask, OrderType::PostOnly, 199_995, 3));
        // fair below the best bid: the ask goes one tick above the bid, not across it
        let ops = passive_ops(&b, &UNITS, VAULT, ETH, sell_eth, rate(1999.0), (0.0, 5e-4), 10);
        let [BookOp::Place(o)] = ops.as_slice() else { panic!("{ops:?}") };
        assert_eq!(o.tick, 199_991);
        // resting: kept while the price is within 5 bp, shrunk in place when less is needed
        let placed = b
            .book
            .place(NewOrder {
                owner: VAULT,
                side: Side::Ask,
                kind: OrderType::PostOnly,
                tick: 199_995,
                lots: 3,
                self_trade: SelfTrade::CancelResting,
                expires_at: u64::MAX,
            })
            .unwrap();
        assert!(passive_ops(&b, &UNITS, VAULT, ETH, sell_eth, rate(2000.5), (0.0, 5e-4), 10).is_empty());
        let ops = passive_ops(&b, &UNITS, VAULT, ETH, sell_eth / 3, rate(1999.95), (0.0, 5e-4), 10);
        assert_eq!(ops.as_slice(), &[BookOp::Replace { order: placed.id, tick: 199_995, lots: 1 }]);
        // moved past the threshold: cancelled and placed anew
        let ops = passive_ops(&b, &UNITS, VAULT, ETH, sell_eth, rate(2003.0), (0.0, 5e-4), 10);
        assert!(matches!(ops.as_slice(), [BookOp::Cancel(id), BookOp::Place(_)] if *id == placed.id), "{ops:?}");
    }
}
