//! The search on a bundled stress world: at an equal budget of runs it finds a worse case than
//! uniform random draws over the same bounds, for several master seeds; its worst cases are world
//! files that load; its result does not depend on the thread count.
#![expect(clippy::unwrap_used, reason = "tests: a panic with its message is a failing test")]

use std::path::Path;

use meshsim_search::{Options, Search, parse_spec};

fn spec(method: &str, master_seed: u64) -> String {
    format!(
        r#"Search(version: 1, name: "t", world: "../../../worlds/stress/crash.ron", blocks: 500, seeds: 1,
        master_seed: {master_seed},
        parameters: [
            (path: "market.shocks[0].change", from: -0.7, to: 0.0, prior: (-0.1, 0.15)),
            (path: "market.shocks[0].start_block", from: 50.0, to: 300.0, integer: true),
            (path: "market.shocks[0].blocks", from: 1.0, to: 300.0, integer: true),
        ],
        objective: Vault(vault: "cm-threshold", metric: "max_drawdown"),
        method: {method},
        plausibility: 0.02,
    )"#
    )
}

fn best(text: &str, threads: usize) -> (f64, meshsim_search::Outcome) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests");
    let s = Search::new(parse_spec(text, "t.ron").unwrap(), text, &dir).unwrap();
    let out = tempfile::tempdir().unwrap();
    let o = s.run(out.path(), &Options { threads: Some(threads), progress: None }).unwrap();
    // the worst case loads as a world
    meshsim_scenario::load_file(&out.path().join("worst-1.ron")).unwrap();
    (o.ranked()[0].score, o)
}

#[test]
fn the_cross_entropy_method_beats_random_draws_at_an_equal_budget() {
    for master_seed in 1..=3 {
        let (cem, _) = best(&spec("CrossEntropy(iterations: 4, population: 12, elite: 0.25)", master_seed), 2);
        let (random, _) = best(&spec("Random(runs: 48)", master_seed), 2);
        assert!(cem > random, "master seed {master_seed}: search {cem} vs random {random}");
    }
}

#[test]
fn a_search_is_the_same_on_one_thread_or_two() {
    let text = spec("CrossEntropy(iterations: 2, population: 6, elite: 0.34)", 9);
    let (_, one) = best(&text, 1);
    let (_, two) = best(&text, 2);
    assert_eq!(one.candidates, two.candidates);
}

#[test]
fn malformed_specs_get_located_errors() {
    let good = spec("Random(runs: 4)", 1);
    for (from, to, expect) in [
        ("from: -0.7, to: 0.0", "from: 0.5, to: 0.0", "parameters[0].to"),
        ("prior: (-0.1, 0.15)", "prior: (-0.1, 0.0)", "parameters[0].prior"),
        ("metric: \"max_drawdown\"", "metric: \"drawdown\"", "objective.metric"),
        ("Random(runs: 4)", "CrossEntropy(iterations: 2, population: 4, elite: 0.1)", "method.elite"),
    ] {
        let text = good.replace(from, to);
        let e = parse_spec(&text, "t.ron").unwrap_err().to_string();
        assert!(e.contains(expect) && e.contains("t.ron:"), "{to}: {e}");
    }
}
