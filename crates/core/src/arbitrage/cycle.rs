//! Cyclic arbitrage across the mesh: every cycle of 2 or 3 pools is enumerated once at setup and
//! indexed by pool; each block only the cycles through pools touched in the previous block are
//! re-priced, so the cost follows activity rather than the number of cycles.

use crate::engine::Fresh;
use bevy_ecs::prelude::*;
use smallvec::SmallVec;

use crate::agents::{AgentMeta, MarketView, PendingTxs, ViewParams};
use crate::pools::{PoolBook, PoolEntry};
use crate::tx::{Cause, Leg, Path, Sender, Swap, Tx, TxId, TxKind};

/// Cycles fully solved per agent per block (the best-scored candidates).
pub const SOLVES_PER_BLOCK: usize = 4;

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
    pub cycles: Vec<Path>,
    /// Cycle indices through each pool.
    pub by_pool: Vec<Vec<u32>>,
}

impl CycleArb {
    /// Enumerates the cycles of up to `max_len` distinct pools (2 or 3) of `chain` (one
    /// transaction never spans chains).
    pub fn new(
        pools: &[PoolEntry],
        chain: crate::chain::ChainId,
        max_len: u8,
        min_profit: f64,
        priority_fee_wei: u128,
    ) -> Self {
        let mut edges = Vec::new();
        for p in pools.iter().filter(|p| p.chain == chain) {
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
        let mut cycles: Vec<Path> = Vec::new();
        // canonical rotation: the first leg has the smallest pool id of the cycle
        'two: for a in &edges {
            for b in &edges {
                if cycles.len() >= MAX_CYCLES {
                    break 'two;
                }
                if b.pool > a.pool && b.token_in == a.token_out && b.token_out == a.token_in {
                    cycles.push(smallvec::smallvec![*a, *b]);
                }
            }
        }
        if max_len >= 3 {
            'three: for a in &edges {
                for b in
                    edges.iter().filter(|b| b.pool > a.pool && b.token_in == a.token_out && b.token_out != a.token_in)
                {
                    for c in edges.iter().filter(|c| {
                        c.pool > a.pool && c.pool != b.pool && c.token_in == b.token_out && c.token_out == a.token_in
                    }) {
                        if cycles.len() >= MAX_CYCLES {
                            break 'three;
                        }
                        cycles.push(smallvec::smallvec![*a, *b, *c]);
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
        CycleArb { min_profit, priority_fee_wei, cycles, by_pool }
    }
}

/// Output of `amount_in` pushed through `legs`, or `None` if any hop fails.
fn path_out<B: PoolBook + ?Sized>(pools: &B, legs: &[Leg], amount_in: u128) -> Option<(u128, u32)> {
    let mut a = amount_in;
    let mut crossed = 0;
    for leg in legs {
        let q = pools.pool(leg.pool)?.pool.quote_exact_in(leg.i.into(), leg.j.into(), a).ok()?;
        if q.amount_in < a {
            return None; // partial fill: liquidity ran out
        }
        a = q.amount_out;
        crossed += q.ticks_crossed;
    }
    Some((a, crossed))
}

/// The input that maximises `out(a) - a` within `[0, cap]`: where the path's marginal rate (the
/// product of each hop's marginal rate at its own input) falls to one.
///
/// `seed`, the float model's size for the path, starts the search close; without one it starts
/// from the constant-product rule of thumb.
fn best_input<B: PoolBook + ?Sized>(
    pools: &B,
    legs: &[Leg],
    cap: u128,
    depth_in_start: f64,
    seed: Option<f64>,
) -> Option<(u128, u128)> {
    let rate = |a: u128| -> Option<f64> {
        let mut x = a;
        let mut r = 1.0;
        for (k, leg) in legs.iter().enumerate() {
            let pool = &pools.pool(leg.pool)?.pool;
            if k + 1 < legs.len() {
                // the next hop's input and this hop's rate from one swap computation
                let (out, rate) = pool.out_and_rate_after(leg.i.into(), leg.j.into(), x)?;
                r *= rate;
                x = out;
            } else {
                r *= pool.marginal_rate_after(leg.i.into(), leg.j.into(), x)?;
            }
        }
        Some(r)
    };
    let edge = rate(0)? - 1.0;
    if cap == 0 || edge <= 0.0 {
        return None;
    }
    let a = match seed.filter(|s| s.is_finite() && *s >= 1.0) {
        Some(seed) => {
            // good to a few per cent: the bracket's first step is a sixteenth of it
            let guess = (seed as u128).clamp(1, cap);
            meshsim_math::solve_rate_within(guess, (guess >> 4).max(1), (guess >> 8).max(1), 1.0, rate)
        }
        None => {
            // a constant-product path of depth L (in the start token) is best traded at about edge L / 4
            let guess = ((edge * depth_in_start / 4.0) as u128).clamp(1, cap);
            // sizes are resolved to 1/256 of the guess: profit is flat at its maximum
            meshsim_math::solve_rate(guess, (guess >> 8).max(1), 1.0, rate)
        }
    }
    .min(cap);
    let (out, _) = path_out(pools, legs, a)?;
    (out > a).then_some((a, out))
}

/// The float model of a cycle's trade (see [`path_model`]).
#[derive(Debug, Clone, Copy)]
struct PathModel {
    /// `R(0) - 1`: the product of the hops' net rates, less one.
    edge: f64,
    /// The first hop's trade to the price at which it alone closes the edge, in the start token.
    first_hop: f64,
    /// The model's size for the whole path, in the start token.
    seed: f64,
}

/// The float model of trading a cycle to its optimum, `None` when a hop's model has no answer.
/// Each hop's trade to the price at which it alone would close the edge (`1 / prod of the others'
/// rates`) is taken back to the start token at the rates before it; combined as resistances in
/// series (`1 / a = sum 1 / a_k`, exact for rates that fall linearly with the size) they seed the
/// exact search, and the first of them bounds what the cycle can gain ([`gain_bound`]).
fn path_model<B: PoolBook + ?Sized>(
    view: &MarketView<'_, B>,
    legs: &[Leg],
    scratch: &CycleScratch,
) -> Option<PathModel> {
    let n_tokens = |id: meshsim_scenario::PoolId| view.pools.pool(id).map_or(0, |e| e.tokens.len());
    let nets: SmallVec<[f64; 3]> = legs.iter().map(|l| scratch.net(&n_tokens, l)).collect();
    let all: f64 = nets.iter().product();
    let (mut before, mut inverse, mut first_hop) = (1.0, 0.0, f64::NAN);
    for (k, (leg, net)) in legs.iter().zip(&nets).enumerate() {
        let target = net / all;
        let a = view.pools.pool(leg.pool)?.pool.input_to_price_estimate(leg.i.into(), leg.j.into(), target);
        if !(a.is_finite() && a > 0.0) {
            return None;
        }
        if k == 0 {
            first_hop = a;
        }
        inverse += before / a;
        before *= net;
    }
    (all.is_finite() && first_hop.is_finite()).then_some(PathModel { edge: all - 1.0, first_hop, seed: 1.0 / inverse })
}

/// An upper bound, in numeraire before gas, of what trading `legs` (a cycle) can gain with at
/// most `cap` of its start token; infinite when the float model has no answer. Each hop's rate
/// falls as its input grows, so the path's rate `R(a)` stays below the first hop's rate at `a`
/// times the other hops' rates at zero: the optimum `a*` (where `R` falls to one) comes no later
/// than the first hop's trade to the price `1 / (r_2(0) ... r_k(0))`, which the float model
/// sizes. The gain `out(a) - a` is at most `(R(0) - 1) a` for any `a <= a*`; 1 % on top covers
/// the model's error (parts in 1e10).
fn gain_bound<B: PoolBook + ?Sized>(
    view: &MarketView<'_, B>,
    legs: &[Leg],
    model: Option<PathModel>,
    cap: u128,
) -> f64 {
    let (Some(first), Some(model)) = (legs.first(), model) else {
        return f64::INFINITY;
    };
    let a = model.first_hop.min(meshsim_math::u128_to_f64(cap));
    model.edge * a * 1.01 * view.prices.per_base_unit[first.token_in.index()]
}

/// Per-block tables every cyclic arbitrageur reads: the net price of each pool pair and each
/// pool's value. Pure functions of the view, computed once per block.
#[derive(Debug, Default)]
pub struct CycleScratch {
    /// The block (of its chain) the scratch was filled in.
    block: (crate::chain::ChainId, u64),
    offsets: Vec<usize>,
    net: Vec<f64>,
    value: Vec<f64>,
    seen: Vec<bool>,
}

impl CycleScratch {
    fn refresh<B: PoolBook + ?Sized>(&mut self, view: &MarketView<'_, B>) {
        if self.block == (view.chain, view.block) && !self.offsets.is_empty() {
            return;
        }
        self.block = (view.chain, view.block);
        self.offsets.clear();
        self.net.clear();
        self.value.clear();
        for k in 0..view.pools.len() {
            self.offsets.push(self.net.len());
            let Some(e) = view.pools.pool(meshsim_scenario::PoolId(k as u32)) else {
                self.value.push(0.0);
                continue;
            };
            let n = e.tokens.len();
            for i in 0..n {
                for j in 0..n {
                    self.net.push(if i == j { 1.0 } else { e.net_price(i, j) });
                }
            }
            self.value.push(e.tokens.iter().map(|t| view.prices.value(*t, view.balance(e.account, *t))).sum());
        }
    }

    fn net(&self, view_pools: &impl Fn(meshsim_scenario::PoolId) -> usize, leg: &Leg) -> f64 {
        let n = view_pools(leg.pool);
        self.net[self.offsets[leg.pool.index()] + usize::from(leg.i) * n + usize::from(leg.j)]
    }
}

/// Pure policy: re-price cycles through recently touched pools; send the most profitable one.
/// A cycle is only solved when its edge could pay for gas even on pools a hundred times deeper
/// than their value suggests (concentrated liquidity): a loose bound, not a guess.
pub fn plan_cycles<B: PoolBook + ?Sized>(
    view: &MarketView<'_, B>,
    me: &AgentMeta,
    cfg: &CycleArb,
    scratch: &mut CycleScratch,
) -> Option<Tx> {
    scratch.refresh(view);
    scratch.seen.clear();
    scratch.seen.resize(cfg.cycles.len(), false);
    let n_tokens = |id: meshsim_scenario::PoolId| view.pools.pool(id).map_or(0, |e| e.tokens.len());
    let gas_floor = view
        .gas_fee_value(view.gas.base_tx + 2 * view.gas.swap_constant_product, cfg.priority_fee_wei)
        .max(cfg.min_profit);
    // score the candidates, then solve only the most promising few: each solve prices a whole
    // path many times, and a bot has a block's time, not unlimited time
    let mut candidates: SmallVec<[(f64, u32); SOLVES_PER_BLOCK]> = SmallVec::new();
    for (pool, dirty) in view.dirty.iter().enumerate() {
        if !dirty {
            continue;
        }
        for &k in cfg.by_pool.get(pool).map_or(&[][..], |v| v.as_slice()) {
            if std::mem::replace(&mut scratch.seen[k as usize], true) {
                continue;
            }
            let cycle = &cfg.cycles[k as usize];
            // product of net marginal prices above one ...
            let edge = cycle.iter().map(|l| scratch.net(&n_tokens, l)).product::<f64>() - 1.0;
            if edge.is_nan() || edge <= 1e-9 {
                continue;
            }
            // ... by enough: a constant-product path of depth V earns at most about edge^2 V / 4
            let depth = cycle.iter().map(|l| scratch.value[l.pool.index()]).fold(f64::INFINITY, f64::min);
            let score = edge * edge * depth / 4.0;
            if score * 100.0 < gas_floor {
                continue;
            }
            let weakest = candidates.iter().enumerate().min_by(|a, b| a.1.0.total_cmp(&b.1.0).then(b.1.1.cmp(&a.1.1)));
            match weakest {
                _ if candidates.len() < SOLVES_PER_BLOCK => candidates.push((score, k)),
                Some((at, (s, _))) if score > *s => candidates[at] = (score, k),
                _ => {}
            }
        }
    }
    let mut best: Option<(f64, Tx)> = None;
    for (_, k) in candidates {
        let cycle = &cfg.cycles[k as usize];
        // start from the cycle token the agent holds most value of
        let start = (0..cycle.len())
            .max_by(|a, b| {
                let v = |k: usize| view.prices.value(cycle[k].token_in, view.balance(me.account, cycle[k].token_in));
                v(*a).total_cmp(&v(*b)).then(b.cmp(a))
            })
            .unwrap_or(0);
        let mut legs = cycle.clone();
        legs.rotate_left(start);
        let token = legs[0].token_in;
        let cap = view.balance(me.account, token);
        let base_gas = view.gas.base_tx
            + legs.iter().filter_map(|l| view.pools.pool(l.pool)).map(|e| view.hop_gas(e, 0)).sum::<u64>();
        // skip a solve whose best case cannot pay: the same decision the exact numbers reach
        let model = path_model(view, &legs, scratch);
        let best_case = gain_bound(view, &legs, model, cap) - view.gas_fee_value(base_gas, cfg.priority_fee_wei);
        if best_case <= cfg.min_profit || best_case <= 0.0 {
            continue;
        }
        let depth = legs.iter().map(|l| scratch.value[l.pool.index()]).fold(f64::INFINITY, f64::min);
        let depth_in_start = depth / view.prices.per_base_unit[token.index()];
        let Some((a, out)) = best_input(view.pools, &legs, cap, depth_in_start, model.map(|m| m.seed)) else {
            continue;
        };
        let crossed = path_out(view.pools, &legs, a).map_or(0, |(_, c)| c);
        let gas_units = base_gas + u64::from(crossed) * view.gas.tick_cross;
        let profit = view.prices.value(token, out - a) - view.gas_fee_value(gas_units, cfg.priority_fee_wei);
        if profit > cfg.min_profit && profit > 0.0 && best.as_ref().is_none_or(|(p, _)| profit > *p) {
            let mut causes: Vec<TxId> = Vec::new();
            for l in &legs {
                causes.extend(view.provenance.arbitrage_cause(l.pool).parents());
            }
            causes.sort_unstable();
            causes.dedup();
            let mut tx = Tx::new(
                Sender::Agent(me.id),
                0,
                TxKind::CycleArbitrage,
                cfg.priority_fee_wei,
                Swap::new(legs, a, out).into(),
                view.block,
            );
            if !causes.is_empty() {
                tx.cause = Cause::Moves(causes.into_iter().take(8).collect());
            }
            best = Some((profit, tx));
        }
    }
    let (_, tx) = best?;
    let fee = view.gas_fee_wei(view.gas.base_tx + 3 * view.gas.swap_concentrated, cfg.priority_fee_wei);
    (view.balance(me.account, view.native) >= fee).then_some(tx)
}

/// Decide phase: each cyclic arbitrageur plans at most one transaction.
pub(super) fn decide_cycles(
    view: ViewParams,
    mut agents: Fresh<(&AgentMeta, &CycleArb, &mut PendingTxs)>,
    mut scratch: Local<CycleScratch>,
) {
    view.with_view(|v| {
        for (meta, cfg, mut pending) in &mut agents {
            if meta.chain != v.chain {
                continue;
            }
            pending.0.extend(plan_cycles(v, meta, cfg, &mut scratch));
        }
    });
}

#[cfg(test)]
mod tests {
    use meshsim_scenario::{AgentId, PoolId};

    use super::*;
    use crate::chain::ChainId;
    use crate::testkit::Market;

    /// mesh.ron with one pool pushed off its neighbours by a trade of `share` of its balance.
    fn pushed(pool: usize, share: u128) -> Market {
        let mut m = Market::of("mesh.ron");
        let e = &mut m.pools[pool];
        let amount = m.ledger.balance(e.account, e.tokens[0]) / share;
        let mut p = e.pool.clone();
        p.swap_exact_in(0, 1, amount).expect("swaps");
        e.set_pool(p);
        m.dirty[pool] = true;
        m
    }

    #[test]
    fn the_screen_bounds_what_the_exact_cycle_gains() {
        let (mut checked, mut worst) = (0, 1.0f64);
        for pool in 0..22 {
            for share in [30, 300, 3_000] {
                let m = pushed(pool, share);
                let view = m.view(1);
                let mut scratch = CycleScratch::default();
                scratch.refresh(&view);
                let cfg = CycleArb::new(&m.pools, ChainId(0), 3, 0.0, 0);
                for &k in &cfg.by_pool[pool] {
                    let legs = &cfg.cycles[k as usize];
                    let cap = 1u128 << 100;
                    let Some((a, out)) = best_input(view.pools, legs, cap, 1e24, None) else { continue };
                    let gain = view.prices.value(legs[0].token_in, out - a);
                    let model = path_model(&view, legs, &scratch);
                    let bound = gain_bound(&view, legs, model, cap);
                    assert!(gain <= bound, "cycle {k} through pool {pool}: gains {gain} above {bound}");
                    // the float seed lands near the optimum, and the search from it makes no less
                    let seed = model.expect("a path model").seed;
                    let (seeded, seeded_out) = best_input(view.pools, legs, cap, 1e24, Some(seed)).expect("solves");
                    let ratio = seed / seeded as f64;
                    worst = worst.max(ratio.max(1.0 / ratio));
                    let made = |a: u128, out: u128| view.prices.value(legs[0].token_in, out - a);
                    assert!(made(seeded, seeded_out) >= gain * 0.999, "cycle {k}: seeded {seeded} against {a}");
                    checked += 1;
                }
            }
        }
        assert!(checked > 50, "only {checked} profitable cycles to check");
        assert!(worst < 1.2, "a seed {worst} times off the optimum");
    }

    #[test]
    fn it_takes_a_cycle_that_pays_and_no_less_than_its_minimum() {
        let me = |m: &Market| AgentMeta {
            id: AgentId(0),
            name: "cycler".into(),
            account: m.layout.agent(AgentId(0)),
            chain: ChainId(0),
            label: "cycle arbitrageur",
        };
        // v2 ETH/USDC pushed 3 % off: a cycle through it pays, starts and ends in one token
        let m = pushed(0, 70);
        let mut cfg = CycleArb::new(&m.pools, ChainId(0), 3, 5.0, 0);
        let tx = plan_cycles(&m.view(1), &me(&m), &cfg, &mut CycleScratch::default()).expect("a cycle");
        let swap = tx.swap().expect("a swap");
        assert!(swap.legs.iter().any(|l| l.pool == PoolId(0)));
        assert_eq!(swap.legs[0].token_in, swap.legs[swap.legs.len() - 1].token_out);
        assert!(swap.min_out > swap.amount_in, "{} for {}", swap.min_out, swap.amount_in);
        // a minimum profit above anything on offer stops it
        cfg.min_profit = 1e12;
        assert!(plan_cycles(&m.view(1), &me(&m), &cfg, &mut CycleScratch::default()).is_none());
    }
}
