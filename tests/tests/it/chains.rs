//! Several chains: the time-ordered loop, tokens per chain, and located errors for anything placed
//! on the wrong chain.

use meshsim_core::{SimOptions, Simulation};
use meshsim_scenario::ScenarioError;
use meshsim_tests::worlds_dir;

/// Ethereum, Arbitrum and Base, one ETH/USDC pool and one arbitrageur on each.
pub(crate) const THREE: &str = r#"World(
    version: 1,
    name: "three",
    seed: 7,
    blocks: 100,
    chains: [
        (name: "ethereum", block_time: Fixed(12.0), gas_limit: 30000000, base_fee_gwei: 10.0, native_token: "ETH"),
        (name: "arbitrum", block_time: Fixed(0.25), gas_limit: 32000000, base_fee_gwei: 0.01, native_token: "ETH.arb",
         ordering: FirstComeFirstServed),
        (name: "base", block_time: Fixed(2.0), gas_limit: 60000000, base_fee_gwei: 0.005, native_token: "ETH.base"),
    ],
    numeraire: "USDC",
    tokens: [
        (symbol: "ETH", decimals: 18),
        (symbol: "USDC", decimals: 6),
        (symbol: "ETH.arb", decimals: 18, chain: "arbitrum", asset: "ETH"),
        (symbol: "USDC.arb", decimals: 6, chain: "arbitrum", asset: "USDC"),
        (symbol: "ETH.base", decimals: 18, chain: "base", asset: "ETH"),
        (symbol: "USDC.base", decimals: 6, chain: "base", asset: "USDC"),
    ],
    market: (assets: [(token: "ETH", price: 2000.0, volatility: 0.6)]),
    pools: [
        ConstantProduct(name: "eth-usdc", tokens: ("ETH", "USDC"), reserves: ("20000", "40000000"), fee_bps: 30.0),
        ConstantProduct(name: "arb-eth-usdc", tokens: ("ETH.arb", "USDC.arb"), reserves: ("5000", "10000000"), fee_bps: 5.0),
        ConstantProduct(name: "base-eth-usdc", tokens: ("ETH.base", "USDC.base"), reserves: ("2000", "4000000"), fee_bps: 30.0),
    ],
    agents: [
        Arbitrageur(name: "arb-eth", capital: [("ETH", "1000"), ("USDC", "2000000")], pools: Only(["eth-usdc"])),
        Arbitrageur(name: "arb-arb", capital: [("ETH.arb", "1000"), ("USDC.arb", "2000000")], pools: Only(["arb-eth-usdc"])),
        Arbitrageur(name: "arb-base", capital: [("ETH.base", "1000"), ("USDC.base", "2000000")], pools: Only(["base-eth-usdc"])),
    ],
)"#;

fn parse(text: &str) -> Result<meshsim_scenario::Scenario, ScenarioError> {
    meshsim_scenario::parse_str(text, "three.ron", &worlds_dir())
}

fn recorded(s: &meshsim_scenario::Scenario) -> Simulation {
    let options = SimOptions { record: true, check_conservation: true, ..SimOptions::default() };
    Simulation::with_options(s, options).unwrap()
}

#[test]
fn chains_run_in_time_order_each_at_its_own_block_time() {
    let s = parse(THREE).unwrap();
    let mut sim = recorded(&s);
    let hub_blocks = 100;
    sim.run_blocks(hub_blocks).unwrap();
    assert_eq!(sim.block(), hub_blocks);
    let (rows, trades) = sim.drain_records();
    // one row per block of any chain, in time order; each chain's blocks numbered 1, 2, 3, ...
    assert!(rows.windows(2).all(|w| w[0].timestamp <= w[1].timestamp), "rows out of time order");
    let mut next = vec![1u64; s.chains.len()];
    for r in &rows {
        assert_eq!(r.block, next[r.chain.index()], "chain {:?} skipped a block", r.chain);
        next[r.chain.index()] += 1;
    }
    // the run stops with the hub's block: a tie goes to the hub, so the rollups' blocks at that
    // instant are still to come
    let horizon = hub_blocks as f64 * 12.0;
    for (k, c) in s.chains.iter().enumerate() {
        let expected = if k == 0 { hub_blocks } else { (horizon / c.block_time.mean_seconds()) as u64 - 1 };
        assert_eq!(sim.chain_blocks()[k], expected, "{}", c.name);
    }
    // each chain's arbitrageur trades its own chain's pool, in its own blocks
    for t in &trades {
        let pool_chain = s.pool_chain(t.pools[0]);
        assert_eq!(t.chain, pool_chain);
    }
    assert!(trades.iter().any(|t| t.chain.index() == 1), "the Arbitrum arbitrageur never traded");
    // and each pool ends within its fee band (plus a block's move) of the one external price
    let last = rows.last().unwrap();
    let external = last.prices[0];
    for (p, row) in s.pools.iter().zip(&last.pools) {
        let fee = p.pool.fee_fraction();
        let gap = (row.price / external - 1.0).abs();
        assert!(gap < fee + 0.003, "{}: pool {} vs external {external}", p.name, row.price);
    }
}

#[test]
fn several_chains_are_deterministic_and_seeded() {
    let s = parse(THREE).unwrap();
    let digest = |seed: u64| {
        let mut s = s.clone();
        s.seed = seed;
        let mut sim = Simulation::new(&s).unwrap();
        sim.run_blocks(50).unwrap();
        sim.digest()
    };
    assert_eq!(digest(7), digest(7));
    assert_ne!(digest(7), digest(8));
}

#[test]
fn poisson_chains_interleave_by_their_drawn_times() {
    let text = THREE
        .replace("block_time: Fixed(0.25)", "block_time: Poisson(0.25)")
        .replace("block_time: Fixed(2.0)", "block_time: Poisson(2.0)");
    let s = parse(&text).unwrap();
    let mut sim = recorded(&s);
    sim.run_blocks(200).unwrap();
    let (rows, _) = sim.drain_records();
    assert!(rows.windows(2).all(|w| w[0].timestamp <= w[1].timestamp));
    // about 2400 s / 0.25 s Arbitrum blocks: within 5 standard deviations of a Poisson count
    let arb = sim.chain_blocks()[1] as f64;
    let mean = 2400.0 / 0.25;
    assert!((arb - mean).abs() < 5.0 * mean.sqrt(), "{arb} Arbitrum blocks");
}

#[test]
fn things_on_the_wrong_chain_are_located() {
    assert!(parse(THREE).is_ok());
    let cases = [
        (
            r#"(symbol: "ETH.arb", decimals: 18, chain: "arbitrum""#,
            r#"(symbol: "ETH.arb", decimals: 18, chain: "arbitrun""#,
            "tokens[2].chain",
            "unknown chain \"arbitrun\"",
        ),
        (
            r#"tokens: ("ETH.arb", "USDC.arb")"#,
            r#"tokens: ("ETH.arb", "USDC")"#,
            "pools[1].tokens[1]",
            "lives on chain \"ethereum\", but the pool is on chain \"arbitrum\"",
        ),
        (
            r#"capital: [("ETH.base", "1000"), ("USDC.base", "2000000")]"#,
            r#"capital: [("ETH.base", "1000"), ("USDC", "2000000")]"#,
            "agents[2].capital[1]",
            "but the agent is on chain \"base\"",
        ),
        (
            r#"native_token: "ETH.arb""#,
            r#"native_token: "ETH""#,
            "chains[1].native_token",
            "the chain's gas token is on chain \"arbitrum\"",
        ),
        (
            r#"pools: Only(["base-eth-usdc"])"#,
            r#"pools: Only(["base-eth-usdc", "eth-usdc"])"#,
            "agents[2].pools[1]",
            "an agent trades one chain",
        ),
        (
            r#"(symbol: "USDC.base", decimals: 6, chain: "base", asset: "USDC")"#,
            r#"(symbol: "USDC.base", decimals: 18, chain: "base", asset: "USDC")"#,
            "tokens[5].asset",
            "linked tokens need the same",
        ),
        (r#"(name: "base", block_time"#, r#"(name: "arbitrum", block_time"#, "chains[2].name", "used twice"),
        (
            "    numeraire: \"USDC\",",
            "    bridges: [(name: \"b\", chains: (\"ethereum\", \"optimism\"), tokens: [(\"USDC\", \"USDC.arb\")],\n        kind: Canonical(deposit_s: 600.0, withdrawal_s: 604800.0))],\n    numeraire: \"USDC\",",
            "bridges[0].chains.1",
            "unknown chain \"optimism\"",
        ),
        (
            "    numeraire: \"USDC\",",
            "    bridges: [(name: \"b\", chains: (\"ethereum\", \"arbitrum\"), tokens: [(\"USDC\", \"ETH.arb\")],\n        kind: Canonical(deposit_s: 600.0, withdrawal_s: 604800.0))],\n    numeraire: \"USDC\",",
            "bridges[0].tokens[0]",
            "different assets",
        ),
        (
            "    numeraire: \"USDC\",",
            "    bridges: [(name: \"b\", chains: (\"ethereum\", \"arbitrum\"), tokens: [(\"USDC.arb\", \"USDC\")],\n        kind: Canonical(deposit_s: 600.0, withdrawal_s: 604800.0))],\n    numeraire: \"USDC\",",
            "bridges[0].tokens[0].0",
            "the bridge's first side is on chain \"ethereum\"",
        ),
    ];
    for (from, to, path, message) in cases {
        crate::worlds::assert_located(THREE, from, to, path, message, 5);
    }
    // one chain or several, not both
    let both = THREE.replace(
        "    chains: [",
        "    chain: (block_time: Fixed(12.0), gas_limit: 30000000, base_fee_gwei: 1.0, native_token: \"ETH\"),\n    chains: [",
    );
    let Err(ScenarioError::Invalid(issues)) = parse(&both) else { panic!("expected an error") };
    assert!(issues.iter().any(|i| i.path == "chains" && i.message.contains("not both")), "{issues:#?}");
}
