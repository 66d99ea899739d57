//! Arbitrage on books. CEX-book: an arbitrageur that lists books takes whatever rests on the wrong
//! side of the external price by more than the taker fee (asks below it, bids above it) with an
//! immediate-or-cancel order up to the last profitable price, and closes the position on the CEX
//! in the same transaction, when the profit clears gas and its minimum. Book-AMM: a cyclic
//! arbitrageur that lists books buys the base token where it is cheaper (the book's asks or a
//! pool of the same pair) and sells it where it is dearer, from its own inventory, as two
//! transactions of one block (the book's order first); the size is the best of the book's
//! levels, and the pool leg's minimum output keeps the round trip from losing.

use bevy_ecs::prelude::*;
use meshsim_math::book::{NewOrder, OrderType, Side};
use meshsim_scenario::{AgentKind, BookId};
use smallvec::smallvec;

use super::{BookState, Books, owner_of};
use crate::agents::{AgentMeta, MarketView, PendingTxs, ViewParams};
use crate::engine::{App, Fresh, Phase, State, shared};
use crate::pools::PoolBook;
use crate::pools::routing;
use crate::tx::{Action, BookAction, BookOp, Cause, Leg, PlaceOrder, Sender, Tx, TxKind};

/// The books an arbitrageur trades.
#[derive(Component, Debug, Clone)]
pub struct BookArb {
    /// Books.
    pub books: Vec<BookId>,
    /// Minimum profit net of gas, numeraire.
    pub min_profit: f64,
    /// Priority fee bid, wei per gas.
    pub priority_fee_wei: u128,
}

/// The order that takes what is mispriced on one side of `b`, and its profit net of gas in the
/// numeraire, if there is any.
pub fn plan_book_arb<P: PoolBook + ?Sized>(
    v: &MarketView<'_, P>,
    b: &BookState,
    config: &crate::SimConfig,
    me: &AgentMeta,
    priority_fee_wei: u128,
) -> Option<(PlaceOrder, f64)> {
    let mid = v.prices.per_token[b.spec.base.index()] / v.prices.per_token[b.spec.quote.index()];
    let fee = f64::from(b.spec.taker_fee_ppm) * 1e-6;
    let owner = owner_of(Sender::Agent(me.id));
    let mut best: Option<(PlaceOrder, f64)> = None;
    for side in [Side::Bid, Side::Ask] {
        // the last price at which taking still pays the fee
        let (limit, has) = match side {
            Side::Bid => {
                let t = b.tick_of(mid / (1.0 + fee), false, &config.unit);
                (t, b.book.best_ask().is_some_and(|(a, _)| a <= t))
            }
            Side::Ask => {
                let t = b.tick_of(mid / (1.0 - fee).max(1e-9), true, &config.unit);
                (t, b.book.best_bid().is_some_and(|(bb, _)| bb >= t))
            }
        };
        if !has {
            continue;
        }
        let mut lots = b.book.depth_within(side.opposite(), limit);
        // within its balance
        let cap = match side {
            Side::Bid => {
                let per_lot = crate::books::venue::escrow_for(&b.book, Side::Bid, limit, 1).unwrap_or(u128::MAX).max(1);
                let per_lot = per_lot + meshsim_math::book::ppm_of(per_lot, b.spec.taker_fee_ppm, true);
                v.balance(me.account, b.spec.quote) / per_lot
            }
            Side::Ask => v.balance(me.account, b.spec.base) / b.spec.lot_size,
        };
        lots = lots.min(u64::try_from(cap).unwrap_or(u64::MAX));
        if lots == 0 {
            continue;
        }
        let probe = NewOrder::ioc(owner, side, limit, lots);
        let Ok(t) = b.book.preview(&probe) else { continue };
        let base_value = v.prices.value(b.spec.base, t.base);
        let quote_value = v.prices.value(b.spec.quote, t.quote);
        let fee_value = v.prices.value(b.spec.quote, t.taker_fee);
        let gross = match side {
            Side::Bid => base_value - quote_value,
            Side::Ask => quote_value - base_value,
        } - fee_value;
        let gas = v.gas.base_tx + v.gas.book_order + u64::from(t.fills) * v.gas.book_fill;
        let profit = gross - v.gas_fee_value(gas, priority_fee_wei);
        let order =
            PlaceOrder { side, kind: OrderType::ImmediateOrCancel, tick: limit, lots, ttl_blocks: 0, hedge: true };
        if best.is_none_or(|(_, p)| profit > p) {
            best = Some((order, profit));
        }
    }
    best
}

fn decide_book_arb(
    view: ViewParams,
    books: State<(&Books,)>,
    mut arbs: Fresh<(&AgentMeta, &BookArb, &mut PendingTxs)>,
) {
    let (books,) = shared(books);
    let config = view.config();
    view.with_view(|v| {
        for (me, a, mut out) in &mut arbs {
            for id in &a.books {
                let Some(b) = books.list.get(id.index()) else { continue };
                if b.spec.chain != v.chain {
                    continue;
                }
                let Some((order, profit)) = plan_book_arb(v, b, config, me, a.priority_fee_wei) else { continue };
                if profit < a.min_profit {
                    continue;
                }
                let action = Action::Book(BookAction { book: *id, ops: smallvec![BookOp::Place(order)] });
                let seq = out.0.len() as u32;
                let mut tx = Tx::new(Sender::Agent(me.id), seq, TxKind::Arbitrage, a.priority_fee_wei, action, v.block);
                tx.cause = Cause::External;
                out.0.push(tx);
            }
        }
    });
}

/// The books a cyclic arbitrageur trades against the pools.
#[derive(Component, Debug, Clone)]
pub struct BookCycle {
    /// Books.
    pub books: Vec<BookId>,
    /// Minimum profit net of gas, numeraire.
    pub min_profit: f64,
    /// Priority fee bid, wei per gas.
    pub priority_fee_wei: u128,
}

/// A round trip between a book and a pool: the book's order, the pool's swap, and the profit net
/// of both transactions' gas, numeraire.
#[derive(Debug, Clone, PartialEq)]
pub struct RoundTrip {
    /// The book leg (first).
    pub order: PlaceOrder,
    /// The pool leg (second): sells what the book leg bought, or buys back what it sold.
    pub swap: crate::tx::Swap,
    /// Profit net of gas, numeraire.
    pub profit: f64,
}

/// The most profitable round trip between book `b` and a pool of its pair on the view's chain.
/// Sizes tried: each of the book's best levels in turn (up to its balance).
pub fn plan_book_cycle<P: PoolBook + ?Sized>(
    v: &MarketView<'_, P>,
    b: &BookState,
    me: &AgentMeta,
    priority_fee_wei: u128,
) -> Option<RoundTrip> {
    let (base, quote) = (b.spec.base, b.spec.quote);
    let owner = owner_of(Sender::Agent(me.id));
    let probe = |side: Side, tick: u64, lots: u64| NewOrder::ioc(owner, side, tick, lots);
    let (have_base, have_quote) = (v.balance(me.account, base), v.balance(me.account, quote));
    let mut best: Option<RoundTrip> = None;
    for id in 0..v.pools.len() {
        let Some(entry) = v.pools.pool(meshsim_scenario::PoolId(id as u32)) else { continue };
        if entry.chain != v.chain {
            continue;
        }
        let (Some(ib), Some(iq)) =
            (entry.tokens.iter().position(|t| *t == base), entry.tokens.iter().position(|t| *t == quote))
        else {
            continue;
        };
        let sell_base = Leg { pool: entry.id, i: ib as u8, j: iq as u8, token_in: base, token_out: quote };
        let gas = v.gas.base_tx * 2 + v.gas.book_order + v.hop_gas(entry, 2);
        for side in [Side::Bid, Side::Ask] {
            let levels = b.book.depth(side.opposite(), 20);
            let mut lots = 0u64;
            for (tick, at) in levels {
                lots += at;
                let Ok(t) = b.book.preview(&probe(side, tick, lots)) else { break };
                let (swap, gained) = match side {
                    // buy base on the book, sell it on the pool: gain in quote
                    Side::Bid => {
                        let cost = t.quote + t.taker_fee;
                        if cost > have_quote || t.base > have_base {
                            break;
                        }
                        let Some(out) = routing::path_output(v.pools, &[sell_base], t.base) else { break };
                        let swap = crate::tx::Swap::new(smallvec![sell_base], t.base, cost);
                        (swap, v.prices.value(quote, out) - v.prices.value(quote, cost))
                    }
                    // sell base on the book, buy it back on the pool with the proceeds: gain in base
                    Side::Ask => {
                        let proceeds = t.quote - t.taker_fee;
                        if t.base > have_base || proceeds > have_quote {
                            break;
                        }
                        let buy = sell_base.reversed();
                        let Some(out) = routing::path_output(v.pools, &[buy], proceeds) else { break };
                        let swap = crate::tx::Swap::new(smallvec![buy], proceeds, t.base);
                        (swap, v.prices.value(base, out) - v.prices.value(base, t.base))
                    }
                };
                let fills_gas = u64::from(t.fills) * v.gas.book_fill;
                let profit = gained - v.gas_fee_value(gas + fills_gas, priority_fee_wei);
                let order =
                    PlaceOrder { side, kind: OrderType::ImmediateOrCancel, tick, lots, ttl_blocks: 0, hedge: false };
                if best.as_ref().is_none_or(|r| profit > r.profit) {
                    best = Some(RoundTrip { order, swap, profit });
                }
            }
        }
    }
    best
}

fn decide_book_cycles(
    view: ViewParams,
    books: State<(&Books,)>,
    mut arbs: Fresh<(&AgentMeta, &BookCycle, &mut PendingTxs)>,
) {
    let (books,) = shared(books);
    view.with_view(|v| {
        for (me, a, mut out) in &mut arbs {
            for id in &a.books {
                let Some(b) = books.list.get(id.index()) else { continue };
                if b.spec.chain != v.chain {
                    continue;
                }
                let Some(trip) = plan_book_cycle(v, b, me, a.priority_fee_wei) else { continue };
                if trip.profit < a.min_profit {
                    continue;
                }
                let seq = out.0.len() as u32;
                let action = Action::Book(BookAction { book: *id, ops: smallvec![BookOp::Place(trip.order)] });
                let mut first =
                    Tx::new(Sender::Agent(me.id), seq, TxKind::CycleArbitrage, a.priority_fee_wei, action, v.block);
                first.cause = Cause::External;
                let mut second = Tx::new(
                    Sender::Agent(me.id),
                    seq + 1,
                    TxKind::CycleArbitrage,
                    a.priority_fee_wei,
                    trip.swap.into(),
                    v.block,
                );
                second.cause = Cause::External;
                out.0.push(first);
                out.0.push(second);
            }
        }
    });
}

/// Gives arbitrageurs that list books their book leg.
pub(super) fn build(app: &mut App<'_>) -> Result<(), crate::SimError> {
    let s = app.scenario;
    let mut legs = Vec::new();
    for a in &s.agents {
        if let AgentKind::Arbitrageur { ref books, min_profit, .. } = a.kind
            && !books.is_empty()
        {
            legs.push((a.id, BookArb { books: books.clone(), min_profit, priority_fee_wei: a.priority_fee_wei }));
        }
    }
    let mut cycles = Vec::new();
    for a in &s.agents {
        if let AgentKind::CycleArbitrageur { ref books, min_profit, .. } = a.kind
            && !books.is_empty()
        {
            cycles.push((a.id, BookCycle { books: books.clone(), min_profit, priority_fee_wei: a.priority_fee_wei }));
        }
    }
    let mut q = app.world.query::<(Entity, &AgentMeta)>();
    let found: Vec<(Entity, meshsim_scenario::AgentId)> = q.iter(&app.world).map(|(e, m)| (e, m.id)).collect();
    let entity = |id| found.iter().find(|(_, a)| *a == id).map(|(e, _)| *e);
    let (any_leg, any_cycle) = (!legs.is_empty(), !cycles.is_empty());
    for (id, leg) in legs {
        if let Some(e) = entity(id) {
            app.world.entity_mut(e).insert(leg);
        }
    }
    for (id, cycle) in cycles {
        if let Some(e) = entity(id) {
            app.world.entity_mut(e).insert(cycle);
        }
    }
    if any_leg {
        app.add_systems(Phase::Decide, decide_book_arb);
    }
    if any_cycle {
        app.add_systems(Phase::Decide, decide_book_cycles);
    }
    Ok(())
}
