//! Parameter sweeps: a spec names a base world, the parameters to vary and how many seeds per
//! point; every run is an independent, single-threaded, deterministic simulation, and runs go
//! in parallel across cores (rayon) or across machines (shards merged afterwards). Results do
//! not depend on the thread count, the shard count or the order runs finish in.
//!
//! Outputs of a sweep directory: `manifest.json`, `runs.csv` (a row per run: its parameters,
//! seed and figures), `vaults.csv` (a row per run and vault), `points.csv` and
//! `vault_points.csv` (mean and 5/50/95 % quantiles over seeds per point), `tails.csv` (per point
//! and vault, each figure's worst run and 5 % tail on its hurting side), `pareto.csv` (the
//! points no other beats on both execution cost and tracking error) and `plots/`.

pub mod aggregate;
pub mod error;
pub mod output;
pub mod patch;
pub mod plan;
pub mod plot;
pub mod run;
pub mod seed;
pub mod spec;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use rayon::prelude::*;

pub use error::{PointError, SweepError};
pub use plan::{Plan, Shard};
pub use spec::{SweepSpec, load_spec, parse_spec};

/// How to run a sweep.
#[derive(Default)]
pub struct Options {
    /// Worker threads (default: all cores).
    pub threads: Option<usize>,
    /// This machine's share of the runs.
    pub shard: Option<Shard>,
    /// Check token conservation every block (slower).
    pub check: bool,
    /// Stop after this many runs (the rest stays for a rerun), for tests of interruption.
    pub limit: Option<u64>,
    /// Called after each finished run with (done, total for this shard).
    pub progress: Option<Box<dyn Fn(u64, u64) + Send + Sync>>,
    /// Set (from any thread) to stop starting runs: the runs under way finish and are journaled,
    /// and the call returns incomplete, like a killed sweep (a rerun resumes).
    pub stop: Option<std::sync::Arc<AtomicBool>>,
}

/// What a sweep call did.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// Runs in this shard.
    pub runs: u64,
    /// Already done before this call.
    pub skipped: u64,
    /// Run by this call.
    pub ran: u64,
    /// Runs that failed (recorded with their error).
    pub failed: u64,
    /// Every run of the shard is in and the tables are written.
    pub complete: bool,
    /// Final tables and plots written.
    pub files: Vec<PathBuf>,
}

/// Runs (or resumes) `plan`'s share for this machine in `dir`.
pub fn sweep(plan: &Plan, dir: &Path, opts: &Options) -> Result<Outcome, SweepError> {
    let shard = opts.shard.unwrap_or(Shard::ALL);
    // runs are ids, made into runs as they are taken: a ten-million-run sweep holds no list of them
    let total = plan.run_count();
    let mut journal = output::Journal::open(dir, plan, shard, total)?;
    let skipped = journal.done.iter().filter(|id| **id < total && shard.owns(**id)).count() as u64;
    // the writer thread takes the journal; what was done before is read from a copy
    let done_before = journal.done.clone();
    let done = &done_before;
    let pending = (0..total).into_par_iter().filter(|id| shard.owns(*id) && !done.contains(id));
    let limit = opts.limit.map(|l| {
        let ids: Vec<u64> = (0..total).filter(|id| shard.owns(*id) && !done.contains(id)).take(l as usize).collect();
        ids
    });
    let threads = opts.threads.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let pool = rayon::ThreadPoolBuilder::new().num_threads(threads.max(1)).build()?;
    let abort = AtomicBool::new(false);
    let (tx, rx) = std::sync::mpsc::channel::<run::RunResult>();
    let mine_len = shard.share(total);
    let (journal, ran, failed) = std::thread::scope(|s| {
        // one writer: results arrive in any order and are journaled as they come
        let writer = s.spawn(|| -> Result<(output::Journal, u64, u64), SweepError> {
            let (mut ran, mut failed) = (0u64, 0u64);
            for r in rx {
                if let Err(e) = journal.append(plan, &r) {
                    abort.store(true, Ordering::Relaxed);
                    return Err(e);
                }
                ran += 1;
                failed += u64::from(r.error.is_some());
                if let Some(p) = &opts.progress {
                    p(skipped + ran, mine_len);
                }
            }
            Ok((journal, ran, failed))
        });
        let one = |tx: &mut std::sync::mpsc::Sender<run::RunResult>, id: u64| {
            if abort.load(Ordering::Relaxed) || opts.stop.as_ref().is_some_and(|s| s.load(Ordering::Relaxed)) {
                return;
            }
            // a closed channel means the writer failed; its error is reported below
            let _ = tx.send(run::execute(plan, plan.run(id), opts.check));
        };
        pool.install(|| match &limit {
            Some(ids) => ids.par_iter().for_each_with(tx, |tx, id| one(tx, *id)),
            None => pending.for_each_with(tx, one),
        });
        writer.join().map_err(|_| SweepError::WriterPanicked)?
    })?;
    let complete = journal.done.len() as u64 == mine_len;
    let mut outcome = Outcome { runs: mine_len, skipped, ran, failed, complete, files: Vec::new() };
    if !complete {
        return Ok(outcome);
    }
    let (runs_path, vaults_path) = journal.finish(plan)?;
    outcome.files = vec![runs_path.clone(), vaults_path.clone()];
    if shard == Shard::ALL {
        outcome.files.extend(summarise(dir, &runs_path, &vaults_path, plan.spec.parameters.len(), plan.worlds.len())?);
    }
    Ok(outcome)
}

/// Runs `ids` of `plan` one after another on this thread and returns their journal records:
/// the unit of work a process elsewhere (a Ray task) does, to be handed to [`collect`].
pub fn run_records(plan: &Plan, ids: &[u64], check: bool) -> Result<Vec<output::Records>, SweepError> {
    let total = plan.run_count();
    ids.iter()
        .map(|id| {
            if *id >= total {
                return Err(SweepError::Conflict(format!("run {id} does not exist: the sweep has {total} runs")));
            }
            Ok(output::records(plan, &run::execute(plan, plan.run(*id), check)))
        })
        .collect()
}

/// Journals runs made elsewhere ([`run_records`]) into `dir` as if this machine had run them,
/// and once every run of the sweep is in, writes the same tables, aggregates and plots as
/// [`sweep`]. Runs already in `dir` are kept (a rerun resumes); records that fail their check
/// are refused.
pub fn collect(plan: &Plan, dir: &Path, records: &[output::Records]) -> Result<Outcome, SweepError> {
    let total = plan.run_count();
    let mut journal = output::Journal::open(dir, plan, Shard::ALL, total)?;
    let skipped = journal.done.len() as u64;
    let (mut ran, mut failed) = (0u64, 0u64);
    for rec in records {
        let id = rec.check(plan)?;
        if journal.done.contains(&id) {
            continue;
        }
        journal.append_records(plan, rec)?;
        ran += 1;
        // the error column follows the run's parameters
        failed += u64::from(rec.run.get(5 + plan.spec.parameters.len()).is_some_and(|e| !e.is_empty()));
    }
    let complete = journal.done.len() as u64 == total;
    let mut outcome = Outcome { runs: total, skipped, ran, failed, complete, files: Vec::new() };
    if !complete {
        return Ok(outcome);
    }
    let (runs_path, vaults_path) = journal.finish(plan)?;
    outcome.files = vec![runs_path.clone(), vaults_path.clone()];
    outcome.files.extend(summarise(dir, &runs_path, &vaults_path, plan.spec.parameters.len(), plan.worlds.len())?);
    Ok(outcome)
}

/// Aggregates and plots from finished tables.
fn summarise(
    dir: &Path,
    runs_path: &Path,
    vaults_path: &Path,
    parameters: usize,
    worlds: usize,
) -> Result<Vec<PathBuf>, SweepError> {
    let (header, runs) = output::read_table(runs_path)?;
    let (_, vaults) = output::read_table(vaults_path)?;
    let points = aggregate::summarise(dir, &header, &runs, &vaults, 1 + parameters)?;
    let names: Vec<String> = header[5..5 + parameters].to_vec();
    let mut files: Vec<PathBuf> =
        ["points.csv", "vault_points.csv", "tails.csv", "pareto.csv"].iter().map(|f| dir.join(f)).collect();
    files.extend(plot::write_plots(dir, &points, &names, worlds)?);
    Ok(files)
}

/// Combines finished shard directories into `out`: the same tables, aggregates and plots as one
/// machine running the whole sweep. Every shard must belong to the same sweep, the shards must
/// cover it exactly, and each must be complete.
pub fn merge(out: &Path, shards: &[PathBuf]) -> Result<Vec<PathBuf>, SweepError> {
    let read_manifest = |d: &Path| -> Result<serde_json::Value, SweepError> {
        let p = d.join("manifest.json");
        let text = meshsim_scenario::input::read_text(&p, error::MAX_MANIFEST_BYTES, "a sweep manifest")?;
        serde_json::from_str(&text).map_err(|source| SweepError::Json { path: p.clone(), source })
    };
    let Some(first) = shards.first() else { return Err(SweepError::Conflict("no shard directories given".into())) };
    let base = read_manifest(first)?;
    let count = base["shard"]["count"].as_u64().unwrap_or(0);
    let mut seen = vec![false; count as usize];
    let mut header: Option<Vec<String>> = None;
    let mut runs: Vec<Vec<String>> = Vec::new();
    let mut vaults: Vec<Vec<String>> = Vec::new();
    for d in shards {
        let m = read_manifest(d)?;
        for key in ["format", "spec_hash", "worlds", "runs_total", "points"] {
            if m[key] != base[key] {
                return Err(SweepError::Conflict(format!("{} is from another sweep ({key} differs)", d.display())));
            }
        }
        let (i, n) = (m["shard"]["index"].as_u64().unwrap_or(u64::MAX), m["shard"]["count"].as_u64().unwrap_or(0));
        if n != count || i >= n || seen[i as usize] {
            return Err(SweepError::Conflict(format!(
                "{}: shard {i}/{n} does not fit (or is given twice)",
                d.display()
            )));
        }
        seen[i as usize] = true;
        let runs_path = d.join("runs.csv");
        if !runs_path.exists() {
            return Err(SweepError::Conflict(format!("{}: shard not finished (no runs.csv); rerun it", d.display())));
        }
        let (h, r) = output::read_table(&runs_path)?;
        if header.as_ref().is_some_and(|x| *x != h) {
            return Err(SweepError::Conflict(format!("{}: different columns", d.display())));
        }
        header = Some(h);
        runs.extend(r);
        vaults.extend(output::read_table(&d.join("vaults.csv"))?.1);
    }
    if let Some(missing) = seen.iter().position(|s| !s) {
        return Err(SweepError::Conflict(format!("shard {missing}/{count} is missing")));
    }
    let total = base["runs_total"].as_u64().unwrap_or(0);
    let mut ids: Vec<u64> = runs.iter().filter_map(|r| r[0].parse().ok()).collect();
    ids.sort_unstable();
    if ids != (0..total).collect::<Vec<_>>() {
        return Err(SweepError::Conflict(format!("the shards hold {} runs, not exactly runs 0..{total}", ids.len())));
    }
    std::fs::create_dir_all(out).map_err(|source| SweepError::Io { path: out.to_path_buf(), source })?;
    let mut manifest = base.clone();
    manifest["shard"] = serde_json::json!({"index": 0, "count": 1});
    let manifest_path = out.join("manifest.json");
    let text = serde_json::to_string_pretty(&manifest)
        .map_err(|source| SweepError::Json { path: manifest_path.clone(), source })?;
    output::write_atomic(&manifest_path, format!("{text}\n").as_bytes())?;
    let header = header.unwrap_or_default();
    let (runs_path, vaults_path) = output::write_tables(out, &header, runs, vaults)?;
    let parameters = base["spec"]["parameters"].as_array().map_or(0, Vec::len);
    let worlds = base["worlds"].as_array().map_or(1, Vec::len);
    let mut files = vec![runs_path.clone(), vaults_path.clone()];
    files.extend(summarise(out, &runs_path, &vaults_path, parameters, worlds)?);
    Ok(files)
}
