//! THEORY.md items 1 and 2, reproduced by running the simulator itself on the bundled worlds.

use meshsim_core::record::{BlockRow, TradeRow};
use meshsim_scenario::Scenario;
use meshsim_scenario::raw::{RawBlockTime, RawPool};
use meshsim_tests::{load, load_patched, run_recorded};

const YEAR: f64 = 365.0 * 24.0 * 3600.0;

/// Pool value in numeraire at the prices of a block row (ETH/USDC worlds: token 0 = ETH, 18 dp;
/// token 1 = USDC, 6 dp).
fn value(row: &BlockRow) -> f64 {
    row.pools[0].balances[0] as f64 / 1e18 * row.prices[0] + row.pools[0].balances[1] as f64 / 1e6
}

fn genesis_value(s: &Scenario) -> f64 {
    s.pools[0].balances[0] as f64 / 1e18 * s.market.assets[0].price + s.pools[0].balances[1] as f64 / 1e6
}

/// Arbitrage profit of each block (successful transactions only), by block number - 1.
fn profit_by_block(trades: &[TradeRow], blocks: usize) -> Vec<f64> {
    let mut p = vec![0.0; blocks];
    for t in trades.iter().filter(|t| !t.reverted) {
        p[t.block as usize - 1] += t.profit;
    }
    p
}

/// Item 1: with zero fee and an arbitrage every block, E[profit_k / V_k] = 1 - exp(-sigma^2 dt / 8),
/// and path by path sum(profit) = sum x_k (P_k+1 - P_k) - (V_N - V_0).
#[test]
fn lvr_matches_closed_form_and_pathwise_identity() {
    let s = load("lvr.ron");
    let n = 20_000;
    let (blocks, trades) = run_recorded(&s, n);
    let profit = profit_by_block(&trades, blocks.len());
    let sigma = s.market.assets[0].volatility;
    let dt = 12.0 / YEAR;

    // per-block ratio profit_k / V_(k-1), V valued at the prices before the move
    let mut prev_v = genesis_value(&s);
    let ratios: Vec<f64> = blocks
        .iter()
        .zip(&profit)
        .map(|(row, p)| {
            let r = p / prev_v;
            prev_v = value(row);
            r
        })
        .collect();
    let mean = ratios.iter().sum::<f64>() / n as f64;
    let var = ratios.iter().map(|r| (r - mean) * (r - mean)).sum::<f64>() / (n as f64 - 1.0);
    let se = (var / n as f64).sqrt();
    let expected = 1.0 - libm::exp(-sigma * sigma * dt / 8.0);
    // tolerance: 4 standard errors of the Monte Carlo mean
    assert!((mean - expected).abs() < 4.0 * se, "E[profit/V] = {mean:e} +- {se:e}, theory {expected:e}");
    assert!(trades.iter().filter(|t| !t.reverted).count() as u64 > n * 99 / 100, "an arbitrage nearly every block");

    // pathwise identity, with x_k the pool's ETH at the end of block k
    let mut holdings_gain = 0.0;
    let (mut x_prev, mut p_prev) = (s.pools[0].balances[0] as f64 / 1e18, s.market.assets[0].price);
    for row in &blocks {
        holdings_gain += x_prev * (row.prices[0] - p_prev);
        x_prev = row.pools[0].balances[0] as f64 / 1e18;
        p_prev = row.prices[0];
    }
    let lvr = holdings_gain - (value(blocks.last().unwrap()) - genesis_value(&s));
    let total_profit: f64 = profit.iter().sum();
    assert!(
        (total_profit - lvr).abs() <= 1e-9 * total_profit.abs(),
        "arbitrage profit {total_profit} vs pathwise LVR {lvr}"
    );
}

struct FeeRun {
    p_trade: f64,
    arb_over_lvr: f64,
    gamma: f64,
    sigma_b: f64,
}

fn fee_run(fee_bps: f64, fixed: bool, blocks: u64) -> FeeRun {
    let s = load_patched("fee-arbitrage.ron", |r| {
        if let RawPool::ConstantProduct { fee_bps: f, .. } = &mut r.pools[0] {
            *f = fee_bps;
        }
        let Some(chain) = r.chain.as_mut() else { panic!("fee-arbitrage.ron has one chain") };
        chain.block_time = if fixed { RawBlockTime::Fixed(12.0) } else { RawBlockTime::Poisson(12.0) };
    });
    let (rows, trades) = run_recorded(&s, blocks);
    let sigma = s.market.assets[0].volatility;
    let mut traded = vec![false; rows.len()];
    let mut arb = 0.0;
    for t in trades.iter().filter(|t| !t.reverted) {
        traded[t.block as usize - 1] = true;
        arb += t.profit;
    }
    // expected LVR of each block from its own length: V_(k-1) (1 - exp(-sigma^2 dt_k / 8))
    let (mut lvr, mut prev_v, mut prev_t) = (0.0, genesis_value(&s), 0.0);
    for row in &rows {
        lvr += prev_v * (1.0 - libm::exp(-sigma * sigma * (row.timestamp - prev_t) / YEAR / 8.0));
        prev_v = value(row);
        prev_t = row.timestamp;
    }
    FeeRun {
        p_trade: traded.iter().filter(|t| **t).count() as f64 / rows.len() as f64,
        arb_over_lvr: arb / lvr,
        gamma: -libm::log(1.0 - fee_bps / 1e4),
        sigma_b: sigma * libm::sqrt(12.0 / YEAR),
    }
}

/// Item 2, Poisson blocks: P_trade = 1 / (1 + eta), eta = sqrt(2) gamma / sigma_b, and
/// ARB / LVR ~ P_trade to leading order, for three fee levels.
#[test]
fn fee_arbitrage_with_poisson_blocks() {
    for fee in [5.0, 30.0, 100.0] {
        let r = fee_run(fee, false, 50_000);
        let eta = std::f64::consts::SQRT_2 * r.gamma / r.sigma_b;
        let p = 1.0 / (1.0 + eta);
        // P_trade is exact for this model: 5 % covers Monte Carlo error at 50k blocks
        assert!((r.p_trade / p - 1.0).abs() < 0.05, "fee {fee} bp: P_trade {} vs {p}", r.p_trade);
        // ARB/LVR ~ P_trade is a leading-order result: 10 %
        assert!((r.arb_over_lvr / p - 1.0).abs() < 0.10, "fee {fee} bp: ARB/LVR {} vs {p}", r.arb_over_lvr);
    }
}

/// Item 2, fixed block times: ARB / LVR ~ 1 / (1 + 1.7164 gamma / sigma_b).
#[test]
fn fee_arbitrage_with_fixed_blocks() {
    for fee in [5.0, 30.0, 100.0] {
        let r = fee_run(fee, true, 50_000);
        let expected = 1.0 / (1.0 + 1.7164 * r.gamma / r.sigma_b);
        assert!(
            (r.arb_over_lvr / expected - 1.0).abs() < 0.08,
            "fee {fee} bp: ARB/LVR {} vs {expected}",
            r.arb_over_lvr
        );
    }
}

/// A zero fee reduces item 2 to item 1: every block trades and ARB = LVR.
#[test]
fn zero_fee_reduces_to_lvr() {
    let r = fee_run(0.0, false, 10_000);
    assert!(r.p_trade > 0.99, "P_trade {}", r.p_trade);
    assert!((r.arb_over_lvr - 1.0).abs() < 0.05, "ARB/LVR {}", r.arb_over_lvr);
}
