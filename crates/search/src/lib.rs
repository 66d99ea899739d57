//! Searching for the worst case: stress parameters of a base world (shock size, timing and speed,
//! volatility, liquidity withdrawn, gas, bank runs...) are chosen by the cross-entropy method to
//! make an objective (a vault's drawdown or cost, a market's bad debt, cascade depth) as large as
//! the world allows, less a plausibility penalty so that it finds likely bad cases rather than
//! absurd ones; uniform random draws over the same bounds are the baseline. Every candidate runs
//! on the same `seeds` market paths (common random numbers), candidates of a generation run in
//! parallel (rayon), and the result does not depend on the thread count.
//!
//! Every evaluation is journalled (`journal.csv`) as it finishes; the same command resumes a
//! killed search, reusing what it finds there. Across machines, `--shard I/N` over one output
//! directory on a shared file system splits each generation between N processes that read each
//! other's journals (see [`journal`]); the result is the unsharded one, and shard 0 writes it.
//!
//! Outputs: `candidates.csv` (every candidate: generation, parameters, objective, penalty,
//! score), `worst-1.ron`, `worst-2.ron`, `worst-3.ron` (the best-scoring candidates as world
//! files `meshsim validate` accepts), `convergence.csv` and `plots/convergence.png/.svg` (the best
//! score so far and the elite's threshold per generation), `tail.json` (with `tail:` in the spec:
//! the importance-sampling estimate of `P(objective > level)` from the final sampling law against
//! plain Monte Carlo at the same budget, each with its standard error) and `summary.json`.

pub mod cem;
pub mod cmaes;
pub mod journal;
pub mod spec;

use std::path::{Path, PathBuf};

use rayon::prelude::*;
use serde_json::json;
use sha2::{Digest as _, Sha256};

use cem::{Bounds, Estimate, Law};
use journal::Journal;
pub use spec::{Method, Objective, Param, SearchSpec, parse_spec};

/// Why a search could not run.
#[derive(Debug, thiserror::Error)]
pub enum SearchError {
    /// The spec does not parse.
    #[error("{origin}:{line}:{col}: {message}")]
    Syntax {
        /// The spec file.
        origin: String,
        /// Line.
        line: usize,
        /// Column.
        col: usize,
        /// What the parser found.
        message: String,
    },
    /// The spec has problems, each located (one per line).
    #[error("{0}")]
    Invalid(String),
    /// A file could not be read.
    #[error(transparent)]
    Input(#[from] meshsim_scenario::input::InputError),
    /// The base world does not load.
    #[error("world {path}")]
    World {
        /// The world file.
        path: PathBuf,
        /// Why.
        #[source]
        source: meshsim_scenario::ScenarioError,
    },
    /// A parameter does not fit the world (checked at its midpoint before the search starts).
    #[error("parameters at their midpoints: {0}")]
    Parameters(String),
    /// Writing an output.
    #[error("{path}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// The output directory holds another search's journal.
    #[error("{0}")]
    Conflict(String),
    /// Drawing a plot.
    #[error(transparent)]
    Plot(#[from] meshsim_plot::PlotError),
    /// A sharded search waited too long for its peers.
    #[error("{0}")]
    Stalled(String),
    /// Asked to stop ([`Options::stop`]) before it finished.
    #[error("stopped before it finished: every evaluation made is in the journal, and the same search resumes")]
    Stopped,
    /// The thread pool could not start.
    #[error("thread pool")]
    Threads(#[from] rayon::ThreadPoolBuildError),
}

/// How to run.
#[derive(Default)]
pub struct Options {
    /// Worker threads (default: all cores).
    pub threads: Option<usize>,
    /// Called after each generation with (candidates done, budget).
    pub progress: Option<Box<dyn Fn(u64, u64) + Send + Sync>>,
    /// Evaluate only this shard's share of each generation (positions I modulo N) and read the
    /// rest from the other shards' journals in the same output directory.
    pub shard: Option<meshsim_sweep::Shard>,
    /// How long a shard waits for its peers to journal anything new before it gives up
    /// (default: an hour).
    pub patience: Option<std::time::Duration>,
    /// Set (from any thread) to stop: no new evaluation starts, those under way finish and are
    /// journaled, and the run ends with [`SearchError::Stopped`] (the same search resumes).
    pub stop: Option<std::sync::Arc<std::sync::atomic::AtomicBool>>,
}

/// How a run evaluates candidates: its workers, its patience with peer shards, its stop flag.
struct Work<'a> {
    pool: rayon::ThreadPool,
    patience: std::time::Duration,
    stop: Option<&'a std::sync::atomic::AtomicBool>,
}

impl Work<'_> {
    fn stopped(&self) -> bool {
        self.stop.is_some_and(|s| s.load(std::sync::atomic::Ordering::Relaxed))
    }
}

/// One evaluated candidate.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    /// Generation (0 for random search).
    pub generation: u32,
    /// Position in it.
    pub index: u32,
    /// Parameter values, in spec order.
    pub params: Vec<f64>,
    /// Mean objective over the seeds (NaN if it failed).
    pub objective: f64,
    /// Plausibility penalty.
    pub penalty: f64,
    /// Objective less penalty: what the search makes large.
    pub score: f64,
    /// Why a run failed.
    pub error: Option<String>,
}

/// The tail estimates.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Tail {
    /// The level.
    pub level: f64,
    /// Importance sampling from the final law.
    pub importance: Estimate,
    /// Plain Monte Carlo from the nominal law.
    pub plain: Estimate,
}

/// What a search found.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// Every candidate, in generation and index order.
    pub candidates: Vec<Candidate>,
    /// The best score per generation, and the elite's threshold.
    pub convergence: Vec<(f64, f64)>,
    /// Tail estimates, when asked for.
    pub tail: Option<Tail>,
    /// Files written.
    pub files: Vec<PathBuf>,
    /// Evaluations found in the journal of an earlier, interrupted run and reused.
    pub reused: usize,
}

impl Outcome {
    /// The candidates by score, best first (failed ones last).
    pub fn ranked(&self) -> Vec<&Candidate> {
        let mut v: Vec<&Candidate> = self.candidates.iter().collect();
        v.sort_by(|a, b| b.score.total_cmp(&a.score).then((a.generation, a.index).cmp(&(b.generation, b.index))));
        v
    }

    /// The best objective found.
    pub fn best_objective(&self) -> f64 {
        self.candidates.iter().map(|c| c.objective).filter(|x| x.is_finite()).fold(f64::MIN, f64::max)
    }
}

/// A loaded search: the spec, its base world, and the bounds and nominal law of its parameters.
pub struct Search {
    /// The spec.
    pub spec: SearchSpec,
    spec_hash: String,
    world_path: PathBuf,
    world_text: String,
    world_dir: PathBuf,
    raw: meshsim_scenario::raw::RawWorld,
    world_hash: String,
    bounds: Vec<Bounds>,
}

impl Search {
    /// Loads a spec and its world.
    pub fn load(spec_path: &Path) -> Result<Self, SearchError> {
        let text = meshsim_scenario::input::read_text(spec_path, 1 << 20, "a search spec")?;
        let spec = parse_spec(&text, &spec_path.display().to_string())?;
        let dir = spec_path.parent().unwrap_or(Path::new("."));
        Search::new(spec, &text, dir)
    }

    /// From a parsed spec (its text for the hash) whose world path is relative to `dir`.
    pub fn new(spec: SearchSpec, text: &str, dir: &Path) -> Result<Self, SearchError> {
        let world_path = dir.join(&spec.world);
        let world = |source| SearchError::World { path: world_path.clone(), source };
        let world_text =
            meshsim_scenario::input::read_text(&world_path, meshsim_scenario::limits::MAX_WORLD_BYTES, "a world file")?;
        let origin = world_path.display().to_string();
        let raw = meshsim_scenario::parse_raw(&world_text, &origin).map_err(world)?;
        let world_dir = world_path.parent().unwrap_or(Path::new(".")).to_path_buf();
        let world_hash = meshsim_scenario::hex(&Sha256::digest(world_text.as_bytes()));
        meshsim_scenario::from_raw(&raw, &world_text, &origin, &world_dir, world_hash.clone()).map_err(world)?;
        let bounds = spec.parameters.iter().map(|p| Bounds { from: p.from, to: p.to, integer: p.integer }).collect();
        let s = Search {
            spec_hash: meshsim_scenario::hex(&Sha256::digest(text.as_bytes())),
            spec,
            world_path,
            world_text,
            world_dir,
            raw,
            world_hash,
            bounds,
        };
        // every path reaches a field and its midpoint makes a valid world
        let mid: Vec<f64> = s.bounds.iter().map(|b| b.clamp((b.from + b.to) / 2.0)).collect();
        s.world_at(&mid).map_err(SearchError::Parameters)?;
        Ok(s)
    }

    /// The base world with the parameters set to `x`, validated.
    fn raw_at(&self, x: &[f64]) -> Result<meshsim_scenario::raw::RawWorld, String> {
        let values: Vec<meshsim_sweep::patch::Value> =
            x.iter().map(|v| meshsim_sweep::patch::Value::Number(*v)).collect();
        let settings: Vec<(&str, &meshsim_sweep::patch::Value)> =
            self.spec.parameters.iter().zip(&values).map(|(p, v)| (p.path.as_str(), v)).collect();
        let mut raw = meshsim_sweep::patch::patched(&self.raw, &settings)?;
        if let Some(b) = self.spec.blocks {
            raw.blocks = b;
        }
        Ok(raw)
    }

    fn world_at(&self, x: &[f64]) -> Result<meshsim_scenario::Scenario, String> {
        let raw = self.raw_at(x)?;
        let origin = self.world_path.display().to_string();
        let mut s =
            meshsim_scenario::from_raw(&raw, &self.world_text, &origin, &self.world_dir, self.world_hash.clone())
                .map_err(|e| e.to_string())?;
        if let Some(b) = self.spec.blocks {
            s.blocks = b;
        }
        Ok(s)
    }

    /// The plausibility penalty of `x`: the weight times half the sum of squared deviations from
    /// the priors.
    pub fn penalty(&self, x: &[f64]) -> f64 {
        let z2: f64 = self
            .spec
            .parameters
            .iter()
            .zip(x)
            .filter_map(|(p, v)| p.prior.map(|(m, s)| ((v - m) / s) * ((v - m) / s)))
            .sum();
        self.spec.plausibility * z2 / 2.0
    }

    /// The objective at `x`, averaged over the spec's seeds (common to every candidate).
    pub fn objective(&self, x: &[f64]) -> Result<f64, String> {
        let mut s = self.world_at(x)?;
        let mut total = 0.0;
        for k in 0..self.spec.seeds {
            s.seed = meshsim_sweep::seed::run_seed(self.spec.master_seed, k);
            let f = meshsim_sweep::run::figures(&s, None, false)?;
            total += match &self.spec.objective {
                Objective::Run(m) => {
                    let i = meshsim_sweep::run::RUN_METRICS.iter().position(|x| x == m).ok_or("unknown run figure")?;
                    f.metrics[i]
                }
                Objective::Vault { vault, metric } => {
                    let i = meshsim_sweep::run::VAULT_METRICS
                        .iter()
                        .position(|x| x == metric)
                        .ok_or("unknown vault figure")?;
                    let v = f.vaults.iter().find(|(n, _)| n == vault).ok_or_else(|| format!("no vault {vault:?}"))?;
                    v.1[i]
                }
            };
        }
        Ok(total / self.spec.seeds as f64)
    }

    /// The nominal law's density at `x`: each parameter's prior (a normal truncated to its
    /// bounds) where it has one, uniform on its bounds where it has none.
    fn nominal_density(&self, x: &[f64]) -> f64 {
        let mut d = 1.0;
        for (k, (p, b)) in self.spec.parameters.iter().zip(&self.bounds).enumerate() {
            d *= match p.prior {
                Some((m, s)) => Law { mean: vec![m], sd: vec![s] }.density(&x[k..=k], std::slice::from_ref(b)),
                None => 1.0 / (b.to - b.from),
            };
        }
        d
    }

    fn nominal_draw(&self, rng: &mut rand_chacha::ChaCha12Rng) -> Vec<f64> {
        let law = Law {
            mean: self.spec.parameters.iter().map(|p| p.prior.map_or(0.0, |(m, _)| m)).collect(),
            sd: self.spec.parameters.iter().map(|p| p.prior.map_or(1.0, |(_, s)| s)).collect(),
        };
        let prior = law.sample(&self.bounds, rng);
        let flat = cem::uniform(&self.bounds, rng);
        self.spec
            .parameters
            .iter()
            .enumerate()
            .map(|(k, p)| if p.prior.is_some() { prior[k] } else { flat[k] })
            .collect()
    }

    /// The objective of one candidate: from the journal when it holds it, else run and journalled.
    fn journalled(&self, j: &Journal, phase: &str, generation: u32, index: u32, x: &[f64]) -> Result<f64, String> {
        if let Some(r) = j.get(phase, generation, index, x) {
            return r;
        }
        let r = self.objective(x);
        // a journal that cannot be written loses only the resume, never the result
        if let Err(e) = j.record(phase, generation, index, x, &r) {
            return Err(format!("journal: {e}"));
        }
        r
    }

    /// The objectives of a generation: this shard's share run (or reused) in parallel, the rest
    /// read from the other shards' journals.
    fn results(
        &self,
        j: &Journal,
        phase: &str,
        generation: u32,
        xs: &[Vec<f64>],
        work: &Work<'_>,
    ) -> Result<Vec<Result<f64, String>>, SearchError> {
        if work.stopped() {
            return Err(SearchError::Stopped);
        }
        let mine: Vec<Option<Result<f64, String>>> = work.pool.install(|| {
            xs.par_iter()
                .enumerate()
                .map(|(k, x)| {
                    // once stopped, the rest are neither run nor journaled (the result is dropped)
                    j.owns(k as u32).then(|| {
                        if work.stopped() {
                            Err("stopped".into())
                        } else {
                            self.journalled(j, phase, generation, k as u32, x)
                        }
                    })
                })
                .collect()
        });
        if work.stopped() {
            return Err(SearchError::Stopped);
        }
        let wanted: Vec<(u32, &[f64])> =
            xs.iter().enumerate().filter(|(k, _)| !j.owns(*k as u32)).map(|(k, x)| (k as u32, x.as_slice())).collect();
        let mut theirs = j.wait_for(phase, generation, &wanted, work.patience)?.into_iter();
        Ok(mine.into_iter().map(|r| r.unwrap_or_else(|| theirs.next().unwrap_or(Err("lost".into())))).collect())
    }

    fn evaluate(
        &self,
        j: &Journal,
        phase: &str,
        generation: u32,
        xs: Vec<Vec<f64>>,
        work: &Work<'_>,
    ) -> Result<Vec<Candidate>, SearchError> {
        let results = self.results(j, phase, generation, &xs, work)?;
        Ok(xs
            .into_iter()
            .zip(results)
            .enumerate()
            .map(|(index, (params, r))| {
                let penalty = self.penalty(&params);
                let (objective, error) = match r {
                    Ok(v) => (v, None),
                    Err(e) => (f64::NAN, Some(e)),
                };
                let score = if objective.is_finite() { objective - penalty } else { f64::MIN };
                Candidate { generation, index: index as u32, params, objective, penalty, score, error }
            })
            .collect())
    }

    /// Runs the search and writes its outputs into `out` (created if missing).
    pub fn run(&self, out: &Path, opts: &Options) -> Result<Outcome, SearchError> {
        let threads = opts.threads.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads.max(1)).build()?;
        let budget = self.spec.method.budget();
        let shard = opts.shard.unwrap_or(meshsim_sweep::Shard::ALL);
        let patience = opts.patience.unwrap_or(std::time::Duration::from_secs(3600));
        let work = Work { pool, patience, stop: opts.stop.as_deref() };
        let journal = Journal::open(out, &self.spec_hash, &self.world_hash, shard)?;
        let reused = journal.len();
        let mut candidates = Vec::new();
        let mut convergence = Vec::new();
        let mut best = f64::MIN;
        let mut law = Law::wide(&self.bounds);
        match self.spec.method {
            Method::CrossEntropy { iterations, population, elite } => {
                for g in 0..iterations {
                    // the generation's draws come from its own stream
                    let mut rng = meshsim_sweep::seed::stream(self.spec.master_seed, "search-generation", u64::from(g));
                    let xs: Vec<Vec<f64>> = (0..population).map(|_| law.sample(&self.bounds, &mut rng)).collect();
                    let mut generation = self.evaluate(&journal, "generation", g, xs, &work)?;
                    let mut ranked: Vec<&Candidate> = generation.iter().collect();
                    ranked.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.index.cmp(&b.index)));
                    let keep = ((f64::from(population) * elite).ceil() as usize).max(1);
                    let elite_set: Vec<Vec<f64>> = ranked.iter().take(keep).map(|c| c.params.clone()).collect();
                    let threshold = ranked.get(keep - 1).map_or(f64::NAN, |c| c.score);
                    best = best.max(ranked.first().map_or(f64::MIN, |c| c.score));
                    convergence.push((best, threshold));
                    // a floor on each spread (2 % of its box) keeps the law from settling on the
                    // first plateau it finds
                    law.refit(&elite_set, &self.bounds, 0.7, 0.02);
                    candidates.append(&mut generation);
                    if let Some(p) = &opts.progress {
                        p(candidates.len() as u64, budget);
                    }
                }
            }
            Method::CmaEs { iterations, population } => {
                let mut cma = cmaes::Cma::new(self.bounds.len(), population as usize);
                for g in 0..iterations {
                    let mut rng = meshsim_sweep::seed::stream(self.spec.master_seed, "search-cmaes", u64::from(g));
                    let us = cma.ask(&mut rng);
                    // each candidate at its nearest point of the box, in the parameters' units
                    let repaired: Vec<(Vec<f64>, f64)> = us
                        .iter()
                        .map(|u| {
                            let (inside, d2) = cmaes::Cma::repair(u);
                            let x = self
                                .bounds
                                .iter()
                                .zip(inside.iter())
                                .map(|(b, v)| b.clamp(b.from + v * (b.to - b.from)))
                                .collect();
                            (x, d2)
                        })
                        .collect();
                    let xs: Vec<Vec<f64>> = repaired.iter().map(|(x, _)| x.clone()).collect();
                    let mut generation = self.evaluate(&journal, "cmaes", g, xs, &work)?;
                    // ranked with a penalty on the distance outside the box (in unit-cube terms)
                    let fitness: Vec<f64> = generation
                        .iter()
                        .zip(&repaired)
                        .map(|(c, (_, d2))| if c.score == f64::MIN { -1e300 } else { c.score - 10.0 * d2 })
                        .collect();
                    cma.tell(&us, &fitness);
                    let mut scores: Vec<f64> = generation.iter().map(|c| c.score).collect();
                    scores.sort_by(|a, b| b.total_cmp(a));
                    best = best.max(scores.first().copied().unwrap_or(f64::MIN));
                    convergence.push((best, scores.get(scores.len() / 2 - 1).copied().unwrap_or(f64::NAN)));
                    candidates.append(&mut generation);
                    if let Some(p) = &opts.progress {
                        p(candidates.len() as u64, budget);
                    }
                }
            }
            Method::Random { runs } => {
                let mut rng = meshsim_sweep::seed::stream(self.spec.master_seed, "search-random", 0);
                let xs: Vec<Vec<f64>> = (0..runs).map(|_| cem::uniform(&self.bounds, &mut rng)).collect();
                candidates = self.evaluate(&journal, "random", 0, xs, &work)?;
                best = candidates.iter().map(|c| c.score).fold(f64::MIN, f64::max);
                convergence.push((best, f64::NAN));
                if let Some(p) = &opts.progress {
                    p(candidates.len() as u64, budget);
                }
            }
        }
        let tail = match self.spec.tail {
            Some(level) => Some(self.tail(&journal, level, &work)?),
            None => None,
        };
        let mut outcome = Outcome { candidates, convergence, tail, files: Vec::new(), reused };
        // every shard ends with the whole search in hand; the first writes the outputs
        if shard.index == 0 {
            outcome.files = self.write(out, &outcome)?;
        }
        Ok(outcome)
    }

    /// `P(objective > level)` under the nominal law (the priors; uniform over the bounds where a
    /// parameter has none), by the cross-entropy method for rare events: from the nominal law,
    /// each round draws `n`, raises the level to the `1 - rho` quantile of what it drew (capped at
    /// `level`), and refits the sampling law to the draws above it weighted by their likelihood
    /// ratio; once the level is reached, `n` more draws give the importance-sampling estimate.
    /// Plain Monte Carlo from the nominal law gets the same number of runs in all.
    fn tail(&self, j: &Journal, level: f64, work: &Work<'_>) -> Result<Tail, SearchError> {
        let n = match self.spec.method {
            Method::CrossEntropy { population, .. } | Method::CmaEs { population, .. } => population.max(64) as usize,
            Method::Random { runs } => runs.clamp(64, 256) as usize,
        };
        const RHO: f64 = 0.1;
        let objectives = |phase: &str, round: u32, xs: &[Vec<f64>]| -> Result<Vec<f64>, SearchError> {
            Ok(self.results(j, phase, round, xs, work)?.into_iter().map(|r| r.unwrap_or(f64::NAN)).collect())
        };
        let mut q = Law {
            mean: self
                .spec
                .parameters
                .iter()
                .zip(&self.bounds)
                .map(|(p, b)| p.prior.map_or((b.from + b.to) / 2.0, |(m, _)| m))
                .collect(),
            sd: self
                .spec
                .parameters
                .iter()
                .zip(&self.bounds)
                .map(|(p, b)| p.prior.map_or((b.to - b.from) / 2.0, |(_, s)| s))
                .collect(),
        };
        let mut runs = 0usize;
        for round in 0..8u64 {
            let mut rng = meshsim_sweep::seed::stream(self.spec.master_seed, "search-tail-round", round);
            let xs: Vec<Vec<f64>> = (0..n).map(|_| q.sample(&self.bounds, &mut rng)).collect();
            let ls = objectives("tail-round", round as u32, &xs)?;
            runs += n;
            let mut sorted: Vec<f64> = ls.iter().copied().filter(|l| l.is_finite()).collect();
            sorted.sort_by(|a, b| b.total_cmp(a));
            let k = ((RHO * n as f64).ceil() as usize).clamp(1, sorted.len().max(1)) - 1;
            let gamma = sorted.get(k).copied().unwrap_or(f64::MIN).min(level);
            let elite: Vec<(Vec<f64>, f64)> = xs
                .iter()
                .zip(&ls)
                .filter(|(_, l)| **l >= gamma)
                .map(|(x, _)| (x.clone(), self.nominal_density(x) / q.density(x, &self.bounds).max(f64::MIN_POSITIVE)))
                .collect();
            q.refit_weighted(&elite, &self.bounds, 0.7, 0.002);
            if gamma >= level {
                break;
            }
        }
        // Defensive importance sampling (Hesterberg 1995): a share of the draws comes from the
        // nominal law itself, so every likelihood ratio is at most 1 / DEFENSIVE. Without it, a
        // law fitted to one part of a failure region that has several leaves the others to rare
        // draws of huge weight, and the estimate comes out low with an error that hides it.
        const DEFENSIVE: f64 = 0.2;
        let mut rng = meshsim_sweep::seed::stream(self.spec.master_seed, "search-tail", 0);
        let xs: Vec<Vec<f64>> = (0..n)
            .map(|_| {
                if rand::RngExt::random::<f64>(&mut rng) < DEFENSIVE {
                    self.nominal_draw(&mut rng)
                } else {
                    q.sample(&self.bounds, &mut rng)
                }
            })
            .collect();
        let ls = objectives("tail-final", 0, &xs)?;
        runs += n;
        let weighted: Vec<(f64, f64)> = xs
            .iter()
            .zip(ls)
            .map(|(x, l)| {
                let p = self.nominal_density(x);
                let mix = DEFENSIVE * p + (1.0 - DEFENSIVE) * q.density(x, &self.bounds);
                (l, p / mix.max(f64::MIN_POSITIVE))
            })
            .collect();
        // plain Monte Carlo with as many runs as the estimate used in all
        let nominal: Vec<Vec<f64>> = (0..runs).map(|_| self.nominal_draw(&mut rng)).collect();
        let plain: Vec<(f64, f64)> = objectives("tail-plain", 0, &nominal)?.into_iter().map(|l| (l, 1.0)).collect();
        Ok(Tail {
            level,
            importance: cem::importance_estimate(&weighted, level),
            plain: cem::importance_estimate(&plain, level),
        })
    }

    fn write(&self, out: &Path, o: &Outcome) -> Result<Vec<PathBuf>, SearchError> {
        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |source| SearchError::Io { path: path.clone(), source }
        };
        std::fs::create_dir_all(out).map_err(io(out))?;
        let mut files = Vec::new();
        let mut put = |name: &str, bytes: &[u8]| -> Result<(), SearchError> {
            let path = out.join(name);
            let tmp = out.join(format!(".{name}.partial"));
            std::fs::write(&tmp, bytes).map_err(io(&tmp))?;
            std::fs::rename(&tmp, &path).map_err(io(&path))?;
            files.push(path);
            Ok(())
        };
        // candidates.csv
        let mut csv = String::from("generation,candidate");
        for p in &self.spec.parameters {
            csv.push_str(&format!(",\"{}\"", p.path.replace('"', "\"\"")));
        }
        csv.push_str(",objective,penalty,score,error\n");
        for c in &o.candidates {
            csv.push_str(&format!("{},{}", c.generation, c.index));
            for v in &c.params {
                csv.push_str(&format!(",{v:?}"));
            }
            let score = if c.score == f64::MIN { String::new() } else { format!("{:?}", c.score) };
            let objective = if c.objective.is_finite() { format!("{:?}", c.objective) } else { String::new() };
            let error = c.error.as_deref().unwrap_or("").replace('"', "\"\"");
            csv.push_str(&format!(",{objective},{:?},{score},\"{error}\"\n", c.penalty));
        }
        put("candidates.csv", csv.as_bytes())?;
        // the worst cases as world files
        let ranked = o.ranked();
        // written as world files are: unnamed structs, implicit `Some`, unwrapped variants
        let pretty = ron::ser::PrettyConfig::new().depth_limit(8).struct_names(false).extensions(
            ron::extensions::Extensions::IMPLICIT_SOME | ron::extensions::Extensions::UNWRAP_VARIANT_NEWTYPES,
        );
        let mut worst = Vec::new();
        for (k, c) in ranked.iter().filter(|c| c.error.is_none()).take(3).enumerate() {
            let raw = self.raw_at(&c.params).map_err(SearchError::Parameters)?;
            let body =
                ron::ser::to_string_pretty(&raw, pretty.clone()).map_err(|e| SearchError::Parameters(e.to_string()))?;
            // the extension attributes first, as RON wants them; then what this world is
            let (attributes, document) = match body.find("\n(") {
                Some(k) => body.split_at(k + 1),
                None => ("", body.as_str()),
            };
            let mut text = attributes.to_string();
            text.push_str(&format!(
                "// worst case {} of search {:?} (objective {:.6}, penalty {:.6}):\n",
                k + 1,
                self.spec.name,
                c.objective,
                c.penalty
            ));
            for (p, v) in self.spec.parameters.iter().zip(&c.params) {
                text.push_str(&format!("//   {} = {v}\n", p.path));
            }
            // the document's own name, which unnamed structs leave out
            text.push_str("World");
            text.push_str(document);
            text.push('\n');
            put(&format!("worst-{}.ron", k + 1), text.as_bytes())?;
            worst.push(json!({
                "file": format!("worst-{}.ron", k + 1),
                "objective": c.objective,
                "penalty": c.penalty,
                "score": c.score,
                "parameters": self.spec.parameters.iter().zip(&c.params).map(|(p, v)| (p.path.clone(), json!(v))).collect::<serde_json::Map<_, _>>(),
            }));
        }
        // convergence
        let mut conv = String::from("generation,best_score,elite_threshold\n");
        for (g, (b, t)) in o.convergence.iter().enumerate() {
            conv.push_str(&format!("{g},{b:?},{}\n", if t.is_finite() { format!("{t:?}") } else { String::new() }));
        }
        put("convergence.csv", conv.as_bytes())?;
        let tail = o.tail.map(|t| {
            json!({
                "level": t.level,
                "importance_sampling": {"p": t.importance.p, "standard_error": t.importance.se, "draws": t.importance.n},
                "plain_monte_carlo": {"p": t.plain.p, "standard_error": t.plain.se, "draws": t.plain.n},
            })
        });
        if let Some(t) = &tail {
            put("tail.json", serde_json::to_string_pretty(t).unwrap_or_default().as_bytes())?;
        }
        let summary = json!({
            "search": self.spec.name,
            "spec_sha256": self.spec_hash,
            "world": self.spec.world,
            "world_sha256": self.world_hash,
            "method": format!("{:?}", self.spec.method),
            "candidates": o.candidates.len(),
            "failed": o.candidates.iter().filter(|c| c.error.is_some()).count(),
            "best_objective": o.best_objective(),
            "worst_cases": worst,
            "tail": tail,
        });
        put("summary.json", serde_json::to_string_pretty(&summary).unwrap_or_default().as_bytes())?;
        let plots = out.join("plots");
        std::fs::create_dir_all(&plots).map_err(io(&plots))?;
        meshsim_plot::font();
        let series = o.convergence.clone();
        meshsim_plot::both!(plots, files, "convergence", |r| convergence_chart(r, &series));
        Ok(files)
    }
}

fn convergence_chart<DB: plotters::prelude::DrawingBackend>(
    root: plotters::drawing::DrawingArea<DB, plotters::coord::Shift>,
    series: &[(f64, f64)],
) -> meshsim_plot::Drawn
where
    DB::ErrorType: 'static,
{
    use plotters::prelude::*;
    let err = meshsim_plot::err;
    root.fill(&WHITE).map_err(err)?;
    let pts = |f: fn(&(f64, f64)) -> f64| -> Vec<(f64, f64)> {
        series.iter().enumerate().map(|(g, p)| (g as f64, f(p))).filter(|p| p.1.is_finite() && p.1 > f64::MIN).collect()
    };
    let (best, elite) = (pts(|p| p.0), pts(|p| p.1));
    let ys = best.iter().chain(&elite).map(|p| p.1);
    let mut chart = ChartBuilder::on(&root)
        .caption("Search: best score so far and the elite's threshold per generation", ("sans-serif", 22))
        .margin(16)
        .x_label_area_size(48)
        .y_label_area_size(80)
        .build_cartesian_2d(meshsim_plot::range(best.iter().map(|p| p.0)), meshsim_plot::range(ys))
        .map_err(err)?;
    chart.configure_mesh().x_desc("generation").y_desc("score").label_style(("sans-serif", 14)).draw().map_err(err)?;
    chart
        .draw_series(LineSeries::new(best, RED.stroke_width(2)))
        .map_err(err)?
        .label("best so far")
        .legend(|(x, y)| PathElement::new([(x, y), (x + 16, y)], RED));
    chart
        .draw_series(LineSeries::new(elite, BLUE.stroke_width(2)))
        .map_err(err)?
        .label("elite threshold")
        .legend(|(x, y)| PathElement::new([(x, y), (x + 16, y)], BLUE));
    chart.configure_series_labels().background_style(WHITE.mix(0.8)).border_style(BLACK).draw().map_err(err)?;
    Ok(())
}
