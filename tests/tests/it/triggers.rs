//! Triggers that think ahead: the cost-aware band (its response to gas and size, and its place
//! against fixed bands on the same market paths).

use meshsim_core::{SimOptions, Simulation};
use meshsim_scenario::Scenario;
use meshsim_tests::worlds_dir;

fn cost_aware() -> String {
    std::fs::read_to_string(worlds_dir().join("cost-aware.ron")).unwrap()
}

fn load(text: &str) -> Scenario {
    meshsim_scenario::parse_str(text, "cost-aware.ron", &worlds_dir()).unwrap()
}

/// The vault's band after `blocks`.
fn band_after(text: &str, blocks: u64) -> f64 {
    let s = load(text);
    let mut sim =
        Simulation::with_options(&s, SimOptions { check_conservation: true, ..SimOptions::default() }).unwrap();
    sim.run_blocks(blocks).unwrap();
    sim.snapshot().vaults[0].band
}

#[test]
fn the_cost_aware_band_widens_as_gas_rises_and_narrows_as_the_vault_grows() {
    let text = cost_aware();
    let base = band_after(&text, 20);
    // ten times the gas price: gas weighs ten times as much against the same NAV
    let dear = band_after(&text.replace("base_fee_gwei: 20.0", "base_fee_gwei: 200.0"), 20);
    // a tenth of the vault: the same gas weighs ten times as much (and its trades move the pools less)
    let small = band_after(
        &text.replace(
            r#"holdings: [("ETH", "500"), ("USDC", "1000000")]"#,
            r#"holdings: [("ETH", "50"), ("USDC", "100000")]"#,
        ),
        20,
    );
    assert!(dear > 1.1 * base, "band at 200 gwei {dear} vs 20 gwei {base}");
    assert!(small > 1.1 * base, "band of a $200k vault {small} vs $2M {base}");
    // free gas and no fee: only impact is left, and the band is narrower still
    let free = band_after(&text.replace("base_fee_gwei: 20.0", "base_fee_gwei: 0.0"), 20);
    assert!(free < base, "band with free gas {free} vs {base}");
}

/// Mean execution cost and tracking error of the vault over `seeds` seeds of `blocks`.
fn cost_and_tracking(text: &str, seeds: u64, blocks: u64) -> (f64, f64) {
    let mut s = load(text);
    let (mut cost, mut te) = (0.0, 0.0);
    for k in 0..seeds {
        s.seed = 100 + k;
        let mut sim = Simulation::new(&s).unwrap();
        sim.run_blocks(blocks).unwrap();
        let m = &sim.metrics().vaults[0];
        cost += m.cost();
        te += m.tracking_mean();
    }
    (cost / seeds as f64, te / seeds as f64)
}

#[test]
fn the_cost_aware_band_sits_near_the_pareto_front_of_fixed_bands() {
    let text = cost_aware().replace("volatility: 1.2", "volatility: 1.5");
    let (seeds, blocks) = (6, 8000);
    let aware = cost_and_tracking(&text, seeds, blocks);
    let trigger = "trigger: CostAware(risk_aversion: 2.0, min_band: 0.002, max_band: 0.2),";
    assert!(text.contains(trigger));
    let mut dominated_by = Vec::new();
    for band in [0.005, 0.01, 0.02, 0.03, 0.05, 0.08] {
        let fixed = text.replace(trigger, &format!("trigger: Threshold(band: {band}),"));
        let (cost, te) = cost_and_tracking(&fixed, seeds, blocks);
        // a fixed band that beats it on both counts by more than a tenth
        if cost < 0.9 * aware.0 && te < 0.9 * aware.1 {
            dominated_by.push((band, cost, te));
        }
    }
    assert!(
        dominated_by.is_empty(),
        "cost-aware (cost {}, tracking {}) dominated by {dominated_by:?}",
        aware.0,
        aware.1
    );
}
