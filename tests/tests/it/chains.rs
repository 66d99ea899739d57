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

fn bridge_halt(halted: bool) -> meshsim_scenario::Scenario {
    let path = worlds_dir().join("stress/bridge-halt.ron");
    let text = std::fs::read_to_string(&path).unwrap();
    let text = if halted { text } else { text.replace("halts: [(3600.0, 25200.0)]", "halts: []") };
    meshsim_scenario::parse_str(&text, "bridge-halt.ron", &worlds_dir()).unwrap()
}

/// Runs a world to its end with conservation checked every block (the bridges' in-flight check
/// included); returns the run, its bridge rows and its trade rows.
fn run_checked(
    s: &meshsim_scenario::Scenario,
) -> (Simulation, Vec<meshsim_core::bridges::BridgeRow>, Vec<meshsim_core::record::TradeRow>) {
    let mut sim = recorded(s);
    let (mut rows, mut trades) = (Vec::new(), Vec::new());
    for _ in 0..s.blocks / 200 {
        sim.run_blocks(200).unwrap();
        rows.extend(sim.drain_bridge_records());
        trades.extend(sim.drain_records().1);
    }
    (sim, rows, trades)
}

#[test]
fn bridges_deliver_after_their_delay_and_lose_nothing_in_flight() {
    let s = bridge_halt(false);
    let (sim, rows, trades) = run_checked(&s);
    // refills happened, every one arrived, none before the relayer's fill time
    let delivered: Vec<_> = rows.iter().filter(|r| r.status == "delivered").collect();
    assert!(delivered.len() >= 5, "{} deliveries", delivered.len());
    for r in &delivered {
        let waited = r.done_at.unwrap() - r.sent_at;
        assert!((10.0..10.0 + 12.0).contains(&waited), "delivered after {waited} s");
        // the relayer's 4 bp, rounded up
        assert_eq!(r.fee, (r.amount * 4).div_ceil(10_000));
    }
    // each send is a trade row of its own chain; what was sent is delivered or still in flight
    let sends: Vec<_> = trades.iter().filter(|t| t.kind.name() == "bridge" && !t.reverted).collect();
    let b = sim.bridges().unwrap();
    let in_flight = b.in_flight_rows();
    assert_eq!(sends.len(), delivered.len() + in_flight.len());
    for t in &sends {
        assert_eq!(s.tokens[t.token_in.index()].chain, t.chain, "a transfer leaves from the chain it is sent on");
    }
    // and per asset, the bridges hold exactly what they burned and have not minted back
    for (asset, held) in b.outstanding() {
        let f = b.flows[&asset];
        assert_eq!(f.burned - f.minted, held);
    }
}

#[test]
fn a_halted_bridge_sends_and_delivers_nothing_and_the_gap_between_chains_widens() {
    let (halt_from, halt_to) = (3600.0, 25200.0);
    let (halted, halt_rows, halt_trades) = run_checked(&bridge_halt(true));
    let (working, ..) = run_checked(&bridge_halt(false));
    let arb_bridge = meshsim_scenario::BridgeId(0);
    for r in halt_rows.iter().filter(|r| r.bridge == arb_bridge) {
        let sent_inside = r.sent_at >= halt_from && r.sent_at < halt_to;
        let done_inside = r.done_at.is_some_and(|d| d >= halt_from && d < halt_to);
        assert!(!sent_inside && !done_inside, "{r:?}");
    }
    // nobody kept sending into a paused bridge: its halt is public
    assert!(halt_trades.iter().filter(|t| t.reverted).count() < 20);
    // the same path, common random numbers: Ethereum-Arbitrum gaps stay inside the pools' fee
    // band plus gas while the bridge works, and blow out while it is halted
    let gap = |sim: &Simulation, a: &str, b: &str| {
        let s = sim.scenario();
        let id = |n: &str| s.pools.iter().find(|p| p.name == n).unwrap().id;
        sim.chain_gaps().unwrap().pairs.iter().find(|g| g.pools == (id(a), id(b))).unwrap().clone()
    };
    let (ok, bad) = (gap(&working, "eth-usdc", "arb-eth-usdc"), gap(&halted, "eth-usdc", "arb-eth-usdc"));
    // the band: the two pools' fees (30 + 5 bp), plus the excess e at which a pair of legs pays
    // for Ethereum's gas and the agent's minimum (about e^2 V / 8 on the smaller pool of value V),
    // plus three standard deviations of one Ethereum block's move
    let eth_gas: f64 = (21_000.0 + 90_000.0) * 8e-9 * 2000.0;
    let v: f64 = 2.0 * 2000.0 * 2000.0;
    let excess = (8.0 * (eth_gas + 2.0) / v).sqrt() * 1e4;
    let block_move = 3.0 * 0.5 * (12.0f64 / (365.0 * 86_400.0)).sqrt() * 1e4;
    let band = 35.0 + excess + block_move;
    assert!(ok.max < band, "working bridge: max gap {} bp, band {band} bp", ok.max);
    assert!(bad.max > 10.0 * ok.max && bad.share_above(500) > 0.5, "halted bridge: {bad:?}");
    // Base's bridge ran in both: its gap is the same story either way
    let (base_ok, base_halt) = (gap(&working, "eth-usdc", "base-eth-usdc"), gap(&halted, "eth-usdc", "base-eth-usdc"));
    assert!(base_halt.max < 2.0 * base_ok.max.max(60.0), "{} vs {}", base_halt.max, base_ok.max);
}

#[test]
fn a_vault_across_chains_counts_what_is_in_flight_and_moves_value_through_bridges() {
    let s = meshsim_scenario::load_file(&worlds_dir().join("cross-chain.ron")).unwrap();
    let v = s.vaults.iter().find(|v| !v.bridges.is_empty()).unwrap();
    let options = SimOptions { record: true, check_conservation: true, ..SimOptions::default() };
    let mut sim = Simulation::with_options(&s, options).unwrap();
    let (mut trades, mut rows) = (Vec::new(), Vec::new());
    for _ in 0..s.blocks / 300 {
        sim.run_blocks(300).unwrap();
        trades.extend(sim.drain_records().1);
        rows.extend(sim.drain_vault_records().into_iter().filter(|r| r.vault == v.id));
    }
    let mine: Vec<_> = trades.iter().filter(|t| t.sender == meshsim_core::tx::Sender::Vault(v.id)).collect();
    // the rally leaves ETH overweight on Ethereum and USDC short on Arbitrum: it sells ETH in one
    // chain's pool and bridges the proceeds (or bridges ETH and sells it in the other's)
    let bridged = mine.iter().filter(|t| t.kind.name() == "bridge" && !t.reverted).count();
    let swapped = mine.iter().filter(|t| t.kind.name() == "rebalance" && !t.reverted).count();
    assert!(bridged >= 1 && swapped >= 1, "{bridged} bridge transfers, {swapped} swaps");
    for t in mine.iter().filter(|t| t.kind.name() == "rebalance") {
        assert_eq!(s.pool_chain(t.pools[0]), t.chain, "a vault trades a pool in its own chain's block");
    }
    // value on its way counts: the NAV never drops by what is in flight (a block's price move is
    // a few bp; a transfer is over 1 % of the vault)
    for w in rows.windows(2) {
        let step = (w[1].nav / w[0].nav - 1.0).abs();
        assert!(step < 0.005, "NAV jumped {step} between blocks {} and {}", w[0].block, w[1].block);
    }
    // and it ends near its targets
    let last = rows.last().unwrap();
    assert!(last.tracking_error < 0.02, "tracking error {}", last.tracking_error);
}

/// Two chains, a 50/50 vault of ETH on Ethereum and USDC on Arbitrum that can only sell ETH on
/// Arbitrum, and one bridge for ETH taking `seconds` each way.
fn bridge_latency_world(seconds: f64) -> meshsim_scenario::Scenario {
    let text = format!(
        r#"World(
    version: 1, name: "latency", seed: 21, blocks: 1200,
{two_chains}
    market: (
        assets: [(token: "ETH", price: 2000.0, volatility: 0.5)],
        shocks: [(token: "ETH", start_block: 100, blocks: 50, change: 0.15)],
    ),
    pools: [
        ConstantProduct(name: "l1", tokens: ("ETH", "USDC"), reserves: ("20000", "40000000"), fee_bps: 30.0),
        ConstantProduct(name: "l2", tokens: ("ETH.arb", "USDC.arb"), reserves: ("20000", "40000000"), fee_bps: 5.0),
    ],
    bridges: [
        (name: "eth-bridge", chains: ("ethereum", "arbitrum"), tokens: [("ETH", "ETH.arb")],
         kind: Canonical(deposit_s: {seconds}, withdrawal_s: {seconds})),
    ],
    oracles: [Push(name: "cl-eth", token: "ETH", heartbeat_seconds: 3600.0, deviation: 0.002, latency_blocks: 1)],
    vaults: [(
        name: "v", deposit_token: "ETH", holdings: [("ETH", "250"), ("USDC.arb", "500000")], keeper_gas: "5",
        oracles: [("ETH", "cl-eth")], strategy: ConstantMix(targets: [("ETH", 0.5), ("USDC.arb", 0.5)]),
        trigger: Threshold(band: 0.01), slippage: 0.01, venues: Only(["l2"]), bridges: ["eth-bridge"],
    )],
    agents: [
        Arbitrageur(name: "a1", capital: [("ETH", "5000"), ("USDC", "10000000")], pools: Only(["l1"])),
        Arbitrageur(name: "a2", capital: [("ETH.arb", "5000"), ("USDC.arb", "10000000")], pools: Only(["l2"])),
    ],
)"#,
        two_chains = TWO_CHAINS.trim_end(),
    );
    parse(&text).unwrap()
}

#[test]
fn a_vault_with_a_faster_bridge_tracks_its_targets_closer() {
    // common random numbers: the same world and seed, only the bridge's latency differs
    let te = |seconds: f64| {
        let s = bridge_latency_world(seconds);
        let mut sim =
            Simulation::with_options(&s, SimOptions { check_conservation: true, ..SimOptions::default() }).unwrap();
        sim.run_blocks(s.blocks).unwrap();
        let m = &sim.metrics().vaults[0];
        assert!(m.rebalances >= 1, "the rally never triggered it");
        m.tracking_mean()
    };
    let (fast, slow) = (te(20.0), te(1800.0));
    assert!(fast < slow, "tracking error {fast} with a 20 s bridge, {slow} with a 30 min one");
}

#[test]
fn cascades_cross_chains() {
    // a move of one chain's pool sets off the cross-chain arbitrageur's leg on another, whose
    // second leg comes back: one cascade, members on several chains (ids carry their chain)
    let s = meshsim_scenario::load_file(&worlds_dir().join("cross-chain.ron")).unwrap();
    let mut sim = recorded(&s);
    sim.run_blocks(900).unwrap();
    let cascades = sim.cascades();
    let crossing = cascades
        .iter()
        .filter(|(c, _)| {
            let mut chains: Vec<u64> = c.members.iter().map(|t| t.0 >> 48).collect();
            chains.sort_unstable();
            chains.dedup();
            chains.len() > 1
        })
        .count();
    assert!(crossing > 0, "{} cascades, none across chains", cascades.len());
}

/// Two chains, the Arbitrum pool kept in line only by a cross-chain arbitrageur of `style`.
fn style_world(style: &str) -> meshsim_scenario::Scenario {
    let text = STYLE_WORLD.replace("{two_chains}", TWO_CHAINS.trim_end()).replace("STYLE", style);
    parse(&text).unwrap()
}

/// Ethereum and Arbitrum with ETH and USDC on each: the worlds of the tests below share them.
const TWO_CHAINS: &str = r#"    chains: [
        (name: "ethereum", block_time: Fixed(12.0), gas_limit: 30000000, base_fee_gwei: 5.0, native_token: "ETH"),
        (name: "arbitrum", block_time: Fixed(0.25), gas_limit: 32000000, base_fee_gwei: 0.01, native_token: "ETH.arb"),
    ],
    numeraire: "USDC",
    tokens: [
        (symbol: "ETH", decimals: 18), (symbol: "USDC", decimals: 6),
        (symbol: "ETH.arb", decimals: 18, chain: "arbitrum", asset: "ETH"),
        (symbol: "USDC.arb", decimals: 6, chain: "arbitrum", asset: "USDC"),
    ],
"#;

const STYLE_WORLD: &str = r#"World(
    version: 1, name: "style", seed: 5, blocks: 1800,
{two_chains}
    market: (assets: [(token: "ETH", price: 2000.0, volatility: 0.8)]),
    pools: [
        ConstantProduct(name: "l1", tokens: ("ETH", "USDC"), reserves: ("20000", "40000000"), fee_bps: 5.0),
        ConstantProduct(name: "l2", tokens: ("ETH.arb", "USDC.arb"), reserves: ("2000", "4000000"), fee_bps: 5.0),
    ],
    bridges: [
        (name: "across", chains: ("ethereum", "arbitrum"), tokens: [("ETH", "ETH.arb"), ("USDC", "USDC.arb")],
         kind: Intent(fill_s: 240.0, fee_bps: 4, repay_s: 3600.0, max_wait_s: 1800.0,
             capital: [("ETH", "1000"), ("USDC", "2000000"), ("ETH.arb", "1000"), ("USDC.arb", "2000000")])),
    ],
    agents: [
        Arbitrageur(name: "cex", capital: [("ETH", "5000"), ("USDC", "10000000")], pools: Only(["l1"])),
        CrossChainArbitrageur(name: "x", capital: [("ETH", "200"), ("USDC", "400000"), ("ETH.arb", "200"), ("USDC.arb", "400000")],
            pools: ["l1", "l2"], bridges: ["across"], style: STYLE, min_profit: 1.0),
    ],
)"#;

#[test]
fn bridge_based_arbitrage_leaves_wider_gaps_than_pre_positioned_inventory() {
    // the two styles measured on chain: both legs at once from inventory (seconds), or the first
    // leg's proceeds bridged and sold on arrival (minutes); common random numbers
    let run = |style: &str| {
        let s = style_world(style);
        let options = SimOptions { check_conservation: true, ..SimOptions::default() };
        let mut sim = Simulation::with_options(&s, options).unwrap();
        sim.run_blocks(s.blocks).unwrap();
        let sent: u64 = sim.bridges().unwrap().list.iter().flat_map(|b| &b.pairs).map(|p| p.stats.sent).sum();
        (sim.chain_gaps().unwrap().pairs[0].clone(), sent)
    };
    let ((inventory, sent_inventory), (bridged, sent_bridged)) = (run("Inventory"), run("Bridge"));
    assert_eq!(sent_inventory, 0, "enough inventory: no refill needed");
    assert!(sent_bridged >= 10, "the bridge-based arbitrageur bridged {sent_bridged} times");
    assert!(
        bridged.quantile(0.99) > inventory.quantile(0.99) && bridged.mean() > inventory.mean(),
        "gaps: bridged p99 {} mean {}, inventory p99 {} mean {}",
        bridged.quantile(0.99),
        bridged.mean(),
        inventory.quantile(0.99),
        inventory.mean()
    );
}

#[test]
fn a_sender_reaches_each_chain_after_its_own_latency() {
    // two identical arbitrageurs race for the Arbitrum pool, whose blocks are first come first
    // served: the one 5 ms from Arbitrum (and 200 ms from anywhere else) beats the one 50 ms from
    // every chain
    let text = THREE.replace(
        r#"Arbitrageur(name: "arb-arb", capital: [("ETH.arb", "1000"), ("USDC.arb", "2000000")], pools: Only(["arb-eth-usdc"])),"#,
        r#"Arbitrageur(name: "near", capital: [("ETH.arb", "1000"), ("USDC.arb", "2000000")], pools: Only(["arb-eth-usdc"]),
            latency_ms: 200.0, chain_latency_ms: [("arbitrum", 5.0)]),
        Arbitrageur(name: "far", capital: [("ETH.arb", "1000"), ("USDC.arb", "2000000")], pools: Only(["arb-eth-usdc"]),
            latency_ms: 50.0),"#,
    );
    let s = parse(&text).unwrap();
    let (near, far) = (
        s.agents.iter().position(|a| a.name == "near").unwrap(),
        s.agents.iter().position(|a| a.name == "far").unwrap(),
    );
    let mut sim = recorded(&s);
    sim.run_blocks(100).unwrap();
    let (_, trades) = sim.drain_records();
    let won = |k: usize| {
        trades
            .iter()
            .filter(|t| t.sender == meshsim_core::tx::Sender::Agent(meshsim_scenario::AgentId(k as u32)) && !t.reverted)
            .count()
    };
    assert!(won(near) > 10 && won(far) == 0, "near won {}, far won {}", won(near), won(far));
    // and a latency to a chain the world lacks is a located error
    let bad = text.replace(r#"chain_latency_ms: [("arbitrum", 5.0)]"#, r#"chain_latency_ms: [("optimism", 5.0)]"#);
    let Err(ScenarioError::Invalid(issues)) = parse(&bad) else { panic!("expected an error") };
    assert!(
        issues.iter().any(|i| i.path.ends_with("chain_latency_ms[0][0]") && i.message.contains("unknown chain")),
        "{issues:#?}"
    );
}

#[test]
fn a_world_without_a_chain_is_refused_not_a_panic() {
    let text = THREE.replace(r#"    chains: ["#, r#"    unused: ["#);
    // the chains list is now an unknown field: a located syntax error
    assert!(parse(&text).is_err());
    // with no chain at all, tokens, pools and agents are still checked, and nothing is placed
    let start = THREE.find("    chains: [").unwrap();
    let end = THREE.find("    numeraire:").unwrap();
    let none = format!("{}{}", &THREE[..start], &THREE[end..]);
    let Err(ScenarioError::Invalid(issues)) = parse(&none) else { panic!("expected validation errors") };
    assert!(issues.iter().any(|i| i.path == "chain" && i.message.contains("expected `chain")), "{issues:#?}");
}

#[test]
fn unknown_bridges_and_tokens_off_a_vaults_chains_are_located() {
    let path = worlds_dir().join("cross-chain.ron");
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(meshsim_scenario::parse_str(&text, "cross-chain.ron", &worlds_dir()).is_ok());
    let cases = [
        (
            r#"bridges: ["across-arb", "across-base", "cctp-arb", "cctp-base", "arb-canonical", "base-canonical"],"#,
            r#"bridges: ["across-arb", "across-bse", "cctp-arb", "cctp-base", "arb-canonical", "base-canonical"],"#,
            "agents[1].bridges[1]",
            "unknown bridge \"across-bse\"",
        ),
        (
            r#"bridges: ["across-arb", "cctp-arb", "arb-canonical"],"#,
            r#"bridges: ["across-arb", "cctp-arbitrum", "arb-canonical"],"#,
            "vaults[0].bridges[1]",
            "unknown bridge \"cctp-arbitrum\"",
        ),
        (
            r#"holdings: [("ETH", "250"), ("USDC.arb", "500000")],
            keeper_gas: "5",
            oracles: [("ETH", "cl-eth")],
            strategy: ConstantMix(targets: [("ETH", 0.5), ("USDC.arb", 0.5)]),
            trigger: Threshold(band: 0.01),
            min_interval_blocks: 10,
            slippage: 0.01,
            venues: Only(["eth-usdc", "arb-eth-usdc"]),
            bridges: ["across-arb"],"#,
            r#"holdings: [("ETH", "250"), ("USDC.base", "500000")],
            keeper_gas: "5",
            oracles: [("ETH", "cl-eth")],
            strategy: ConstantMix(targets: [("ETH", 0.5), ("USDC.arb", 0.5)]),
            trigger: Threshold(band: 0.01),
            min_interval_blocks: 10,
            slippage: 0.01,
            venues: Only(["eth-usdc", "arb-eth-usdc"]),
            bridges: ["across-arb"],"#,
            "vaults[1].holdings[1]",
            "which the vault's bridges do not reach",
        ),
    ];
    for (from, to, at, message) in cases {
        assert!(text.contains(from), "test case out of date: {from}");
        let Err(ScenarioError::Invalid(issues)) =
            meshsim_scenario::parse_str(&text.replacen(from, to, 1), "cross-chain.ron", &worlds_dir())
        else {
            panic!("{to}: expected validation errors")
        };
        assert!(
            issues.iter().any(|i| i.path.ends_with(at) && i.message.contains(message) && i.line > 1),
            "{to}: expected {at}: {message}, got {issues:#?}"
        );
    }
}
