//! Lending markets in a world: located errors for bad parameters, genesis positions in the
//! ledger, and interest that accrues block by block with the books checked every block.

use meshsim_core::{SimOptions, Simulation};
use meshsim_scenario::ScenarioError;
use meshsim_tests::worlds_dir;

/// `vaults.ron` plus an Aave-like market: WETH, USDC and WBTC at Aave v3 Ethereum-like values.
fn world_with(reserves: &str) -> String {
    let text = std::fs::read_to_string(worlds_dir().join("vaults.ron")).unwrap();
    let at = text.rfind(')').unwrap();
    format!("{}    lending: [(name: \"aave\", reserves: [{reserves}])],\n)", &text[..at])
}

const RESERVES: &str = r#"
    (token: "ETH", oracle: "cl-eth", optimal_usage_bps: 9000, slope1_bps: 270, slope2_bps: 8000, reserve_factor_bps: 1500,
     ltv_bps: 8050, liquidation_threshold_bps: 8300, liquidation_bonus_bps: 10500, liquidation_protocol_fee_bps: 1000,
     supplied: "100000", borrowed: "70000"),
    (token: "USDC", optimal_usage_bps: 9200, slope1_bps: 650, slope2_bps: 3500, reserve_factor_bps: 1000,
     ltv_bps: 7500, liquidation_threshold_bps: 7800, liquidation_bonus_bps: 10450, liquidation_protocol_fee_bps: 1000,
     supply_cap: "500000000", supplied: "200000000", borrowed: "180000000"),
    (token: "WBTC", oracle: "cl-wbtc", optimal_usage_bps: 8000, slope1_bps: 400, slope2_bps: 30000, reserve_factor_bps: 2000,
     ltv_bps: 7300, liquidation_threshold_bps: 7800, liquidation_bonus_bps: 10500, supplied: "5000", borrowed: "500"),
"#;

fn parse(text: &str) -> Result<meshsim_scenario::Scenario, ScenarioError> {
    meshsim_scenario::parse_str(text, "lending.ron", &worlds_dir())
}

#[test]
fn bad_reserve_parameters_are_located() {
    let good = world_with(RESERVES);
    assert!(parse(&good).is_ok(), "{:?}", parse(&good).err().map(|e| e.to_string()));
    let cases = [
        ("ltv_bps: 8050", "ltv_bps: 8500", "reserves[0].ltv_bps", "must not exceed the liquidation threshold"),
        ("optimal_usage_bps: 9200", "optimal_usage_bps: 9950", "reserves[1].optimal_usage_bps", "1 % to 99 %"),
        ("slope1_bps: 400", "slope1_bps: 40000", "reserves[2].slope1_bps", "must not exceed slope2"),
        ("(token: \"WBTC\", oracle", "(token: \"WBTX\", oracle", "reserves[2].token", "unknown token \"WBTX\""),
        (
            "supplied: \"5000\", borrowed: \"500\"",
            "supplied: \"5000\", borrowed: \"6000\"",
            "reserves[2].borrowed",
            "more than was supplied",
        ),
        (
            "liquidation_bonus_bps: 10450",
            "liquidation_bonus_bps: 13000",
            "reserves[1].liquidation_bonus_bps",
            "threshold x bonus",
        ),
        ("(token: \"ETH\", oracle: \"cl-eth\",", "(token: \"ETH\",", "reserves[0].oracle", "needs an oracle"),
    ];
    for (from, to, path, message) in cases {
        crate::worlds::assert_located(&good, from, to, path, message, 100);
    }
}

#[test]
fn interest_accrues_every_block_with_the_books_checked() {
    let scenario = parse(&world_with(RESERVES)).unwrap();
    let options = SimOptions { record: false, check_conservation: true, ..SimOptions::default() };
    let mut sim = Simulation::with_options(&scenario, options).unwrap();
    let start: Vec<(u128, u128)> = sim.lending()[0]
        .reserves
        .iter()
        .map(|r| (r.reserve.liquidity_index.to(), r.reserve.variable_borrow_index.to()))
        .collect();
    // a day of 12 s blocks
    sim.run_blocks(7_200).unwrap();
    let market = &sim.lending()[0];
    for (r, (li0, bi0)) in market.reserves.iter().zip(start) {
        let (li, bi): (u128, u128) = (r.reserve.liquidity_index.to(), r.reserve.variable_borrow_index.to());
        assert!(li > li0 && bi > bi0, "indexes grow");
        // a day at the borrow rate, compounded: index ratio = e^(rate / 365) within rounding
        let rate = meshsim_math::u256_to_f64(r.reserve.rates.variable_borrow_rate) / 1e27;
        let grown = bi as f64 / bi0 as f64;
        assert!((grown / libm::exp(rate * 86_400.0 / 31_536_000.0) - 1.0).abs() < 1e-6, "{grown} at {rate}");
        // suppliers earn less than borrowers pay (utilization < 1, reserve factor > 0)
        assert!(li as f64 / li0 as f64 - 1.0 < grown - 1.0);
        assert!(r.reserve.accrued_to_treasury > meshsim_math::U256::ZERO);
    }
    // USDC at 90 % utilization: above its 92 % kink? no, below: 6.5 % x 0.9 / 0.92
    let usdc = &market.reserves[1];
    let rate = meshsim_math::u256_to_f64(usdc.reserve.rates.variable_borrow_rate) / 1e25;
    assert!((rate - 6.5 * 0.9 / 0.92).abs() < 1e-3, "{rate} %");
}

#[test]
fn a_world_without_lending_runs_as_before() {
    // the lending plugin is absent and no account is added
    let s = meshsim_scenario::load_file(&worlds_dir().join("vaults.ron")).unwrap();
    let sim = Simulation::with_options(&s, SimOptions::default()).unwrap();
    assert!(sim.lending().is_empty());
    assert!(!sim.plugin_names().contains(&"lending"));
}
