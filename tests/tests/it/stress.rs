//! The stress library (`worlds/stress/`): each world runs to its end with conservation checked
//! every block, and each stress event does what it says, measured against the same world and
//! seed without it.

use meshsim_core::{SimOptions, Simulation};
use meshsim_scenario::raw::RawWorld;
use meshsim_tests::{load, load_patched, run_recorded};

const STRESS: [&str; 7] =
    ["crash", "correlated-crash", "volatility-spike", "liquidity-withdrawal", "oracle-freeze", "gas-spike", "bank-run"];

fn stress(name: &str) -> String {
    format!("stress/{name}.ron")
}

fn without_events(raw: &mut RawWorld) {
    raw.events.clear();
}

#[test]
fn every_stress_world_runs_to_the_end_and_conserves() {
    for name in STRESS {
        let s = load(&stress(name));
        let mut sim = Simulation::with_options(
            &s,
            SimOptions { record: false, check_conservation: true, ..SimOptions::default() },
        )
        .unwrap();
        sim.run_blocks(s.blocks).unwrap_or_else(|e| panic!("{name}: {e}"));
        let snap = sim.snapshot();
        assert!(snap.vaults.iter().all(|v| v.nav > 0.0 && v.share_price > 0.0), "{name}: {:?}", snap.vaults);
    }
}

#[test]
fn a_gas_spike_drives_the_base_fee_up_and_it_falls_back() {
    let s = load(&stress("gas-spike"));
    let (blocks, _) = run_recorded(&s, 1000);
    let calm = load_patched(&stress("gas-spike"), without_events);
    let (calm_blocks, _) = run_recorded(&calm, 1000);
    let gwei = |rows: &[meshsim_core::record::BlockRow], range: std::ops::Range<usize>| {
        rows[range].iter().map(|r| r.base_fee_wei as f64 / 1e9).fold(0.0, f64::max)
    };
    // 50-fold demand for 300 blocks from block 300: the fee climbs toward 50 x 10 gwei
    assert!(gwei(&blocks, 0..299) < 15.0, "calm before: {}", gwei(&blocks, 0..299));
    assert!(gwei(&blocks, 299..600) > 300.0, "spike: {}", gwei(&blocks, 299..600));
    assert!(gwei(&calm_blocks, 299..600) < 20.0, "no spike without the event: {}", gwei(&calm_blocks, 299..600));
    // and falls back within a hundred blocks of its end (12.5 % a block)
    assert!(gwei(&blocks, 800..1000) < 15.0, "after: {}", gwei(&blocks, 800..1000));
}

#[test]
fn a_liquidity_withdrawal_takes_the_share_out_and_leaves_the_price() {
    let s = load(&stress("liquidity-withdrawal"));
    let pool = s.pools.iter().position(|p| p.name == "v2-eth-usdc").unwrap();
    let (blocks, _) = run_recorded(&s, 301);
    // rows are blocks 1.. ; the withdrawal happens at the start of block 300, before its trades
    let (before, after) = (&blocks[298].pools[pool], &blocks[299].pools[pool]);
    for k in 0..2 {
        let expected = before.balances[k] as f64 * 0.2;
        let got = after.balances[k] as f64;
        // arbitrage may trade the pool within block 300 itself, by far less than the withdrawal
        assert!((got / expected - 1.0).abs() < 0.02, "token {k}: {} -> {}", before.balances[k], after.balances[k]);
    }
    let calm = load_patched(&stress("liquidity-withdrawal"), without_events);
    let (calm_blocks, _) = run_recorded(&calm, 301);
    assert_eq!(calm_blocks[298].pools[pool], blocks[298].pools[pool], "the same run up to the withdrawal");
    assert!(calm_blocks[299].pools[pool].balances[0] > 4 * after.balances[0], "depth without the event");

    // on its own, outside arbitrage: the price does not move, and the pool is thinner
    let mut sim = Simulation::with_options(
        &load_patched(&stress("liquidity-withdrawal"), |raw| raw.agents.clear()),
        SimOptions { record: false, check_conservation: true, ..SimOptions::default() },
    )
    .unwrap();
    sim.run_blocks(299).unwrap();
    let p0 = sim.snapshot().pools[pool].clone();
    sim.run_blocks(1).unwrap();
    let p1 = sim.snapshot().pools[pool].clone();
    assert!((p1.price / p0.price - 1.0).abs() < 1e-6, "price {} -> {}", p0.price, p1.price);
    assert!(p1.balances[0] * 4 < p0.balances[0] && p1.balances[0] * 6 > p0.balances[0], "{:?} -> {:?}", p0, p1);
}

#[test]
fn a_frozen_oracle_keeps_its_last_reading_while_the_price_falls() {
    let s = load(&stress("oracle-freeze"));
    let oracle = s.oracles.iter().position(|o| o.name == "cl-eth").unwrap();
    let eth = s.tokens.iter().position(|t| t.symbol == "ETH").unwrap();
    let mut sim = Simulation::new(&s).unwrap();
    sim.run_blocks(300).unwrap();
    let frozen_at = sim.snapshot().oracle_prices[oracle];
    let mut lowest_truth = f64::MAX;
    for _ in 300..599 {
        sim.step_block().unwrap();
        let snap = sim.snapshot();
        assert_eq!(snap.oracle_prices[oracle], frozen_at, "block {}", snap.block);
        lowest_truth = lowest_truth.min(snap.tokens[eth].price);
    }
    assert!(lowest_truth < frozen_at * 0.8, "ETH fell under the frozen feed: {lowest_truth} vs {frozen_at}");
    // the feed resumes: within a few blocks it reads the new price again
    sim.run_blocks(5).unwrap();
    let snap = sim.snapshot();
    let (reading, truth) = (snap.oracle_prices[oracle], snap.tokens[eth].price);
    assert!((reading / truth - 1.0).abs() < 0.02, "after the freeze: {reading} vs {truth}");

    // without the event the feed follows the fall
    let mut calm = Simulation::new(&load_patched(&stress("oracle-freeze"), without_events)).unwrap();
    calm.run_blocks(500).unwrap();
    let snap = calm.snapshot();
    assert!(snap.oracle_prices[oracle] < frozen_at * 0.85, "{} vs {frozen_at}", snap.oracle_prices[oracle]);
}

#[test]
fn a_volatility_spike_multiplies_realized_volatility() {
    // the spike's world without its drift-free shocks: 600 blocks at 4x, compared with the
    // 600 blocks after it, in log returns of every risky asset
    let s = load_patched(&stress("volatility-spike"), |raw| raw.blocks = 1500);
    let (blocks, _) = run_recorded(&s, 1500);
    for token in ["ETH", "WBTC"] {
        let k = s.tokens.iter().position(|t| t.symbol == token).unwrap();
        let var = |range: std::ops::Range<usize>| {
            let r: Vec<f64> = blocks[range].windows(2).map(|w| libm::log(w[1].prices[k] / w[0].prices[k])).collect();
            let m = r.iter().sum::<f64>() / r.len() as f64;
            r.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / (r.len() - 1) as f64
        };
        // blocks 300..=899 are spiked (rows 299..899); jumps are off in this world
        let ratio = var(299..899) / var(899..1499);
        // 599 returns each side: the ratio of variances has a standard error of about 8 %
        assert!((12.0..21.0).contains(&ratio), "{token}: variance ratio {ratio}, expected 16");
    }
}

#[test]
fn stress_events_are_validated_with_their_location() {
    let text = std::fs::read_to_string(meshsim_tests::worlds_dir().join("stress/liquidity-withdrawal.ron")).unwrap();
    let bad = text.replacen(
        "pool: \"v2-eth-usdc\", block: 300, fraction: 0.8",
        "pool: \"v2-nope\", block: 300, fraction: 1.5",
        1,
    );
    let err = meshsim_scenario::parse_str(&bad, "copy.ron", &meshsim_tests::worlds_dir()).unwrap_err().to_string();
    assert!(err.contains("events[0].pool") && err.contains("unknown pool \"v2-nope\""), "{err}");
    assert!(err.contains("events[0].fraction") && err.contains("(0, 1]"), "{err}");
    let line = bad[..bad.find("v2-nope").unwrap()].matches('\n').count() + 1;
    assert!(err.contains(&format!("copy.ron:{line}:")), "{err}");

    // block 0 is genesis, where nothing runs: refused rather than silently never happening
    let bad = text.replacen("pool: \"v2-eth-usdc\", block: 300,", "pool: \"v2-eth-usdc\", block: 0,", 1);
    let err = meshsim_scenario::parse_str(&bad, "copy.ron", &meshsim_tests::worlds_dir()).unwrap_err().to_string();
    assert!(err.contains("events[0].block") && err.contains("from 1"), "{err}");

    let gas = std::fs::read_to_string(meshsim_tests::worlds_dir().join("stress/gas-spike.ron")).unwrap();
    let bad = gas.replacen("native_token: \"ETH\",", "native_token: \"ETH\",\n        background_demand: false,", 1);
    let err = meshsim_scenario::parse_str(&bad, "copy.ron", &meshsim_tests::worlds_dir()).unwrap_err().to_string();
    assert!(err.contains("events[0]") && err.contains("background_demand"), "{err}");
}

#[test]
fn a_cppi_that_wakes_up_below_its_floor_sells_all_its_risky_asset() {
    // the frozen feed hides a 30 % fall; when it resumes the CPPI finds itself below its floor,
    // its risky target jumps to zero, and it must sell everything (a target of exactly zero once
    // sized the sale past the vault's balance, and nothing was ever sent)
    let s = load(&stress("oracle-freeze"));
    let mut sim = Simulation::new(&s).unwrap();
    sim.run_blocks(601).unwrap();
    let v = sim.snapshot().vaults.into_iter().find(|v| v.name == "cppi-eth").unwrap();
    assert_eq!(v.targets[0], 0.0, "below the floor: {:?}", v.targets);
    assert!(v.weights[0] > 0.5, "still holding ETH when the feed resumes: {:?}", v.weights);
    sim.run_blocks(200).unwrap();
    let v = sim.snapshot().vaults.into_iter().find(|v| v.name == "cppi-eth").unwrap();
    assert!(v.weights[0] < 0.01, "de-risked: {:?}", v.weights);
}

#[test]
fn max_drawdown_shows_the_cppi_floor_holding_in_a_crash_and_breaking_behind_a_frozen_feed() {
    let drawdown = |world: &str| {
        let s = load(&stress(world));
        let v = s.vaults.iter().position(|v| v.name == "cppi-eth").unwrap();
        let mut sim = Simulation::new(&s).unwrap();
        sim.run_blocks(s.blocks).unwrap();
        let m = &sim.metrics().vaults[v];
        assert!(m.peak_share_price >= 1.0 - 1e-9, "{world}: peak {}", m.peak_share_price);
        m.max_drawdown
    };
    // floor at 80 % of the genesis NAV: the crash takes it to the floor, not through it
    let crash = drawdown("crash");
    assert!((0.15..0.21).contains(&crash), "crash drawdown {crash}");
    // a 30 % fall it cannot see takes it through
    let frozen = drawdown("oracle-freeze");
    assert!(frozen > 0.22, "oracle-freeze drawdown {frozen}");
}
