//! The order-book venue: executes [`BookAction`]s. Takers pay from their own account as they
//! match; what rests is put up in the book's escrow account (base for an ask; for a bid the quote
//! plus the most its maker fees can come to) and paid out of it when the order fills, or back
//! when it is cancelled, replaced or expires.

use meshsim_math::book::{Book, BookError, Fill, NewOrder, OrderId, OrderType, Owner, SelfTrade, Side, ppm_of};
use meshsim_scenario::GasCosts;

use super::{BookState, Books, account_of, owner_of, sender_of};
use crate::engine::venue::{ExecCtx, Venue};
use crate::ledger::{AccountId, Special};
use crate::tx::{
    BookAction, BookEffect, BookFill, BookOp, BookRefusal, Effect, OpResult, PlaceOrder, RevertReason, Tx,
};

/// What a resting order puts up: an ask its base; a bid its quote plus, when makers pay a fee,
/// the most its fills' fees can come to (each fill's fee rounds up by at most one unit, and an
/// order of `lots` fills at most `lots` times).
pub fn escrow_for(book: &Book, side: Side, tick: u64, lots: u64) -> Result<u128, BookError> {
    let m = &book.market;
    let lots128 = u128::from(lots);
    match side {
        Side::Ask => lots128.checked_mul(m.lot_size).ok_or(BookError::Overflow),
        Side::Bid => {
            let quote = lots128
                .checked_mul(u128::from(tick))
                .and_then(|x| x.checked_mul(m.tick_value))
                .ok_or(BookError::Overflow)?;
            let fee =
                if m.maker_fee_ppm > 0 { ppm_of(quote, m.maker_fee_ppm.unsigned_abs(), true) + lots128 } else { 0 };
            quote.checked_add(fee).ok_or(BookError::Overflow)
        }
    }
}

impl Venue for Books {
    type Action = BookAction;
    /// Gas units.
    type Quote = u64;

    fn quote(&self, action: &BookAction, costs: &GasCosts) -> Result<u64, RevertReason> {
        let state = self.list.get(action.book.index()).ok_or(RevertReason::UnknownVenue)?;
        let mut gas = costs.base_tx;
        for op in &action.ops {
            gas += match op {
                BookOp::Cancel(_) => costs.book_cancel,
                BookOp::Replace { .. } => costs.book_order,
                // its fills on the book as it is now (earlier operations of the same action
                // aside): matching is paid per fill
                BookOp::Place(o) => {
                    let probe = new_order(0, o, u64::MAX);
                    let fills = state.book.preview(&probe).map_or(0, |t| t.fills);
                    costs.book_order + u64::from(fills) * costs.book_fill
                }
            };
        }
        Ok(gas)
    }

    fn gas_used(&self, quote: &u64) -> u64 {
        *quote
    }

    fn failure_gas(&self, costs: &GasCosts) -> u64 {
        costs.base_tx + costs.book_order
    }

    fn attempted(&self, action: &BookAction, effect: &mut Effect) {
        *effect = Effect::Book(Box::new(BookEffect { book: Some(action.book), ..BookEffect::default() }));
    }

    fn apply(
        &mut self,
        tx: &Tx,
        action: &BookAction,
        _gas: &u64,
        payer: AccountId,
        ctx: &mut ExecCtx<'_>,
        effect: &mut Effect,
    ) -> Result<(), RevertReason> {
        let state = self.list.get_mut(action.book.index()).ok_or(RevertReason::UnknownVenue)?;
        if state.spec.chain != tx.chain {
            return Err(RevertReason::UnknownVenue);
        }
        let owner = owner_of(tx.sender);
        let mut out = BookEffect { book: Some(action.book), ..BookEffect::default() };
        for op in &action.ops {
            let r = state.op(op, owner, payer, ctx, &mut out.fills)?;
            out.ops.push(r);
        }
        if let Some(first) = out.ops.first()
            && out.ops.iter().all(|r| r.error.is_some())
        {
            return Err(match first.error {
                Some(BookRefusal::Book(e)) => RevertReason::Book(e),
                _ => RevertReason::InsufficientBalance,
            });
        }
        *effect = Effect::Book(Box::new(out));
        Ok(())
    }
}

fn new_order(owner: Owner, o: &PlaceOrder, expires_at: u64) -> NewOrder {
    NewOrder {
        owner,
        side: o.side,
        kind: o.kind,
        tick: o.tick,
        lots: o.lots,
        self_trade: SelfTrade::CancelResting,
        expires_at,
    }
}

fn ledger_err(e: crate::ledger::LedgerError) -> RevertReason {
    RevertReason::Ledger(Box::new(e))
}

impl BookState {
    /// One operation. A refusal is reported in its result and changes nothing; an `Err` is a
    /// custody transfer that failed after the checks (a bug the conservation check reports).
    fn op(
        &mut self,
        op: &BookOp,
        owner: Owner,
        payer: AccountId,
        ctx: &mut ExecCtx<'_>,
        fills: &mut Vec<BookFill>,
    ) -> Result<OpResult, RevertReason> {
        let refused = |e: BookRefusal| OpResult { error: Some(e), ..OpResult::default() };
        match *op {
            BookOp::Place(o) => {
                let expires_at = if o.ttl_blocks == 0 { u64::MAX } else { ctx.block.saturating_add(o.ttl_blocks - 1) };
                self.place(new_order(owner, &o, expires_at), o.hedge, payer, ctx, fills)
            }
            BookOp::Cancel(id) => match self.book.cancel(owner, id) {
                Ok(r) => {
                    self.refund(id, ctx)?;
                    self.stats.cancelled += 1;
                    Ok(OpResult { order: None, rested: 0, cancelled: r.lots, error: None })
                }
                Err(e) => Ok(refused(BookRefusal::Book(e))),
            },
            BookOp::Replace { order, tick, lots } => {
                let Some(old) = self.book.order(order).copied().filter(|r| r.owner == owner) else {
                    return Ok(refused(BookRefusal::Book(BookError::UnknownOrder)));
                };
                if lots == 0 || tick == 0 {
                    return Ok(refused(BookRefusal::Book(BookError::Empty)));
                }
                if tick == old.tick && lots <= old.lots {
                    // smaller at the same price: keeps its place; the excess escrow goes back
                    let need = escrow_for(&self.book, old.side, tick, lots).map_err(RevertReason::Book)?;
                    if let Err(e) = self.book.replace(owner, order, tick, lots) {
                        return Ok(refused(BookRefusal::Book(e)));
                    }
                    let held = self.escrow.get(&order).copied().unwrap_or(0);
                    let back = held.saturating_sub(need);
                    let token = self.escrow_token(old.side);
                    ctx.ledger.transfer(self.escrow_account, payer, token, back).map_err(ledger_err)?;
                    self.escrow.insert(order, held - back);
                    return Ok(OpResult { order: Some(order), rested: lots, cancelled: old.lots - lots, error: None });
                }
                // anything else is a new order at the back: the old one's escrow comes back first
                let new = NewOrder {
                    owner,
                    side: old.side,
                    kind: OrderType::Limit,
                    tick,
                    lots,
                    self_trade: SelfTrade::CancelResting,
                    expires_at: old.expires_at,
                };
                if let Err(e) = self.book.cancel(owner, order) {
                    return Ok(refused(BookRefusal::Book(e)));
                }
                self.refund(order, ctx)?;
                self.place(new, false, payer, ctx, fills)
            }
        }
    }

    fn escrow_token(&self, side: Side) -> meshsim_scenario::TokenId {
        match side {
            Side::Ask => self.spec.base,
            Side::Bid => self.spec.quote,
        }
    }

    /// Pays a gone order's escrow back to its owner.
    fn refund(&mut self, id: OrderId, ctx: &mut ExecCtx<'_>) -> Result<(), RevertReason> {
        let Some(held) = self.escrow.remove(&id) else { return Ok(()) };
        let Some((owner, side)) = self.sides.remove(&id) else { return Ok(()) };
        let to = account_of(&ctx.config.layout, sender_of(owner));
        let token = self.escrow_token(side);
        ctx.ledger.transfer(self.escrow_account, to, token, held).map_err(ledger_err)
    }

    fn place(
        &mut self,
        new: NewOrder,
        hedge: bool,
        payer: AccountId,
        ctx: &mut ExecCtx<'_>,
        fills: &mut Vec<BookFill>,
    ) -> Result<OpResult, RevertReason> {
        let refused = |e: BookRefusal| Ok(OpResult { error: Some(e), ..OpResult::default() });
        let taken = match self.book.preview(&new) {
            Ok(t) => t,
            Err(e) => return refused(BookRefusal::Book(e)),
        };
        let rests = matches!(new.kind, OrderType::Limit | OrderType::PostOnly);
        let rest = if rests { new.lots - taken.lots } else { 0 };
        let (token, need) = match new.side {
            Side::Bid => {
                let e = match escrow_for(&self.book, Side::Bid, new.tick, rest) {
                    Ok(e) => e,
                    Err(e) => return refused(BookRefusal::Book(e)),
                };
                (self.spec.quote, taken.quote.saturating_add(taken.taker_fee).saturating_add(e))
            }
            Side::Ask => (self.spec.base, u128::from(taken.lots + rest).saturating_mul(self.spec.lot_size)),
        };
        if ctx.ledger.balance(payer, token) < need {
            return refused(BookRefusal::InsufficientBalance);
        }
        let placed = match self.book.place(new) {
            Ok(p) => p,
            Err(e) => return refused(BookRefusal::Book(e)),
        };
        self.stats.placed += 1;
        let mut got = 0u128;
        for f in &placed.fills {
            self.settle(f, payer, ctx)?;
            got += match f.taker_side {
                Side::Bid => f.base,
                Side::Ask => f.quote - f.taker_fee,
            };
            fills.push(BookFill {
                maker_order: f.maker,
                maker: sender_of(f.maker_owner),
                taker_side: f.taker_side,
                tick: f.tick,
                base: f.base,
                quote: f.quote,
                taker_fee: f.taker_fee,
                maker_fee: f.maker_fee,
            });
        }
        for id in &placed.self_cancelled {
            self.refund(*id, ctx)?;
        }
        if placed.rested > 0 {
            let amount = escrow_for(&self.book, new.side, new.tick, placed.rested).map_err(RevertReason::Book)?;
            let token = self.escrow_token(new.side);
            ctx.ledger.transfer(payer, self.escrow_account, token, amount).map_err(ledger_err)?;
            self.escrow.insert(placed.id, amount);
            self.sides.insert(placed.id, (new.owner, new.side));
        }
        if hedge && got > 0 {
            // close the position on the CEX at the external price: what it got back into what it paid
            let (got_token, paid_token) = match new.side {
                Side::Bid => (self.spec.base, self.spec.quote),
                Side::Ask => (self.spec.quote, self.spec.base),
            };
            let back =
                meshsim_math::f64_to_u128(meshsim_math::u128_to_f64(got) * ctx.prices.rate(got_token, paid_token));
            let cex = ctx.config.layout.special(Special::Cex);
            ctx.ledger
                .transfer(payer, cex, got_token, got)
                .and_then(|_| ctx.ledger.transfer(cex, payer, paid_token, back))
                .map_err(|e| RevertReason::CexHedge(Box::new(e)))?;
        }
        Ok(OpResult { order: Some(placed.id), rested: placed.rested, cancelled: placed.cancelled, error: None })
    }

    /// Moves one fill's tokens: the taker's payment to the maker, the maker's escrow to the
    /// taker, the fees to the fee account (rebates out of it); a maker order that is gone gets
    /// what is left of its escrow back.
    fn settle(&mut self, f: &Fill, taker: AccountId, ctx: &mut ExecCtx<'_>) -> Result<(), RevertReason> {
        let layout = ctx.config.layout;
        let maker = account_of(&layout, sender_of(f.maker_owner));
        let (base, quote) = (self.spec.base, self.spec.quote);
        let (escrow, fees) = (self.escrow_account, self.fee_account);
        let ledger = &mut *ctx.ledger;
        let held = self.escrow.get_mut(&f.maker).ok_or(RevertReason::Book(BookError::UnknownOrder))?;
        let mut take = |amount: u128| -> Result<(), RevertReason> {
            *held = held.checked_sub(amount).ok_or(RevertReason::Book(BookError::Overflow))?;
            Ok(())
        };
        match f.taker_side {
            Side::Bid => {
                ledger.transfer(taker, maker, quote, f.quote).map_err(ledger_err)?;
                ledger.transfer(taker, fees, quote, f.taker_fee).map_err(ledger_err)?;
                take(f.base)?;
                ledger.transfer(escrow, taker, base, f.base).map_err(ledger_err)?;
                if f.maker_fee > 0 {
                    ledger.transfer(maker, fees, quote, f.maker_fee.unsigned_abs()).map_err(ledger_err)?;
                }
            }
            Side::Ask => {
                ledger.transfer(taker, maker, base, f.base).map_err(ledger_err)?;
                take(f.quote)?;
                ledger.transfer(escrow, taker, quote, f.quote).map_err(ledger_err)?;
                ledger.transfer(taker, fees, quote, f.taker_fee).map_err(ledger_err)?;
                if f.maker_fee > 0 {
                    take(f.maker_fee.unsigned_abs())?;
                    ledger.transfer(escrow, fees, quote, f.maker_fee.unsigned_abs()).map_err(ledger_err)?;
                }
            }
        }
        if f.maker_fee < 0 {
            ledger.transfer(fees, maker, quote, f.maker_fee.unsigned_abs()).map_err(ledger_err)?;
        }
        self.stats.record_fill(f);
        if self.book.order(f.maker).is_none() {
            self.refund(f.maker, ctx)?;
        }
        Ok(())
    }
}
