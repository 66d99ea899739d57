//! Every bundled world validates, runs with conservation checked every block, and a malformed copy
//! of it is rejected with the right file, line, column and field.

use meshsim_core::{SimOptions, Simulation};
use meshsim_scenario::ScenarioError;
use meshsim_tests::{bundled_worlds, worlds_dir};

#[test]
fn every_bundled_world_validates_runs_and_conserves() {
    let names: Vec<String> =
        bundled_worlds().iter().map(|p| p.file_name().unwrap().to_string_lossy().into_owned()).collect();
    for required in ["lvr.ron", "fee-arbitrage.ron", "mesh.ron", "crash.ron"] {
        assert!(names.iter().any(|n| n == required), "worlds/{required} is missing");
    }
    for path in bundled_worlds() {
        let s = meshsim_scenario::load_file(&path).unwrap_or_else(|e| panic!("{e}"));
        let mut sim = Simulation::with_options(
            &s,
            SimOptions { record: false, check_conservation: true, ..SimOptions::default() },
        )
        .unwrap();
        sim.run_blocks(s.blocks.min(300)).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert_eq!(sim.block(), s.blocks.min(300));
    }
}

/// Line (1-based) and column of the first occurrence of `needle` in `text`.
fn position(text: &str, needle: &str) -> (usize, usize) {
    let at = text.find(needle).unwrap_or_else(|| panic!("{needle:?} not found"));
    let line = text[..at].matches('\n').count() + 1;
    let col = at - text[..at].rfind('\n').map_or(0, |i| i + 1) + 1;
    (line, col)
}

fn parse(text: &str) -> Result<meshsim_scenario::Scenario, ScenarioError> {
    meshsim_scenario::parse_str(text, "copy.ron", &worlds_dir())
}

/// `text` with `from` replaced by `to` is refused with an issue at `path` (below line
/// `after_line`) whose message holds `message`.
pub(crate) fn assert_located(text: &str, from: &str, to: &str, path: &str, message: &str, after_line: usize) {
    assert!(text.contains(from), "test case out of date: {from}");
    let Err(ScenarioError::Invalid(issues)) = parse(&text.replacen(from, to, 1)) else {
        panic!("{to}: expected validation errors")
    };
    assert!(
        issues.iter().any(|i| i.path.ends_with(path) && i.message.contains(message) && i.line > after_line),
        "{to}: expected {path}: {message}, got {issues:#?}"
    );
}

#[test]
fn malformed_copies_are_rejected_with_location_and_field() {
    for path in bundled_worlds() {
        let text = std::fs::read_to_string(&path).unwrap();

        // an unknown field: a syntax/shape error at its position
        let bad = text.replacen("    version: 1,", "    version: 1,\n    colour: \"blue\",", 1);
        let (line, _) = position(&bad, "colour");
        match parse(&bad) {
            Err(ScenarioError::Syntax(issue)) => {
                assert_eq!(issue.line, line, "{}: {issue}", path.display());
                assert!(issue.message.contains("colour"), "{issue}");
            }
            other => panic!("{}: expected a syntax error, got {other:?}", path.display()),
        }

        // semantic errors are all reported at once, each with its field path and location
        let fee_at = text.find("fee_bps: ").expect("every world has a pool with a fee");
        let fee_end = fee_at + text[fee_at..].find([',', ')', '\n']).unwrap();
        let mut bad = format!("{}fee_bps: 20000.0{}", &text[..fee_at], &text[fee_end..]);
        let num_at = bad.find("numeraire: \"").expect("every world names its numeraire") + "numeraire: \"".len();
        let num_end = num_at + bad[num_at..].find('"').unwrap();
        bad = format!("{}NOPE{}", &bad[..num_at], &bad[num_end..]);
        let Err(ScenarioError::Invalid(issues)) = parse(&bad) else {
            panic!("{}: expected validation errors", path.display())
        };
        let fee =
            issues.iter().find(|i| i.path.ends_with("fee_bps")).unwrap_or_else(|| panic!("no fee error in {issues:?}"));
        assert_eq!((fee.line, fee.col), position(&bad, "fee_bps: 20000.0"), "{fee}");
        assert!(fee.path.starts_with("pools["), "{fee}");
        assert!(fee.message.contains("[0, 10000)"), "{fee}");
        let num =
            issues.iter().find(|i| i.path == "numeraire").unwrap_or_else(|| panic!("no numeraire error in {issues:?}"));
        assert_eq!(num.line, position(&bad, "numeraire: \"NOPE\"").0, "{num}");
        assert!(num.message.contains("unknown token \"NOPE\""), "{num}");
        assert!(num.to_string().starts_with("copy.ron:"), "{num}");
    }
}

#[test]
fn validation_names_each_kind_of_problem() {
    let text = std::fs::read_to_string(worlds_dir().join("mesh.ron")).unwrap();
    let cases = [
        // (replace, with, expected path suffix, expected message part)
        ("(symbol: \"WBTC\", decimals: 8)", "(symbol: \"WBTC\", decimals: 40)", "tokens[1].decimals", "at most 36"),
        ("weights: [0.5, 0.5]", "weights: [0.5, 0.6]", "weights", "sum to 1"),
        (
            "(token: \"ETH\", price: 2000.0, volatility: 0.7)",
            "(token: \"ETH\", price: 2000.0, volatility: -0.7)",
            "market.assets[0].volatility",
            "volatility",
        ),
        (
            "reserves: (\"5000\", \"10000000\")",
            "reserves: (\"0\", \"10000000\")",
            "pools[0].reserves[0]",
            "positive reserve",
        ),
        ("lower_tick: 257340", "lower_tick: 257341", "lower_tick", "multiple of the tick spacing"),
        (
            "tokens: (\"WBTC\", \"ETH\"), reserves",
            "tokens: (\"WBTC\", \"XYZ\"), reserves",
            "pools[3].tokens[1]",
            "unknown token \"XYZ\"",
        ),
        ("pools: Only([\"v2-dai-usdc\"", "pools: Only([\"v2-nope\"", "agents[2].pools[0]", "unknown pool"),
        (
            "reserves: (\"5000\", \"10000000\")",
            "reserves: (\"5000.0000000000000000001\", \"10000000\")",
            "pools[0].reserves[0]",
            "decimals",
        ),
        (
            "(a: \"ETH\", b: \"WBTC\", rho: 0.8)",
            "(a: \"ETH\", b: \"WBTC\", rho: 0.99), (a: \"ETH\", b: \"USDT\", rho: 0.99), (a: \"WBTC\", b: \"USDT\", rho: -0.99)",
            "market.correlations",
            "positive definite",
        ),
    ];
    for (from, to, path, message) in cases {
        assert_located(&text, from, to, path, message, 1);
    }
}

#[test]
fn ambiguous_worlds_are_refused_with_located_errors() {
    let mesh = std::fs::read_to_string(worlds_dir().join("mesh.ron")).unwrap();
    let vaults = std::fs::read_to_string(worlds_dir().join("vaults.ron")).unwrap();
    let cases = [
        // two correlations for one pair, in either order
        (
            &mesh,
            "(a: \"ETH\", b: \"WBTC\", rho: 0.8),",
            "(a: \"ETH\", b: \"WBTC\", rho: 0.8), (a: \"WBTC\", b: \"ETH\", rho: 0.1),",
            "market.correlations[1]",
            "already have a correlation (market.correlations[0])",
        ),
        // an agent and a vault with one name: the sender column could not tell them apart
        (
            &vaults,
            "Arbitrageur(name: \"arb-alpha\"",
            "Arbitrageur(name: \"cm-threshold\"",
            "vaults[0].name",
            "agents[0]",
        ),
        // amounts that could be read two ways
        (
            &mesh,
            "reserves: (\"5000\", \"10000000\")",
            "reserves: (\" 5000 \", \"10000000\")",
            "pools[0].reserves[0]",
            "spaces",
        ),
        (
            &mesh,
            "reserves: (\"5000\", \"10000000\")",
            "reserves: (\"50_00\", \"10000000\")",
            "pools[0].reserves[0]",
            "thousands",
        ),
        // one vault naming two oracles for one token
        (
            &vaults,
            "oracles: [(\"ETH\", \"cl-eth\")",
            "oracles: [(\"ETH\", \"cl-eth\"), (\"ETH\", \"cl-eth\")",
            "oracles[1][0]",
            "already has an oracle",
        ),
    ];
    for (text, from, to, path, message) in cases {
        assert_located(text, from, to, path, message, 1);
    }
}

#[test]
fn hostile_inputs_are_refused_without_panicking() {
    // deep nesting, a huge number, garbage, an oversized file
    for text in ["World(", &"[".repeat(10_000), "World(version: 99999999999999999999999)", "\u{0}\u{1}garbage", ""] {
        assert!(parse(text).is_err());
    }
    let dir = tempfile::tempdir().unwrap();
    let big = dir.path().join("big.ron");
    let f = std::fs::File::create(&big).unwrap();
    f.set_len(meshsim_scenario::limits::MAX_WORLD_BYTES + 1).unwrap();
    assert!(matches!(
        meshsim_scenario::load_file(&big),
        Err(ScenarioError::Input(meshsim_scenario::input::InputError::TooLarge { .. }))
    ));
    // limits on counts: too many blocks
    let text = std::fs::read_to_string(worlds_dir().join("lvr.ron")).unwrap().replacen(
        "blocks: 20000",
        "blocks: 99000000000",
        1,
    );
    let Err(ScenarioError::Invalid(issues)) = parse(&text) else { panic!("expected a limit error") };
    assert!(issues.iter().any(|i| i.path == "blocks"));
}
