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

fn spiral_text() -> String {
    std::fs::read_to_string(worlds_dir().join("stress/liquidation-spiral.ron")).unwrap()
}

/// Runs a world text with rows recorded and the books checked every block; returns the
/// simulation and its trade rows.
fn run_recorded(text: &str) -> (Simulation, Vec<meshsim_core::record::TradeRow>) {
    let scenario = parse(text).unwrap_or_else(|e| panic!("{e}"));
    let options = SimOptions { record: true, check_conservation: true, ..SimOptions::default() };
    let mut sim = Simulation::with_options(&scenario, options).unwrap();
    sim.run_blocks(scenario.blocks).unwrap_or_else(|e| panic!("{e}"));
    let (_, trades) = sim.drain_records();
    (sim, trades)
}

#[test]
fn the_spiral_is_one_cascade_from_liquidation_to_sale_to_arbitrage_and_rebalance() {
    use meshsim_core::tx::TxKind;
    let (sim, trades) = run_recorded(&spiral_text());
    let kind_of = |id: meshsim_core::tx::TxId| trades.iter().find(|t| t.tx_id == id).map(|t| t.kind);
    let liquidations = trades.iter().filter(|t| t.kind == TxKind::Liquidation && !t.reverted).count();
    assert!(liquidations > 50, "only {liquidations} liquidations");
    // the largest cascade holds liquidations, their sales, the arbitrage the sales set off and
    // the vault's rebalance, each linked to its cause
    let (largest, _) = sim.cascades().into_iter().max_by_key(|(c, _)| c.member_count).unwrap();
    assert!(largest.liquidations > 20, "{} liquidations in the largest cascade", largest.liquidations);
    assert!(largest.rebalances >= 1);
    let linked =
        |a: TxKind, b: TxKind| largest.links.iter().any(|(p, c)| kind_of(*p) == Some(a) && kind_of(*c) == Some(b));
    assert!(linked(TxKind::Liquidation, TxKind::CollateralSale));
    assert!(linked(TxKind::CollateralSale, TxKind::Arbitrage));
    // and the loop closes: a sale moved the pool the oracle reads, which set off a liquidation
    assert!(linked(TxKind::CollateralSale, TxKind::Liquidation) || linked(TxKind::Arbitrage, TxKind::Liquidation));
    assert!(largest.depth > 20, "depth {}", largest.depth);
}

#[test]
fn an_oracle_freeze_delays_liquidations_and_leaves_bad_debt() {
    use meshsim_core::tx::TxKind;
    let first_liquidation = |trades: &[meshsim_core::record::TradeRow]| {
        trades.iter().find(|t| t.kind == TxKind::Liquidation && !t.reverted).map(|t| t.block)
    };
    let (sim, trades) = run_recorded(&spiral_text());
    let free = (first_liquidation(&trades).unwrap(), sim.lending()[0].reserves[1].reserve.deficit);
    let frozen_text = std::fs::read_to_string(worlds_dir().join("stress/liquidation-freeze.ron")).unwrap();
    // the freeze world is the spiral world plus the freeze, nothing else
    assert_eq!(
        frozen_text
            .lines()
            .filter(|l| !l.trim_start().starts_with("//"))
            .filter(|l| !spiral_text().contains(*l))
            .count(),
        2,
        "liquidation-freeze.ron must differ from liquidation-spiral.ron only by its name and the freeze"
    );
    let (sim, trades) = run_recorded(&frozen_text);
    let frozen = (first_liquidation(&trades).unwrap(), sim.lending()[0].reserves[1].reserve.deficit);
    // the fall starts at block 150; the frozen oracle publishes again at block 450
    assert!(free.0 < 300, "without the freeze the first liquidation came at block {}", free.0);
    assert!(frozen.0 >= 450, "with the freeze the first liquidation came at block {}", frozen.0);
    assert!(free.1.is_zero(), "bad debt without the freeze: {}", free.1);
    assert!(frozen.1 > meshsim_math::U256::from(10_000_000_000u64), "bad debt with the freeze: {}", frozen.1);
}

#[test]
fn liquidators_selling_on_the_cex_move_the_pools_less() {
    let gap = |text: &str| {
        let (sim, _) = run_recorded(text);
        sim.lending()[0].reserves[0].stats.pool_gap_min
    };
    let pools = gap(&spiral_text());
    let cex = gap(&spiral_text().replace("sell: Pools", "sell: Cex"));
    assert!(pools < cex, "pools fell {pools} below the market selling there, {cex} selling on the CEX");
}

#[test]
fn bad_positions_and_liquidators_are_located() {
    let good = spiral_text();
    assert!(parse(&good).is_ok());
    let cases = [
        (
            "collateral: \"ETH\", debt: \"USDC\"",
            "collateral: \"USDC\", debt: \"USDC\"",
            "positions[0].debt",
            "must differ",
        ),
        ("health: (1.05, 1.8)", "health: (0.9, 1.8)", "positions[0].health[0]", "health factor above 1"),
        ("health: (1.05, 1.8)", "health: (1.8, 1.05)", "positions[0].health", "is above the highest"),
        ("collateral: \"ETH\", debt", "collateral: \"WBTC\", debt", "positions[0].collateral", "unknown token"),
        ("count: 300", "count: 0", "positions[0].count", "at least one"),
        (
            "market: \"lend\", min_profit: 50.0",
            "market: \"lnd\", min_profit: 50.0",
            "agents[1].market",
            "unknown lending market",
        ),
    ];
    for (from, to, path, message) in cases {
        crate::worlds::assert_located(&good, from, to, path, message, 20);
    }
    // a group whose debt the reserve cannot lend fails at genesis, naming the market
    let greedy = good.replace("count: 300", "count: 30000");
    let scenario = parse(&greedy).unwrap();
    let e = Simulation::with_options(&scenario, SimOptions::default()).err().unwrap().to_string();
    assert!(e.contains("lend") && e.contains("more of token"), "{e}");
}

/// `lending.ron` with its vault keeping all its USDC supplied and putting off rebalances above
/// `max_utilization`.
fn yield_world(max_utilization: f64) -> String {
    let text = std::fs::read_to_string(worlds_dir().join("lending.ron")).unwrap();
    let from = "share: 0.8, max_utilization: 0.92";
    assert!(text.contains(from), "lending.ron's yield leg changed");
    text.replace(from, &format!("share: 1.0, max_utilization: {max_utilization:?}"))
}

#[test]
fn a_vault_puts_off_rebalances_while_its_yield_reserve_is_too_utilized() {
    let run = |text: &str| {
        let scenario = parse(text).unwrap_or_else(|e| panic!("{e}"));
        let options = SimOptions { record: false, check_conservation: true, ..SimOptions::default() };
        let mut sim = Simulation::with_options(&scenario, options).unwrap();
        // through the fall: the constant mix buys ETH with USDC it has supplied
        sim.run_blocks(3_000).unwrap_or_else(|e| panic!("{e}"));
        let m = sim.metrics().vaults[0].clone();
        let usdc = meshsim_math::u256_to_f64(sim.lending()[0].reserves[1].reserve.utilization().unwrap()) / 1e27;
        (m, usdc)
    };
    // the USDC reserve sits above 92 % utilization all run (the borrowers push it higher)
    let (free, usdc) = run(&yield_world(1.0));
    assert!(usdc > 0.92, "USDC utilization {usdc}");
    assert_eq!(free.lending_deferred, 0);
    assert!(free.rebalances >= 2, "{} rebalances", free.rebalances);
    // a vault that will not withdraw above 90 % never gets its USDC back to buy the dip
    let (careful, _) = run(&yield_world(0.9));
    assert!(careful.lending_deferred > 100, "{} deferrals", careful.lending_deferred);
    assert!(careful.rebalances < free.rebalances);
    assert!(careful.tracking_max > free.tracking_max, "{} vs {}", careful.tracking_max, free.tracking_max);
    // it earned the supply rate meanwhile: its whole USDC holding stayed supplied
    assert!(careful.leg_principal > 0);
}

#[test]
fn yield_legs_are_located() {
    let good = std::fs::read_to_string(worlds_dir().join("lending.ron")).unwrap();
    let cases = [
        ("yield_leg: (market: \"aave\"", "yield_leg: (market: \"avae\"", "yield_leg.market", "unknown lending market"),
        ("token: \"USDC\", share: 0.8", "token: \"LINK\", share: 0.8", "yield_leg.token", "has no \"LINK\" reserve"),
        ("share: 0.8", "share: 1.5", "yield_leg.share", "a share in (0, 1]"),
        ("token: \"USDC\", share: 0.8", "token: \"WBTC\", share: 0.8", "yield_leg.token", "neither holds nor targets"),
    ];
    for (from, to, path, message) in cases {
        crate::worlds::assert_located(&good, from, to, path, message, 20);
    }
}

#[test]
fn leveraged_borrowers_loop_up_to_their_target_and_deleverage_in_the_fall() {
    use meshsim_core::tx::TxKind;
    let text = std::fs::read_to_string(worlds_dir().join("lending.ron")).unwrap();
    let scenario = parse(&text).unwrap();
    let options = SimOptions { record: true, check_conservation: true, ..SimOptions::default() };
    let mut sim = Simulation::with_options(&scenario, options).unwrap();
    let usdc_before = meshsim_math::u256_to_f64(sim.lending()[0].reserves[1].reserve.utilization().unwrap()) / 1e27;
    // until just before the fall
    sim.run_blocks(1_990).unwrap_or_else(|e| panic!("{e}"));
    let longs = scenario.agents.iter().position(|a| a.name == "longs").unwrap() as u32;
    let market = &sim.lending()[0];
    let healths: Vec<f64> = market
        .positions
        .iter()
        .enumerate()
        .filter(|(_, p)| matches!(p.owner, meshsim_core::lending::Owner::Cohort(a, _) if a.0 == longs))
        .map(|(k, _)| {
            meshsim_math::lending::health_f64(market.account(meshsim_core::tx::PositionId(k as u32)).unwrap().health)
        })
        .collect();
    // about 150 a day for the first 6.6 hours
    assert!(healths.len() > 30, "{} positions opened", healths.len());
    // the loop has taken most of them to their aim: 0.83 / (0.805 x 0.85) = 1.21
    let near_aim = healths.iter().filter(|h| (1.15..1.35).contains(*h)).count();
    assert!(near_aim * 2 > healths.len(), "{near_aim} of {} near their aim: {healths:?}", healths.len());
    let usdc = meshsim_math::u256_to_f64(market.reserves[1].reserve.utilization().unwrap()) / 1e27;
    assert!(usdc > usdc_before + 0.03, "USDC utilization {usdc_before} -> {usdc}");
    let (_, before) = sim.drain_records();
    assert!(!before.iter().any(|t| t.kind == TxKind::Deleverage), "nobody deleverages before the fall");
    // through the fall
    sim.run_blocks(1_000).unwrap_or_else(|e| panic!("{e}"));
    let (_, during) = sim.drain_records();
    let sales = during.iter().filter(|t| t.kind == TxKind::Deleverage && !t.reverted).count();
    assert!(sales > 20, "{sales} deleveraging sales in the fall");
}

#[test]
fn a_flash_liquidator_without_capital_liquidates_and_sells_in_one_transaction() {
    use meshsim_core::tx::TxKind;
    let from = r#"Liquidator(name: "liq-fast", capital: [("ETH", "50"), ("USDC", "3000000")], market: "lend", min_profit: 50.0, sell: Pools,"#;
    let to = r#"Liquidator(name: "liq-fast", capital: [("ETH", "50")], market: "lend", min_profit: 50.0, flash: true,"#;
    let text = spiral_text();
    assert!(text.contains(from), "the spiral world's liquidator changed");
    let (sim, trades) = run_recorded(&text.replace(from, to));
    assert_eq!(sim.scenario().agents[1].name, "liq-fast");
    let me = meshsim_core::tx::Sender::Agent(meshsim_scenario::AgentId(1));
    let mine: Vec<_> = trades.iter().filter(|t| t.sender == me).collect();
    let done: Vec<_> = mine.iter().filter(|t| t.kind == TxKind::Liquidation && !t.reverted).collect();
    assert!(done.len() > 50, "{} flash liquidations", done.len());
    // the sale is inside the liquidation: it names its pools, and no separate sale follows
    assert!(done.iter().all(|t| !t.pools.is_empty() && t.note.starts_with("flash liquidate")));
    assert!(!mine.iter().any(|t| t.kind == TxKind::CollateralSale));
    // it ends with USDC it never had, and the spiral still reaches the oracle's pool
    let usdc = sim.snapshot().agents[1].balances[1];
    assert!(usdc > 10_000_000_000, "{usdc} USDC base units");
    let (largest, _) = sim.cascades().into_iter().max_by_key(|(c, _)| c.member_count).unwrap();
    assert!(
        largest.liquidations > 20 && largest.depth > 10,
        "{} liquidations, depth {}",
        largest.liquidations,
        largest.depth
    );
}

#[test]
fn a_supplier_follows_the_better_rate_across_two_markets_with_the_books_checked() {
    use meshsim_core::tx::TxKind;
    // the spiral world plus a second market whose USDC is busier, and a supplier choosing
    let text = spiral_text();
    let end = text.rfind("    ],\n)").expect("the world ends with its lending list");
    let spark = r#"        (
            name: "spark",
            reserves: [
                (token: "ETH", oracle: "twap-eth", optimal_usage_bps: 9000, slope1_bps: 270, slope2_bps: 8000,
                 ltv_bps: 8000, liquidation_threshold_bps: 8250, liquidation_bonus_bps: 10500, supplied: "1000"),
                (token: "USDC", optimal_usage_bps: 9000, slope1_bps: 500, slope2_bps: 6000, reserve_factor_bps: 1000,
                 supplied: "10000000", borrowed: "8500000"),
            ],
        ),
"#;
    let supplier = r#"        Supplier(name: "yield-seeker", capital: [("ETH", "10"), ("USDC", "5000000")], token: "USDC", markets: ["lend", "spark"], min_spread_bps: 25, every_blocks: 50),
"#;
    let mut world = format!("{}{spark}{}", &text[..end], &text[end..]);
    let agents_end = world.find("    ],\n    oracles").expect("agents come before oracles");
    world.insert_str(agents_end, supplier);
    let (sim, trades) = run_recorded(&world);
    let me = sim.scenario().agents.iter().position(|a| a.name == "yield-seeker").unwrap() as u32;
    let mine: Vec<_> = trades
        .iter()
        .filter(|t| t.sender == meshsim_core::tx::Sender::Agent(meshsim_scenario::AgentId(me)) && !t.reverted)
        .collect();
    assert!(mine.iter().all(|t| t.kind == TxKind::Lending));
    // it supplied at once, to spark (85 % used, the better rate at genesis)
    assert!(mine.first().is_some_and(|t| t.block == 50 && t.note.starts_with("supply")), "{:?}", mine.first());
    // wherever it ended, no other market pays it more by its spread
    let rate = |m: usize| meshsim_math::u256_to_f64(sim.lending()[m].reserves[1].reserve.rates.liquidity_rate) / 1e27;
    let held = |m: usize| {
        sim.lending()[m].supplied(
            meshsim_core::lending::Owner::Agent(meshsim_scenario::AgentId(me)),
            sim.scenario()
                .tokens
                .iter()
                .position(|t| t.symbol == "USDC")
                .map(|k| meshsim_scenario::TokenId(k as u16))
                .unwrap(),
        )
    };
    let (a, b) = (held(0), held(1));
    assert!(a + b > 4_900_000_000_000, "its deposits: {a} and {b}");
    let (at, other) = if a > b { (0, 1) } else { (1, 0) };
    assert!(
        rate(other) - rate(at) < 0.0025 + 1e-9,
        "it sits at {} % while the other pays {} %",
        rate(at) * 100.0,
        rate(other) * 100.0
    );
}

/// The leverage (risky weight) of `lending.ron`'s 2x vault every 50 blocks, for a given band
/// and health floor.
fn leverage_path(band: f64, floor: f64) -> Vec<f64> {
    let text = std::fs::read_to_string(worlds_dir().join("lending.ron")).unwrap();
    let from = "trigger: Threshold(band: 0.25),\n            min_interval_blocks: 10,\n            slippage: 0.01,\n        ),\n    ],";
    assert!(text.contains(from), "lending.ron's 2x vault changed");
    let text = text
        .replace(from, &from.replace("band: 0.25", &format!("band: {band:?}")))
        .replace("health_floor: 1.3)", &format!("health_floor: {floor:?})"));
    let scenario = parse(&text).unwrap_or_else(|e| panic!("{e}"));
    let options = SimOptions { record: true, check_conservation: true, vault_every: 50 };
    let mut sim = Simulation::with_options(&scenario, options).unwrap();
    sim.run_blocks(3_000).unwrap_or_else(|e| panic!("{e}"));
    let v = scenario.vaults.iter().position(|v| v.name == "eth-2x").unwrap();
    let eth = scenario.tokens.iter().position(|t| t.symbol == "ETH").unwrap();
    sim.drain_vault_records()
        .iter()
        .filter(|r| r.vault.index() == v)
        .map(|r| r.weights[r.tokens.iter().position(|t| t.index() == eth).unwrap()])
        .collect()
}

#[test]
fn a_leveraged_vault_levers_up_in_turns_and_holds_its_band_through_the_fall() {
    let held = leverage_path(0.25, 1.3);
    // 200 ETH at 1x to 2x takes two turns of the loop (each borrows what the collateral allows)
    assert!((held[2] - 2.0).abs() <= 0.25, "leverage {} at block 150", held[2]);
    let worst = held.iter().skip(2).fold(0.0f64, |a, b| a.max(*b));
    assert!(worst < 2.35, "leverage reached {worst}");
    // a vault with a band of 0.9 and a floor at the edge of liquidation ends far
    // more levered
    let loose = leverage_path(0.9, 1.01);
    let loose_worst = loose.iter().skip(2).fold(0.0f64, |a, b| a.max(*b));
    assert!(loose_worst > worst + 0.3, "{loose_worst} against {worst}");
}

#[test]
fn leveraged_strategies_are_located() {
    let good = std::fs::read_to_string(worlds_dir().join("lending.ron")).unwrap();
    let cases = [
        ("target_leverage: 2.0", "target_leverage: 5.0", "strategy.target_leverage", "allows leverage up to"),
        ("Leveraged(market: \"aave\"", "Leveraged(market: \"avae\"", "strategy.market", "unknown lending market"),
        (
            "risky: \"ETH\", debt: \"USDC\", target",
            "risky: \"LINK\", debt: \"USDC\", target",
            "strategy.risky",
            "has no \"LINK\" reserve",
        ),
        ("health_floor: 1.3)", "health_floor: 0.9)", "strategy.health_floor", "health factor above 1"),
        (
            "holdings: [(\"ETH\", \"200\")],",
            "holdings: [(\"ETH\", \"200\")],\n            flows: [Deposit(block: 5, amount: \"10\")],",
            "flows",
            "no depositor flows",
        ),
    ];
    for (from, to, path, message) in cases {
        crate::worlds::assert_located(&good, from, to, path, message, 20);
    }
}
