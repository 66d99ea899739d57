//! Cyclic arbitrage across the mesh: every cycle of 2 or 3 pools is enumerated once at setup and
//! indexed by pool; each block only the cycles through pools touched in the previous block are
//! re-priced, so the cost follows activity rather than the number of cycles.

use bevy_ecs::prelude::*;

use super::{AgentMeta, MarketView, ViewParams};
use crate::pools::{PoolBook, PoolEntry};
use crate::tx::{Leg, PendingTxs, Tx, TxKind};

/// Most cycles one agent tracks (keeps a dense mesh bounded).
pub const MAX_CYCLES: usize = 200_000;

/// A cyclic arbitrageur: configuration and its cycle index.
#[derive(Component, Debug, Clone)]
pub struct CycleArb {
    /// Minimum profit net of gas, numeraire.
    pub min_profit: f64,
    /// Priority fee bid, wei per gas.
    pub priority_fee_wei: u128,
    /// Cycles; each starts and ends in the same token.
    pub cycles: Vec<Vec<Leg>>,
    /// Cycle indices through each pool.
    pub by_pool: Vec<Vec<u32>>,
}

impl CycleArb {
    /// Enumerates the cycles of up to `max_len` distinct pools (2 or 3).
    pub fn new(pools: &[PoolEntry], max_len: u8, min_profit: f64, priority_fee_wei: u128) -> Self {
        let mut edges = Vec::new();
        for p in pools {
            for i in 0..p.tokens.len() {
                for j in 0..p.tokens.len() {
                    if i != j {
                        edges.push(Leg {
                            pool: p.id,
                            i: i as u8,
                            j: j as u8,
                            token_in: p.tokens[i],
                            token_out: p.tokens[j],
                        });
                    }
                }
            }
        }
        let mut cycles: Vec<Vec<Leg>> = Vec::new();
        // canonical rotation: the first leg has the smallest pool id of the cycle
        'two: for a in &edges {
            for b in &edges {
                if cycles.len() >= MAX_CYCLES {
                    break 'two;
                }
                if b.pool > a.pool && b.token_in == a.token_out && b.token_out == a.token_in {
                    cycles.push(vec![*a, *b]);
                }
            }
        }
        if max_len >= 3 {
            'three: for a in &edges {
                for b in edges.iter().filter(|b| {
                    b.pool > a.pool && b.token_in == a.token_out && b.token_out != a.token_in
                }) {
                    for c in edges.iter().filter(|c| {
                        c.pool > a.pool
                            && c.pool != b.pool
                            && c.token_in == b.token_out
                            && c.token_out == a.token_in
                    }) {
                        if cycles.len() >= MAX_CYCLES {
                            break 'three;
                        }
                        cycles.push(vec![*a, *b, *c]);
                    }
                }
            }
        }
        let mut by_pool = vec![Vec::new(); pools.len()];
        for (k, c) in cycles.iter().enumerate() {
            for leg in c {
                if let Some(list) = by_pool.get_mut(leg.pool.index())
                    && list.last() != Some(&(k as u32))
                {
                    list.push(k as u32);
                }
            }
        }
        CycleArb {
            min_profit,
            priority_fee_wei,
            cycles,
            by_pool,
        }
    }
}

/// Output of `amount_in` pushed through `legs`, or `None` if any hop fails.
fn path_out<B: PoolBook + ?Sized>(pools: &B, legs: &[Leg], amount_in: u128) -> Option<(u128, u32)> {
    let mut a = amount_in;
    let mut crossed = 0;
    for leg in legs {
        let q = pools
            .pool(leg.pool)?
            .pool
            .quote_exact_in(leg.i.into(), leg.j.into(), a)
            .ok()?;
        if q.amount_in < a {
            return None; // partial fill: liquidity ran out
        }
        a = q.amount_out;
        crossed += q.ticks_crossed;
    }
    Some((a, crossed))
}

/// The input that maximises `out(a) - a` (concave) within `[0, cap]`: doubling bracket, then
/// golden-section search down to a millionth of the size.
fn best_input<B: PoolBook + ?Sized>(pools: &B, legs: &[Leg], cap: u128) -> Option<(u128, u128)> {
    let gain = |a: u128| path_out(pools, legs, a).map_or(i128::MIN, |(o, _)| o as i128 - a as i128);
    let mut hi = (cap / 1_000_000).max(1).min(cap);
    let mut prev = gain(hi);
    if prev <= 0 {
        return None;
    }
    loop {
        let next = hi.saturating_mul(2).min(cap);
        if next == hi {
            break;
        }
        let g = gain(next);
        hi = next;
        if g < prev {
            break;
        }
        prev = g;
    }
    let (mut lo, mut hi) = (0u128, hi);
    const INV_PHI: f64 = 0.618_033_988_749_895;
    while hi - lo > (hi >> 20).max(2) {
        let span = (hi - lo) as f64;
        let m1 = hi - (span * INV_PHI) as u128;
        let m2 = lo + (span * INV_PHI) as u128;
        if gain(m1) < gain(m2) {
            lo = m1;
        } else {
            hi = m2;
        }
    }
    let a = lo + (hi - lo) / 2;
    let (out, _) = path_out(pools, legs, a)?;
    (out > a).then_some((a, out))
}

/// Pure policy: re-price cycles through recently touched pools; send the most profitable one.
pub fn plan_cycles<B: PoolBook + ?Sized>(
    view: &MarketView<'_, B>,
    me: &AgentMeta,
    cfg: &CycleArb,
) -> Option<Tx> {
    let mut seen = vec![false; cfg.cycles.len()];
    let mut best: Option<(f64, Tx)> = None;
    for (pool, dirty) in view.dirty.iter().enumerate() {
        if !dirty {
            continue;
        }
        for &k in cfg.by_pool.get(pool).map_or(&[][..], |v| v.as_slice()) {
            if std::mem::replace(&mut seen[k as usize], true) {
                continue;
            }
            let cycle = &cfg.cycles[k as usize];
            // quick test: product of net marginal prices above one
            let product: f64 = cycle
                .iter()
                .map(|l| {
                    view.pools
                        .pool(l.pool)
                        .map_or(0.0, |e| e.pool.net_price(l.i.into(), l.j.into()))
                })
                .product();
            if !(product > 1.0 + 1e-9) {
                continue;
            }
            // start from the cycle token the agent holds most value of
            let start = (0..cycle.len())
                .max_by(|a, b| {
                    let v = |k: usize| {
                        view.prices.value(
                            cycle[k].token_in,
                            view.balance(me.account, cycle[k].token_in),
                        )
                    };
                    v(*a).total_cmp(&v(*b)).then(b.cmp(a))
                })
                .unwrap_or(0);
            let mut legs = cycle.clone();
            legs.rotate_left(start);
            let token = legs[0].token_in;
            let cap = view.balance(me.account, token);
            let Some((a, out)) = best_input(view.pools, &legs, cap) else {
                continue;
            };
            let crossed = path_out(view.pools, &legs, a).map_or(0, |(_, c)| c);
            let gas_units = view.gas.base_tx
                + legs
                    .iter()
                    .filter_map(|l| view.pools.pool(l.pool))
                    .map(|e| view.hop_gas(e, 0))
                    .sum::<u64>()
                + u64::from(crossed) * view.gas.tick_cross;
            let profit = view.prices.value(token, out - a)
                - view.gas_fee_value(gas_units, cfg.priority_fee_wei);
            if profit > cfg.min_profit
                && profit > 0.0
                && best.as_ref().is_none_or(|(p, _)| profit > *p)
            {
                let tx = Tx {
                    sender: me.id,
                    seq: 0,
                    kind: TxKind::CycleArbitrage,
                    priority_fee_wei: cfg.priority_fee_wei,
                    legs,
                    amount_in: a,
                    min_out: out,
                    hedge: false,
                };
                best = Some((profit, tx));
            }
        }
    }
    let (_, tx) = best?;
    let fee = view.gas_fee_wei(
        view.gas.base_tx + 3 * view.gas.swap_concentrated,
        cfg.priority_fee_wei,
    );
    (view.balance(me.account, view.native) >= fee).then_some(tx)
}

/// Decide phase: each cyclic arbitrageur plans at most one transaction.
pub fn decide_cycles(
    view: ViewParams,
    mut agents: Query<(&AgentMeta, &CycleArb, &mut PendingTxs)>,
) {
    view.with_view(|v| {
        for (meta, cfg, mut pending) in &mut agents {
            pending.0.extend(plan_cycles(v, meta, cfg));
        }
    });
}
