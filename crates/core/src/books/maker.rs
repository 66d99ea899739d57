//! Market makers, Avellaneda-Stoikov style (Avellaneda & Stoikov 2008, "High-frequency trading
//! in a limit order book"): around the external mid `s`, with inventory `q` (base tokens above
//! its start), volatility `sigma` (quote per base per square-root second), risk aversion `gamma`
//! and horizon `tau`, the reservation price is `r = s - q gamma sigma^2 tau` and the total spread
//! `gamma sigma^2 tau + (2 / gamma) ln(1 + gamma / kappa)`, where takers' arrival rate falls as
//! `exp(-kappa delta)` with distance `delta` from the mid. Quotes go at `r` less and plus half
//! the spread, post-only, refreshed when the model moves them past a threshold or before they
//! expire; a side stops once inventory reaches its limit.

use bevy_ecs::prelude::*;
use meshsim_math::book::{OrderType, Resting, Side};
use meshsim_scenario::{AgentKind, MakerParams};
use smallvec::SmallVec;

use super::{BookState, Books, owner_of};
use crate::SimConfig;
use crate::agents::{AgentMeta, PendingTxs, ViewParams};
use crate::engine::{App, Fresh, Phase, State, shared};
use crate::market::SECONDS_PER_YEAR;
use crate::tx::{Action, BookAction, BookOp, Cause, PlaceOrder, Sender, Tx, TxKind};

/// A market maker's behaviour.
#[derive(Component, Debug, Clone)]
pub struct Maker {
    /// Its parameters.
    pub params: MakerParams,
    /// Annualized volatility of the base token against the quote token.
    pub volatility: f64,
    /// Base units it started with (its inventory is measured from here).
    pub start_base: u128,
    /// Priority fee bid, wei per gas.
    pub priority_fee_wei: u128,
}

/// Bid and ask prices (quote per whole base token) the model asks for.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ModelQuotes {
    /// Reservation price.
    pub reservation: f64,
    /// Bid.
    pub bid: f64,
    /// Ask.
    pub ask: f64,
}

/// The Avellaneda-Stoikov quotes for mid `s`, inventory `q` base tokens and annualized
/// volatility `vol`.
pub fn model_quotes(s: f64, q: f64, vol: f64, p: &MakerParams) -> ModelQuotes {
    // variance of the price per second, in (quote per base)^2
    let var = (vol * s) * (vol * s) / SECONDS_PER_YEAR;
    let gamma = p.risk_aversion;
    let kappa = 1.0 / (p.depth_decay * s);
    let inventory_risk = gamma * var * p.horizon_s;
    // (2 / gamma) ln(1 + gamma / kappa) tends to 2 / kappa as gamma goes to zero
    let liquidity = if gamma > 0.0 { 2.0 / gamma * libm::log1p(gamma / kappa) } else { 2.0 / kappa };
    let spread = (inventory_risk + liquidity).max(p.min_spread * s);
    let reservation = s - q * inventory_risk;
    ModelQuotes { reservation, bid: reservation - spread / 2.0, ask: reservation + spread / 2.0 }
}

/// What a maker can see of one book and its own position.
#[derive(Debug, Clone, Copy)]
pub struct MakerView<'a> {
    /// The book.
    pub book: &'a BookState,
    /// Run constants (units).
    pub config: &'a SimConfig,
    /// External mid, quote per whole base token.
    pub mid: f64,
    /// Free balances (base, quote), base units.
    pub free: (u128, u128),
    /// Its owner number in the book.
    pub owner: meshsim_math::book::Owner,
    /// Block being built on the book's chain.
    pub block: u64,
}

/// The operations that move a maker's quotes to where the model puts them (none when they are
/// close enough and not about to expire).
pub fn plan_maker(v: &MakerView<'_>, m: &Maker) -> SmallVec<[BookOp; 4]> {
    let mut ops = SmallVec::new();
    let b = v.book;
    let p = &m.params;
    let mine: Vec<&Resting> = b.book.resting().filter(|o| o.owner == v.owner).collect();
    let escrowed = |side: Side| -> u128 {
        mine.iter().filter(|o| o.side == side).map(|o| b.escrow.get(&o.id).copied().unwrap_or(0)).sum()
    };
    // what it owns, resting orders included
    let base = v.free.0 + escrowed(Side::Ask);
    let quote = v.free.1 + escrowed(Side::Bid);
    let lot = b.spec.lot_size;
    let unit = v.config.unit(b.spec.base);
    let q = (meshsim_math::u128_to_f64(base) - meshsim_math::u128_to_f64(m.start_base)) * unit;
    let model = model_quotes(v.mid, q, m.volatility, p);
    let limit = p.max_inventory_lots as f64 * meshsim_math::u128_to_f64(lot) * unit;
    // the best prices of others: a post-only quote must not cross them
    let others = |side: Side| b.book.resting().filter(move |o| o.side == side && o.owner != v.owner).map(|o| o.tick);
    let best_other_bid = others(Side::Bid).max();
    let best_other_ask = others(Side::Ask).min();
    let mut bid_tick = b.tick_of(model.bid, false, &v.config.unit);
    let mut ask_tick = b.tick_of(model.ask, true, &v.config.unit).max(bid_tick + 1);
    if let Some(a) = best_other_ask {
        bid_tick = bid_tick.min(a.saturating_sub(1)).max(1);
    }
    if let Some(bb) = best_other_bid {
        ask_tick = ask_tick.max(bb + 1);
    }
    let cost_per_lot = crate::books::venue::escrow_for(&b.book, Side::Bid, bid_tick, 1).unwrap_or(u128::MAX);
    let bid_lots = (quote / cost_per_lot.max(1)).min(u128::from(p.lots)) as u64;
    let ask_lots = (base / lot).min(u128::from(p.lots)) as u64;
    let want_bid = (q < limit && bid_lots > 0).then_some((bid_tick, bid_lots));
    let want_ask = (q > -limit && ask_lots > 0).then_some((ask_tick, ask_lots));
    for (side, want) in [(Side::Bid, want_bid), (Side::Ask, want_ask)] {
        let mut own = mine.iter().filter(|o| o.side == side);
        let first = own.next();
        // one quote a side: anything beyond it goes
        for extra in own {
            ops.push(BookOp::Cancel(extra.id));
        }
        let place = |tick, lots| {
            BookOp::Place(PlaceOrder {
                side,
                kind: OrderType::PostOnly,
                tick,
                lots,
                ttl_blocks: p.ttl_blocks,
                hedge: false,
            })
        };
        match (first, want) {
            (None, None) => {}
            (Some(o), None) => ops.push(BookOp::Cancel(o.id)),
            (None, Some((tick, lots))) => ops.push(place(tick, lots)),
            (Some(o), Some((tick, lots))) => {
                let expiring = o.expires_at <= v.block;
                let moved = (b.price(o.tick, &v.config.unit) - b.price(tick, &v.config.unit)).abs() / v.mid;
                let moved = if p.refresh > 0.0 { moved > p.refresh } else { o.tick != tick };
                if !expiring && !moved && o.lots == lots {
                    continue;
                }
                if !expiring && o.tick == tick && lots < o.lots {
                    ops.push(BookOp::Replace { order: o.id, tick, lots });
                } else if !expiring && !moved {
                    continue;
                } else {
                    ops.push(BookOp::Cancel(o.id));
                    ops.push(place(tick, lots));
                }
            }
        }
    }
    ops
}

fn decide_makers(view: ViewParams, books: State<(&Books,)>, mut makers: Fresh<(&AgentMeta, &Maker, &mut PendingTxs)>) {
    let (books,) = shared(books);
    view.with_view(|v| {
        for (me, m, mut out) in &mut makers {
            let Some(b) = books.list.get(m.params.book.index()) else { continue };
            if b.spec.chain != v.chain {
                continue;
            }
            let mid = v.prices.per_token[b.spec.base.index()] / v.prices.per_token[b.spec.quote.index()];
            let free = (v.balance(me.account, b.spec.base), v.balance(me.account, b.spec.quote));
            let mv = MakerView {
                book: b,
                config: view.config(),
                mid,
                free,
                owner: owner_of(Sender::Agent(me.id)),
                block: v.block,
            };
            let ops = plan_maker(&mv, m);
            if ops.is_empty() {
                continue;
            }
            let action = Action::Book(BookAction { book: b.spec.id, ops: ops.into_iter().collect() });
            let mut tx = Tx::new(Sender::Agent(me.id), 0, TxKind::MarketMaking, m.priority_fee_wei, action, v.block);
            tx.cause = Cause::External;
            out.0.push(tx);
        }
    });
}

/// Spawns the market makers.
pub(super) fn build(app: &mut App<'_>) -> Result<(), crate::SimError> {
    let s = app.scenario;
    let mut any = false;
    for a in &s.agents {
        let AgentKind::MarketMaker(params) = a.kind else { continue };
        let Some(book) = s.books.get(params.book.index()) else { continue };
        let asset = s.tokens[book.base.index()].asset;
        let volatility = s.market.assets.iter().find(|x| x.token == asset).map_or(0.0, |x| x.volatility);
        let start_base = a.capital.iter().find(|(t, _)| *t == book.base).map_or(0, |(_, v)| *v);
        let m = Maker { params, volatility, start_base, priority_fee_wei: a.priority_fee_wei };
        crate::agents::spawn_agent(app, a, "market maker")?.insert(m);
        any = true;
    }
    if any {
        app.add_systems(Phase::Decide, decide_makers);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params() -> MakerParams {
        MakerParams {
            book: meshsim_scenario::BookId(0),
            lots: 10,
            risk_aversion: 0.01,
            depth_decay: 5e-4,
            horizon_s: 60.0,
            min_spread: 0.0,
            max_inventory_lots: 100,
            refresh: 0.0,
            ttl_blocks: 10,
        }
    }

    #[test]
    fn quotes_are_symmetric_when_flat_and_lean_against_inventory() {
        let p = params();
        let flat = model_quotes(2000.0, 0.0, 0.5, &p);
        assert!((flat.reservation - 2000.0).abs() < 1e-12);
        assert!(((flat.ask - 2000.0) - (2000.0 - flat.bid)).abs() < 1e-9);
        // long inventory: both quotes lower (sell more readily, buy less), same spread
        let long = model_quotes(2000.0, 10.0, 0.5, &p);
        assert!(long.bid < flat.bid && long.ask < flat.ask);
        assert!(((long.ask - long.bid) - (flat.ask - flat.bid)).abs() < 1e-9);
        let short = model_quotes(2000.0, -10.0, 0.5, &p);
        assert!(short.bid > flat.bid && short.ask > flat.ask);
    }

    #[test]
    fn the_spread_widens_with_volatility_and_risk_aversion_and_tends_to_two_decay_lengths() {
        let p = params();
        let spread = |vol: f64, p: &MakerParams| {
            let q = model_quotes(2000.0, 0.0, vol, p);
            q.ask - q.bid
        };
        assert!(spread(1.0, &p) > spread(0.5, &p));
        let averse = MakerParams { risk_aversion: 1.0, ..p };
        assert!(spread(0.5, &averse) > spread(0.5, &p));
        // no risk aversion: two decay lengths (2 / kappa = 2 x 5 bp x 2000 = 2.0)
        let neutral = MakerParams { risk_aversion: 0.0, ..p };
        assert!((spread(0.5, &neutral) - 2.0).abs() < 1e-9);
        // a floor
        let floor = MakerParams { min_spread: 0.01, ..neutral };
        assert!((spread(0.5, &floor) - 20.0).abs() < 1e-9);
    }
}
