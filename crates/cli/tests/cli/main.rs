//! The `meshsim` binary end to end: byte-identical outputs, Parquet that readers accept, located
//! errors, and no half-written file that looks whole.
#![expect(clippy::unwrap_used, reason = "tests: a panic with its message is a failing test")]

use std::path::{Path, PathBuf};
use std::process::Command;

mod hostile;

fn meshsim() -> Command {
    Command::new(env!("CARGO_BIN_EXE_meshsim"))
}

fn world(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../worlds").join(name)
}

fn run(world_name: &str, out: &Path, extra: &[&str]) {
    let status =
        meshsim().arg("run").arg(world(world_name)).arg("--out").arg(out).arg("--quiet").args(extra).status().unwrap();
    assert!(status.success());
}

#[test]
fn same_world_and_seed_give_byte_identical_files() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b, c) = (dir.path().join("a"), dir.path().join("b"), dir.path().join("c"));
    run("crash.ron", &a, &["--blocks", "250"]);
    run("crash.ron", &b, &["--blocks", "250"]);
    run("crash.ron", &c, &["--blocks", "250", "--seed", "99"]);
    for f in ["blocks.csv", "trades.csv", "summary.json"] {
        assert_eq!(
            std::fs::read(a.join(f)).unwrap(),
            std::fs::read(b.join(f)).unwrap(),
            "{f} differs between identical runs"
        );
    }
    assert_ne!(std::fs::read(a.join("blocks.csv")).unwrap(), std::fs::read(c.join("blocks.csv")).unwrap());
    let summary: serde_json::Value = serde_json::from_slice(&std::fs::read(a.join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["blocks"], 250);
    assert_eq!(summary["world"], "crash");
    assert_eq!(summary["final_digest"].as_str().unwrap().len(), 64);
    let blocks = std::fs::read_to_string(a.join("blocks.csv")).unwrap();
    assert_eq!(blocks.lines().count(), 251, "header + one row per block");
    assert!(
        blocks
            .lines()
            .next()
            .unwrap()
            .starts_with("block,chain,timestamp,base_fee_wei,gas_used,price_ETH,v2-eth-usdc_price")
    );
    // no temporary files left behind
    assert!(std::fs::read_dir(&a).unwrap().all(|e| !e.unwrap().file_name().to_string_lossy().ends_with(".partial")));
}

#[test]
fn parquet_tables_hold_every_row() {
    use parquet::file::reader::{FileReader, SerializedFileReader};
    let dir = tempfile::tempdir().unwrap();
    run("crash.ron", dir.path(), &["--blocks", "150", "--format", "parquet"]);
    let csv_dir = dir.path().join("csv");
    run("crash.ron", &csv_dir, &["--blocks", "150"]);
    let blocks = SerializedFileReader::new(std::fs::File::open(dir.path().join("blocks.parquet")).unwrap()).unwrap();
    assert_eq!(blocks.metadata().file_metadata().num_rows(), 150);
    let trades = SerializedFileReader::new(std::fs::File::open(dir.path().join("trades.parquet")).unwrap()).unwrap();
    let csv_trades = std::fs::read_to_string(csv_dir.join("trades.csv")).unwrap().lines().count() as i64 - 1;
    assert_eq!(trades.metadata().file_metadata().num_rows(), csv_trades);
    let schema = blocks.metadata().file_metadata().schema_descr();
    assert_eq!(schema.column(0).name(), "block");
}

#[test]
fn validate_prints_located_errors_and_fails() {
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(world("lvr.ron")).unwrap().replacen("fee_bps: 0.0", "fee_bps: -3.0", 1);
    let bad = dir.path().join("bad.ron");
    std::fs::write(&bad, &text).unwrap();
    let out = meshsim().arg("validate").arg(&bad).output().unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    let line = text[..text.find("fee_bps: -3.0").unwrap()].matches('\n').count() + 1;
    assert!(stderr.contains(&format!("bad.ron:{line}:")), "{stderr}");
    assert!(stderr.contains("pools[0].fee_bps"), "{stderr}");
    let ok = meshsim().arg("validate").arg(world("mesh.ron")).output().unwrap();
    assert!(ok.status.success());
}

#[cfg(unix)]
#[test]
fn an_interrupted_run_leaves_the_previous_set_whole() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    run("mesh.ron", &out, &["--blocks", "50"]);
    let before: Vec<(String, Vec<u8>)> = ["blocks.csv", "trades.csv", "summary.json"]
        .iter()
        .map(|f| (f.to_string(), std::fs::read(out.join(f)).unwrap()))
        .collect();
    let mut child = meshsim()
        .arg("run")
        .arg(world("mesh.ron"))
        .arg("--blocks")
        .arg("100000000")
        .arg("--tables")
        .arg("trades")
        .arg("--out")
        .arg(&out)
        .arg("--quiet")
        .spawn()
        .unwrap();
    let staging = dir.path().join(format!(".out.partial-{}", child.id()));
    // wait until the run is writing, then kill it without warning
    for _ in 0..200 {
        if staging.join(".trades.csv.partial").exists() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert!(staging.exists(), "the run writes beside its output directory");
    std::thread::sleep(std::time::Duration::from_millis(300));
    child.kill().unwrap();
    child.wait().unwrap();
    // the previous set, whole and alone
    for (f, bytes) in &before {
        assert_eq!(&std::fs::read(out.join(f)).unwrap(), bytes, "{f} changed by an interrupted run");
    }
    // the next run cleans what the killed one left
    run("mesh.ron", &out, &["--blocks", "20", "--tables", "none"]);
    assert!(!staging.exists());
    assert!(!out.join("blocks.csv").exists(), "a stale table from a run with other options");
}

#[test]
fn a_command_log_replays_to_the_digest_of_the_session_that_made_it() {
    use meshsim_scenario::commands::{Command as Cmd, CommandLog, TimedCommand, VaultParam};
    let scenario = meshsim_scenario::load_file(&world("vaults.ron")).unwrap();
    let mut log = CommandLog::new(&scenario, 4242);
    log.blocks = 300;
    log.commands = vec![
        TimedCommand { block: 100, command: Cmd::Shock { token: "ETH".into(), change: -0.3, blocks: 3 } },
        TimedCommand {
            block: 100,
            command: Cmd::SetVault { vault: "cm-threshold".into(), param: VaultParam::Band(0.01) },
        },
        TimedCommand {
            block: 300,
            command: Cmd::SetVault { vault: "whale-split".into(), param: VaultParam::PrivateRelay(true) },
        },
    ];
    // the session, driven through the library as the GUI drives it
    let mut s = scenario.clone();
    s.seed = 4242;
    let mut sim = meshsim_core::Simulation::new(&s).unwrap();
    for b in 0..=300u64 {
        for c in log.at(b) {
            sim.apply(c).unwrap();
        }
        if b < 300 {
            sim.step_block().unwrap();
        }
    }
    let session = sim.digest().to_string();

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("session.ron");
    std::fs::write(&path, log.to_ron()).unwrap();
    let digest = |extra: &[&str], out: &str| {
        run("vaults.ron", &dir.path().join(out), extra);
        let summary: serde_json::Value =
            serde_json::from_slice(&std::fs::read(dir.path().join(out).join("summary.json")).unwrap()).unwrap();
        assert_eq!(summary["blocks"], 300);
        summary["final_digest"].as_str().unwrap().to_string()
    };
    assert_eq!(digest(&["--commands", path.to_str().unwrap()], "replay"), session);
    // without the commands the run differs
    assert_ne!(digest(&["--seed", "4242", "--blocks", "300"], "plain"), session);
    // a log that does not fit the world is refused with its location
    std::fs::write(&path, log.to_ron().replace("cm-threshold", "no-such-vault")).unwrap();
    let out = meshsim()
        .args(["run", world("vaults.ron").to_str().unwrap(), "--quiet", "--commands", path.to_str().unwrap()])
        .arg("--out")
        .arg(dir.path().join("bad"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("session.ron:") && err.contains("unknown vault \"no-such-vault\""), "{err}");
}

#[test]
fn a_killed_sweep_reruns_to_the_table_of_an_uninterrupted_one() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(world("lvr.ron"), dir.path().join("lvr.ron")).unwrap();
    let spec = dir.path().join("spec.ron");
    std::fs::write(
        &spec,
        r#"Sweep(version: 1, name: "kill", worlds: ["lvr.ron"], blocks: 3000, seeds: 12, master_seed: 3,
            parameters: [(path: "pools[0].fee_bps", values: List([0.0, 5.0, 30.0]))])"#,
    )
    .unwrap();
    let sweep = |out: &Path| {
        let mut c = meshsim();
        c.args(["sweep", spec.to_str().unwrap(), "--quiet", "--threads", "1", "--out"]).arg(out);
        c
    };
    let clean = dir.path().join("clean");
    assert!(sweep(&clean).status().unwrap().success());

    let killed = dir.path().join("killed");
    let mut child = sweep(&killed).stdout(std::process::Stdio::null()).spawn().unwrap();
    let journal = killed.join("journal-runs.csv");
    #[expect(clippy::disallowed_methods, reason = "a test's patience, not a result")]
    let start = std::time::Instant::now();
    loop {
        let lines = std::fs::read_to_string(&journal).map(|t| t.lines().count()).unwrap_or(0);
        if lines >= 6 {
            break;
        }
        assert!(start.elapsed().as_secs() < 120, "the sweep never got going");
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
    child.kill().unwrap();
    let _ = child.wait();
    assert!(!killed.join("runs.csv").exists(), "killed before the end: no final table");
    let out = sweep(&killed).output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!text.contains("0 done before"), "the rerun skipped the finished runs: {text}");
    for f in ["runs.csv", "vaults.csv", "points.csv", "pareto.csv"] {
        assert_eq!(std::fs::read(clean.join(f)).unwrap(), std::fs::read(killed.join(f)).unwrap(), "{f}");
    }
}

#[test]
fn tables_none_writes_only_the_summary_with_the_same_digest() {
    let dir = tempfile::tempdir().unwrap();
    let (all, none, some) = (dir.path().join("all"), dir.path().join("none"), dir.path().join("some"));
    run("vaults.ron", &all, &["--blocks", "120"]);
    run("vaults.ron", &none, &["--blocks", "120", "--tables", "none"]);
    run("vaults.ron", &some, &["--blocks", "120", "--tables", "trades,vaults"]);
    let files = |d: &Path| {
        let mut v: Vec<String> =
            std::fs::read_dir(d).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
        v.sort();
        v
    };
    assert_eq!(files(&none), ["summary.json", "timing.json"]);
    assert_eq!(files(&some), ["schema.json", "summary.json", "timing.json", "trades.csv", "vaults.csv"]);
    // the schema names every column's type
    let schema: serde_json::Value = serde_json::from_slice(&std::fs::read(some.join("schema.json")).unwrap()).unwrap();
    let trade_cols = schema["tables"]["trades"]["columns"].as_array().unwrap();
    assert!(trade_cols.iter().any(|c| c["name"] == "amount_in" && c["type"] == "amount"), "{schema}");
    assert!(trade_cols.iter().any(|c| c["name"] == "profit" && c["type"] == "f64"), "{schema}");
    let summary = |d: &Path| -> serde_json::Value {
        serde_json::from_slice(&std::fs::read(d.join("summary.json")).unwrap()).unwrap()
    };
    let (a, n) = (summary(&all), summary(&none));
    // recording rows never changes the run
    assert_eq!(a["final_digest"], n["final_digest"]);
    assert_eq!(a["vaults"], n["vaults"]);
    assert_eq!(a["cascades"], n["cascades"]);
    assert_eq!(n["outputs"], serde_json::json!({}));
    assert_eq!(a["outputs"]["cascades"], "cascades.csv");
    assert_eq!(std::fs::read(all.join("trades.csv")).unwrap(), std::fs::read(some.join("trades.csv")).unwrap());
    let bad = meshsim().arg("run").arg(world("lvr.ron")).args(["--tables", "blocks,nope"]).output().unwrap();
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("unknown table \"nope\""));
}

/// `meshsim run .. | head -0`: a reader that closes its end early gets no panic and no error.
#[test]
fn a_closed_stdout_is_not_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = meshsim()
        .arg("run")
        .arg(world("bench/s1.ron"))
        .args(["--blocks", "100", "--tables", "none", "--quiet", "--out"])
        .arg(dir.path())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take()); // the reader goes away before anything is printed
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success() && !stderr.contains("panicked"), "{}: {stderr}", out.status);
    assert!(dir.path().join("summary.json").exists());
}

#[test]
fn compare_sets_two_runs_side_by_side() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    run("crash.ron", &a, &["--blocks", "200"]);
    run("crash.ron", &b, &["--blocks", "200", "--seed", "5"]);
    let out = meshsim().arg("compare").arg(&a).arg(&b).output().unwrap();
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.lines().any(|l| l.starts_with("seed") && l.ends_with("differs")), "{text}");
    assert!(text.lines().any(|l| l.starts_with("world ") && l.ends_with("same")), "{text}");
    assert!(text.contains("different seeds"), "{text}");
    // a run against itself: nothing differs
    let same = meshsim().arg("compare").arg(&a).arg(a.join("summary.json")).output().unwrap();
    let text = String::from_utf8_lossy(&same.stdout);
    assert!(text.contains("every headline figure is the same"), "{text}");
    // not a run directory
    let bad = meshsim().arg("compare").arg(&a).arg(dir.path()).output().unwrap();
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("summary.json"), "{bad:?}");
}

#[test]
fn validate_tells_worlds_sweeps_and_command_logs_apart() {
    let dir = tempfile::tempdir().unwrap();
    let ok = meshsim().arg("validate").arg(world("sweeps/threshold.ron")).output().unwrap();
    assert!(ok.status.success(), "{ok:?}");
    assert!(String::from_utf8_lossy(&ok.stdout).contains("sweep \"threshold\""), "{ok:?}");
    // a sweep spec with a bad value: located in the spec
    let text = std::fs::read_to_string(world("sweeps/threshold.ron"))
        .unwrap()
        .replacen("0.005,", "-0.005,", 1)
        .replacen("\"../vaults.ron\"", "\"vaults.ron\"", 1);
    std::fs::copy(world("vaults.ron"), dir.path().join("vaults.ron")).unwrap();
    let spec = dir.path().join("spec.ron");
    std::fs::write(&spec, &text).unwrap();
    let bad = meshsim().arg("validate").arg(&spec).output().unwrap();
    assert!(!bad.status.success());
    let stderr = String::from_utf8_lossy(&bad.stderr);
    assert!(stderr.contains("band=-0.005") && stderr.contains("parameters[0].values at line"), "{stderr}");
    // a command log is checked against its world
    let log = dir.path().join("log.ron");
    std::fs::write(&log, "CommandLog(version: 1, seed: 1, blocks: 10, commands: [(block: 2, command: Shock(token: \"ETX\", change: 0.1, blocks: 1))])").unwrap();
    let alone = meshsim().arg("validate").arg(&log).output().unwrap();
    assert!(String::from_utf8_lossy(&alone.stderr).contains("--world"), "{alone:?}");
    let against = meshsim().arg("validate").arg(&log).arg("--world").arg(world("lvr.ron")).output().unwrap();
    assert!(!against.status.success());
    let stderr = String::from_utf8_lossy(&against.stderr);
    assert!(
        stderr.contains("log.ron:1:") && stderr.contains("in the command log") && stderr.contains("ETX"),
        "{stderr}"
    );
}

#[test]
fn plot_draws_the_charts_of_a_run_and_refuses_a_run_without_csv_tables() {
    let dir = tempfile::tempdir().unwrap();
    let run_dir = dir.path().join("run");
    run("vaults.ron", &run_dir, &["--blocks", "300"]);
    let out = meshsim().arg("plot").arg(&run_dir).output().unwrap();
    assert!(out.status.success(), "{out:?}");
    for chart in ["prices", "vault_weights", "vault_nav", "costs", "cascades"] {
        let png = std::fs::read(run_dir.join("plots").join(format!("{chart}.png"))).unwrap();
        assert!(png.starts_with(b"\x89PNG") && png.len() > 10_000, "{chart}.png");
        let svg = std::fs::read_to_string(run_dir.join("plots").join(format!("{chart}.svg"))).unwrap();
        assert!(svg.contains("<svg") && svg.contains("</svg>"), "{chart}.svg");
    }
    // the vault chart names the vaults of the world
    let svg = std::fs::read_to_string(run_dir.join("plots/vault_nav.svg")).unwrap();
    assert!(svg.contains("cm-threshold"), "vault_nav.svg");
    // a rerun replaces the run and its charts as one set
    run("vaults.ron", &run_dir, &["--blocks", "100", "--tables", "none"]);
    assert!(!run_dir.join("plots").exists());
    let none = meshsim().arg("plot").arg(&run_dir).output().unwrap();
    assert!(!none.status.success());
    assert!(String::from_utf8_lossy(&none.stderr).contains("no CSV tables"), "{none:?}");
}
