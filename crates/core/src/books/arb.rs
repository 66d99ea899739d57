//! CEX-book arbitrage: an arbitrageur that lists books takes whatever rests on the wrong side of
//! the external price by more than the taker fee (asks below it, bids above it) with an
//! immediate-or-cancel order up to the last profitable price, and closes the position on the CEX
//! in the same transaction, when the profit clears gas and its minimum.

use bevy_ecs::prelude::*;
use meshsim_math::book::{NewOrder, OrderType, SelfTrade, Side};
use meshsim_scenario::{AgentKind, BookId};
use smallvec::smallvec;

use super::{BookState, Books, owner_of};
use crate::agents::{AgentMeta, MarketView, PendingTxs, ViewParams};
use crate::engine::{App, Phase, State, shared};
use crate::pools::PoolBook;
use crate::tx::{Action, BookAction, BookOp, Cause, PlaceOrder, Sender, Tx, TxKind};

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
        let probe = NewOrder {
            owner,
            side,
            kind: OrderType::ImmediateOrCancel,
            tick: limit,
            lots,
            self_trade: SelfTrade::CancelResting,
            expires_at: u64::MAX,
        };
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
    mut arbs: Query<(&AgentMeta, &BookArb, &mut PendingTxs)>,
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
    if legs.is_empty() {
        return Ok(());
    }
    let mut q = app.world.query::<(Entity, &AgentMeta)>();
    let found: Vec<(Entity, meshsim_scenario::AgentId)> = q.iter(&app.world).map(|(e, m)| (e, m.id)).collect();
    for (id, leg) in legs {
        if let Some((e, _)) = found.iter().find(|(_, a)| *a == id) {
            app.world.entity_mut(*e).insert(leg);
        }
    }
    app.add_systems(Phase::Decide, decide_book_arb);
    Ok(())
}
