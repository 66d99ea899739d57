//! Bounded per-block series for the charts and the recent transactions for the event log.

use std::collections::VecDeque;

use meshsim_core::record::{BlockRow, LendingRow, TradeRow, VaultRow};
use meshsim_scenario::Scenario;

/// Blocks of history kept for the charts, at least (a longer world keeps its whole length, up to
/// [`MAX_HISTORY_BLOCKS`]).
pub const HISTORY_BLOCKS: usize = 20_000;
/// Blocks of history kept at most: about 40 MB of series for a large world.
pub const MAX_HISTORY_BLOCKS: usize = 200_000;
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
    /// Points kept per series.
    cap: usize,
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

fn push_bounded(q: &mut VecDeque<f64>, v: f64, cap: usize) {
    if q.len() >= cap {
        q.pop_front();
    }
    q.push_back(v);
}

/// Drops the points after `block` off the back of `xs` and of every series aligned with it.
fn cut(xs: &mut VecDeque<f64>, aligned: &mut [&mut VecDeque<f64>], block: u64) {
    while xs.back().is_some_and(|b| *b > block as f64) {
        xs.pop_back();
        for q in aligned.iter_mut() {
            q.pop_back();
        }
    }
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
            cap: usize::try_from(scenario.blocks).unwrap_or(usize::MAX).clamp(HISTORY_BLOCKS, MAX_HISTORY_BLOCKS),
        }
    }

    /// Forgets everything after `block` (a command changed the future from there).
    pub fn truncate_after(&mut self, block: u64) {
        let History { blocks, external, pools, base_fee_gwei, totals, vaults, lending, .. } = self;
        let mut aligned: Vec<&mut VecDeque<f64>> = external.iter_mut().chain(pools.iter_mut()).collect();
        aligned.push(base_fee_gwei);
        aligned.extend(totals.iter_mut());
        cut(blocks, &mut aligned, block);
        for v in vaults {
            let VaultSeries { blocks, weights, targets, band, tracking, nav, rebalances, .. } = v;
            let mut aligned: Vec<&mut VecDeque<f64>> = weights.iter_mut().chain(targets.iter_mut()).collect();
            aligned.push(band);
            aligned.push(tracking);
            aligned.extend(nav.iter_mut());
            cut(blocks, &mut aligned, block);
            cut(rebalances, &mut [], block);
        }
        for r in lending.iter_mut().flatten() {
            let ReserveSeries { blocks, utilization, under_water, liquidations } = r;
            cut(blocks, &mut [utilization, under_water, liquidations], block);
        }
    }

    /// Appends one recorded block (a run's `blocks` table): external price per token, price per
    /// pool, base fee.
    pub fn push_block(&mut self, block: u64, external: &[f64], pools: &[f64], base_fee_gwei: f64) {
        let cap = self.cap;
        push_bounded(&mut self.blocks, block as f64, cap);
        for (q, p) in self.external.iter_mut().zip(external) {
            push_bounded(q, *p, cap);
        }
        for (q, p) in self.pools.iter_mut().zip(pools) {
            push_bounded(q, *p, cap);
        }
        push_bounded(&mut self.base_fee_gwei, base_fee_gwei, cap);
    }

    /// The running totals of a recorded run, from its transactions: gas paid (at the native
    /// token's external price of each block) and arbitrage profit. Searcher profit and the
    /// vaults' sandwich loss are not in the tables: they stay empty (NaN) rather than made up.
    pub fn extend_totals_from(&mut self, s: &meshsim_scenario::Scenario, events: &Events) {
        let cap = self.cap;
        let native = s.chains.first().map_or(s.numeraire, |c| c.native).index();
        let decimals = s.tokens.get(native).map_or(18, |t| t.decimals);
        let unit = libm::pow(10.0, f64::from(decimals));
        let (mut gas, mut arb) = (0.0, 0.0);
        let mut k = 0;
        for (i, b) in self.blocks.iter().enumerate() {
            let price = self.external.get(native).and_then(|q| q.get(i)).copied().unwrap_or(f64::NAN);
            while k < events.rows.len() && events.hub[k] as f64 <= *b {
                let r = &events.rows[k];
                gas += meshsim_core::math::u128_to_f64(r.gas_fee_wei) / unit * price;
                if matches!(
                    r.kind,
                    meshsim_core::tx::TxKind::Arbitrage
                        | meshsim_core::tx::TxKind::CycleArbitrage
                        | meshsim_core::tx::TxKind::CrossChainArbitrage
                ) {
                    arb += r.profit;
                }
                k += 1;
            }
            for (q, v) in self.totals.iter_mut().zip([gas, arb, f64::NAN, f64::NAN]) {
                push_bounded(q, v, cap);
            }
        }
    }

    /// Appends one recorded vault row: its block, tokens, weights and targets, then band,
    /// tracking error, NAV, buy-and-hold NAV and continuous NAV, and whether it was rebalancing.
    #[expect(clippy::too_many_arguments, reason = "one table row, field by field")]
    pub fn push_vault(
        &mut self,
        vault: usize,
        block: u64,
        tokens: &[meshsim_scenario::TokenId],
        weights: &[f64],
        targets: &[f64],
        figures: [f64; 5],
        rebalancing: bool,
    ) {
        let cap = self.cap;
        let Some(s) = self.vaults.get_mut(vault) else { return };
        if s.tokens.is_empty() {
            s.tokens = tokens.to_vec();
            s.weights = vec![VecDeque::new(); tokens.len()];
            s.targets = vec![VecDeque::new(); tokens.len()];
        }
        push_bounded(&mut s.blocks, block as f64, cap);
        for (q, w) in s.weights.iter_mut().zip(weights) {
            push_bounded(q, *w, cap);
        }
        for (q, w) in s.targets.iter_mut().zip(targets) {
            push_bounded(q, *w, cap);
        }
        let [band, tracking, nav, hold, continuous] = figures;
        push_bounded(&mut s.band, band, cap);
        push_bounded(&mut s.tracking, tracking, cap);
        push_bounded(&mut s.nav[0], nav, cap);
        push_bounded(&mut s.nav[1], hold, cap);
        push_bounded(&mut s.nav[2], continuous, cap);
        if rebalancing {
            push_bounded(&mut s.rebalances, block as f64, cap);
        }
    }

    /// The last block the series hold.
    pub fn last_block(&self) -> Option<u64> {
        self.blocks.back().map(|b| *b as u64)
    }

    /// Appends lending rows (one per reserve per block).
    pub fn extend_lending(&mut self, rows: &[LendingRow]) {
        let cap = self.cap;
        for r in rows {
            let m = r.market.0 as usize;
            let Some(k) = self.lending_tokens.get(m).and_then(|t| t.iter().position(|t| *t == r.token)) else {
                continue;
            };
            let Some(s) = self.lending.get_mut(m).and_then(|x| x.get_mut(k)) else { continue };
            push_bounded(&mut s.blocks, r.block as f64, cap);
            push_bounded(&mut s.utilization, r.utilization, cap);
            push_bounded(&mut s.under_water, r.under_water as f64, cap);
            push_bounded(&mut s.liquidations, r.liquidations as f64, cap);
        }
    }

    /// Appends a chunk of blocks: their rows, their vault rows and the running totals after each.
    /// With several chains the charts follow the hub's blocks (every pool's price as it stood
    /// then), so that one axis serves them all.
    pub fn extend(&mut self, blocks: &[BlockRow], vaults: &[VaultRow], totals: &[(u64, [f64; 4])]) {
        let cap = self.cap;
        for b in blocks.iter().filter(|b| b.chain.index() == 0) {
            push_bounded(&mut self.blocks, b.block as f64, cap);
            for (q, p) in self.external.iter_mut().zip(&b.prices) {
                push_bounded(q, *p, cap);
            }
            for (q, p) in self.pools.iter_mut().zip(&b.pools) {
                push_bounded(q, p.price, cap);
            }
            push_bounded(&mut self.base_fee_gwei, meshsim_core::math::u128_to_f64(b.base_fee_wei) / 1e9, cap);
        }
        for (_, t) in totals {
            for (q, v) in self.totals.iter_mut().zip(t) {
                push_bounded(q, *v, cap);
            }
        }
        for r in vaults {
            let Some(s) = self.vaults.get_mut(r.vault.index()) else { continue };
            if s.tokens.is_empty() {
                s.tokens.clone_from(&r.tokens);
                s.weights = vec![VecDeque::new(); r.tokens.len()];
                s.targets = vec![VecDeque::new(); r.tokens.len()];
            }
            push_bounded(&mut s.blocks, r.block as f64, cap);
            for (q, w) in s.weights.iter_mut().zip(&r.weights) {
                push_bounded(q, *w, cap);
            }
            for (q, w) in s.targets.iter_mut().zip(&r.targets) {
                push_bounded(q, *w, cap);
            }
            push_bounded(&mut s.band, r.band, cap);
            push_bounded(&mut s.tracking, r.tracking_error, cap);
            push_bounded(&mut s.nav[0], r.nav, cap);
            push_bounded(&mut s.nav[1], r.hold_nav, cap);
            push_bounded(&mut s.nav[2], r.continuous_nav, cap);
            if r.rebalancing {
                push_bounded(&mut s.rebalances, r.block as f64, cap);
            }
        }
    }
}

/// A series thinned for drawing to about `max` points: consecutive points are bucketed and each
/// bucket keeps its lowest and its highest point (in block order), so a spike of one block
/// survives however long the run; the first and last points are always kept.
pub fn points(pts: &[[f64; 2]], max: usize) -> Vec<[f64; 2]> {
    let n = pts.len();
    if n <= max.max(4) {
        return pts.to_vec();
    }
    let bucket = n.div_ceil(max.max(4) / 2);
    let mut out = Vec::with_capacity(max + 2);
    out.push(pts[0]);
    for chunk in pts[1..n - 1].chunks(bucket) {
        let lo = chunk.iter().enumerate().min_by(|a, b| a.1[1].total_cmp(&b.1[1])).map_or(0, |x| x.0);
        let hi = chunk.iter().enumerate().max_by(|a, b| a.1[1].total_cmp(&b.1[1])).map_or(0, |x| x.0);
        let (a, b) = (lo.min(hi), lo.max(hi));
        out.push(chunk[a]);
        if b != a {
            out.push(chunk[b]);
        }
    }
    out.push(pts[n - 1]);
    out
}

/// Recent transactions, newest last.
#[derive(Debug, Clone, Default)]
pub struct Events {
    /// The rows.
    pub rows: VecDeque<TradeRow>,
    /// Rows dropped off the front so far (keeps row numbers stable for the view).
    pub dropped: u64,
    /// The hub block each row came in (rows of other chains carry their own chain's numbers).
    pub hub: VecDeque<u64>,
}

impl Events {
    /// Forgets the transactions after hub block `block`.
    pub fn truncate_after(&mut self, block: u64) {
        while self.hub.back().is_some_and(|b| *b > block) {
            self.hub.pop_back();
            self.rows.pop_back();
        }
    }

    /// Appends the transactions of hub block `hub`, dropping the oldest past the cap.
    pub fn extend(&mut self, hub: u64, rows: Vec<TradeRow>) {
        for r in rows {
            if self.rows.len() == MAX_EVENTS {
                self.rows.pop_front();
                self.hub.pop_front();
                self.dropped += 1;
            }
            self.rows.push_back(r);
            self.hub.push_back(hub);
        }
    }

    /// How many rows came in hub blocks up to `block` (the log's view at a past block).
    pub fn upto(&self, block: u64) -> usize {
        self.hub.partition_point(|b| *b <= block)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thinning_keeps_the_ends_and_single_block_spikes_and_bounds_the_count() {
        let mut pts: Vec<[f64; 2]> = (0..100_001).map(|k| [f64::from(k), 1.0 + f64::from(k % 7) * 1e-3]).collect();
        pts[31_337][1] = 50.0;
        pts[77_777][1] = -20.0;
        let p = points(&pts, 1_000);
        assert!(p.len() <= 1_002, "{}", p.len());
        assert_eq!(p.first(), Some(&pts[0]));
        assert_eq!(p.last(), Some(&pts[100_000]));
        assert!(p.contains(&[31_337.0, 50.0]) && p.contains(&[77_777.0, -20.0]), "the spikes are kept");
        assert!(p.windows(2).all(|w| w[0][0] < w[1][0]), "in block order");
        assert_eq!(points(&pts[..500], 1_000).len(), 500);
    }

    #[test]
    fn series_are_bounded() {
        let mut q = VecDeque::new();
        for k in 0..HISTORY_BLOCKS + 10 {
            push_bounded(&mut q, k as f64, HISTORY_BLOCKS);
        }
        assert_eq!(q.len(), HISTORY_BLOCKS);
        assert_eq!(q.front(), Some(&10.0));
    }
}
