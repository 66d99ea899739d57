//! A sweep's files. Runs are appended to journals as they finish (in any order), each line
//! closed by a checksum, so a killed sweep keeps every finished run and a cut line is noticed.
//! Rerunning the same sweep into the same directory skips what is done. When every run is in,
//! the journals are sorted into `runs.csv` and `vaults.csv`, written under a temporary name and
//! renamed, so the final tables never exist half-written.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};

use serde_json::json;
use sha2::{Digest, Sha256};

use crate::error::SweepError;
use crate::error::{csv_bytes, csv_err, io};
use crate::patch::Value;
use crate::plan::{Plan, Shard};
use crate::run::{RUN_METRICS, RunResult, VAULT_METRICS};

/// Format version of a sweep directory (2: vaults.csv gained max_drawdown; 3: floats keep their
/// decimal point).
pub const FORMAT: u32 = 3;

/// Header of `runs.csv`.
pub fn run_header(plan: &Plan) -> Vec<String> {
    let mut h: Vec<String> = ["run", "point", "replicate", "seed", "world"].iter().map(|s| s.to_string()).collect();
    h.extend(plan.spec.parameters.iter().map(|p| p.path.clone()));
    h.push("error".into());
    h.extend(RUN_METRICS.iter().map(|s| s.to_string()));
    h.push("digest".into());
    h
}

/// Header of `vaults.csv`.
pub fn vault_header() -> Vec<String> {
    let mut h: Vec<String> = ["run", "point", "replicate", "vault"].iter().map(|s| s.to_string()).collect();
    h.extend(VAULT_METRICS.iter().map(|s| s.to_string()));
    h
}

/// A number as the tables write it: the shortest text that reads back to the same `f64`.
pub fn num(x: f64) -> String {
    // Debug keeps the decimal point of whole values, so readers infer a float column
    format!("{x:?}")
}

fn run_record(plan: &Plan, r: &RunResult) -> Vec<String> {
    let point = &plan.point(r.run.point);
    let mut rec = vec![
        r.run.id.to_string(),
        r.run.point.to_string(),
        r.run.replicate.to_string(),
        r.run.seed.to_string(),
        plan.worlds[point.world].path.display().to_string(),
    ];
    rec.extend(point.values.iter().map(Value::cell));
    rec.push(r.error.clone().unwrap_or_default());
    if r.error.is_some() {
        rec.extend(RUN_METRICS.iter().map(|_| String::new()));
    } else {
        rec.extend(r.metrics.iter().map(|x| num(*x)));
    }
    rec.push(r.digest.clone());
    rec
}

fn vault_records(r: &RunResult) -> Vec<Vec<String>> {
    r.vaults
        .iter()
        .map(|(name, m)| {
            let mut rec =
                vec![r.run.id.to_string(), r.run.point.to_string(), r.run.replicate.to_string(), name.clone()];
            rec.extend(m.iter().map(|x| num(*x)));
            rec
        })
        .collect()
}

fn checksum(fields: &[String]) -> String {
    let mut h = Sha256::new();
    for f in fields {
        h.update((f.len() as u64).to_le_bytes());
        h.update(f.as_bytes());
    }
    meshsim_scenario::hex(&h.finalize()[..8])
}

fn with_check(mut rec: Vec<String>) -> Vec<String> {
    let c = checksum(&rec);
    rec.push(c);
    rec
}

/// A finished run as journal records: its `runs.csv` row and its `vaults.csv` rows, each ending
/// in its checksum. Plain strings, so a run made in another process (a Ray task) travels back
/// to the process that writes the sweep's tables and is checked there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Records {
    /// The run's row.
    pub run: Vec<String>,
    /// One row per vault.
    pub vaults: Vec<Vec<String>>,
}

/// The journal records of a finished run.
pub fn records(plan: &Plan, r: &RunResult) -> Records {
    Records { run: with_check(run_record(plan, r)), vaults: vault_records(r).into_iter().map(with_check).collect() }
}

impl Records {
    /// Checks widths and checksums against `plan`; returns the run id.
    pub fn check(&self, plan: &Plan) -> Result<u64, SweepError> {
        let damaged =
            |what: &str| SweepError::Conflict(format!("a run's records are damaged or of another sweep: {what}"));
        let intact = |rec: &[String], width: usize| {
            rec.len() == width + 1 && rec.split_last().is_some_and(|(c, body)| checksum(body) == *c)
        };
        if !intact(&self.run, run_header(plan).len()) {
            return Err(damaged("run row"));
        }
        let id: u64 = self.run[0].parse().map_err(|_| damaged("run id"))?;
        if id >= plan.run_count() {
            return Err(damaged(&format!("run {id} of {}", plan.run_count())));
        }
        if !self.vaults.iter().all(|v| intact(v, vault_header().len()) && v[0] == self.run[0]) {
            return Err(damaged("vault row"));
        }
        Ok(id)
    }
}

/// The manifest: what sweep a directory holds.
pub fn manifest(plan: &Plan, shard: Shard, total_runs: u64) -> serde_json::Value {
    json!({
        "format": FORMAT,
        "meshsim_version": env!("CARGO_PKG_VERSION"),
        "name": plan.spec.name,
        "spec_hash": plan.spec_hash,
        "spec": serde_json::to_value(&plan.spec).unwrap_or_default(),
        "worlds": plan.worlds.iter().map(|w| json!({"path": w.path.display().to_string(), "hash": w.scenario.world_hash})).collect::<Vec<_>>(),
        "points": plan.point_count(),
        "runs_total": total_runs,
        "shard": {"index": shard.index, "count": shard.count},
    })
}

/// Writes `bytes` to `path` through a temporary file and a rename.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), SweepError> {
    let tmp = path.with_extension("partial");
    std::fs::write(&tmp, bytes).map_err(io(&tmp))?;
    std::fs::rename(&tmp, path).map_err(io(path))
}

/// The append-only journals of a sweep directory.
pub struct Journal {
    dir: PathBuf,
    runs: csv::Writer<File>,
    vaults: csv::Writer<File>,
    /// Runs already finished.
    pub done: BTreeSet<u64>,
}

/// Reads a journal: its valid records (field count and checksum), the rest dropped.
fn read_journal(path: &Path, width: usize) -> Result<Vec<Vec<String>>, SweepError> {
    if !path.exists() {
        return Ok(Vec::new());
    }
    let file = meshsim_scenario::input::open(path, crate::error::MAX_TABLE_BYTES)?;
    let mut r = csv::ReaderBuilder::new().has_headers(true).flexible(true).from_reader(file);
    let mut out = Vec::new();
    for rec in r.records() {
        // a line cut by a kill may not even parse: it is simply not a finished run
        let rec = match rec {
            Ok(rec) => rec,
            Err(e) if matches!(e.kind(), csv::ErrorKind::Io(_)) => return Err(csv_err(path)(e)),
            Err(_) => continue,
        };
        let fields: Vec<String> = rec.iter().map(str::to_string).collect();
        if fields.len() != width + 1 {
            continue;
        }
        let (body, check) = fields.split_at(width);
        if checksum(body) == check[0] {
            out.push(body.to_vec());
        }
    }
    Ok(out)
}

fn journal_writer(path: &Path, header: &[String], existing: &[Vec<String>]) -> Result<csv::Writer<File>, SweepError> {
    // rewrite what survived, then append from there
    let tmp = path.with_extension("partial");
    {
        let mut w = csv::Writer::from_path(&tmp).map_err(csv_err(&tmp))?;
        let mut h = header.to_vec();
        h.push("check".into());
        w.write_record(&h).map_err(csv_err(&tmp))?;
        for rec in existing {
            w.write_record(with_check(rec.clone())).map_err(csv_err(&tmp))?;
        }
        w.flush().map_err(io(&tmp))?;
    }
    std::fs::rename(&tmp, path).map_err(io(path))?;
    let file = OpenOptions::new().append(true).open(path).map_err(io(path))?;
    Ok(csv::WriterBuilder::new().has_headers(false).from_writer(file))
}

impl Journal {
    /// Opens (or resumes) the journals of `plan`'s `shard` in `dir`. A directory holding a
    /// different sweep is refused.
    pub fn open(dir: &Path, plan: &Plan, shard: Shard, total_runs: u64) -> Result<Journal, SweepError> {
        std::fs::create_dir_all(dir).map_err(io(dir))?;
        let manifest_path = dir.join("manifest.json");
        let mine = manifest(plan, shard, total_runs);
        if manifest_path.exists() {
            let limit = crate::error::MAX_MANIFEST_BYTES;
            let text = meshsim_scenario::input::read_text(&manifest_path, limit, "a sweep manifest")?;
            let theirs: serde_json::Value = serde_json::from_str(&text)
                .map_err(|source| SweepError::Json { path: manifest_path.clone(), source })?;
            for key in ["format", "spec_hash", "worlds", "shard", "runs_total"] {
                if theirs[key] != mine[key] {
                    return Err(SweepError::Conflict(format!(
                        "{} holds a different sweep ({key} differs); use another --out or remove it",
                        dir.display()
                    )));
                }
            }
        } else {
            let text = serde_json::to_string_pretty(&mine)
                .map_err(|source| SweepError::Json { path: manifest_path.clone(), source })?;
            write_atomic(&manifest_path, format!("{text}\n").as_bytes())?;
        }
        let run_width = run_header(plan).len();
        let vault_width = vault_header().len();
        let (runs_path, vaults_path) = (dir.join("journal-runs.csv"), dir.join("journal-vaults.csv"));
        // a run counts once its run row is in; its vault rows are written first
        let mut runs: BTreeMap<u64, Vec<String>> = BTreeMap::new();
        for rec in read_journal(&runs_path, run_width)? {
            if let Ok(id) = rec[0].parse::<u64>()
                && shard.owns(id)
                && id < total_runs
            {
                runs.entry(id).or_insert(rec);
            }
        }
        let mut vault_rows: Vec<Vec<String>> = read_journal(&vaults_path, vault_width)?
            .into_iter()
            .filter(|r| r[0].parse::<u64>().is_ok_and(|id| runs.contains_key(&id)))
            .collect();
        vault_rows.dedup();
        let done: BTreeSet<u64> = runs.keys().copied().collect();
        let runs_w = journal_writer(&runs_path, &run_header(plan), &runs.into_values().collect::<Vec<_>>())?;
        let vaults_w = journal_writer(&vaults_path, &vault_header(), &vault_rows)?;
        Ok(Journal { dir: dir.to_path_buf(), runs: runs_w, vaults: vaults_w, done })
    }

    /// Appends a finished run (vault rows first: the run row commits it).
    pub fn append(&mut self, plan: &Plan, r: &RunResult) -> Result<(), SweepError> {
        self.append_records(plan, &records(plan, r))
    }

    /// Appends a run's records made elsewhere (another process or machine), after checking
    /// their widths and checksums against this sweep.
    pub fn append_records(&mut self, plan: &Plan, rec: &Records) -> Result<(), SweepError> {
        let id = rec.check(plan)?;
        let vp = self.dir.join("journal-vaults.csv");
        for v in &rec.vaults {
            self.vaults.write_record(v).map_err(csv_err(&vp))?;
        }
        self.vaults.flush().map_err(io(&vp))?;
        let rp = self.dir.join("journal-runs.csv");
        self.runs.write_record(&rec.run).map_err(csv_err(&rp))?;
        self.runs.flush().map_err(io(&rp))?;
        self.done.insert(id);
        Ok(())
    }

    /// Writes the sorted final tables from the journals.
    pub fn finish(self, plan: &Plan) -> Result<(PathBuf, PathBuf), SweepError> {
        drop(self.runs);
        drop(self.vaults);
        let dir = self.dir;
        let runs = read_journal(&dir.join("journal-runs.csv"), run_header(plan).len())?;
        let vaults = read_journal(&dir.join("journal-vaults.csv"), vault_header().len())?;
        write_tables(&dir, &run_header(plan), runs, vaults)
    }
}

/// Sorts rows by run id (vault rows keep their order within a run) and writes `runs.csv` and
/// `vaults.csv` atomically.
pub fn write_tables(
    dir: &Path,
    run_header: &[String],
    mut runs: Vec<Vec<String>>,
    vaults: Vec<Vec<String>>,
) -> Result<(PathBuf, PathBuf), SweepError> {
    let id = |r: &Vec<String>| r[0].parse::<u64>().unwrap_or(u64::MAX);
    runs.sort_by_key(id);
    runs.dedup_by_key(|r| id(r));
    let mut by_run: BTreeMap<u64, Vec<Vec<String>>> = BTreeMap::new();
    for v in vaults {
        let rows = by_run.entry(id(&v)).or_default();
        // a resumed run may have written its vault rows twice: keep one set
        if !rows.contains(&v) {
            rows.push(v);
        }
    }
    let table =
        |path: &Path, header: &[String], rows: &mut dyn Iterator<Item = Vec<String>>| -> Result<Vec<u8>, SweepError> {
            let mut w = csv::Writer::from_writer(Vec::new());
            w.write_record(header).map_err(csv_err(path))?;
            for r in rows {
                w.write_record(&r).map_err(csv_err(path))?;
            }
            csv_bytes(path, w)
        };
    let runs_path = dir.join("runs.csv");
    let vaults_path = dir.join("vaults.csv");
    write_atomic(&runs_path, &table(&runs_path, run_header, &mut runs.into_iter())?)?;
    write_atomic(&vaults_path, &table(&vaults_path, &vault_header(), &mut by_run.into_values().flatten())?)?;
    Ok((runs_path, vaults_path))
}

/// Reads a finished table (header and rows).
pub fn read_table(path: &Path) -> Result<(Vec<String>, Vec<Vec<String>>), SweepError> {
    let mut r = csv::Reader::from_reader(meshsim_scenario::input::open(path, crate::error::MAX_TABLE_BYTES)?);
    let header: Vec<String> = r.headers().map_err(csv_err(path))?.iter().map(str::to_string).collect();
    let mut rows = Vec::new();
    for rec in r.records() {
        let rec = rec.map_err(csv_err(path))?;
        rows.push(rec.iter().map(str::to_string).collect());
    }
    Ok((header, rows))
}
