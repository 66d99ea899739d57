//! Bounded per-block series for the charts and the recent transactions for the event log.

use std::collections::VecDeque;

use meshsim_core::record::{BlockRow, LendingRow, TradeRow, VaultRow};
use meshsim_scenario::Scenario;

/// Blocks of history kept for the charts.
pub const HISTORY_BLOCKS: usize = 20_000;
/// Transactions kept for the event log.
pub const MAX_EVENTS: usize = 20_000;

/// One vault's series.
#[derive(Debug, Clone, Default)]
pub struct VaultSeries {
    /// Block of each point.
    pub blocks: VecDeque<f64>,
    /// Weight per universe token.
    pub weights: Vec<VecDeque<f64>>,
    /// Target per universe token.
    pub targets: Vec<VecDeque<f64>>,
    /// Trigger band.
    pub band: VecDeque<f64>,
    /// Tracking error.
    pub tracking: VecDeque<f64>,
    /// NAV, buy-and-hold NAV, continuously rebalanced NAV.
    pub nav: [VecDeque<f64>; 3],
    /// Blocks where it sent rebalancing transactions.
    pub rebalances: VecDeque<f64>,
    /// Its tokens (universe), by id.
    pub tokens: Vec<meshsim_scenario::TokenId>,
}

/// Per-block series.
#[derive(Debug, Clone)]
pub struct History {
    /// Block number of each point.
    pub blocks: VecDeque<f64>,
    /// External price per token (numeraire per whole token).
    pub external: Vec<VecDeque<f64>>,
    /// Price per pool (token 1 per token 0, whole units).
    pub pools: Vec<VecDeque<f64>>,
    /// Base fee, gwei.
    pub base_fee_gwei: VecDeque<f64>,
    /// Cumulative gas paid, arbitrage profit, searcher profit, vaults' sandwich loss (numeraire).
    pub totals: [VecDeque<f64>; 4],
    /// Per vault.
    pub vaults: Vec<VaultSeries>,
    /// Per lending market, per reserve in file order.
    pub lending: Vec<Vec<ReserveSeries>>,
    /// Each market's reserve tokens, in file order.
    lending_tokens: Vec<Vec<meshsim_scenario::TokenId>>,
}

/// One reserve's series.
#[derive(Debug, Clone, Default)]
pub struct ReserveSeries {
    /// Block of each point.
    pub blocks: VecDeque<f64>,
    /// Utilization, 0 to 1.
    pub utilization: VecDeque<f64>,
    /// Positions owing it that are under water.
    pub under_water: VecDeque<f64>,
    /// Liquidations so far.
    pub liquidations: VecDeque<f64>,
}

fn push(q: &mut VecDeque<f64>, v: f64) {
    if q.len() == HISTORY_BLOCKS {
        q.pop_front();
    }
    q.push_back(v);
}

impl History {
    /// Empty series for `scenario`.
    pub fn new(scenario: &Scenario) -> Self {
        History {
            blocks: VecDeque::new(),
            external: vec![VecDeque::new(); scenario.tokens.len()],
            pools: vec![VecDeque::new(); scenario.pools.len()],
            base_fee_gwei: VecDeque::new(),
            totals: Default::default(),
            vaults: vec![VaultSeries::default(); scenario.vaults.len()],
            lending: scenario.lending.iter().map(|m| vec![ReserveSeries::default(); m.reserves.len()]).collect(),
            lending_tokens: scenario.lending.iter().map(|m| m.reserves.iter().map(|r| r.token).collect()).collect(),
        }
    }

    /// Appends lending rows (one per reserve per block).
    pub fn extend_lending(&mut self, rows: &[LendingRow]) {
        for r in rows {
            let m = r.market.0 as usize;
            let Some(k) = self.lending_tokens.get(m).and_then(|t| t.iter().position(|t| *t == r.token)) else {
                continue;
            };
            let Some(s) = self.lending.get_mut(m).and_then(|x| x.get_mut(k)) else { continue };
            push(&mut s.blocks, r.block as f64);
            push(&mut s.utilization, r.utilization);
            push(&mut s.under_water, r.under_water as f64);
            push(&mut s.liquidations, r.liquidations as f64);
        }
    }

    /// Appends a chunk of blocks: their rows, their vault rows and the running totals after each.
    /// With several chains the charts follow the hub's blocks (every pool's price as it stood
    /// then), so that one axis serves them all.
    pub fn extend(&mut self, blocks: &[BlockRow], vaults: &[VaultRow], totals: &[(u64, [f64; 4])]) {
        for b in blocks.iter().filter(|b| b.chain.index() == 0) {
            push(&mut self.blocks, b.block as f64);
            for (q, p) in self.external.iter_mut().zip(&b.prices) {
                push(q, *p);
            }
            for (q, p) in self.pools.iter_mut().zip(&b.pools) {
                push(q, p.price);
            }
            push(&mut self.base_fee_gwei, meshsim_core::math::u128_to_f64(b.base_fee_wei) / 1e9);
        }
        for (_, t) in totals {
            for (q, v) in self.totals.iter_mut().zip(t) {
                push(q, *v);
            }
        }
        for r in vaults {
            let Some(s) = self.vaults.get_mut(r.vault.index()) else { continue };
            if s.tokens.is_empty() {
                s.tokens.clone_from(&r.tokens);
                s.weights = vec![VecDeque::new(); r.tokens.len()];
                s.targets = vec![VecDeque::new(); r.tokens.len()];
            }
            push(&mut s.blocks, r.block as f64);
            for (q, w) in s.weights.iter_mut().zip(&r.weights) {
                push(q, *w);
            }
            for (q, w) in s.targets.iter_mut().zip(&r.targets) {
                push(q, *w);
            }
            push(&mut s.band, r.band);
            push(&mut s.tracking, r.tracking_error);
            push(&mut s.nav[0], r.nav);
            push(&mut s.nav[1], r.hold_nav);
            push(&mut s.nav[2], r.continuous_nav);
            if r.rebalancing {
                push(&mut s.rebalances, r.block as f64);
            }
        }
    }
}

/// Points `(x, y)` of a series for plotting, thinned to at most `max` points (every k-th, the
/// last always kept) so that long runs stay cheap to draw.
pub fn points(xs: &VecDeque<f64>, ys: &VecDeque<f64>, max: usize) -> Vec<[f64; 2]> {
    let n = xs.len().min(ys.len());
    if n == 0 {
        return Vec::new();
    }
    let (xs0, ys0) = (xs.len() - n, ys.len() - n);
    let stride = n.div_ceil(max.max(1)).max(1);
    let mut out: Vec<[f64; 2]> = (0..n).step_by(stride).map(|k| [xs[xs0 + k], ys[ys0 + k]]).collect();
    if !(n - 1).is_multiple_of(stride) {
        out.push([xs[xs0 + n - 1], ys[ys0 + n - 1]]);
    }
    out
}

/// Recent transactions, newest last.
#[derive(Debug, Clone, Default)]
pub struct Events {
    /// The rows.
    pub rows: VecDeque<TradeRow>,
    /// Rows dropped off the front so far (keeps row numbers stable for the view).
    pub dropped: u64,
}

impl Events {
    /// Appends new transactions, dropping the oldest past the cap.
    pub fn extend(&mut self, rows: Vec<TradeRow>) {
        for r in rows {
            if self.rows.len() == MAX_EVENTS {
                self.rows.pop_front();
                self.dropped += 1;
            }
            self.rows.push_back(r);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thinning_keeps_the_ends_and_bounds_the_count() {
        let xs: VecDeque<f64> = (0..1001).map(f64::from).collect();
        let ys = xs.clone();
        let p = points(&xs, &ys, 100);
        assert!(p.len() <= 102, "{}", p.len());
        assert_eq!(p.first(), Some(&[0.0, 0.0]));
        assert_eq!(p.last(), Some(&[1000.0, 1000.0]));
        assert_eq!(points(&xs, &ys, 5000).len(), 1001);
    }

    #[test]
    fn series_are_bounded() {
        let mut q = VecDeque::new();
        for k in 0..HISTORY_BLOCKS + 10 {
            push(&mut q, k as f64);
        }
        assert_eq!(q.len(), HISTORY_BLOCKS);
        assert_eq!(q.front(), Some(&10.0));
    }
}
