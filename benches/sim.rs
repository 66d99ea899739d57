//! Blocks per second of the engine, without per-block output.
//! Run: `cargo bench -p meshsim-benches --bench sim`.
//!
//! `single_pool/ecs` runs worlds/lvr.ron (one v2 pool, one CEX-DEX arbitrageur trading every
//! block) through the full bevy_ecs schedule; `single_pool/plain_loop` does the same work (GBM
//! step, trade-to-price, exact swap, ledger transfers, CEX hedge) in a hand-written loop, so
//! their ratio is the cost of the ECS structure. `mesh` runs worlds/mesh.ron.

use std::path::Path;

use divan::counter::ItemsCount;
use divan::{Bencher, black_box};
use meshsim_core::{SimOptions, Simulation};
use meshsim_math::Pool;
use rand::SeedableRng;
use rand_distr::{Distribution, StandardNormal};

const BLOCKS: u64 = 10_000;

fn main() {
    divan::main();
}

fn world(name: &str) -> meshsim_scenario::Scenario {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../worlds").join(name);
    meshsim_scenario::load_file(&path).expect("bundled world loads")
}

fn bench_world(bencher: Bencher, name: &str) {
    let s = world(name);
    let mut sim =
        Simulation::with_options(&s, SimOptions { record: false, check_conservation: false, ..SimOptions::default() })
            .expect("builds");
    bencher.counter(ItemsCount::new(BLOCKS)).bench_local(|| sim.run_blocks(BLOCKS).expect("runs"));
}

mod single_pool {
    use super::*;

    #[divan::bench]
    fn ecs(bencher: Bencher) {
        bench_world(bencher, "lvr.ron");
    }

    /// The same work as the ECS world with no framework: one pool, one arbitrageur, a ledger.
    #[divan::bench]
    fn plain_loop(bencher: Bencher) {
        let s = world("lvr.ron");
        let mut pool = s.pools[0].pool.clone();
        let mut pool_bal = [s.pools[0].balances[0], s.pools[0].balances[1]];
        let mut arb_bal = [s.agents[0].capital[0].1, s.agents[0].capital[1].1];
        let mut cex_bal = [1u128 << 120, 1u128 << 120];
        let sigma = s.market.assets[0].volatility;
        let dt = 12.0 / (365.0 * 86_400.0);
        let mut log_p = libm::log(s.market.assets[0].price);
        let mut rng = rand_chacha::ChaCha12Rng::seed_from_u64(s.seed);
        let scale = [1e-18, 1e-6];
        bencher.counter(ItemsCount::new(BLOCKS)).bench_local(|| {
            for _ in 0..BLOCKS {
                let z: f64 = StandardNormal.sample(&mut rng);
                log_p += -0.5 * sigma * sigma * dt + sigma * libm::sqrt(dt) * z;
                let per_unit = [libm::exp(log_p) * scale[0], scale[1]];
                for (i, j) in [(0usize, 1usize), (1, 0)] {
                    let p_ext = per_unit[i] / per_unit[j];
                    if pool.net_price(i, j) <= p_ext {
                        continue;
                    }
                    let Ok(a) = pool.input_to_price(i, j, p_ext) else { continue };
                    let a = a.min(arb_bal[i]);
                    let Ok(q) = pool.quote_exact_in(i, j, a) else { continue };
                    let profit = q.amount_out as f64 * per_unit[j] - a as f64 * per_unit[i];
                    if profit <= 0.0 {
                        continue;
                    }
                    black_box(pool.swap_exact_in(i, j, a).expect("quoted swap applies"));
                    arb_bal[i] -= a;
                    pool_bal[i] += a;
                    pool_bal[j] -= q.amount_out;
                    arb_bal[j] += q.amount_out;
                    // hedge on the CEX
                    let back = (q.amount_out as f64 * per_unit[j] / per_unit[i]) as u128;
                    arb_bal[j] -= q.amount_out;
                    cex_bal[j] += q.amount_out;
                    cex_bal[i] -= back;
                    arb_bal[i] += back;
                }
            }
            black_box((&pool, pool_bal, arb_bal, cex_bal));
        });
        let Pool::ConstantProduct(p) = &pool else { unreachable!() };
        assert_eq!([p.reserve0, p.reserve1], pool_bal, "ledger and pool agree");
    }
}

#[divan::bench(sample_count = 20)]
fn mesh(bencher: Bencher) {
    bench_world(bencher, "mesh.ron");
}

/// mesh.ron's pools and arbitrageurs plus ten vaults: the seven of worlds/vaults.ron and copies of
/// the first three under new names.
#[divan::bench(sample_count = 10)]
fn mesh_with_ten_vaults(bencher: Bencher) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../worlds/vaults.ron");
    let text = std::fs::read_to_string(&path).expect("bundled world");
    let mut raw = meshsim_scenario::parse_raw(&text, "vaults.ron").expect("parses");
    for k in 0..3 {
        let mut v = raw.vaults[k].clone();
        v.name = format!("{}-copy", v.name);
        raw.vaults.push(v);
    }
    assert_eq!(raw.vaults.len(), 10);
    let s = meshsim_scenario::from_raw(&raw, &text, "vaults.ron", path.parent().expect("dir"), "bench".into())
        .expect("valid");
    let mut sim =
        Simulation::with_options(&s, SimOptions { record: false, check_conservation: false, ..SimOptions::default() })
            .expect("builds");
    bencher.counter(ItemsCount::new(BLOCKS)).bench_local(|| sim.run_blocks(BLOCKS).expect("runs"));
}
