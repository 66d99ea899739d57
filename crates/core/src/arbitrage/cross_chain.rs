//! Cross-chain arbitrage with pre-positioned inventory, as measured on chain: the agent holds
//! both assets on every chain it trades; when the same pair is dearer on one chain than the
//! other by more than both pools' fees and both chains' gas, it sells where dear in that chain's
//! block and buys the same amount back where cheap in the other chain's next block (each leg is
//! a transaction of its own chain; the second is owed once the first is included). Its asset
//! position stays flat; its inventory drifts toward the cheap chain's quote token and the dear
//! chain's base, and when a token on a chain falls below a share of its starting balance it
//! tops it up from another chain's token of the same asset (which gives down to halfway between
//! that share and its own start, so that a refill never sets off one back), through the bridge it
//! prefers by fee and latency.
//!
//! With `bridged`, the second leg is funded the slow way (about four minutes on chain against
//! nine seconds pre-positioned): the first leg's proceeds are bridged to the other chain in the
//! same block and the second leg waits for them to arrive; the bridge's fee and time in transit
//! enter the pair's profit.
//!
//! The policy is a pure function of a read-only view ([`plan_cross_chain`]); the system around it
//! only gathers what is in flight and files the second legs from receipts.

use bevy_ecs::prelude::*;
use meshsim_math::SwapQuote;
use meshsim_scenario::{BridgeSpec, ChainId, PoolId, TokenId};

use crate::agents::{AgentMeta, MarketView, PendingTxs, ViewParams};
use crate::bridges::{Bridges, Direction};
use crate::engine::{Fresh, State, shared};
use crate::pools::PoolBook;
use crate::tx::{Action, BridgeSend, Cause, Leg, Receipts, Sender, Swap, Tx, TxKind};

/// A cross-chain arbitrageur's configuration and book.
#[derive(Component, Debug, Clone)]
pub struct CrossChainArb {
    /// One pool per chain.
    pub pools: Vec<PoolId>,
    /// The chain of each pool.
    pub chains: Vec<ChainId>,
    /// Bridges it refills through.
    pub bridges: Vec<BridgeSpec>,
    /// Refill below this share of the starting balance.
    pub refill_below: f64,
    /// Cost of capital in transit, bps an hour.
    pub capital_cost_bps_per_hour: f64,
    /// Minimum profit of a pair of legs net of both chains' gas, numeraire.
    pub min_profit: f64,
    /// Fund the second leg by bridging the first leg's proceeds.
    pub bridged: bool,
    /// Priority fee bid, wei per gas.
    pub priority_fee_wei: u128,
    /// Starting balances.
    pub genesis: Vec<(TokenId, u128)>,
    /// Second legs owed, each for its chain's next block.
    pub owed: Vec<OwedLeg>,
    /// Legs sent and not yet seen in a receipt: (sequence number, leg to owe if it is a first
    /// leg that is included, or to owe again if it is a second leg that fails; first?).
    pub sent: Vec<(u32, OwedLeg, bool)>,
    /// Sequence numbers, unique over the run: receipts of any later block find their leg.
    pub next_seq: u32,
}

/// A leg to trade on another chain: buy exactly `amount_out` of `leg.token_out` on `leg.pool`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OwedLeg {
    /// Its chain.
    pub chain: ChainId,
    /// The hop.
    pub leg: Leg,
    /// What it must bring back, base units.
    pub amount_out: u128,
    /// The first leg, once included: what the second is linked to in cascades (across chains).
    pub parent: Option<crate::tx::TxId>,
    /// Bridged style: sell what arrives (at most this much, the first leg's proceeds) once the
    /// transfer is in, rather than buy back `amount_out`.
    pub sell_in: Option<u128>,
}

/// Base fee and gas token of each chain, by chain id: what a leg on another chain will cost.
pub type ChainGas = [(u128, TokenId)];

/// What the agent sees of the bridges: its own transfers on their way, (token delivered,
/// amount), and the bridges halted now (a paused contract is public).
#[derive(Debug, Clone, Default)]
pub struct BridgeView {
    /// Its transfers on their way.
    pub in_transit: Vec<(TokenId, u128)>,
    /// Bridges halted now.
    pub halted: Vec<meshsim_scenario::BridgeId>,
}

/// Pure policy for the block of `view.chain`: the owed legs of this chain, the best new pair of
/// legs whose first is on this chain, and refills sent from this chain. Transactions go to
/// `out`; the legs they open or close to `cfg.sent`.
pub fn plan_cross_chain<B: PoolBook + ?Sized>(
    view: &MarketView<'_, B>,
    me: &AgentMeta,
    cfg: &mut CrossChainArb,
    chain_gas: &ChainGas,
    bridges: &BridgeView,
    out: &mut Vec<Tx>,
) {
    let mut spent: Vec<(TokenId, u128)> = Vec::new();
    // the gas token pays for a few more transactions before any of it is traded
    let reserve = view.gas_fee_wei(8 * (view.gas.base_tx + view.gas.swap_concentrated), cfg.priority_fee_wei);
    let available = |spent: &[(TokenId, u128)], t: TokenId| {
        let held = view.balance(me.account, t).saturating_sub(if t == view.native { reserve } else { 0 });
        held.saturating_sub(spent.iter().filter(|(x, _)| *x == t).map(|(_, v)| *v).sum())
    };
    // 1. close what is owed here
    let owed = std::mem::take(&mut cfg.owed);
    for o in owed {
        if o.chain != view.chain {
            cfg.owed.push(o);
            continue;
        }
        if let Some(expected) = o.sell_in {
            // the proceeds are still on their way: wait for them
            if bridges.in_transit.iter().any(|(t, _)| *t == o.leg.token_in) {
                cfg.owed.push(o);
                continue;
            }
            let a = expected.min(available(&spent, o.leg.token_in));
            let quote = view
                .pools
                .pool(o.leg.pool)
                .and_then(|e| e.pool.quote_exact_in(usize::from(o.leg.i), usize::from(o.leg.j), a).ok());
            // nothing arrived (the transfer failed): the position stays as it is
            if let Some(q) = quote.filter(|q| a > 0 && q.amount_out > 0) {
                spent.push((o.leg.token_in, a));
                let cause = o.parent.map_or(Cause::External, |p| Cause::Moves(smallvec::smallvec![p]));
                push_leg(view, me, cfg, (o.leg, a, q.amount_out), o, false, cause, out);
            }
            continue;
        }
        let quote = view
            .pools
            .pool(o.leg.pool)
            .and_then(|e| e.pool.quote_exact_out(usize::from(o.leg.i), usize::from(o.leg.j), o.amount_out).ok());
        match quote {
            Some(q) if q.amount_in <= available(&spent, o.leg.token_in) && q.amount_out >= o.amount_out => {
                spent.push((o.leg.token_in, q.amount_in));
                let cause = match o.parent {
                    Some(p) => Cause::Moves(smallvec::smallvec![p]),
                    None => Cause::External,
                };
                push_leg(view, me, cfg, (o.leg, q.amount_in, o.amount_out), o, false, cause, out);
            }
            // short of the input here (or the pool cannot give it): wait for a refill
            _ => cfg.owed.push(o),
        }
    }
    // 2. a new pair of legs, the first here
    if let Some((leg, q, owed, send)) = best_pair(view, cfg, chain_gas, |t| available(&spent, t)) {
        spent.push((leg.token_in, q.amount_in));
        // the gap has two sides: whoever moved either pool (on either chain) set it off
        let cause = merge(view.provenance.arbitrage_cause(leg.pool), view.provenance.arbitrage_cause(owed.leg.pool));
        push_leg(view, me, cfg, (leg, q.amount_in, q.amount_out), owed, true, cause.clone(), out);
        if let Some(send) = send {
            // the proceeds go over in the same block, right behind the swap
            let seq = cfg.next_seq;
            cfg.next_seq = cfg.next_seq.wrapping_add(1);
            let mut tx = Tx::new(
                Sender::Agent(me.id),
                seq,
                TxKind::Bridge,
                cfg.priority_fee_wei,
                Action::Bridge(send),
                view.block,
            );
            tx.cause = cause;
            out.push(tx);
        }
    }
    // 3. refill other chains from this one's surplus
    refill(view, me, cfg, bridges, &mut |t| available(&spent, t), out);
}

/// Both causes' transactions (a cause without any is the external price).
fn merge(a: Cause, b: Cause) -> Cause {
    let mut txs: crate::tx::CauseTxs = a.parents().iter().chain(b.parents()).copied().collect();
    txs.sort_unstable();
    txs.dedup();
    if txs.is_empty() { Cause::External } else { Cause::Moves(txs) }
}

#[expect(clippy::too_many_arguments, reason = "a leg's transaction and its bookkeeping")]
fn push_leg<B: PoolBook + ?Sized>(
    view: &MarketView<'_, B>,
    me: &AgentMeta,
    cfg: &mut CrossChainArb,
    (leg, amount_in, min_out): (Leg, u128, u128),
    owed: OwedLeg,
    first: bool,
    cause: Cause,
    out: &mut Vec<Tx>,
) {
    let swap = Swap { legs: smallvec::smallvec![leg], amount_in, min_out, hedge: false };
    let seq = cfg.next_seq;
    cfg.next_seq = cfg.next_seq.wrapping_add(1);
    let mut tx =
        Tx::new(Sender::Agent(me.id), seq, TxKind::CrossChainArbitrage, cfg.priority_fee_wei, swap.into(), view.block);
    tx.cause = cause;
    out.push(tx);
    cfg.sent.push((seq, owed, first));
}

/// A pair of legs: the first, its quote, the second it owes, and (bridged style) the transfer
/// that funds the second.
type Pair = (Leg, SwapQuote, OwedLeg, Option<BridgeSend>);

/// The most profitable pair of legs whose first is on the view's chain.
fn best_pair<B: PoolBook + ?Sized>(
    view: &MarketView<'_, B>,
    cfg: &CrossChainArb,
    chain_gas: &ChainGas,
    available: impl Fn(TokenId) -> u128,
) -> Option<Pair> {
    let here = cfg.chains.iter().position(|c| *c == view.chain)?;
    let x = view.pools.pool(cfg.pools[here])?;
    let mut best: Option<(f64, Pair)> = None;
    for (k, (&pool_y, &chain_y)) in cfg.pools.iter().zip(&cfg.chains).enumerate() {
        // one open pair per pool: a second leg still owed there holds the next
        if k == here || cfg.owed.iter().chain(cfg.sent.iter().map(|s| &s.1)).any(|o| o.leg.pool == pool_y) {
            continue;
        }
        let Some(y) = view.pools.pool(pool_y) else { continue };
        for (ix, jx) in [(0usize, 1usize), (1, 0)] {
            // the same assets the other way round on y
            let asset = |t: TokenId| view.assets[t.index()];
            let Some(iy) = y.tokens.iter().position(|t| asset(*t) == asset(x.tokens[jx])) else { continue };
            let jy = 1 - iy;
            let (rx, ry) = (x.net_price(ix, jx), y.net_price(iy, jy));
            // a round trip through both pools must gain before anything else is worth computing
            let edge = rx * ry - 1.0;
            if edge.is_nan() || edge <= 0.0 {
                continue;
            }
            // ... and by enough to pay for gas: two constant-product pools of depth V meeting
            // half way earn at most about edge^2 V / 4 (the smaller pool bounds it; skipped only
            // when sixteen times that cannot pay)
            let depth = |e: &crate::pools::PoolEntry| {
                e.tokens.iter().map(|t| view.prices.value(*t, view.balance(e.account, *t))).sum::<f64>()
            };
            let floor = view.gas_fee_value(2 * (view.gas.base_tx + view.gas.swap_constant_product), 0);
            if edge * edge * depth(x).min(depth(y)) * 4.0 < floor.max(cfg.min_profit) {
                continue;
            }
            // bridged: the proceeds must have a way over
            let route = if cfg.bridged {
                let Some(r) = crate::bridges::cheapest(
                    &cfg.bridges,
                    x.tokens[jx],
                    y.tokens[iy],
                    0,
                    cfg.capital_cost_bps_per_hour,
                ) else {
                    continue;
                };
                Some(r)
            } else {
                None
            };
            let Some(q) = meeting_amount(&x.pool, ix, jx, &y.pool, iy, jy, rx, ry) else { continue };
            // capital: what it can sell here, and (inventory) what it can pay there
            let mut q = q.min(available(x.tokens[ix]));
            let cap_y = available(y.tokens[iy]);
            if route.is_none() && y.pool.quote_exact_out(iy, jy, q).map_or(true, |c| c.amount_in > cap_y) {
                q = q.min(y.pool.quote_exact_in(iy, jy, cap_y).map_or(0, |c| c.amount_out));
            }
            if q == 0 {
                continue;
            }
            let (Ok(first), Ok(second)) = (x.pool.quote_exact_in(ix, jx, q), y.pool.quote_exact_out(iy, jy, q)) else {
                continue;
            };
            if first.amount_out == 0 || first.amount_in < q {
                continue;
            }
            let gas_x = view.gas.base_tx + view.hop_gas(x, first.ticks_crossed);
            let gas_y = view.gas.base_tx + view.hop_gas(y, second.ticks_crossed);
            let (base_y, native_y) = chain_gas.get(chain_y.index()).copied().unwrap_or((0, view.native));
            let gas_y_value = view
                .prices
                .value(native_y, u128::from(gas_y).saturating_mul(base_y.saturating_add(cfg.priority_fee_wei)));
            let mut profit = view.prices.value(x.tokens[jx], first.amount_out)
                - view.prices.value(y.tokens[iy], second.amount_in)
                - view.gas_fee_value(gas_x, cfg.priority_fee_wei)
                - gas_y_value;
            let send = route.map(|(mut send, cost_bps)| {
                // the bridge's fee and the time in transit, and the transfer's gas here
                profit -= view.prices.value(x.tokens[jx], first.amount_out) * cost_bps / 1e4
                    + view.gas_fee_value(view.gas.base_tx + view.gas.bridge_send, cfg.priority_fee_wei);
                // what the swap is sure to bring, not more
                send.amount = first.amount_out;
                send
            });
            if profit <= cfg.min_profit || profit <= 0.0 || best.as_ref().is_some_and(|b| b.0 >= profit) {
                continue;
            }
            let leg_x = Leg { pool: x.id, i: ix as u8, j: jx as u8, token_in: x.tokens[ix], token_out: x.tokens[jx] };
            let leg_y = Leg { pool: pool_y, i: iy as u8, j: jy as u8, token_in: y.tokens[iy], token_out: y.tokens[jy] };
            let sell_in = send.as_ref().map(|s| s.amount);
            let owed = OwedLeg { chain: chain_y, leg: leg_y, amount_out: q, parent: None, sell_in };
            best = Some((profit, (leg_x, first, owed, send)));
        }
    }
    best.map(|(_, pair)| pair)
}

/// The amount to sell on `x` (i -> j) and buy back on `y` (i' -> j', the same assets the other
/// way) that brings both pools' net marginal rates to one meeting rate: past it, the next unit
/// earns less on `x` than it costs on `y`. Bisection on the meeting rate's logarithm between the
/// two pools' rates `rx` and `1 / ry`.
#[expect(clippy::too_many_arguments, reason = "two pools, two directions, two rates")]
fn meeting_amount(
    x: &meshsim_math::Pool,
    ix: usize,
    jx: usize,
    y: &meshsim_math::Pool,
    iy: usize,
    jy: usize,
    rx: f64,
    ry: f64,
) -> Option<u128> {
    // sold on x down to rate m; bought on y (paying j-asset) until its rate reaches 1/m
    let sold = |m: f64| x.input_to_price(ix, jx, m).ok();
    let bought = |m: f64| {
        let paid = y.input_to_price(iy, jy, 1.0 / m).ok()?;
        if paid == 0 {
            return Some(0);
        }
        y.quote_exact_in(iy, jy, paid).ok().map(|q| q.amount_out)
    };
    let (mut lo, mut hi) = (libm::log(1.0 / ry), libm::log(rx));
    // to a millionth of the rate: finer than fees and impact can tell apart
    while hi - lo > 1e-6 {
        let mid = 0.5 * (lo + hi);
        let m = libm::exp(mid);
        // more sold than bought at m: the meeting rate is higher
        if sold(m)? > bought(m)? { lo = mid } else { hi = mid }
    }
    let m = libm::exp(hi);
    Some(sold(m)?.min(bought(m)?))
}

/// Refills: a token of another chain below `refill_below` of its start (counting transfers on
/// their way) is topped up to its start from this chain's token of the same asset, which gives
/// down to halfway between that share and its own start, through the cheapest bridge by fee and
/// latency.
fn refill<B: PoolBook + ?Sized>(
    view: &MarketView<'_, B>,
    me: &AgentMeta,
    cfg: &mut CrossChainArb,
    bridges: &BridgeView,
    available: &mut impl FnMut(TokenId) -> u128,
    out: &mut Vec<Tx>,
) {
    let genesis_of = |t: TokenId| cfg.genesis.iter().find(|(x, _)| *x == t).map_or(0, |(_, v)| *v);
    let transit = |t: TokenId| bridges.in_transit.iter().filter(|(x, _)| *x == t).map(|(_, v)| *v).sum::<u128>();
    let mut sends: Vec<(BridgeSend, f64)> = Vec::new();
    for b in cfg.bridges.iter().filter(|b| !bridges.halted.contains(&b.id)) {
        for (k, &(t0, t1)) in b.tokens.iter().enumerate() {
            for (from, to, direction) in [(t0, t1, Direction::Out), (t1, t0, Direction::Back)] {
                let source = if direction == Direction::Out { b.chains.0 } else { b.chains.1 };
                if source != view.chain {
                    continue;
                }
                let (start_to, start_from) = (genesis_of(to), genesis_of(from));
                let have_to = view.balance(me.account, to).saturating_add(transit(to));
                if start_to == 0 || (have_to as f64) >= cfg.refill_below * start_to as f64 {
                    continue;
                }
                let floor = (start_from as f64 * (1.0 + cfg.refill_below) / 2.0) as u128;
                let surplus = available(from).saturating_sub(floor);
                let amount = (start_to - have_to.min(start_to)).min(surplus);
                // not worth a transfer's gas
                if view.prices.value(from, amount) < 50.0 * view.gas_fee_value(view.gas.bridge_send, 0).max(1e-9) {
                    continue;
                }
                let (speed, cost) = crate::bridges::bridge_cost(b, direction, cfg.capital_cost_bps_per_hour);
                let send = BridgeSend { bridge: b.id, pair: k as u8, direction, speed, amount };
                // the cheapest bridge for this token
                match sends.iter_mut().find(|(s, _)| bridge_tokens(&cfg.bridges, s) == Some((from, to))) {
                    Some(best) if best.1 <= cost => {}
                    Some(best) => *best = (send, cost),
                    None => sends.push((send, cost)),
                }
            }
        }
    }
    for (send, _) in sends {
        let Some((from, _)) = bridge_tokens(&cfg.bridges, &send) else { continue };
        if available(from) < send.amount {
            continue;
        }
        let seq = cfg.next_seq;
        cfg.next_seq = cfg.next_seq.wrapping_add(1);
        out.push(Tx::new(
            Sender::Agent(me.id),
            seq,
            TxKind::Bridge,
            cfg.priority_fee_wei,
            Action::Bridge(send),
            view.block,
        ));
    }
}

/// (token sent, token delivered) of a send.
fn bridge_tokens(bridges: &[BridgeSpec], s: &BridgeSend) -> Option<(TokenId, TokenId)> {
    let &(a, b) = bridges.iter().find(|b| b.id == s.bridge)?.tokens.get(usize::from(s.pair))?;
    Some(if s.direction == Direction::Out { (a, b) } else { (b, a) })
}

/// Decide phase: each cross-chain arbitrageur with a pool on the active chain plans its block.
pub(super) fn decide_cross_chain(
    view: ViewParams,
    bridges: State<(Option<&Bridges>,)>,
    mut agents: Fresh<(&AgentMeta, &mut CrossChainArb, &mut PendingTxs)>,
) {
    let (bridges,) = shared(bridges);
    let chain_gas: Vec<(u128, TokenId)> = view.chains().list.iter().map(|c| (c.gas.base_fee_wei, c.native)).collect();
    let mut seen = BridgeView::default();
    seen.halted.extend(bridges.iter().flat_map(|b| &b.list).filter(|b| b.halted).map(|b| b.id));
    view.with_view(|v| {
        for (me, mut cfg, mut pending) in &mut agents {
            if !cfg.chains.contains(&v.chain) {
                continue;
            }
            seen.in_transit.clear();
            for b in bridges.iter().flat_map(|b| &b.list) {
                for p in &b.pairs {
                    for t in p.model.transfers() {
                        if p.who.get(&t.id).is_some_and(|w| w.sender == Sender::Agent(me.id)) {
                            seen.in_transit.push((p.ends(t.direction).1, t.amount));
                        }
                    }
                }
            }
            plan_cross_chain(v, me, &mut cfg, &chain_gas, &seen, &mut pending.0);
        }
    });
}

/// Account phase: a first leg included owes its second; a second leg that failed is owed again.
pub(super) fn collect_legs(receipts: State<(&Receipts,)>, mut agents: Fresh<(&AgentMeta, &mut CrossChainArb)>) {
    let (receipts,) = shared(receipts);
    for (me, mut cfg) in &mut agents {
        if cfg.sent.is_empty() {
            continue;
        }
        for r in receipts.items.iter().filter(|r| r.tx.sender == Sender::Agent(me.id)) {
            let Some(k) = cfg.sent.iter().position(|s| s.0 == r.tx.seq) else { continue };
            let (_, mut leg, first) = cfg.sent.swap_remove(k);
            if first && r.succeeded() {
                leg.parent = Some(r.tx.id);
                cfg.owed.push(leg);
            } else if !first && !r.succeeded() {
                cfg.owed.push(leg);
            }
        }
    }
}
