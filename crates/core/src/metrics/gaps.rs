//! Price gaps between chains: for every two pools of the same two assets on different chains,
//! the absolute log gap between their prices, in basis points, weighted by how long it held
//! (seconds), in a histogram of one-basis-point bins for its quantiles.

use bevy_ecs::prelude::*;
use meshsim_scenario::{PoolId, Scenario};

use crate::chain::Chains;
use crate::engine::{State, shared};
use crate::pools::Pools;

/// Bins of one basis point; the last holds everything from `BINS - 1` bp up.
pub const BINS: usize = 2_001;

/// Gaps between pools of one pair on different chains.
#[derive(Component, Debug, Clone, Default)]
pub struct ChainGaps {
    /// By pair of pools.
    pub pairs: Vec<GapPair>,
}

/// One pair of pools: whether the second is quoted the other way round, and its histogram.
#[derive(Debug, Clone, PartialEq)]
pub struct GapPair {
    /// The two pools.
    pub pools: (PoolId, PoolId),
    /// The second pool lists the assets in the other order.
    pub inverted: bool,
    /// Seconds spent at each gap, by whole basis point.
    pub seconds: Vec<f64>,
    /// Seconds measured.
    pub total: f64,
    /// Time integral of the gap, bp x s.
    pub integral: f64,
    /// Largest gap seen, bp.
    pub max: f64,
}

impl GapPair {
    /// Time-weighted mean gap, bp.
    pub fn mean(&self) -> f64 {
        if self.total > 0.0 { self.integral / self.total } else { 0.0 }
    }

    /// The gap below which a share `q` of the time was spent, bp (the bin's upper edge).
    pub fn quantile(&self, q: f64) -> f64 {
        let target = q * self.total;
        let mut acc = 0.0;
        for (k, s) in self.seconds.iter().enumerate() {
            acc += s;
            if acc >= target && acc > 0.0 {
                return ((k + 1) as f64).min(self.max.max(0.0));
            }
        }
        self.max
    }

    /// Share of the time the gap was at least `bps`.
    pub fn share_above(&self, bps: usize) -> f64 {
        if self.total <= 0.0 {
            return 0.0;
        }
        self.seconds.iter().skip(bps.min(BINS)).sum::<f64>() / self.total
    }
}

impl ChainGaps {
    /// Every pair of two-token pools of the same two assets on different chains.
    pub fn new(s: &Scenario) -> Self {
        let assets =
            |p: &meshsim_scenario::PoolSpec| -> Option<(meshsim_scenario::TokenId, meshsim_scenario::TokenId)> {
                (p.tokens.len() == 2)
                    .then(|| (s.tokens[p.tokens[0].index()].asset, s.tokens[p.tokens[1].index()].asset))
            };
        let mut pairs = Vec::new();
        for (i, a) in s.pools.iter().enumerate() {
            for b in &s.pools[i + 1..] {
                if s.pool_chain(a.id) == s.pool_chain(b.id) {
                    continue;
                }
                let (Some(x), Some(y)) = (assets(a), assets(b)) else { continue };
                let inverted = x == (y.1, y.0);
                if x == y || inverted {
                    pairs.push(GapPair {
                        pools: (a.id, b.id),
                        inverted,
                        seconds: vec![0.0; BINS],
                        total: 0.0,
                        integral: 0.0,
                        max: 0.0,
                    });
                }
            }
        }
        ChainGaps { pairs }
    }
}

/// Begin phase: the gaps that held since the previous block of any chain, for that long.
pub(super) fn measure_gaps(state: State<(&Chains, &Pools, &mut ChainGaps)>) {
    let (chains, pools, mut gaps) = shared(state);
    let dt = chains.elapsed;
    if dt <= 0.0 {
        return;
    }
    for g in &mut gaps.pairs {
        let (Some(a), Some(b)) = (pools.entries.get(g.pools.0.index()), pools.entries.get(g.pools.1.index())) else {
            continue;
        };
        let pb = if g.inverted { 1.0 / b.whole_price() } else { b.whole_price() };
        let gap = (libm::log(a.whole_price() / pb)).abs() * 1e4;
        if !gap.is_finite() {
            continue;
        }
        g.seconds[(gap as usize).min(BINS - 1)] += dt;
        g.total += dt;
        g.integral += gap * dt;
        g.max = g.max.max(gap);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_read_the_time_weighted_histogram() {
        let mut g = GapPair {
            pools: (PoolId(0), PoolId(1)),
            inverted: false,
            seconds: vec![0.0; BINS],
            total: 0.0,
            integral: 0.0,
            max: 0.0,
        };
        // 90 s at 2.5 bp, 10 s at 40.2 bp
        for (gap, dt) in [(2.5f64, 90.0), (40.2, 10.0)] {
            g.seconds[gap as usize] += dt;
            g.total += dt;
            g.integral += gap * dt;
            g.max = g.max.max(gap);
        }
        assert_eq!(g.quantile(0.5), 3.0);
        assert_eq!(g.quantile(0.9), 3.0);
        assert_eq!(g.quantile(0.95), 40.2, "the top bin's edge is capped at the largest gap seen");
        assert!((g.mean() - (2.5 * 0.9 + 40.2 * 0.1)).abs() < 1e-12);
        assert!((g.share_above(10) - 0.1).abs() < 1e-12);
    }
}
