//! Hostile input through the binary: every file is read through a bounded reader, so endless or
//! oversized sources are refused with the file named instead of hanging or exhausting memory.

use super::{meshsim, world};

#[cfg(unix)]
#[test]
fn endless_files_are_refused_not_read_forever() {
    let dir = tempfile::tempdir().unwrap();
    // a replay CSV that never ends
    let text =
        std::fs::read_to_string(world("lvr.ron")).unwrap().replacen("market: (", "market: (replay: \"/dev/zero\",", 1);
    let w = dir.path().join("replay.ron");
    std::fs::write(&w, text).unwrap();
    let out = meshsim().arg("validate").arg(&w).output().unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("/dev/zero") && stderr.contains("over the limit"), "{stderr}");
    // a world, a command log and a sweep's world that never end
    let out = meshsim().arg("validate").arg("/dev/zero").output().unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("over the limit"), "{out:?}");
    let out = meshsim().arg("run").arg(world("lvr.ron")).arg("--commands").arg("/dev/zero").output().unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("over the limit"), "{out:?}");
    let spec = dir.path().join("spec.ron");
    let spec_text = std::fs::read_to_string(world("sweeps/threshold.ron")).unwrap().replacen(
        "[\"../vaults.ron\"]",
        "[\"/dev/zero\"]",
        1,
    );
    assert!(spec_text.contains("/dev/zero"));
    std::fs::write(&spec, spec_text).unwrap();
    let out = meshsim().arg("sweep").arg(&spec).arg("--out").arg(dir.path().join("sw")).output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("over the limit"), "{out:?}");
}

#[test]
fn a_byte_order_mark_is_accepted_and_bad_utf8_is_located() {
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(world("lvr.ron")).unwrap();
    let bom = dir.path().join("bom.ron");
    std::fs::write(&bom, [&b"\xEF\xBB\xBF"[..], text.as_bytes()].concat()).unwrap();
    let out = meshsim().arg("validate").arg(&bom).output().unwrap();
    assert!(out.status.success(), "{out:?}");
    let bad = dir.path().join("latin1.ron");
    std::fs::write(&bad, [&b"// caf\xE9\n"[..], text.as_bytes()].concat()).unwrap();
    let out = meshsim().arg("validate").arg(&bad).output().unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("latin1.ron:1:7") && stderr.contains("UTF-8"), "{stderr}");
}

#[test]
fn a_run_whose_prices_leave_the_representable_range_stops_with_the_block_and_token() {
    let dir = tempfile::tempdir().unwrap();
    // 299 doublings: each shock is valid, together they pass any meaningful price
    let commands: String =
        (1..300).map(|b| format!("(block: {b}, command: Shock(token: \"ETH\", change: 1.0, blocks: 1)),\n")).collect();
    let log = dir.path().join("shocks.ron");
    std::fs::write(&log, format!("CommandLog(version: 1, seed: 1, blocks: 400, commands: [\n{commands}])")).unwrap();
    let out = dir.path().join("out");
    let run = meshsim().arg("run").arg(world("lvr.ron")).arg("--commands").arg(&log).arg("--out").arg(&out).output();
    let run = run.unwrap();
    assert!(!run.status.success());
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(stderr.contains("external price of ETH") && stderr.contains("block "), "{stderr}");
    assert!(!out.join("summary.json").exists(), "a failed run leaves no summary with inf or null in it");
}

#[test]
fn values_past_their_physical_range_are_refused_at_validation() {
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(world("lvr.ron")).unwrap();
    for (from, to, field) in [
        ("base_fee_gwei: 0.0", "base_fee_gwei: 1e30", "chain.base_fee_gwei"),
        ("numeraire: \"USDC\",", "numeraire: \"USDC\", gas: (base_tx: 18446744073709551615),", "gas.base_tx"),
    ] {
        assert!(text.contains(from), "test out of date: {from}");
        let w = dir.path().join("w.ron");
        std::fs::write(&w, text.replacen(from, to, 1)).unwrap();
        let out = meshsim().arg("validate").arg(&w).output().unwrap();
        assert!(!out.status.success());
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(field) && stderr.contains("expected"), "{to}: {stderr}");
    }
}
