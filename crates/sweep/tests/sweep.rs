//! Sweeps end to end: thread count and sharding do not change the tables, an interrupted sweep
//! resumes to the same tables, and the threshold trade-off on `vaults.ron` goes the way theory
//! says.
#![expect(clippy::unwrap_used, reason = "tests: a panic with its message is a failing test")]

use std::path::{Path, PathBuf};

use meshsim_sweep::{Options, Plan, Shard, SweepError};

const WORLD: &str = r#"World(version: 1, name: "small", seed: 1, blocks: 150,
    chain: (block_time: Fixed(12.0), gas_limit: 30000000, base_fee_gwei: 2.0, native_token: "ETH"),
    numeraire: "USDC",
    tokens: [(symbol: "ETH", decimals: 18), (symbol: "USDC", decimals: 6)],
    market: (assets: [(token: "ETH", price: 2000.0, volatility: 1.5)]),
    pools: [ConstantProduct(name: "pool", tokens: ("ETH", "USDC"), reserves: ("2000", "4000000"), fee_bps: 5.0)],
    agents: [Arbitrageur(name: "arb", capital: [("ETH", "1000"), ("USDC", "2000000")], priority_fee_gwei: 1.0)],
    oracles: [Push(name: "o", token: "ETH", heartbeat_seconds: 12.0, deviation: 0.0)],
    vaults: [(name: "v", deposit_token: "USDC", holdings: [("ETH", "50"), ("USDC", "100000")], keeper_gas: "5",
        oracles: [("ETH", "o")], strategy: ConstantMix(targets: [("ETH", 0.5), ("USDC", 0.5)]),
        trigger: Threshold(band: 0.01), slippage: 0.01)],
)"#;

fn spec_text(extra_params: &str) -> String {
    format!(
        r#"Sweep(version: 1, name: "small", worlds: ["small.ron"], seeds: 4, master_seed: 9,
        parameters: [
            (path: "vaults[v].trigger.band", values: Grid(from: 0.005, to: 0.02, steps: 3)),
            {extra_params}
        ])"#
    )
}

fn plan_in(dir: &Path, spec: &str) -> Plan {
    std::fs::write(dir.join("small.ron"), WORLD).unwrap();
    let spec = meshsim_sweep::parse_spec(spec, "spec.ron").unwrap();
    Plan::new(spec, "text", dir).unwrap()
}

fn opts(threads: usize, shard: Option<Shard>, limit: Option<u64>) -> Options {
    Options { threads: Some(threads), shard, limit, ..Options::default() }
}

const TABLES: [&str; 7] =
    ["runs.csv", "vaults.csv", "points.csv", "vault_points.csv", "tails.csv", "pareto.csv", "manifest.json"];

fn same_tables(a: &Path, b: &Path) {
    for f in TABLES {
        let (x, y) = (std::fs::read(a.join(f)).unwrap(), std::fs::read(b.join(f)).unwrap());
        assert!(x == y, "{f} differs between {} and {}", a.display(), b.display());
    }
}

#[test]
fn one_thread_and_all_threads_give_identical_tables() {
    let dir = tempfile::tempdir().unwrap();
    let plan = plan_in(dir.path(), &spec_text(""));
    assert_eq!(plan.run_count(), 12);
    let (one, two) = (dir.path().join("one"), dir.path().join("two"));
    let a = meshsim_sweep::sweep(&plan, &one, &opts(1, None, None)).unwrap();
    let b = meshsim_sweep::sweep(&plan, &two, &opts(2, None, None)).unwrap();
    assert!(a.complete && b.complete && a.failed == 0);
    same_tables(&one, &two);
    // the table really varies with the parameter and the seed
    let (_, rows) = meshsim_sweep::output::read_table(&one.join("runs.csv")).unwrap();
    let digests: std::collections::BTreeSet<&str> = rows.iter().map(|r| r.last().unwrap().as_str()).collect();
    assert!(digests.len() > 4, "runs differ");
    for f in ["plots/pareto.png", "plots/pareto.svg", "plots/response.png", "plots/response.svg"] {
        assert!(std::fs::metadata(one.join(f)).unwrap().len() > 1000, "{f}");
    }
}

#[test]
fn shards_merged_equal_the_whole_sweep() {
    let dir = tempfile::tempdir().unwrap();
    let plan = plan_in(
        dir.path(),
        &spec_text(r#"(path: "chain.ordering", values: List(["PriorityGasAuction", "BatchAuction"])),"#),
    );
    let whole = dir.path().join("whole");
    meshsim_sweep::sweep(&plan, &whole, &opts(2, None, None)).unwrap();
    let shards: Vec<PathBuf> = (0..3).map(|i| dir.path().join(format!("shard-{i}"))).collect();
    for (i, d) in shards.iter().enumerate() {
        let o = meshsim_sweep::sweep(&plan, d, &opts(1, Some(Shard { index: i as u64, count: 3 }), None)).unwrap();
        assert!(o.complete && o.runs == 8);
    }
    // an incomplete set of shards is refused
    let e = meshsim_sweep::merge(&dir.path().join("bad"), &shards[..2]).unwrap_err();
    assert!(matches!(e, SweepError::Conflict(_)), "{e}");
    let merged = dir.path().join("merged");
    meshsim_sweep::merge(&merged, &shards).unwrap();
    same_tables(&whole, &merged);
    assert!(merged.join("plots/heatmap.png").exists(), "two parameters give heat maps");
}

#[test]
fn runs_made_elsewhere_and_collected_equal_the_whole_sweep() {
    let dir = tempfile::tempdir().unwrap();
    let plan = plan_in(dir.path(), &spec_text(""));
    let whole = dir.path().join("whole");
    meshsim_sweep::sweep(&plan, &whole, &opts(2, None, None)).unwrap();
    // two "workers" take interleaved runs; their records arrive in any order
    let odd: Vec<u64> = (0..12).filter(|i| i % 2 == 1).rev().collect();
    let even: Vec<u64> = (0..12).filter(|i| i % 2 == 0).collect();
    let (a, b) = (
        meshsim_sweep::run_records(&plan, &odd, false).unwrap(),
        meshsim_sweep::run_records(&plan, &even, false).unwrap(),
    );
    let collected = dir.path().join("collected");
    // half of them first: not complete, nothing final written; the rest completes it
    let o = meshsim_sweep::collect(&plan, &collected, &a).unwrap();
    assert!(!o.complete && o.ran == 6 && !collected.join("runs.csv").exists());
    let o = meshsim_sweep::collect(&plan, &collected, &[b.clone(), a.clone()].concat()).unwrap();
    assert!(o.complete && o.ran == 6 && o.skipped == 6, "{o:?}");
    same_tables(&whole, &collected);
    // a record changed on the way is refused, as is a run the sweep does not have
    let mut bad = b[0].clone();
    bad.run[6] = "1e9".into();
    let e = meshsim_sweep::collect(&plan, &dir.path().join("bad"), &[bad]).unwrap_err();
    assert!(e.to_string().contains("damaged"), "{e}");
    assert!(meshsim_sweep::run_records(&plan, &[12], false).is_err());
}

#[test]
fn an_interrupted_sweep_resumes_to_the_same_tables() {
    let dir = tempfile::tempdir().unwrap();
    let plan = plan_in(dir.path(), &spec_text(""));
    let clean = dir.path().join("clean");
    meshsim_sweep::sweep(&plan, &clean, &opts(2, None, None)).unwrap();

    let broken = dir.path().join("broken");
    let o = meshsim_sweep::sweep(&plan, &broken, &opts(2, None, Some(5))).unwrap();
    assert!(!o.complete && o.ran == 5);
    assert!(!broken.join("runs.csv").exists(), "no final table before every run is in");
    // a kill mid-write leaves a cut line: it must not count as a finished run
    let journal = broken.join("journal-runs.csv");
    let mut text = std::fs::read_to_string(&journal).unwrap();
    let cut = text.trim_end().rfind('\n').unwrap() + 1 + 20;
    text.truncate(cut);
    std::fs::write(&journal, text).unwrap();
    let o = meshsim_sweep::sweep(&plan, &broken, &opts(2, None, None)).unwrap();
    assert!(o.complete);
    assert_eq!((o.skipped, o.ran), (4, 8), "the cut run is run again, the others are not");
    same_tables(&clean, &broken);

    // another sweep into the same directory is refused
    let other = plan_in(dir.path(), &spec_text(r#"(path: "pools[pool].fee_bps", values: List([5.0, 30.0])),"#));
    let e = meshsim_sweep::sweep(&other, &broken, &opts(1, None, None)).unwrap_err();
    assert!(matches!(e, SweepError::Conflict(_)), "{e}");
}

#[test]
fn a_sweep_asked_to_stop_keeps_what_finished_and_resumes() {
    let dir = tempfile::tempdir().unwrap();
    let plan = plan_in(dir.path(), &spec_text(""));
    let clean = dir.path().join("clean");
    meshsim_sweep::sweep(&plan, &clean, &opts(1, None, None)).unwrap();

    // the stop is raised from the progress hook after the third run, as Ctrl-C would be from
    // another thread: a run already under way still finishes, no other starts
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let raise = stop.clone();
    let options = Options {
        threads: Some(1),
        stop: Some(stop),
        progress: Some(Box::new(move |done, _| {
            if done == 3 {
                raise.store(true, std::sync::atomic::Ordering::Relaxed);
            }
        })),
        ..Options::default()
    };
    let stopped = dir.path().join("stopped");
    let o = meshsim_sweep::sweep(&plan, &stopped, &options).unwrap();
    assert!(!o.complete, "{o:?}");
    assert!((3..plan.run_count()).contains(&o.ran), "{o:?}");
    assert!(!stopped.join("runs.csv").exists(), "no final table before every run is in");
    let o2 = meshsim_sweep::sweep(&plan, &stopped, &opts(2, None, None)).unwrap();
    assert!(o2.complete);
    assert_eq!((o2.skipped, o2.ran), (o.ran, plan.run_count() - o.ran));
    same_tables(&clean, &stopped);
}

#[test]
fn a_bad_point_fails_before_any_run() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("small.ron"), WORLD).unwrap();
    let spec =
        meshsim_sweep::parse_spec(&spec_text(r#"(path: "vaults[v].slippage", values: List([0.01, -1.0])),"#), "s.ron")
            .unwrap();
    let e = Plan::new(spec, "t", dir.path()).unwrap_err().to_string();
    assert!(e.contains("slippage") && e.contains("vaults[v].slippage=-1"), "{e}");
}

/// THEORY item 3's trade-off, through the sweep: a wider band on `vaults.ron`'s threshold vault
/// means fewer rebalances, so less gas, and more tracking error. With common random numbers
/// each seed's pair of runs sees the same market, so the test is on paired differences.
#[test]
fn a_wider_threshold_spends_less_gas_and_tracks_worse() {
    let worlds = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../worlds");
    let text = r#"Sweep(version: 1, name: "threshold-test", worlds: ["vaults.ron"], blocks: 4000, seeds: 12,
        master_seed: 5, focus: ["cm-threshold"],
        parameters: [(path: "vaults[cm-threshold].trigger.band", values: List([0.005, 0.012, 0.03]))])"#;
    let spec = meshsim_sweep::parse_spec(text, "t.ron").unwrap();
    let plan = Plan::new(spec, text, &worlds).unwrap();
    let dir = tempfile::tempdir().unwrap();
    meshsim_sweep::sweep(&plan, dir.path(), &opts(2, None, None)).unwrap();
    let (h, rows) = meshsim_sweep::output::read_table(&dir.path().join("runs.csv")).unwrap();
    let col = |name: &str| h.iter().position(|x| x == name).unwrap();
    let (point, rep, gas, te) = (col("point"), col("replicate"), col("vault_gas"), col("tracking_error"));
    let value = |p: u64, r: u64, c: usize| -> f64 {
        let row = rows.iter().find(|x| x[point] == p.to_string() && x[rep] == r.to_string()).unwrap();
        row[c].parse().unwrap()
    };
    for (narrow, wide) in [(0u64, 1u64), (1, 2)] {
        for (c, sign, what) in [(gas, 1.0, "gas falls"), (te, -1.0, "tracking error rises")] {
            let d: Vec<f64> = (0..12).map(|r| sign * (value(narrow, r, c) - value(wide, r, c))).collect();
            let mean = d.iter().sum::<f64>() / d.len() as f64;
            let var = d.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / (d.len() - 1) as f64;
            let se = (var / d.len() as f64).sqrt();
            assert!(mean > 0.0 && mean > 3.0 * se, "{what} from point {narrow} to {wide}: mean {mean}, se {se}, {d:?}");
        }
    }
}

#[test]
fn the_stress_sweep_reports_each_vaults_worst_case_and_tail() {
    let sweeps = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../worlds/sweeps");
    let text = std::fs::read_to_string(sweeps.join("stress.ron"))
        .unwrap()
        .replace("seeds: 32,", "seeds: 8,\n    blocks: 900,");
    let spec = meshsim_sweep::parse_spec(&text, "stress.ron").unwrap();
    let plan = Plan::new(spec, &text, &sweeps).unwrap();
    assert_eq!(plan.point_count(), 7, "one point per stress world");
    let dir = tempfile::tempdir().unwrap();
    let out = meshsim_sweep::sweep(&plan, dir.path(), &opts(2, None, None)).unwrap();
    assert!(out.complete && out.failed == 0, "{out:?}");
    let (h, rows) = meshsim_sweep::output::read_table(&dir.path().join("tails.csv")).unwrap();
    assert_eq!(rows.len(), 7 * 4, "a row per scenario and vault");
    let col = |name: &str| h.iter().position(|x| x == name).unwrap_or_else(|| panic!("no {name} in {h:?}"));
    let get = |row: &Vec<String>, name: &str| -> f64 { row[col(name)].parse().unwrap() };
    for row in &rows {
        assert_eq!(row[col("runs")], "8");
        // the worst run is at least as bad as the 5 % tail, on the side that hurts
        assert!(get(row, "share_price_worst") <= get(row, "share_price_tail5"), "{row:?}");
        assert!(get(row, "cost_worst") >= get(row, "cost_tail5"), "{row:?}");
        assert!(get(row, "tracking_error_max_worst") >= get(row, "tracking_error_max_tail5"), "{row:?}");
    }
    // the tails read the scenario: ETH halves in the crash, so the three-token constant mix
    // (40 % ETH) ends below 0.85 in its worst run, and below its volatility-spike worst run
    let (world, vault) = (col("world"), col("vault"));
    let worst = |w: &str, v: &str| {
        let row = rows.iter().find(|r| r[world].contains(w) && r[vault] == v).unwrap();
        get(row, "share_price_worst")
    };
    assert!(worst("/crash.ron", "cm-threshold") < 0.85, "{}", worst("/crash.ron", "cm-threshold"));
    assert!(worst("/crash.ron", "cm-threshold") < worst("volatility-spike", "cm-threshold"));
}

#[test]
fn a_large_spec_is_checked_per_value_and_located_without_listing_its_points() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("small.ron"), WORLD).unwrap();
    // 3 x 200 x 200 = 120,000 points, 480,000 runs; one bad slippage deep in its list
    let slippages: Vec<String> = (1..=200).map(|k| format!("{:?}", f64::from(k) * 0.004)).collect();
    let good = spec_text(&format!(
        "(path: \"vaults[v].slippage\", values: List([{}])),\n            (path: \"agents[arb].min_profit\", values: Grid(from: 0.0, to: 10.0, steps: 200)),",
        slippages.join(", ")
    ));
    let spec = meshsim_sweep::parse_spec(&good, "s.ron").unwrap();
    let plan = Plan::new(spec, &good, dir.path()).unwrap();
    assert_eq!(plan.point_count(), 120_000);
    assert_eq!(plan.run_count(), 480_000);
    // points are computed on demand, the last parameter varying fastest
    let p = plan.point(200 * 200 + 3);
    assert_eq!(p.values[0], meshsim_sweep::spec::Value::Number(0.0125));
    assert_eq!(p.values[1], meshsim_sweep::spec::Value::Number(0.004));
    assert_eq!(plan.run(7).point, 1);
    // a slippage of 1.0 is out of range: found before any run, with the spec's line
    let bad = good.replace(&format!("{:?}", 151.0 * 0.004), "1.0");
    assert_ne!(bad, good);
    let spec = meshsim_sweep::parse_spec(&bad, "s.ron").unwrap();
    let e = Plan::new(spec, &bad, dir.path()).unwrap_err().to_string();
    assert!(e.contains("vaults[v].slippage=1") && e.contains("parameters[1].values at line 4"), "{e}");
}
