//! Order routing through the mesh (vaults, liquidators): the best single pool or two-pool path, and a split across the
//! two best routes when it pays more. Candidate paths are enumerated once per token pair.

use std::collections::BTreeMap;

use bevy_ecs::prelude::*;
use meshsim_scenario::{PoolId, TokenId};
use smallvec::SmallVec;

use crate::pools::{PoolBook, PoolEntry};
use crate::tx::{Leg, Path};

/// The pieces an order is routed in: one path, or a split across two.
pub type Routes = SmallVec<[Routed; 2]>;

/// Most candidate paths kept per token pair.
pub const MAX_PATHS: usize = 64;

/// Candidate paths for every ordered token pair vaults trade.
#[derive(Component, Debug, Clone, Default)]
pub struct RouteTable {
    paths: BTreeMap<(TokenId, TokenId), Vec<Path>>,
}

impl RouteTable {
    /// Enumerates direct and two-pool paths between every pair of `tokens`.
    pub fn new(pools: &[PoolEntry], tokens: &[TokenId], max_hops: u8) -> Self {
        let hop = |p: &PoolEntry, a: TokenId, b: TokenId| -> Option<Leg> {
            Some(Leg { pool: p.id, i: p.index_of(a)? as u8, j: p.index_of(b)? as u8, token_in: a, token_out: b })
        };
        let mut paths = BTreeMap::new();
        for &a in tokens {
            for &b in tokens {
                if a == b {
                    continue;
                }
                let mut list: Vec<Path> =
                    pools.iter().filter_map(|p| hop(p, a, b)).map(|l| smallvec::smallvec![l]).collect();
                if max_hops >= 2 {
                    'outer: for p in pools {
                        for m in p.tokens.iter().copied().filter(|m| *m != a && *m != b) {
                            let Some(first) = hop(p, a, m) else { continue };
                            for q in pools.iter().filter(|q| q.id != p.id) {
                                if let Some(second) = hop(q, m, b) {
                                    if list.len() >= MAX_PATHS {
                                        break 'outer;
                                    }
                                    list.push(smallvec::smallvec![first, second]);
                                }
                            }
                        }
                    }
                }
                paths.insert((a, b), list);
            }
        }
        RouteTable { paths }
    }

    /// Candidate paths from `a` to `b`.
    pub fn paths(&self, a: TokenId, b: TokenId) -> &[Path] {
        self.paths.get(&(a, b)).map_or(&[], |v| v.as_slice())
    }
}

/// Output of `amount` through `path` on the current pools; `None` if a hop fails or fills partly.
pub fn path_output<B: PoolBook + ?Sized>(pools: &B, path: &[Leg], amount: u128) -> Option<u128> {
    let mut a = amount;
    for leg in path {
        let q = pools.pool(leg.pool)?.pool.quote_exact_in(leg.i.into(), leg.j.into(), a).ok()?;
        if q.amount_in < a {
            return None;
        }
        a = q.amount_out;
    }
    Some(a)
}

/// The path's marginal rate (output per input, before fees and impact).
pub fn path_marginal<B: PoolBook + ?Sized>(pools: &B, path: &[Leg]) -> f64 {
    path.iter().map(|l| pools.pool(l.pool).map_or(f64::NAN, |e| e.marginal_price(l.i.into(), l.j.into()))).product()
}

/// The largest input up to `amount` whose execution on `path` keeps at least `efficiency` of the
/// marginal rate (fees plus impact within `1 - efficiency`), with its output. Efficiency falls
/// as the input grows, so a bisection finds it.
pub fn fit_to_efficiency<B: PoolBook + ?Sized>(
    pools: &B,
    path: &[Leg],
    amount: u128,
    efficiency: f64,
) -> Option<(u128, u128)> {
    let marginal = path_marginal(pools, path);
    if !(marginal.is_finite() && marginal > 0.0) {
        return None;
    }
    let fits = |a: u128| {
        path_output(pools, path, a)
            .filter(|out| meshsim_math::u128_to_f64(*out) >= efficiency * marginal * meshsim_math::u128_to_f64(a))
    };
    if let Some(out) = fits(amount) {
        return Some((amount, out));
    }
    let (mut lo, mut hi) = (0u128, amount);
    while hi - lo > 1.max(amount >> 20) {
        let mid = lo + (hi - lo) / 2;
        if fits(mid).is_some() { lo = mid } else { hi = mid }
    }
    fits(lo).filter(|_| lo > 0).map(|out| (lo, out))
}

/// One routed piece of an order.
#[derive(Debug, Clone, PartialEq)]
pub struct Routed {
    /// Path.
    pub path: Path,
    /// Input sent down it.
    pub amount_in: u128,
    /// Quoted output.
    pub amount_out: u128,
}

/// The best way to sell `amount` of `a` for `b` through the `venues` (sorted pool ids): the best path, or the best split of the two best
/// paths when they share no pool and the split pays more. Empty when nothing routes.
pub fn route<B: PoolBook + ?Sized>(
    pools: &B,
    table: &RouteTable,
    venues: &[PoolId],
    a: TokenId,
    b: TokenId,
    amount: u128,
    split: bool,
) -> Routes {
    let allowed = |p: &Path| p.iter().all(|l| venues.binary_search(&l.pool).is_ok());
    let mut scored: SmallVec<[(u128, usize); MAX_PATHS]> = table
        .paths(a, b)
        .iter()
        .enumerate()
        .filter(|(_, p)| allowed(p))
        .filter_map(|(k, p)| path_output(pools, p, amount).map(|o| (o, k)))
        .collect();
    // best output first; ties by enumeration order
    scored.sort_unstable_by(|x, y| y.0.cmp(&x.0).then(x.1.cmp(&y.1)));
    let Some(&(best_out, best)) = scored.first() else { return Routes::new() };
    let paths = table.paths(a, b);
    let single: Routes =
        smallvec::smallvec![Routed { path: paths[best].clone(), amount_in: amount, amount_out: best_out }];
    if !split || scored.len() < 2 {
        return single;
    }
    let second = scored[1].1;
    let shares_pool = paths[best].iter().any(|l| paths[second].iter().any(|m| m.pool == l.pool));
    if shares_pool {
        return single;
    }
    let mut chosen = single;
    let mut chosen_out = best_out;
    for quarter in 1..4u128 {
        let a1 = amount / 4 * quarter;
        let a2 = amount - a1;
        if let (Some(o1), Some(o2)) = (path_output(pools, &paths[best], a1), path_output(pools, &paths[second], a2))
            && o1 + o2 > chosen_out
        {
            chosen_out = o1 + o2;
            chosen = smallvec::smallvec![
                Routed { path: paths[best].clone(), amount_in: a1, amount_out: o1 },
                Routed { path: paths[second].clone(), amount_in: a2, amount_out: o2 },
            ];
        }
    }
    chosen
}
