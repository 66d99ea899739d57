//! Noise traders: uninformed flow on one book. Market orders (immediate-or-cancel, bounded by a
//! slippage limit) and limit orders (at a uniform distance up to a bound from the external price,
//! on the passive side) arrive at Poisson times; each side with probability one half; sizes
//! exponential with a mean, at least one lot. All of a block's orders go in one transaction.

use bevy_ecs::prelude::*;
use meshsim_math::book::{OrderType, Side};
use meshsim_scenario::{AgentKind, NoiseParams};
use rand::RngExt;
use rand_chacha::ChaCha12Rng;
use rand_distr::{Distribution, Exp1, Poisson};
use smallvec::SmallVec;

use super::{BookState, Books};
use crate::SimConfig;
use crate::agents::{AgentMeta, PendingTxs, ViewParams};
use crate::engine::{App, Fresh, Phase, State, shared};
use crate::tx::{Action, BookAction, BookOp, Cause, PlaceOrder, Sender, Tx, TxKind};

/// A noise trader's behaviour and its own random stream.
#[derive(Component, Debug, Clone)]
pub struct NoiseTrader {
    /// Its parameters.
    pub params: NoiseParams,
    /// Its stream (agent purpose, its id).
    pub rng: ChaCha12Rng,
    /// Time of the last block it traded in, seconds.
    pub last: f64,
    /// Priority fee bid, wei per gas.
    pub priority_fee_wei: u128,
}

/// Draws the orders of `dt` seconds of flow at external mid `mid` (quote per whole base token),
/// within balances `free` (base, quote).
pub fn draw_orders(
    n: &mut NoiseTrader,
    book: &BookState,
    config: &SimConfig,
    mid: f64,
    dt: f64,
    free: (u128, u128),
) -> SmallVec<[BookOp; 2]> {
    let p = n.params;
    let mut ops = SmallVec::new();
    let count = |rng: &mut ChaCha12Rng, rate: f64| -> u64 {
        let mean = rate * dt;
        if mean > 0.0 { Poisson::new(mean).map_or(0.0, |d| d.sample(rng)) as u64 } else { 0 }
    };
    let markets = count(&mut n.rng, p.market_rate);
    let limits = count(&mut n.rng, p.limit_rate);
    let (mut base, mut quote) = free;
    for k in 0..markets + limits {
        let market = k < markets;
        let side = if n.rng.random::<bool>() { Side::Bid } else { Side::Ask };
        let e: f64 = Exp1.sample(&mut n.rng);
        let lots = libm::round(e * p.mean_lots).max(1.0) as u64;
        let (kind, tick) = if market {
            match side {
                Side::Bid => {
                    (OrderType::ImmediateOrCancel, book.tick_of(mid * (1.0 + p.max_slippage), false, &config.unit))
                }
                Side::Ask => {
                    (OrderType::ImmediateOrCancel, book.tick_of(mid * (1.0 - p.max_slippage), true, &config.unit))
                }
            }
        } else {
            let u: f64 = n.rng.random::<f64>() * p.limit_offset;
            match side {
                Side::Bid => (OrderType::Limit, book.tick_of(mid * (1.0 - u), false, &config.unit)),
                Side::Ask => (OrderType::Limit, book.tick_of(mid * (1.0 + u), true, &config.unit)),
            }
        };
        // what it cannot pay for it does not send (the venue would refuse it)
        let need = match side {
            Side::Bid => crate::books::venue::escrow_for(&book.book, Side::Bid, tick, lots)
                .map(|q| q + meshsim_math::book::ppm_of(q, book.spec.taker_fee_ppm, true))
                .unwrap_or(u128::MAX),
            Side::Ask => u128::from(lots).saturating_mul(book.spec.lot_size),
        };
        let left = match side {
            Side::Bid => &mut quote,
            Side::Ask => &mut base,
        };
        if *left < need {
            continue;
        }
        *left -= need;
        ops.push(BookOp::Place(PlaceOrder { side, kind, tick, lots, ttl_blocks: p.ttl_blocks, hedge: false }));
    }
    ops
}

fn decide_noise(
    view: ViewParams,
    books: State<(&Books,)>,
    mut traders: Fresh<(&AgentMeta, &mut NoiseTrader, &mut PendingTxs)>,
) {
    let (books,) = shared(books);
    let config = view.config();
    view.with_view(|v| {
        for (me, mut n, mut out) in &mut traders {
            let Some(b) = books.list.get(n.params.book.index()) else { continue };
            if b.spec.chain != v.chain {
                continue;
            }
            let dt = (v.timestamp - n.last).max(0.0);
            n.last = v.timestamp;
            let mid = v.prices.per_token[b.spec.base.index()] / v.prices.per_token[b.spec.quote.index()];
            let free = (v.balance(me.account, b.spec.base), v.balance(me.account, b.spec.quote));
            let ops = draw_orders(&mut n, b, config, mid, dt, free);
            if ops.is_empty() {
                continue;
            }
            let action = Action::Book(BookAction { book: b.spec.id, ops });
            let mut tx = Tx::new(Sender::Agent(me.id), 0, TxKind::NoiseTrade, n.priority_fee_wei, action, v.block);
            tx.cause = Cause::Schedule;
            out.0.push(tx);
        }
    });
}

/// Spawns the noise traders.
pub(super) fn build(app: &mut App<'_>) -> Result<(), crate::SimError> {
    let s = app.scenario;
    let mut any = false;
    for a in &s.agents {
        let AgentKind::NoiseTrader(params) = a.kind else { continue };
        let rng = crate::rng::stream(s.seed, crate::rng::Purpose::Agent, u64::from(a.id.0));
        let n = NoiseTrader { params, rng, last: 0.0, priority_fee_wei: a.priority_fee_wei };
        crate::agents::spawn_agent(app, a, "noise trader")?.insert(n);
        any = true;
    }
    if any {
        app.add_systems(Phase::Decide, decide_noise);
    }
    Ok(())
}
