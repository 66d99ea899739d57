//! Nanoseconds per quote, per swap and per trade-to-price solve, for every pool kind.
//! Run: `cargo bench -p meshsim-benches --bench math`.

use divan::{Bencher, black_box};
use meshsim_math::stableswap::{StableSwapPool, StableSwapVariant};
use meshsim_math::v2::V2Pair;
use meshsim_math::v3::V3Pool;
use meshsim_math::v3::tick_math::get_sqrt_ratio_at_tick;
use meshsim_math::weighted::WeightedPool;
use meshsim_math::{Pool, U256};

const E18: u128 = 1_000_000_000_000_000_000;

fn main() {
    divan::main();
}

fn v2() -> Pool {
    Pool::ConstantProduct(V2Pair {
        reserve0: 1_000 * E18,
        reserve1: 2_000_000 * 1_000_000,
        total_supply: 0,
        fee_pips: 3000,
    })
}

/// A v3 pool at tick 0 whose initialized ticks sit every 120 ticks, so a swap of a given size
/// crosses a known number of them.
fn v3() -> Pool {
    let mut p = V3Pool::new(3000, 60, get_sqrt_ratio_at_tick(0).expect("tick")).expect("pool");
    p.mint(0, -60_000, 60_000, 1_000 * E18).expect("mint");
    for k in 1..=40 {
        p.mint(k, -120 * k as i32, 120 * k as i32, 10 * E18).expect("mint");
    }
    Pool::Concentrated(p)
}

fn stable() -> Pool {
    let rates = vec![U256::from(E18), U256::from(E18 * 1_000_000_000_000), U256::from(E18)];
    Pool::StableSwap(
        StableSwapPool::try_new(
            vec![1_000_000 * E18, 1_200_000 * 1_000_000, 900_000 * E18],
            rates,
            20_000,
            1_000_000,
            5_000_000_000,
            0,
            StableSwapVariant::Ng,
        )
        .expect("pool"),
    )
}

fn weighted() -> Pool {
    let w = vec![U256::from(E18 * 8 / 10), U256::from(E18 * 2 / 10)];
    Pool::Weighted(
        WeightedPool::try_new(vec![800 * E18, 400_000 * 1_000_000], w, &[18, 6], U256::from(E18 * 3 / 1000))
            .expect("pool"),
    )
}

#[divan::bench(args = ["v2", "v3", "stableswap", "weighted"])]
fn quote_exact_in(bencher: Bencher, kind: &str) {
    let (pool, amount) = match kind {
        "v2" => (v2(), E18),
        "v3" => (v3(), E18 / 100),
        "stableswap" => (stable(), 1_000 * E18),
        _ => (weighted(), E18),
    };
    bencher.bench_local(|| black_box(&pool).quote_exact_in(0, 1, black_box(amount)).expect("quote"));
}

#[divan::bench(args = ["v2", "stableswap", "weighted"])]
fn swap_exact_in(bencher: Bencher, kind: &str) {
    // roughly equal value each way so the pool oscillates around its start
    let (mut pool, amounts) = match kind {
        "v2" => (v2(), [E18, 2_000 * 1_000_000]),
        "stableswap" => (stable(), [1_000 * E18, 1_000 * 1_000_000]),
        _ => (weighted(), [E18, 2_000 * 1_000_000]),
    };
    let mut leg = 0usize;
    bencher.bench_local(move || {
        leg ^= 1;
        let (i, j) = if leg == 1 { (0, 1) } else { (1, 0) };
        black_box(pool.swap_exact_in(i, j, black_box(amounts[i])).expect("swap"))
    });
}

/// v3 swaps crossing 0, 1 and 10 initialized ticks (each iteration works on a fresh clone, whose
/// cost is measured separately by `v3_clone`).
#[divan::bench(args = [0, 1, 10])]
fn v3_swap_crossing(bencher: Bencher, crossings: u32) {
    let pool = v3();
    // one initialized tick every 120 ticks: aim just past the n-th one
    let target_tick = -(120 * crossings as i32) - 60;
    let price = libm::pow(1.0001, f64::from(target_tick)) * (1.0 - pool.fee_fraction());
    let amount = pool.input_to_price(0, 1, price).expect("size");
    bencher.with_inputs(|| pool.clone()).bench_local_refs(|p| {
        let q = p.swap_exact_in(0, 1, amount).expect("swap");
        black_box(q)
    });
    let Pool::Concentrated(inner) = pool.clone().tap_swap(amount) else { unreachable!() };
    assert_eq!(inner.tick() / 120, target_tick / 120, "benchmark setup crosses the intended ticks");
}

#[divan::bench]
fn v3_clone(bencher: Bencher) {
    let pool = v3();
    bencher.bench_local(|| black_box(&pool).clone());
}

#[divan::bench(args = ["v2", "v3", "stableswap", "weighted"])]
fn trade_to_price(bencher: Bencher, kind: &str) {
    let pool = match kind {
        "v2" => v2(),
        "v3" => v3(),
        "stableswap" => stable(),
        _ => weighted(),
    };
    let target = pool.net_price(0, 1) * 0.98;
    bencher.bench_local(|| black_box(&pool).input_to_price(0, 1, black_box(target)).expect("solve"));
}

trait TapSwap {
    fn tap_swap(self, amount: u128) -> Self;
}
impl TapSwap for Pool {
    fn tap_swap(mut self, amount: u128) -> Self {
        self.swap_exact_in(0, 1, amount).expect("swap");
        self
    }
}
