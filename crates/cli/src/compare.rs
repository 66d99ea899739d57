//! `meshsim compare A B`: two runs' headline figures side by side with their differences, and
//! whether the two share world and seed (so "flip one thing and compare" is one command).

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde_json::Value;

use crate::report::{Section, align, figure, headline};

/// Arguments of `meshsim compare`.
#[derive(clap::Args, Debug)]
pub struct CompareArgs {
    /// The first run's output directory (or its summary.json).
    pub a: PathBuf,
    /// The second run's output directory (or its summary.json).
    pub b: PathBuf,
    /// Show every figure, not only those that differ.
    #[arg(long)]
    pub all: bool,
}

/// Largest summary read.
const MAX_SUMMARY_BYTES: u64 = 256 * 1024 * 1024;

fn load(path: &Path) -> Result<Value> {
    let file = if path.is_dir() { path.join("summary.json") } else { path.to_path_buf() };
    let text = meshsim_scenario::input::read_text(&file, MAX_SUMMARY_BYTES, "a run summary")?;
    serde_json::from_str(&text).with_context(|| format!("{}: not a run's summary.json", file.display()))
}

/// What the two runs share: world, world file, seed, length, meshsim version.
fn provenance(a: &Value, b: &Value) -> Vec<Vec<String>> {
    let show = |v: &Value| match v {
        Value::String(s) if s.len() > 16 => format!("{}…", &s[..12]),
        Value::String(s) => s.clone(),
        Value::Null => "-".into(),
        other => other.to_string(),
    };
    let mut rows = vec![vec!["".into(), "A".into(), "B".into(), "".into()]];
    for (label, key) in [
        ("world", "world"),
        ("world file (sha-256)", "world_hash"),
        ("seed", "seed"),
        ("blocks", "blocks"),
        ("meshsim", "meshsim_version"),
    ] {
        let same = if a[key] == b[key] { "same" } else { "differs" };
        rows.push(vec![label.into(), show(&a[key]), show(&b[key]), same.into()]);
    }
    rows
}

/// The figure rows of one section: name, metric, A, B, B - A, relative change.
fn rows(a: &Section, b: Option<&Section>, all: bool) -> Vec<Vec<String>> {
    let mut names: Vec<&str> = a.rows.iter().map(|(n, _)| n.as_str()).collect();
    if let Some(b) = b {
        for (n, _) in &b.rows {
            if !names.contains(&n.as_str()) {
                names.push(n);
            }
        }
    }
    let get = |s: Option<&Section>, name: &str, c: usize| {
        s.and_then(|s| s.rows.iter().find(|(n, _)| n == name)).map_or(f64::NAN, |(_, v)| v[c])
    };
    let mut out = Vec::new();
    for name in names {
        for (c, metric) in a.columns.iter().enumerate() {
            let (x, y) = (get(Some(a), name, c), get(b, name, c));
            let same = x == y || (x.is_nan() && y.is_nan());
            if same && !all {
                continue;
            }
            let diff = y - x;
            let rel = if x != 0.0 && x.is_finite() && y.is_finite() {
                format!("{:+.2} %", 100.0 * diff / x.abs())
            } else {
                "-".into()
            };
            out.push(vec![format!("{}: {name}", a.title), metric.to_string(), figure(x), figure(y), figure(diff), rel]);
        }
    }
    out
}

/// The comparison as text.
pub fn compare_text(a: &Value, b: &Value, all: bool) -> String {
    let mut out = align(&provenance(a, b));
    if a["world_hash"] == b["world_hash"] && a["seed"] != b["seed"] {
        out.push_str("note: different seeds see different market paths; compare at one seed to isolate a change\n");
    }
    let (sa, sb) = (headline(a), headline(b));
    let mut table = vec![vec![
        "".to_string(),
        "figure".to_string(),
        "A".to_string(),
        "B".to_string(),
        "B - A".to_string(),
        "change".to_string(),
    ]];
    for s in &sa {
        table.extend(rows(s, sb.iter().find(|t| t.title == s.title), all));
    }
    // sections only B has (vaults added, say)
    for s in sb.iter().filter(|s| !sa.iter().any(|t| t.title == s.title)) {
        let empty = Section { title: s.title, columns: s.columns.clone(), rows: Vec::new() };
        table.extend(rows(&empty, Some(s), all));
    }
    out.push('\n');
    if table.len() == 1 {
        out.push_str("every headline figure is the same\n");
    } else {
        out.push_str(&align(&table));
    }
    if a["final_digest"] == b["final_digest"] {
        out.push_str("final state digests are equal: the two runs ended in the same state\n");
    }
    out
}

/// `meshsim compare`.
pub fn compare(args: &CompareArgs) -> Result<()> {
    let (a, b) = (load(&args.a)?, load(&args.b)?);
    for line in compare_text(&a, &b, args.all).lines() {
        say!("{line}");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary(seed: u64, arb: f64) -> Value {
        serde_json::json!({
            "world": "w", "world_hash": "ab", "seed": seed, "blocks": 10, "meshsim_version": "0.1.0",
            "final_digest": format!("{seed}"),
            "totals": { "transactions": 10, "reverted": 0, "arbitrage_profit": arb, "gas_paid": 1.0 },
            "cascades": { "count": 0, "deepest": 0 },
            "pools": [{ "name": "p", "trades": 7, "volume": 100.0, "lp_fees": 0.3, "arbitrage_profit": arb, "lvr": 2.0 }],
        })
    }

    #[test]
    fn differences_are_listed_with_sign_and_change() {
        let text = compare_text(&summary(1, 100.0), &summary(2, 150.0), false);
        assert!(text.contains("seed") && text.contains("differs"), "{text}");
        assert!(text.contains("pools: p") && text.contains("+50.00 %"), "{text}");
        assert!(!text.contains("volume"), "unchanged figures are left out: {text}");
        let same = compare_text(&summary(1, 100.0), &summary(1, 100.0), false);
        assert!(same.contains("every headline figure is the same") && same.contains("digests are equal"), "{same}");
    }
}
