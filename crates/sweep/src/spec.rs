//! The sweep spec (RON): a base world (or several), the parameters to vary by path, and how many
//! seeds per parameter point.
//!
//! ```ron
//! Sweep(
//!     version: 1,
//!     name: "threshold",
//!     worlds: ["../vaults.ron"],            // relative to this file
//!     blocks: 3000,                          // optional: override the worlds' run length
//!     seeds: 8,                              // runs per parameter point
//!     master_seed: 1,
//!     focus: ["cm-threshold"],              // optional: the vaults a run's vault columns sum
//!     parameters: [
//!         (path: "vaults[cm-threshold].trigger.band", values: Grid(from: 0.01, to: 0.08, steps: 4)),
//!         (path: "chain.ordering", values: List(["PriorityGasAuction", "BatchAuction"])),
//!         (path: "pools[v2-eth-usdc].fee_bps", values: Random(from: 5.0, to: 100.0, count: 3)),
//!     ],
//! )
//! ```
//! A path walks the world document: fields by name, list elements by index (`pools[0]`) or by
//! their `name` (`vaults[cm-threshold]`), and through an enum variant to its fields
//! (`trigger.band` reaches the band of `Threshold(band: ..)`). Values are numbers, booleans or
//! names (enum variants without data). The points are every combination of the parameters'
//! values (a world list is one more dimension).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::SweepError;
pub use crate::error::{SpecError, SpecIssue};

/// Schema version of sweep specs.
pub const SPEC_VERSION: u32 = 1;
/// Most runs one sweep may plan.
pub const MAX_RUNS: u64 = 10_000_000;
/// Most values one parameter may take.
pub const MAX_VALUES: u64 = 100_000;

pub use crate::patch::Value;

/// How a parameter's values are given.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub enum Values {
    /// `steps` evenly spaced values from `from` to `to`, both included.
    Grid {
        /// First value.
        from: f64,
        /// Last value.
        to: f64,
        /// How many (at least 2, or 1 for just `from`).
        steps: u64,
    },
    /// `steps` values evenly spaced in log terms from `from` to `to` (both positive).
    LogGrid {
        /// First value.
        from: f64,
        /// Last value.
        to: f64,
        /// How many.
        steps: u64,
    },
    /// These values.
    List(Vec<Value>),
    /// `count` values drawn uniformly from `[from, to)` by a stream derived from the master
    /// seed and the parameter's position (so the same spec draws the same values).
    Random {
        /// Lower bound.
        from: f64,
        /// Upper bound.
        to: f64,
        /// How many.
        count: u64,
    },
}

/// One varied parameter.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Parameter {
    /// Where in the world document.
    pub path: String,
    /// Its values.
    pub values: Values,
}

/// A sweep spec as written.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename = "Sweep")]
pub struct SweepSpec {
    /// Schema version.
    pub version: u32,
    /// Names the outputs.
    pub name: String,
    /// World files, relative to the spec (each is one more point of the sweep).
    pub worlds: Vec<PathBuf>,
    /// Blocks per run (default: each world's).
    #[serde(default)]
    pub blocks: Option<u64>,
    /// Runs per parameter point.
    pub seeds: u64,
    /// Every run's seed derives from this and its replicate number.
    pub master_seed: u64,
    /// What varies.
    #[serde(default)]
    pub parameters: Vec<Parameter>,
    /// Vaults whose figures make a run's `vault_*` and `tracking_error` columns (default:
    /// every vault); `vaults.csv` has them all regardless.
    #[serde(default)]
    pub focus: Option<Vec<String>>,
}

impl Values {
    /// The values, in order. `index` seeds `Random`.
    pub fn expand(&self, master_seed: u64, index: usize) -> Vec<Value> {
        match self {
            Values::Grid { from, to, steps } => spaced(*from, *to, *steps, false),
            Values::LogGrid { from, to, steps } => spaced(*from, *to, *steps, true),
            Values::List(v) => v.clone(),
            Values::Random { from, to, count } => {
                use rand::RngExt;
                let mut rng = crate::seed::stream(master_seed, "parameter", index as u64);
                (0..*count).map(|_| Value::Number(from + (to - from) * rng.random::<f64>())).collect()
            }
        }
    }

    fn count(&self) -> u64 {
        match self {
            Values::Grid { steps, .. } | Values::LogGrid { steps, .. } => *steps,
            Values::List(v) => v.len() as u64,
            Values::Random { count, .. } => *count,
        }
    }
}

fn spaced(from: f64, to: f64, steps: u64, log: bool) -> Vec<Value> {
    if steps <= 1 {
        return vec![Value::Number(from)];
    }
    (0..steps)
        .map(|k| {
            let t = k as f64 / (steps - 1) as f64;
            let x = if log {
                libm::exp(libm::log(from) + t * (libm::log(to) - libm::log(from)))
            } else {
                from + t * (to - from)
            };
            // the ends exactly as written
            Value::Number(if k == 0 {
                from
            } else if k == steps - 1 {
                to
            } else {
                x
            })
        })
        .collect()
}

impl SweepSpec {
    /// Every problem with the spec itself (worlds are checked when loaded).
    pub fn problems(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        let mut push = |p: String, m: String| out.push((p, m));
        if self.version != SPEC_VERSION {
            push("version".into(), format!("expected version {SPEC_VERSION}, found {}", self.version));
        }
        if self.name.is_empty()
            || self.name.len() > 64
            || !self.name.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        {
            push("name".into(), format!("expected 1 to 64 characters from [A-Za-z0-9-_.], found {:?}", self.name));
        }
        if self.worlds.is_empty() || self.worlds.len() > 1000 {
            push("worlds".into(), "expected 1 to 1000 world files".into());
        }
        if self.seeds == 0 || self.seeds > 1_000_000 {
            push("seeds".into(), format!("expected 1 to 1000000 seeds per point, found {}", self.seeds));
        }
        if let Some(b) = self.blocks
            && (b == 0 || b > meshsim_scenario::limits::MAX_BLOCKS)
        {
            push("blocks".into(), format!("expected 1 to {} blocks, found {b}", meshsim_scenario::limits::MAX_BLOCKS));
        }
        if self.parameters.len() > 16 {
            push("parameters".into(), "expected at most 16 parameters".into());
        }
        let mut runs: u64 = self.seeds.max(1).saturating_mul(self.worlds.len().max(1) as u64);
        for (k, p) in self.parameters.iter().enumerate() {
            let path = format!("parameters[{k}]");
            if let Err(e) = crate::patch::parse_path(&p.path) {
                push(format!("{path}.path"), e);
            }
            let n = p.values.count();
            if n == 0 || n > MAX_VALUES {
                push(format!("{path}.values"), format!("expected 1 to {MAX_VALUES} values, found {n}"));
            }
            match &p.values {
                Values::Grid { from, to, .. } | Values::Random { from, to, .. }
                    if !(from.is_finite() && to.is_finite()) =>
                {
                    push(format!("{path}.values"), "expected finite bounds".into());
                }
                Values::LogGrid { from, to, .. }
                    if !(*from > 0.0 && *to > 0.0 && from.is_finite() && to.is_finite()) =>
                {
                    push(format!("{path}.values"), "expected positive finite bounds for a log grid".into());
                }
                Values::List(v) if v.iter().any(|x| matches!(x, Value::Number(n) if !n.is_finite())) => {
                    push(format!("{path}.values"), "expected finite numbers".into());
                }
                _ => {}
            }
            runs = runs.saturating_mul(n.max(1));
        }
        if runs > MAX_RUNS {
            push("parameters".into(), format!("{runs} runs is over the limit of {MAX_RUNS}"));
        }
        out
    }
}

/// Reads a spec file; syntax errors and every problem located (file:line:col: field: message).
pub fn load_spec(path: &Path) -> Result<(SweepSpec, String), SweepError> {
    let limit = meshsim_scenario::limits::MAX_WORLD_BYTES;
    let text = meshsim_scenario::input::read_text(path, limit, "a sweep spec")?;
    let spec = parse_spec(&text, &path.display().to_string())?;
    Ok((spec, text))
}

/// Parses and checks a spec from text; `origin` names it in errors.
pub fn parse_spec(text: &str, origin: &str) -> Result<SweepSpec, SpecError> {
    let options = meshsim_scenario::ron_options();
    let spec: SweepSpec = options.from_str(text).map_err(|e| SpecError::Syntax {
        origin: origin.to_string(),
        line: e.span.start.line,
        col: e.span.start.col,
        source: e.code,
    })?;
    let problems = spec.problems();
    if problems.is_empty() {
        return Ok(spec);
    }
    Err(SpecError::Invalid(located(text, origin, problems)))
}

/// Problems `(field path, message)` of a spec document `text`, each located at its field (line
/// and column); shared by every spec format that builds on RON (sweeps, searches).
pub fn located(text: &str, origin: &str, problems: Vec<(String, String)>) -> Vec<SpecIssue> {
    let locations = meshsim_scenario::Locations::index(text);
    problems
        .into_iter()
        .map(|(path, message)| {
            let (line, col) = locations.find(&path);
            SpecIssue { origin: origin.to_string(), line, col, path, message }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grids_hit_their_ends_exactly() {
        let v = Values::Grid { from: 0.01, to: 0.08, steps: 8 }.expand(1, 0);
        assert_eq!(v.len(), 8);
        assert_eq!(v[0], Value::Number(0.01));
        assert_eq!(v[7], Value::Number(0.08));
        let l = Values::LogGrid { from: 1.0, to: 100.0, steps: 3 }.expand(1, 0);
        assert!(matches!(l[1], Value::Number(x) if (x - 10.0).abs() < 1e-9));
    }

    #[test]
    fn random_values_depend_on_the_seed_and_position_only() {
        let r = Values::Random { from: 5.0, to: 10.0, count: 4 };
        assert_eq!(r.expand(7, 2), r.expand(7, 2));
        assert_ne!(r.expand(7, 2), r.expand(8, 2));
        assert_ne!(r.expand(7, 2), r.expand(7, 3));
        assert!(r.expand(7, 2).iter().all(|v| matches!(v, Value::Number(x) if (5.0..10.0).contains(x))));
    }

    #[test]
    fn spec_problems_are_located() {
        let text = "Sweep(version: 1, name: \"t\", worlds: [\"w.ron\"], seeds: 0, master_seed: 1,\n parameters: [(path: \"vaults[\", values: Grid(from: 0.0, to: 1.0, steps: 0))])";
        let e = parse_spec(text, "s.ron").unwrap_err().to_string();
        assert!(e.contains("s.ron:1:") && e.contains("seeds"), "{e}");
        assert!(e.contains("s.ron:2:") && e.contains("parameters[0].path"), "{e}");
        assert!(e.contains("parameters[0].values"), "{e}");
        let e = parse_spec("Sweep(version: 1, nme: \"t\")", "s.ron").unwrap_err().to_string();
        assert!(e.starts_with("s.ron:1:"), "{e}");
    }
}
