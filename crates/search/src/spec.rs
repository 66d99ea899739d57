//! The search spec (RON): a base world, the stress parameters to search with their bounds (and
//! optionally a prior each, for the plausibility penalty), the objective, the method and its
//! budget, and seeds per candidate.
//!
//! ```ron
//! Search(
//!     version: 1,
//!     name: "crash-drawdown",
//!     world: "../stress/crash.ron",          // relative to this file
//!     blocks: 900,                           // optional: override the world's run length
//!     seeds: 2,                              // runs per candidate (common to every candidate)
//!     master_seed: 1,
//!     parameters: [
//!         (path: "market.shocks[0].change", from: -0.7, to: 0.0, prior: (-0.1, 0.15)),
//!         (path: "market.shocks[0].blocks", from: 1.0, to: 300.0, integer: true),
//!     ],
//!     objective: Vault(vault: "cm-threshold", metric: "max_drawdown"),   // or Run("bad_debt")
//!     method: CrossEntropy(iterations: 6, population: 24, elite: 0.25),  // CmaEs(iterations, population), Random(runs)
//!     plausibility: 0.01,                    // optional: score = objective - weight x sum z^2 / 2
//!     tail: 0.2,                       // optional: estimate P(objective > 0.2)
//! )
//! ```

use serde::{Deserialize, Serialize};

use crate::SearchError;

/// Schema version of search specs.
pub const SPEC_VERSION: u32 = 1;

/// One searched parameter.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Param {
    /// Path in the world document (as in sweeps).
    pub path: String,
    /// Lowest value.
    pub from: f64,
    /// Highest value.
    pub to: f64,
    /// Whole numbers only.
    #[serde(default)]
    pub integer: bool,
    /// How likely values are, as (mean, standard deviation): the plausibility penalty counts
    /// how many deviations a candidate lies from the mean (none: no penalty for this parameter).
    #[serde(default)]
    pub prior: Option<(f64, f64)>,
}

/// What the search makes as large as it can.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Objective {
    /// A run figure (a column of a sweep's `runs.csv`, e.g. `bad_debt`, `cascade_max_depth`).
    Run(String),
    /// A vault's figure (a column of a sweep's `vaults.csv`, e.g. `max_drawdown`, `cost`).
    Vault {
        /// The vault.
        vault: String,
        /// The figure.
        metric: String,
    },
}

/// How candidates are chosen.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum Method {
    /// The cross-entropy method: `iterations` generations of `population` candidates, each
    /// refitting the sampling law to its best `elite` share.
    CrossEntropy {
        /// Generations.
        iterations: u32,
        /// Candidates per generation.
        population: u32,
        /// Share kept as the elite.
        elite: f64,
    },
    /// CMA-ES: `iterations` generations of `population` candidates (at least 4), the mean,
    /// step size and covariance adapted to the best half.
    CmaEs {
        /// Generations.
        iterations: u32,
        /// Candidates per generation.
        population: u32,
    },
    /// Uniform draws over the bounds: the baseline.
    Random {
        /// Candidates.
        runs: u32,
    },
}

impl Method {
    /// Candidates evaluated in all.
    pub fn budget(&self) -> u64 {
        match *self {
            Method::CrossEntropy { iterations, population, .. } | Method::CmaEs { iterations, population } => {
                u64::from(iterations) * u64::from(population)
            }
            Method::Random { runs } => u64::from(runs),
        }
    }
}

/// A search spec.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename = "Search")]
pub struct SearchSpec {
    /// Must equal [`SPEC_VERSION`].
    pub version: u32,
    /// Name used for the default output directory.
    pub name: String,
    /// Base world, relative to the spec.
    pub world: String,
    /// Run length override.
    #[serde(default)]
    pub blocks: Option<u64>,
    /// Runs per candidate.
    pub seeds: u64,
    /// Seed of every stream of the search.
    pub master_seed: u64,
    /// The parameters searched.
    pub parameters: Vec<Param>,
    /// What is made large.
    pub objective: Objective,
    /// How.
    pub method: Method,
    /// Weight of the plausibility penalty.
    #[serde(default)]
    pub plausibility: f64,
    /// Estimate the probability that the objective exceeds this level.
    #[serde(default)]
    pub tail: Option<f64>,
}

/// Most candidates a search may evaluate.
pub const MAX_CANDIDATES: u64 = 1_000_000;

impl SearchSpec {
    /// Every problem, by field path.
    fn problems(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        let mut push = |p: &str, m: String| out.push((p.to_string(), m));
        if self.version != SPEC_VERSION {
            push("version", format!("expected search spec version {SPEC_VERSION}, found {}", self.version));
        }
        if self.name.is_empty() || !self.name.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c)) {
            push("name", format!("expected 1 or more of [A-Za-z0-9-_.], found {:?}", self.name));
        }
        if self.seeds == 0 || self.seeds > 10_000 {
            push("seeds", format!("expected 1 to 10000 runs per candidate, found {}", self.seeds));
        }
        if self.parameters.is_empty() || self.parameters.len() > 64 {
            push("parameters", "expected 1 to 64 parameters".to_string());
        }
        for (k, p) in self.parameters.iter().enumerate() {
            let at = format!("parameters[{k}]");
            if let Err(e) = meshsim_sweep::patch::parse_path(&p.path) {
                push(&format!("{at}.path"), e);
            }
            if !(p.from.is_finite() && p.to.is_finite() && p.from < p.to) {
                push(
                    &format!("{at}.to"),
                    format!("expected finite bounds with from < to, found {} and {}", p.from, p.to),
                );
            }
            if let Some((m, s)) = p.prior
                && !(m.is_finite() && s.is_finite() && s > 0.0)
            {
                push(&format!("{at}.prior"), format!("expected (mean, sd) with sd above zero, found ({m}, {s})"));
            }
        }
        match self.method {
            Method::CrossEntropy { iterations, population, elite } => {
                if iterations == 0 || population < 2 {
                    push("method", "expected at least 1 iteration of at least 2 candidates".to_string());
                }
                if !(elite > 0.0 && elite <= 0.5) || f64::from(population) * elite < 1.0 {
                    push(
                        "method.elite",
                        format!("expected a share in (0, 0.5] keeping at least one candidate, found {elite}"),
                    );
                }
            }
            Method::CmaEs { iterations, population } => {
                if iterations == 0 || population < 4 {
                    push("method", "expected at least 1 iteration of at least 4 candidates".to_string());
                }
            }
            Method::Random { runs } => {
                if runs == 0 {
                    push("method.runs", "expected at least 1 candidate".to_string());
                }
            }
        }
        if self.method.budget().saturating_mul(self.seeds) > MAX_CANDIDATES {
            push("method", format!("expected at most {MAX_CANDIDATES} runs in all"));
        }
        if !(self.plausibility.is_finite() && self.plausibility >= 0.0) {
            push("plausibility", format!("expected a weight of 0 or more, found {}", self.plausibility));
        }
        let known = |m: &str, list: &[&str]| list.contains(&m);
        match &self.objective {
            Objective::Run(m) if !known(m, &meshsim_sweep::run::RUN_METRICS) => {
                push(
                    "objective",
                    meshsim_scenario::unknown("run figure", m, meshsim_sweep::run::RUN_METRICS.iter().copied()),
                );
            }
            Objective::Vault { metric, .. } if !known(metric, &meshsim_sweep::run::VAULT_METRICS) => {
                push(
                    "objective.metric",
                    meshsim_scenario::unknown(
                        "vault figure",
                        metric,
                        meshsim_sweep::run::VAULT_METRICS.iter().copied(),
                    ),
                );
            }
            _ => {}
        }
        out
    }
}

/// Parses and checks a spec; `origin` names it in errors.
pub fn parse_spec(text: &str, origin: &str) -> Result<SearchSpec, SearchError> {
    let options = meshsim_scenario::ron_options();
    let spec: SearchSpec = options.from_str(text).map_err(|e| SearchError::Syntax {
        origin: origin.to_string(),
        line: e.span.start.line,
        col: e.span.start.col,
        message: e.code.to_string(),
    })?;
    let problems = spec.problems();
    if problems.is_empty() {
        return Ok(spec);
    }
    let issues: Vec<String> = meshsim_sweep::spec::located(text, origin, problems)
        .into_iter()
        .map(|i| format!("{}:{}:{}: {}: {}", i.origin, i.line, i.col, i.path, i.message))
        .collect();
    Err(SearchError::Invalid(issues.join("\n")))
}
