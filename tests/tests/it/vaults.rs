//! Vaults against theory (THEORY.md item 3) and their own accounting, by running the simulator.

use meshsim_core::{SimOptions, Simulation};
use meshsim_scenario::{Scenario, VaultId};

const YEAR: f64 = 365.0 * 24.0 * 3600.0;

/// A two-token world: a zero-fee pool a billion times deeper than the vault (price impact is
/// negligible), an arbitrageur that keeps it at the external price ahead of the vault, free gas,
/// and a push oracle that reports the external price every block.
fn world(volatility: f64, replay: Option<&str>, vault: &str, blocks: u64, seed: u64) -> String {
    let replay = replay.map(|f| format!("replay: {f:?},")).unwrap_or_default();
    format!(
        r#"World(version: 1, name: "vault-test", seed: {seed}, blocks: {blocks},
    chain: (block_time: Fixed(12.0), gas_limit: 30000000, base_fee_gwei: 0.0, native_token: "ETH"),
    numeraire: "USDC",
    tokens: [(symbol: "ETH", decimals: 18), (symbol: "USDC", decimals: 6)],
    market: (assets: [(token: "ETH", price: 100.0, volatility: {volatility})], {replay}),
    pools: [ConstantProduct(name: "deep", tokens: ("ETH", "USDC"), reserves: ("10000000000", "1000000000000"), fee_bps: 0.0)],
    agents: [Arbitrageur(name: "arb", capital: [("ETH", "10000000000"), ("USDC", "1000000000000")], priority_fee_gwei: 1.0)],
    oracles: [Push(name: "eth", token: "ETH", heartbeat_seconds: 1.0, deviation: 0.0)],
    vaults: [{vault}],
)"#
    )
}

fn vault(strategy: &str, trigger: &str, holdings: &str, extra: &str) -> String {
    format!(
        r#"(name: "v", deposit_token: "USDC", holdings: [{holdings}], keeper_gas: "10", oracles: [("ETH", "eth")],
        strategy: {strategy}, trigger: {trigger}, slippage: 0.01, {extra})"#
    )
}

fn load(text: &str, dir: &std::path::Path) -> Scenario {
    meshsim_scenario::parse_str(text, "vault-test.ron", dir).unwrap_or_else(|e| panic!("{e}"))
}

fn run(s: &Scenario, blocks: u64) -> (Simulation, Vec<meshsim_core::record::VaultRow>) {
    let mut sim =
        Simulation::with_options(s, SimOptions { record: true, check_conservation: true, ..SimOptions::default() })
            .unwrap();
    let mut rows = Vec::new();
    for _ in 0..blocks {
        sim.step_block().unwrap();
        rows.extend(sim.drain_vault_records());
        let _ = sim.drain_records();
    }
    (sim, rows)
}

const FIFTY_FIFTY: &str = r#"ConstantMix(targets: [("ETH", 0.5), ("USDC", 0.5)])"#;

/// Item 3: 50/50 constant-mix rebalanced at each step against buy-and-hold, on replayed paths.
#[test]
fn constant_mix_beats_buy_and_hold_when_prices_oscillate_and_lags_in_trends() {
    for (path, cm, bh) in [([100.0, 150.0, 100.0], 25.0 / 24.0, 1.0), ([100.0, 150.0, 225.0], 1.5625, 1.625)] {
        let dir = tempfile::tempdir().unwrap();
        let csv = format!("time,ETH\n0,{}\n12,{}\n24,{}\n", path[0], path[1], path[2]);
        std::fs::write(dir.path().join("path.csv"), csv).unwrap();
        let v = vault(FIFTY_FIFTY, "PeriodicBlocks(1)", r#"("ETH", "1"), ("USDC", "100")"#, "");
        let s = load(&world(0.0, Some("path.csv"), &v, 2, 1), dir.path());
        let (sim, rows) = run(&s, 2);
        let last = rows.last().unwrap();
        let growth = last.share_price; // genesis share price is 1
        assert!((growth - cm).abs() < 2e-6, "path {path:?}: constant-mix grew x{growth}, theory x{cm}");
        assert!((last.hold_nav / 200.0 - bh).abs() < 1e-12, "buy-and-hold x{}", last.hold_nav / 200.0);
        assert!(
            (last.continuous_nav / 200.0 - cm).abs() < 1e-12,
            "costless benchmark x{}",
            last.continuous_nav / 200.0
        );
        assert_eq!(sim.metrics().vaults[0].rebalances, 2);
        let snap = sim.snapshot();
        assert!((snap.vaults[0].weights[0] - 0.5).abs() < 1e-6);
    }
}

/// After a full rebalance the weights equal the targets up to the rounding of the trades.
#[test]
fn a_full_rebalance_lands_on_the_targets() {
    let dir = tempfile::tempdir().unwrap();
    for (targets, holdings) in [
        (r#"ConstantMix(targets: [("ETH", 0.3), ("USDC", 0.7)])"#, r#"("ETH", "5"), ("USDC", "100")"#),
        (r#"ConstantMix(targets: [("ETH", 0.8), ("USDC", 0.2)])"#, r#"("ETH", "1"), ("USDC", "900")"#),
    ] {
        let v = vault(targets, "Threshold(band: 0.01)", holdings, "");
        let s = load(&world(0.0, None, &v, 3, 1), dir.path());
        let (sim, rows) = run(&s, 3);
        let after = &rows[0];
        assert!(after.rebalancing, "the first block rebalances");
        for (w, t) in after.weights.iter().zip(&after.targets) {
            // one base unit of USDC on a NAV of hundreds, plus f64 valuation
            assert!((w - t).abs() < 1e-8, "weight {w} vs target {t}");
        }
        assert_eq!(sim.metrics().vaults[0].rebalances, 1, "on target: no further rebalance");
    }
}

/// Item 3: the excess growth of a 50/50 risky/cash portfolio rebalanced every block is
/// sigma^2 / 8 a year (ln V_T - 1/2 ln P_T, divided by T), within Monte Carlo error over seeds.
#[test]
fn excess_growth_of_a_frequently_rebalanced_vault() {
    let dir = tempfile::tempdir().unwrap();
    let sigma = 2.0;
    let blocks = 4_000;
    let mut rates = Vec::new();
    for seed in 1..=8 {
        let v = vault(FIFTY_FIFTY, "PeriodicBlocks(1)", r#"("ETH", "1"), ("USDC", "100")"#, "");
        let s = load(&world(sigma, None, &v, blocks, seed), dir.path());
        let mut sim = Simulation::with_options(
            &s,
            SimOptions { record: false, check_conservation: false, ..SimOptions::default() },
        )
        .unwrap();
        sim.run_blocks(blocks).unwrap();
        let snap = sim.snapshot();
        let t = snap.timestamp / YEAR;
        let p_ratio = snap.tokens[0].price / 100.0;
        rates.push((libm::log(snap.vaults[0].share_price) - 0.5 * libm::log(p_ratio)) / t);
    }
    let n = rates.len() as f64;
    let mean = rates.iter().sum::<f64>() / n;
    let sd = (rates.iter().map(|r| (r - mean) * (r - mean)).sum::<f64>() / (n - 1.0)).sqrt();
    let expected = sigma * sigma / 8.0;
    eprintln!("excess growth {mean:.4} +- {:.4} a year, theory {expected:.4}", sd / n.sqrt());
    // 4 standard errors of the mean over seeds, plus 2 % for rebalancing once per block instead of continuously
    assert!(
        (mean - expected).abs() < 4.0 * sd / n.sqrt() + 0.02 * expected,
        "excess growth {mean} (sd {sd}), theory {expected}"
    );
}

/// Item 3: a threshold trigger on a 50/50 book, band |w - 1/2| > eps, rebalances on average every
/// b^2 / sigma^2 (cash has no volatility), b = ln((1/2 + eps) / (1/2 - eps)); checked once per
/// block, the band is effectively wider by 0.5826 sigma sqrt(dt) (the discrete-monitoring shift).
#[test]
fn threshold_rebalances_arrive_at_the_predicted_rate() {
    let dir = tempfile::tempdir().unwrap();
    let (sigma, eps) = (3.0, 0.01);
    let blocks = 150_000;
    let v = vault(FIFTY_FIFTY, &format!("Threshold(band: {eps})"), r#"("ETH", "1"), ("USDC", "100")"#, "");
    let s = load(&world(sigma, None, &v, blocks, 3), dir.path());
    let mut sim =
        Simulation::with_options(&s, SimOptions { record: false, check_conservation: false, ..SimOptions::default() })
            .unwrap();
    sim.run_blocks(blocks).unwrap();
    let rebalances = sim.metrics().vaults[0].rebalances as f64;
    let dt = 12.0 / YEAR;
    let b = libm::log((0.5 + eps) / (0.5 - eps)) + 0.5826 * sigma * dt.sqrt();
    let expected_blocks = b * b / (sigma * sigma) / dt;
    let observed = blocks as f64 / rebalances;
    // exit times of a Brownian motion from a band have a coefficient of variation of sqrt(2/3);
    // allow 4 standard errors of the mean
    let se = (2.0f64 / 3.0).sqrt() / rebalances.sqrt();
    eprintln!("{rebalances} rebalances: mean interval {observed:.1} blocks, theory {expected_blocks:.1}");
    assert!(rebalances > 100.0, "only {rebalances} rebalances");
    assert!(
        (observed / expected_blocks - 1.0).abs() < 4.0 * se,
        "mean interval {observed:.1} blocks, theory {expected_blocks:.1} (+-{:.1} %)",
        400.0 * se
    );
}

/// A CPPI vault never ends below its floor when no price move exceeds 1/multiplier; a gap larger
/// than that can break it.
#[test]
fn cppi_keeps_its_floor_without_large_jumps() {
    let cppi = r#"Cppi(risky: "ETH", safe: "USDC", floor: 0.8, multiplier: 4.0)"#;
    let holdings = r#"("ETH", "1"), ("USDC", "100")"#;
    // a random path with per-block moves far below 25 %
    let dir = tempfile::tempdir().unwrap();
    let s = load(&world(1.5, None, &vault(cppi, "PeriodicBlocks(1)", holdings, ""), 20_000, 9), dir.path());
    let (_, rows) = run(&s, 20_000);
    let lowest = rows.iter().map(|r| r.share_price).fold(f64::INFINITY, f64::min);
    assert!(lowest >= 0.8 - 1e-9, "share price fell to {lowest}, below the 0.8 floor");
    // a crash in steps of -20 % (below 1/m = 25 %) keeps the floor; one -40 % gap does not
    // (the first block rebalances to the CPPI exposure at the starting price)
    for (steps, keeps) in [(vec![100.0, 100.0, 80.0, 64.0, 51.2], true), (vec![100.0, 100.0, 60.0, 60.0, 60.0], false)]
    {
        let csv: String = std::iter::once("time,ETH\n".to_string())
            .chain(steps.iter().enumerate().map(|(k, p)| format!("{},{p}\n", 12 * k)))
            .collect();
        std::fs::write(dir.path().join("crash.csv"), csv).unwrap();
        let s = load(&world(0.0, Some("crash.csv"), &vault(cppi, "PeriodicBlocks(1)", holdings, ""), 4, 1), dir.path());
        let (_, rows) = run(&s, 4);
        let last = rows.last().unwrap().share_price;
        assert_eq!(last >= 0.8 - 1e-9, keeps, "path {steps:?}: final share price {last}");
    }
}

/// Deposits then withdrawals at unchanged prices return what was put in, less rounding in the
/// vault's favour; conservation holds every block (checked by the run).
#[test]
fn deposits_and_withdrawals_round_trip_in_the_vaults_favour() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = |flows: &str| {
        let v = vault(FIFTY_FIFTY, "Threshold(band: 0.9)", r#"("ETH", "1"), ("USDC", "100")"#, flows);
        load(&world(0.0, None, &v, 8, 1), dir.path())
    };
    // first learn how many shares the deposit mints (the run is deterministic) ...
    let mut probe = Simulation::new(&scenario(r#"flows: [Deposit(block: 3, amount: "1000")]"#)).unwrap();
    probe.run_blocks(4).unwrap();
    let genesis_shares = 200 * 10u128.pow(18);
    let minted = probe.snapshot().vaults[0].shares - genesis_shares;
    // genesis NAV 200 at share price 1: about 1000 shares, never more
    assert!(minted <= 1000 * 10u128.pow(18) && minted > 999_999_999 * 10u128.pow(9), "minted {minted}");
    // ... then withdraw exactly those shares
    let whole = minted / 10u128.pow(18);
    let frac = minted % 10u128.pow(18);
    let s = scenario(&format!(
        r#"flows: [Deposit(block: 3, amount: "1000"), WithdrawShares(block: 6, shares: "{whole}.{frac:018}")]"#
    ));
    let mut sim =
        Simulation::with_options(&s, SimOptions { record: true, check_conservation: true, ..SimOptions::default() })
            .unwrap();
    let before = sim.depositor_balances(VaultId(0));
    sim.run_blocks(8).unwrap();
    let after = sim.depositor_balances(VaultId(0));
    let snap = sim.snapshot();
    // what came back, valued at the unchanged price of 100 USDC per ETH
    let eth_back = (after[0] - before[0]) as f64 / 1e18;
    let usdc_paid = (before[1] - after[1]) as f64 / 1e6;
    let returned = eth_back * 100.0 + (1000.0 - usdc_paid);
    assert!(returned <= 1000.0 + 1e-9, "the depositor got back {returned} for 1000");
    assert!(returned > 1000.0 - 1e-5, "the depositor lost {} to rounding", 1000.0 - returned);
    // the vault is back to its genesis shares and did not lose value
    assert_eq!(snap.vaults[0].shares, genesis_shares);
    assert!(snap.vaults[0].share_price >= 1.0 - 1e-12, "share price {}", snap.vaults[0].share_price);
    assert_eq!(sim.metrics().vaults[0].deposits, 1);
    assert_eq!(sim.metrics().vaults[0].withdrawals, 1);
}

/// A what-if band set while the run goes takes effect at once: a much wider band rebalances far
/// less often over the same path than the band the world file gave.
#[test]
fn a_band_set_mid_run_changes_how_often_the_vault_trades() {
    use meshsim_scenario::commands::{Command, VaultParam};
    let dir = tempfile::tempdir().unwrap();
    let blocks = 20_000;
    let v = vault(FIFTY_FIFTY, "Threshold(band: 0.01)", r#"("ETH", "1"), ("USDC", "100")"#, "");
    let s = load(&world(3.0, None, &v, blocks, 3), dir.path());
    let rebalances = |band: Option<f64>| {
        let mut sim = Simulation::new(&s).unwrap();
        if let Some(b) = band {
            sim.apply(&Command::SetVault { vault: "v".into(), param: VaultParam::Band(b) }).unwrap();
        }
        sim.run_blocks(blocks).unwrap();
        sim.metrics().vaults[0].rebalances
    };
    let (given, wide) = (rebalances(None), rebalances(Some(0.2)));
    assert!(given > 20, "only {given} rebalances at the world's band");
    assert!(wide * 10 < given, "{wide} rebalances with a band of 0.2 against {given} with 0.01");
}
