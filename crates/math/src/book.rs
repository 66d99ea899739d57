//! A central limit order book, pure and exact: integer price ticks and size lots, price-time
//! priority, limit (good till cancelled), market, immediate-or-cancel, fill-or-kill and post-only
//! orders, cancel and replace (a size decrease keeps its place in the queue; an increase or a new
//! price goes to the back), self-trade prevention, maker and taker fees in millionths (ppm) of
//! the quote amount (a negative maker fee is a rebate), and expiry. No ECS: the order-book venue of
//! the engine executes orders as actions and moves the tokens from the [`Fill`]s.
//!
//! Amounts: an order is `lots` of the base token at a price of `tick` ticks; a fill of `lots` at
//! `tick` moves `lots x lot_size` base units and `lots x tick x tick_value` quote units (the
//! market's `tick_value`: quote base units per lot per tick), so every amount is an exact integer.
//! Fees are charged in the quote token: the taker's rounded up, the maker's rounded up when it pays
//! and down when it is paid, so the exchange never pays out more than it takes.
//!
//! After every action the book is not crossed (best bid below best ask), and the base and quote
//! that leave takers arrive at makers and the fee account (tested over random order streams).

use std::collections::{BTreeMap, VecDeque};

/// An order's id, unique in its book (assigned in arrival order).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct OrderId(pub u64);

/// Who placed an order (the engine's sender).
pub type Owner = u32;

/// Buy or sell the base token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Side {
    /// Buy base, pay quote.
    Bid,
    /// Sell base, receive quote.
    Ask,
}

impl Side {
    /// The other side.
    pub fn opposite(self) -> Side {
        match self {
            Side::Bid => Side::Ask,
            Side::Ask => Side::Bid,
        }
    }
}

/// How an order treats what it cannot fill at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderType {
    /// Fill what crosses, rest the remainder at its price (good till cancelled or expired).
    Limit,
    /// Fill against whatever rests, at any price; the remainder is cancelled.
    Market,
    /// Fill what crosses at its price or better; the remainder is cancelled.
    ImmediateOrCancel,
    /// Fill all of it at its price or better at once, or nothing.
    FillOrKill,
    /// Rest without taking: refused if it would cross.
    PostOnly,
}

/// What happens when an order would trade against its owner's own resting order.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum SelfTrade {
    /// The resting order is cancelled and matching goes on.
    #[default]
    CancelResting,
    /// What is left of the incoming order is cancelled.
    CancelIncoming,
}

/// A new order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NewOrder {
    /// Its owner.
    pub owner: Owner,
    /// Buy or sell.
    pub side: Side,
    /// Kind.
    pub kind: OrderType,
    /// Limit price in ticks (ignored by market orders).
    pub tick: u64,
    /// Size in lots.
    pub lots: u64,
    /// Self-trade prevention.
    pub self_trade: SelfTrade,
    /// Last block it may rest in (`u64::MAX`: no expiry).
    pub expires_at: u64,
}

impl NewOrder {
    /// An immediate-or-cancel order that cancels its owner's resting orders it meets: what a taker
    /// sends, and what a taker previews.
    pub fn ioc(owner: Owner, side: Side, tick: u64, lots: u64) -> Self {
        NewOrder {
            owner,
            side,
            kind: OrderType::ImmediateOrCancel,
            tick,
            lots,
            self_trade: SelfTrade::CancelResting,
            expires_at: u64::MAX,
        }
    }
}

/// A resting order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Resting {
    /// Id.
    pub id: OrderId,
    /// Owner.
    pub owner: Owner,
    /// Side.
    pub side: Side,
    /// Price, ticks.
    pub tick: u64,
    /// Lots left.
    pub lots: u64,
    /// Last block it may rest in.
    pub expires_at: u64,
}

/// One match: the taker's order against one resting order, at the resting price.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fill {
    /// The resting order.
    pub maker: OrderId,
    /// Its owner.
    pub maker_owner: Owner,
    /// The taker's owner.
    pub taker_owner: Owner,
    /// The taker's side.
    pub taker_side: Side,
    /// Price, ticks.
    pub tick: u64,
    /// Lots.
    pub lots: u64,
    /// Base units moved (from the seller to the buyer).
    pub base: u128,
    /// Quote units moved before fees (from the buyer to the seller).
    pub quote: u128,
    /// Fee the taker pays, quote units.
    pub taker_fee: u128,
    /// Fee the maker pays (positive) or receives (negative), quote units.
    pub maker_fee: i128,
}

/// Why an order or a cancel was refused (the book is unchanged).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum BookError {
    /// Zero lots, or a zero price for a priced order.
    #[error("an order of zero lots or at a zero price")]
    Empty,
    /// A post-only order would take.
    #[error("post-only order would cross the book")]
    WouldCross,
    /// A fill-or-kill order cannot be filled whole.
    #[error("fill-or-kill order cannot be filled whole")]
    CannotFillWhole,
    /// No such resting order of this owner.
    #[error("no such resting order")]
    UnknownOrder,
    /// An amount would pass 128 bits.
    #[error("amount overflow")]
    Overflow,
}

/// What an order did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placed {
    /// Its id.
    pub id: OrderId,
    /// Its fills, in matching order.
    pub fills: Vec<Fill>,
    /// Lots left resting in the book.
    pub rested: u64,
    /// Lots cancelled (an IOC's or market order's remainder, self-trade prevention).
    pub cancelled: u64,
    /// Resting orders of the same owner cancelled by self-trade prevention.
    pub self_cancelled: Vec<OrderId>,
}

/// What an order would take from the book now ([`Book::preview`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Taken {
    /// Lots.
    pub lots: u64,
    /// Base units.
    pub base: u128,
    /// Quote units, before fees.
    pub quote: u128,
    /// The taker's fees on those fills, quote units.
    pub taker_fee: u128,
    /// Number of fills.
    pub fills: u32,
}

/// A market's units and fees.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Market {
    /// Base units per lot.
    pub lot_size: u128,
    /// Quote units per lot per tick.
    pub tick_value: u128,
    /// Maker fee, millionths of the quote amount (negative: a rebate; 100 = 1 bp: venues quote
    /// fees such as 1.5 bp that whole basis points cannot hold).
    pub maker_fee_ppm: i32,
    /// Taker fee, millionths of the quote amount.
    pub taker_fee_ppm: u32,
}

/// The book.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Book {
    /// Units and fees.
    pub market: Market,
    /// Bids by price, each level oldest first.
    bids: BTreeMap<u64, VecDeque<Resting>>,
    /// Asks by price, each level oldest first.
    asks: BTreeMap<u64, VecDeque<Resting>>,
    /// Where each resting order is: (side, tick).
    index: BTreeMap<OrderId, (Side, u64)>,
    next_id: u64,
}

/// `x * ppm / 1,000,000`, rounded up (`up`) or down, without overflow for any `x`.
pub fn ppm_of(x: u128, ppm: u32, up: bool) -> u128 {
    let b = u128::from(ppm);
    let whole = (x / 1_000_000) * b;
    let part = (x % 1_000_000) * b;
    whole + if up { part.div_ceil(1_000_000) } else { part / 1_000_000 }
}

impl Book {
    /// An empty book.
    pub fn new(market: Market) -> Self {
        Book { market, bids: BTreeMap::new(), asks: BTreeMap::new(), index: BTreeMap::new(), next_id: 1 }
    }

    /// Best bid: (tick, lots at that tick).
    pub fn best_bid(&self) -> Option<(u64, u64)> {
        self.bids.iter().next_back().map(|(t, q)| (*t, q.iter().map(|o| o.lots).sum()))
    }

    /// Best ask: (tick, lots at that tick).
    pub fn best_ask(&self) -> Option<(u64, u64)> {
        self.asks.iter().next().map(|(t, q)| (*t, q.iter().map(|o| o.lots).sum()))
    }

    /// The best `levels` price levels of `side`, best first: (tick, lots resting there).
    pub fn depth(&self, side: Side, levels: usize) -> Vec<(u64, u64)> {
        let level = |(t, q): (&u64, &VecDeque<Resting>)| (*t, q.iter().map(|o| o.lots).sum());
        match side {
            Side::Bid => self.bids.iter().rev().take(levels).map(level).collect(),
            Side::Ask => self.asks.iter().take(levels).map(level).collect(),
        }
    }

    /// A resting order.
    pub fn order(&self, id: OrderId) -> Option<&Resting> {
        let (side, tick) = self.index.get(&id)?;
        self.side(*side).get(tick)?.iter().find(|o| o.id == id)
    }

    /// Every resting order, bids best first then asks best first, each level oldest first.
    pub fn resting(&self) -> impl Iterator<Item = &Resting> {
        self.bids.values().rev().flatten().chain(self.asks.values().flatten())
    }

    fn side(&self, side: Side) -> &BTreeMap<u64, VecDeque<Resting>> {
        match side {
            Side::Bid => &self.bids,
            Side::Ask => &self.asks,
        }
    }

    fn side_mut(&mut self, side: Side) -> &mut BTreeMap<u64, VecDeque<Resting>> {
        match side {
            Side::Bid => &mut self.bids,
            Side::Ask => &mut self.asks,
        }
    }

    /// Whether an incoming order on `side` at `tick` crosses a resting one at `resting`.
    fn crosses(side: Side, kind: OrderType, tick: u64, resting: u64) -> bool {
        kind == OrderType::Market
            || match side {
                Side::Bid => resting <= tick,
                Side::Ask => resting >= tick,
            }
    }

    /// The best opposite level an incoming order on `side` could take.
    fn best_opposite(&self, side: Side) -> Option<u64> {
        match side {
            Side::Bid => self.asks.keys().next().copied(),
            Side::Ask => self.bids.keys().next_back().copied(),
        }
    }

    /// Lots an incoming order could take now, its own resting orders aside (for fill-or-kill).
    fn available(&self, o: &NewOrder) -> u64 {
        let opposite = self.side(o.side.opposite());
        let levels: Box<dyn Iterator<Item = (&u64, &VecDeque<Resting>)>> = match o.side {
            Side::Bid => Box::new(opposite.iter()),
            Side::Ask => Box::new(opposite.iter().rev()),
        };
        let mut n: u64 = 0;
        for (t, q) in levels {
            if !Self::crosses(o.side, o.kind, o.tick, *t) {
                break;
            }
            for r in q {
                if r.owner == o.owner {
                    // its own order is cancelled and passed over, or stops the match
                    match o.self_trade {
                        SelfTrade::CancelResting => continue,
                        SelfTrade::CancelIncoming => return n,
                    }
                }
                n = n.saturating_add(r.lots);
                if n >= o.lots {
                    return n;
                }
            }
        }
        n
    }

    /// The amounts of a fill of `lots` at `tick`, with fees.
    fn amounts(&self, tick: u64, lots: u64) -> Result<(u128, u128, u128, i128), BookError> {
        let m = &self.market;
        let base = u128::from(lots).checked_mul(m.lot_size).ok_or(BookError::Overflow)?;
        let quote = u128::from(lots)
            .checked_mul(u128::from(tick))
            .and_then(|x| x.checked_mul(m.tick_value))
            .ok_or(BookError::Overflow)?;
        let taker_fee = ppm_of(quote, m.taker_fee_ppm, true);
        let maker_fee = if m.maker_fee_ppm >= 0 {
            i128::try_from(ppm_of(quote, m.maker_fee_ppm.unsigned_abs(), true)).map_err(|_| BookError::Overflow)?
        } else {
            -i128::try_from(ppm_of(quote, m.maker_fee_ppm.unsigned_abs(), false)).map_err(|_| BookError::Overflow)?
        };
        Ok((base, quote, taker_fee, maker_fee))
    }

    /// What placing `o` now would take, summed over the fills [`Book::place`] would make (the
    /// same amounts to the unit; the book is unchanged). The venue checks a taker can pay with it.
    pub fn preview(&self, o: &NewOrder) -> Result<Taken, BookError> {
        let mut taken = Taken::default();
        let opposite = self.side(o.side.opposite());
        let levels: Box<dyn Iterator<Item = (&u64, &VecDeque<Resting>)>> = match o.side {
            Side::Bid => Box::new(opposite.iter()),
            Side::Ask => Box::new(opposite.iter().rev()),
        };
        let mut left = o.lots;
        'levels: for (t, q) in levels {
            if left == 0 || !Self::crosses(o.side, o.kind, o.tick, *t) {
                break;
            }
            for r in q {
                if left == 0 {
                    break 'levels;
                }
                if r.owner == o.owner {
                    match o.self_trade {
                        SelfTrade::CancelResting => continue,
                        SelfTrade::CancelIncoming => break 'levels,
                    }
                }
                let lots = left.min(r.lots);
                let (base, quote, taker_fee, _) = self.amounts(*t, lots)?;
                taken.lots += lots;
                taken.base += base;
                taken.quote += quote;
                taken.taker_fee += taker_fee;
                taken.fills += 1;
                left -= lots;
            }
        }
        Ok(taken)
    }

    /// Lots resting on `side` at prices no worse for a taker than `limit` (bids at or above it,
    /// asks at or below it): the depth within a band.
    pub fn depth_within(&self, side: Side, limit: u64) -> u64 {
        let sum = |q: &VecDeque<Resting>| q.iter().map(|o| o.lots).sum::<u64>();
        match side {
            Side::Bid => self.bids.range(limit..).map(|(_, q)| sum(q)).sum(),
            Side::Ask => self.asks.range(..=limit).map(|(_, q)| sum(q)).sum(),
        }
    }

    /// Number of resting orders.
    pub fn len(&self) -> usize {
        self.index.len()
    }

    /// Whether nothing rests.
    pub fn is_empty(&self) -> bool {
        self.index.is_empty()
    }

    /// Places an order: it takes what crosses (price-time priority), then rests, is cancelled or
    /// is refused as its kind says. A refused order changes nothing.
    pub fn place(&mut self, o: NewOrder) -> Result<Placed, BookError> {
        if o.lots == 0 || (o.kind != OrderType::Market && o.tick == 0) {
            return Err(BookError::Empty);
        }
        let crossing = self.best_opposite(o.side).is_some_and(|t| Self::crosses(o.side, o.kind, o.tick, t));
        if o.kind == OrderType::PostOnly && crossing {
            return Err(BookError::WouldCross);
        }
        if o.kind == OrderType::FillOrKill && self.available(&o) < o.lots {
            return Err(BookError::CannotFillWhole);
        }
        let id = OrderId(self.next_id);
        self.next_id += 1;
        let mut placed = Placed { id, fills: Vec::new(), rested: 0, cancelled: 0, self_cancelled: Vec::new() };
        let mut left = o.lots;
        // self-trade prevention cancelled what is left of it: it must not rest across its owner
        let mut stopped = false;
        while left > 0 {
            let Some(tick) = self.best_opposite(o.side) else { break };
            if !Self::crosses(o.side, o.kind, o.tick, tick) {
                break;
            }
            let opposite = o.side.opposite();
            let Some(front) = self.side(opposite).get(&tick).and_then(|q| q.front()).copied() else { break };
            if front.owner == o.owner {
                match o.self_trade {
                    SelfTrade::CancelResting => {
                        self.remove(front.id);
                        placed.self_cancelled.push(front.id);
                        continue;
                    }
                    SelfTrade::CancelIncoming => {
                        stopped = true;
                        break;
                    }
                }
            }
            let lots = left.min(front.lots);
            let (base, quote, taker_fee, maker_fee) = self.amounts(tick, lots)?;
            placed.fills.push(Fill {
                maker: front.id,
                maker_owner: front.owner,
                taker_owner: o.owner,
                taker_side: o.side,
                tick,
                lots,
                base,
                quote,
                taker_fee,
                maker_fee,
            });
            left -= lots;
            if lots == front.lots {
                self.remove(front.id);
            } else if let Some(r) = self.side_mut(opposite).get_mut(&tick).and_then(|q| q.front_mut()) {
                r.lots -= lots;
            }
        }
        match o.kind {
            OrderType::Limit | OrderType::PostOnly if left > 0 && !stopped => {
                let r =
                    Resting { id, owner: o.owner, side: o.side, tick: o.tick, lots: left, expires_at: o.expires_at };
                self.side_mut(o.side).entry(o.tick).or_default().push_back(r);
                self.index.insert(id, (o.side, o.tick));
                placed.rested = left;
            }
            _ => placed.cancelled = left,
        }
        Ok(placed)
    }

    fn remove(&mut self, id: OrderId) -> Option<Resting> {
        let (side, tick) = self.index.remove(&id)?;
        let book = self.side_mut(side);
        let q = book.get_mut(&tick)?;
        let k = q.iter().position(|o| o.id == id)?;
        let r = q.remove(k);
        if q.is_empty() {
            book.remove(&tick);
        }
        r
    }

    /// Cancels `owner`'s resting order.
    pub fn cancel(&mut self, owner: Owner, id: OrderId) -> Result<Resting, BookError> {
        if self.order(id).is_none_or(|o| o.owner != owner) {
            return Err(BookError::UnknownOrder);
        }
        self.remove(id).ok_or(BookError::UnknownOrder)
    }

    /// Replaces `owner`'s resting order with `lots` at `tick`: a smaller size at the same price
    /// keeps its place in the queue; a larger size or another price is a new order at the back
    /// (placed as a limit order, so it may take what it now crosses).
    pub fn replace(&mut self, owner: Owner, id: OrderId, tick: u64, lots: u64) -> Result<Placed, BookError> {
        let Some(old) = self.order(id).copied().filter(|o| o.owner == owner) else {
            return Err(BookError::UnknownOrder);
        };
        if lots == 0 || tick == 0 {
            return Err(BookError::Empty);
        }
        if tick == old.tick && lots <= old.lots {
            if let Some(r) = self.side_mut(old.side).get_mut(&tick).and_then(|q| q.iter_mut().find(|o| o.id == id)) {
                r.lots = lots;
            }
            return Ok(Placed { id, fills: Vec::new(), rested: lots, cancelled: 0, self_cancelled: Vec::new() });
        }
        self.remove(id);
        let new = NewOrder {
            owner,
            side: old.side,
            kind: OrderType::Limit,
            tick,
            lots,
            self_trade: SelfTrade::CancelResting,
            expires_at: old.expires_at,
        };
        self.place(new)
    }

    /// Removes every order whose last block is before `block`; returns them in id order.
    pub fn expire(&mut self, block: u64) -> Vec<Resting> {
        let gone: Vec<OrderId> = self.resting().filter(|o| o.expires_at < block).map(|o| o.id).collect();
        let mut out: Vec<Resting> = gone.into_iter().filter_map(|id| self.remove(id)).collect();
        out.sort_by_key(|o| o.id);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const M: Market = Market { lot_size: 1_000, tick_value: 10, maker_fee_ppm: -100, taker_fee_ppm: 500 };

    fn order(owner: Owner, side: Side, kind: OrderType, tick: u64, lots: u64) -> NewOrder {
        NewOrder { owner, side, kind, tick, lots, self_trade: SelfTrade::CancelResting, expires_at: u64::MAX }
    }

    fn limit(owner: Owner, side: Side, tick: u64, lots: u64) -> NewOrder {
        order(owner, side, OrderType::Limit, tick, lots)
    }

    #[test]
    fn price_then_time_priority_and_fills_at_the_resting_price() {
        let mut b = Book::new(M);
        let a1 = b.place(limit(1, Side::Ask, 101, 5)).unwrap().id;
        let a2 = b.place(limit(2, Side::Ask, 100, 5)).unwrap().id;
        let a3 = b.place(limit(3, Side::Ask, 100, 5)).unwrap().id;
        let p = b.place(limit(9, Side::Bid, 101, 12)).unwrap();
        // the better price first, then the older order at it; each at its own price
        let got: Vec<(OrderId, u64, u64)> = p.fills.iter().map(|f| (f.maker, f.tick, f.lots)).collect();
        assert_eq!(got, vec![(a2, 100, 5), (a3, 100, 5), (a1, 101, 2)]);
        assert_eq!((p.rested, p.cancelled), (0, 0));
        assert_eq!(b.best_ask(), Some((101, 3)));
        b.place(limit(4, Side::Ask, 103, 7)).unwrap();
        b.place(limit(4, Side::Bid, 99, 2)).unwrap();
        assert_eq!((b.depth_within(Side::Ask, 102), b.depth_within(Side::Ask, 103)), (3, 10));
        assert_eq!((b.depth_within(Side::Bid, 100), b.depth_within(Side::Bid, 99)), (0, 2));
        // amounts: 5 lots at 100 ticks = 5,000 base units and 5,000 quote units; fees 5 bp up,
        // rebate 1 bp down
        let f = p.fills[0];
        assert_eq!((f.base, f.quote, f.taker_fee, f.maker_fee), (5_000, 5_000, 3, 0));
        let f = p.fills[2];
        assert_eq!((f.base, f.quote, f.taker_fee, f.maker_fee), (2_000, 2_020, 2, 0));
    }

    #[test]
    fn each_order_type_treats_its_remainder_as_it_says() {
        let mut b = Book::new(M);
        b.place(limit(1, Side::Ask, 100, 5)).unwrap();
        // IOC: takes 5, cancels 3
        let p = b.place(order(2, Side::Bid, OrderType::ImmediateOrCancel, 100, 8)).unwrap();
        assert_eq!((p.fills.len(), p.rested, p.cancelled), (1, 0, 3));
        assert_eq!(b.best_bid(), None);
        // FOK: refused whole when it cannot fill, leaving the book as it was
        b.place(limit(1, Side::Ask, 100, 5)).unwrap();
        let before = b.clone();
        assert_eq!(b.place(order(2, Side::Bid, OrderType::FillOrKill, 100, 6)), Err(BookError::CannotFillWhole));
        assert_eq!(b, before);
        assert_eq!(b.place(order(2, Side::Bid, OrderType::FillOrKill, 100, 5)).unwrap().fills[0].lots, 5);
        // post-only: refused if it would cross, rests otherwise
        b.place(limit(1, Side::Ask, 100, 5)).unwrap();
        assert_eq!(b.place(order(2, Side::Bid, OrderType::PostOnly, 100, 1)), Err(BookError::WouldCross));
        assert_eq!(b.place(order(2, Side::Bid, OrderType::PostOnly, 99, 1)).unwrap().rested, 1);
        // market: any price, remainder cancelled, never rests
        let p = b.place(order(3, Side::Bid, OrderType::Market, 0, 9)).unwrap();
        assert_eq!((p.fills[0].lots, p.cancelled, p.rested), (5, 4, 0));
        assert_eq!(b.best_ask(), None);
        // zero lots or a zero price
        assert_eq!(b.place(limit(1, Side::Ask, 0, 1)), Err(BookError::Empty));
        assert_eq!(b.place(limit(1, Side::Ask, 10, 0)), Err(BookError::Empty));
    }

    #[test]
    fn replace_keeps_priority_only_for_a_smaller_size_at_the_same_price() {
        let mut b = Book::new(M);
        let first = b.place(limit(1, Side::Bid, 100, 5)).unwrap().id;
        let second = b.place(limit(2, Side::Bid, 100, 5)).unwrap().id;
        // smaller: still first in the queue
        b.replace(1, first, 100, 3).unwrap();
        let p = b.place(order(3, Side::Ask, OrderType::ImmediateOrCancel, 100, 1)).unwrap();
        assert_eq!(p.fills[0].maker, first);
        // larger: a new order at the back, behind the second
        let bigger = b.replace(1, first, 100, 10).unwrap().id;
        assert_ne!(bigger, first);
        let p = b.place(order(3, Side::Ask, OrderType::ImmediateOrCancel, 100, 1)).unwrap();
        assert_eq!(p.fills[0].maker, second);
        // someone else's order cannot be touched
        assert_eq!(b.replace(2, bigger, 100, 1), Err(BookError::UnknownOrder));
        assert_eq!(b.cancel(2, bigger), Err(BookError::UnknownOrder));
        assert_eq!(b.cancel(1, bigger).unwrap().lots, 10);
    }

    #[test]
    fn self_trades_cancel_the_resting_order_or_the_incoming_one() {
        let mut b = Book::new(M);
        let mine = b.place(limit(1, Side::Ask, 100, 5)).unwrap().id;
        let theirs = b.place(limit(2, Side::Ask, 100, 5)).unwrap().id;
        let p = b.place(limit(1, Side::Bid, 100, 5)).unwrap();
        assert_eq!(p.self_cancelled, vec![mine]);
        assert_eq!(p.fills[0].maker, theirs);
        let mine = b.place(limit(1, Side::Ask, 100, 5)).unwrap().id;
        let p = b
            .place(NewOrder { self_trade: SelfTrade::CancelIncoming, ..order(1, Side::Bid, OrderType::Limit, 100, 5) })
            .unwrap();
        assert_eq!((p.fills.len(), p.cancelled), (0, 5));
        assert!(b.order(mine).is_some());
    }

    #[test]
    fn short_lived_orders_expire() {
        let mut b = Book::new(M);
        let short = b.place(NewOrder { expires_at: 10, ..limit(1, Side::Bid, 100, 5) }).unwrap().id;
        let long = b.place(limit(1, Side::Bid, 99, 5)).unwrap().id;
        assert!(b.expire(10).is_empty());
        assert_eq!(b.expire(11).iter().map(|o| o.id).collect::<Vec<_>>(), vec![short]);
        assert!(b.order(long).is_some());
    }

    /// What three traders and the fee account have gained, base and quote units.
    #[derive(Default)]
    struct Totals {
        base: [i128; 3],
        quote: [i128; 3],
        fees: i128,
    }

    impl Totals {
        /// A fill moves base to the buyer and quote, less fees, to the seller.
        fn account(&mut self, f: &Fill) {
            let (taker, maker) = (f.taker_owner as usize, f.maker_owner as usize);
            let (b, q) = (f.base as i128, f.quote as i128);
            let sign = if f.taker_side == Side::Bid { 1 } else { -1 };
            self.base[taker] += sign * b;
            self.base[maker] -= sign * b;
            self.quote[taker] -= sign * q + f.taker_fee as i128;
            self.quote[maker] += sign * q - f.maker_fee;
            self.fees += f.taker_fee as i128 + f.maker_fee;
        }
    }

    proptest::proptest! {
        // 600 streams of up to 400 actions: over 100,000 random orders a run
        #![proptest_config(proptest::prelude::ProptestConfig { cases: 600, ..Default::default() })]
        /// Whatever arrives: the book is never crossed; every fill is at a price the taker
        /// accepted, no better price is skipped, and within a price the older order goes first;
        /// base and quote leave takers exactly as they reach makers and the fee account, which
        /// never pays out more than it takes; and every lot is filled, resting or cancelled.
        #[test]
        fn the_book_stays_uncrossed_and_conserves_every_unit(
            ops in proptest::collection::vec((0u32..3, 0u8..4, 0u8..6, 95u64..106, 1u64..20), 1..400),
        ) {
            let mut b = Book::new(M);
            let mut ids: Vec<(Owner, OrderId)> = Vec::new();
            let mut t = Totals::default();
            for (owner, side_and_mode, kind, tick, lots) in ops {
                let side = if side_and_mode % 2 == 0 { Side::Bid } else { Side::Ask };
                let self_trade = if side_and_mode < 2 { SelfTrade::CancelResting } else { SelfTrade::CancelIncoming };
                let kind = match kind {
                    0 | 1 => OrderType::Limit,
                    2 => OrderType::Market,
                    3 => OrderType::ImmediateOrCancel,
                    4 => OrderType::FillOrKill,
                    _ => OrderType::PostOnly,
                };
                if kind == OrderType::Limit && lots % 7 == 0 && !ids.is_empty() {
                    // now and then: cancel or replace an old order instead
                    let (o, id) = ids[(tick as usize) % ids.len()];
                    if lots % 2 == 0 {
                        let _ = b.cancel(o, id);
                    } else if let Ok(p) = b.replace(o, id, tick, lots / 2 + 1) {
                        p.fills.iter().for_each(|f| t.account(f));
                        ids.push((o, p.id));
                    }
                } else {
                    let best_before = b.best_opposite(side);
                    let new = NewOrder { self_trade, ..order(owner, side, kind, tick, lots) };
                    let preview = b.preview(&new);
                    let Ok(p) = b.place(new) else { continue };
                    // the preview is what placing takes, to the unit (fill-or-kill and post-only
                    // orders that were placed took all of it or nothing)
                    let taken = Taken {
                        lots: p.fills.iter().map(|f| f.lots).sum(),
                        base: p.fills.iter().map(|f| f.base).sum(),
                        quote: p.fills.iter().map(|f| f.quote).sum(),
                        taker_fee: p.fills.iter().map(|f| f.taker_fee).sum(),
                        fills: p.fills.len() as u32,
                    };
                    proptest::prop_assert_eq!(preview, Ok(taken));
                    ids.push((owner, p.id));
                    let filled: u64 = p.fills.iter().map(|f| f.lots).sum();
                    proptest::prop_assert_eq!(filled + p.rested + p.cancelled, lots);
                    if kind == OrderType::FillOrKill {
                        proptest::prop_assert_eq!(filled, lots);
                    }
                    let mut last = None;
                    for f in &p.fills {
                        proptest::prop_assert!(kind == OrderType::Market || Book::crosses(side, kind, tick, f.tick));
                        // prices only worsen for the taker, and the first is the best there was
                        if let Some(l) = last {
                            let worse = match side {
                                Side::Bid => f.tick >= l,
                                Side::Ask => f.tick <= l,
                            };
                            proptest::prop_assert!(worse, "a better price after a worse one");
                        } else if p.self_cancelled.is_empty() {
                            proptest::prop_assert_eq!(Some(f.tick), best_before);
                        }
                        last = Some(f.tick);
                        proptest::prop_assert!(f.taker_fee as i128 + f.maker_fee >= 0, "the exchange pays out more than it takes");
                        t.account(f);
                    }
                }
                if let (Some((bid, _)), Some((ask, _))) = (b.best_bid(), b.best_ask()) {
                    proptest::prop_assert!(bid < ask, "crossed: bid {} ask {}", bid, ask);
                }
                proptest::prop_assert_eq!(t.base.iter().sum::<i128>(), 0);
                proptest::prop_assert_eq!(t.quote.iter().sum::<i128>() + t.fees, 0);
                // within each level, orders are oldest first
                for q in b.bids.values().chain(b.asks.values()) {
                    proptest::prop_assert!(q.iter().zip(q.iter().skip(1)).all(|(a, c)| a.id < c.id));
                }
            }
        }
    }
}
