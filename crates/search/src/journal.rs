//! The search's journal: every evaluated candidate is appended as it finishes (one line each,
//! closed by a checksum), so a killed search keeps what it evaluated and the same command resumes
//! it: the draws are deterministic, so each journalled candidate is recognised by its phase,
//! generation, position and parameters, and reused instead of run again. A cut last line fails
//! its checksum and is run again. A directory holding another search's journal is refused.
//!
//! Sharded searches (`--shard I/N` over one output directory on a shared file system) each write
//! their own file, `journal-I-of-N.csv`, and read the others': a shard evaluates its share of a
//! generation (positions equal to I modulo N), then waits until its peers' files hold the rest.
//! Every shard then holds the whole generation, refits the same law and draws the same next one,
//! so the shards walk in step without talking to each other, and the result is the unsharded one.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use meshsim_sweep::Shard;
use sha2::{Digest as _, Sha256};

use crate::SearchError;

/// What one journalled evaluation gave.
#[derive(Debug, Clone, PartialEq)]
struct Entry {
    params: u64,
    result: Result<f64, String>,
}

type Key = (String, u32, u32);

/// The journals of one search directory: this process's own file, and what every journal file
/// there holds.
pub struct Journal {
    dir: PathBuf,
    own: PathBuf,
    header: String,
    shard: Shard,
    file: Mutex<std::io::BufWriter<std::fs::File>>,
    done: Mutex<BTreeMap<Key, Entry>>,
    found: usize,
}

fn hash_params(x: &[f64]) -> u64 {
    let mut h = Sha256::new();
    for v in x {
        h.update(v.to_bits().to_le_bytes());
    }
    let d = h.finalize();
    u64::from_le_bytes([d[0], d[1], d[2], d[3], d[4], d[5], d[6], d[7]])
}

fn checksum(content: &str) -> String {
    meshsim_scenario::hex(&Sha256::digest(content.as_bytes())[..4])
}

fn hex_text(s: &str) -> String {
    meshsim_scenario::hex(s.as_bytes())
}

fn text_hex(h: &str) -> Option<String> {
    if !h.len().is_multiple_of(2) {
        return None;
    }
    let bytes: Option<Vec<u8>> = (0..h.len()).step_by(2).map(|k| u8::from_str_radix(&h[k..k + 2], 16).ok()).collect();
    String::from_utf8(bytes?).ok()
}

/// One journal line, or `None` for a cut or damaged one (run again).
fn parse_line(line: &str) -> Option<(Key, Entry)> {
    let (content, sum) = line.rsplit_once(',')?;
    if checksum(content) != sum {
        return None;
    }
    let f: Vec<&str> = content.split(',').collect();
    let [phase, g, i, params, objective, error] = f.as_slice() else { return None };
    let (g, i, params) = (g.parse().ok()?, i.parse().ok()?, u64::from_str_radix(params, 16).ok()?);
    let result = if error.is_empty() {
        Ok(f64::from_bits(u64::from_str_radix(objective, 16).ok()?))
    } else {
        Err(text_hex(error)?)
    };
    Some(((phase.to_string(), g, i), Entry { params, result }))
}

/// The journal file a shard writes.
fn file_name(shard: Shard) -> String {
    if shard == Shard::ALL { "journal.csv".into() } else { format!("journal-{}-of-{}.csv", shard.index, shard.count) }
}

fn is_journal(name: &str) -> bool {
    name.starts_with("journal") && name.ends_with(".csv")
}

/// Every entry of every journal file in `dir`; `own` includes this process's file.
fn read_all(dir: &Path, own_file: &Path, header: &str, own: bool) -> Result<BTreeMap<Key, Entry>, SearchError> {
    let io = |source| SearchError::Io { path: dir.to_path_buf(), source };
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(io)?
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_str().is_some_and(is_journal))
        .map(|e| e.path())
        .filter(|p| own || p != own_file)
        .collect();
    // a fixed order, so that which copy of an entry wins never depends on the directory's
    files.sort();
    let mut done = BTreeMap::new();
    for path in files {
        let text = meshsim_scenario::input::read_text(&path, 1 << 34, "a search journal")?;
        // a file created but not yet headed (by a peer starting, or by this one): nothing in it
        if !text.contains('\n') {
            continue;
        }
        let mut lines = text.lines();
        match lines.next() {
            Some(h) if h == header => {}
            _ => {
                return Err(SearchError::Conflict(format!(
                    "{} belongs to another search (or another version of its world): choose another --out",
                    path.display()
                )));
            }
        }
        done.extend(lines.filter_map(parse_line));
    }
    Ok(done)
}

impl Journal {
    /// Opens (or starts) `shard`'s journal in `dir` for the search with these hashes, and reads
    /// every journal already there (an earlier run's, or other shards').
    pub fn open(dir: &Path, spec_hash: &str, world_hash: &str, shard: Shard) -> Result<Self, SearchError> {
        std::fs::create_dir_all(dir).map_err(|source| SearchError::Io { path: dir.to_path_buf(), source })?;
        let own = dir.join(file_name(shard));
        let header = format!("# meshsim search journal v1 {spec_hash} {world_hash}");
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&own)
            .map_err(|source| SearchError::Io { path: own.clone(), source })?;
        let mut w = std::io::BufWriter::new(file);
        let done = read_all(dir, &own, &header, true)?;
        let fresh = w.get_ref().metadata().map_err(|source| SearchError::Io { path: own.clone(), source })?.len() == 0;
        if fresh {
            writeln!(w, "{header}")
                .and_then(|_| w.flush())
                .map_err(|source| SearchError::Io { path: own.clone(), source })?;
        }
        let found = done.len();
        Ok(Journal { dir: dir.to_path_buf(), own, header, shard, file: Mutex::new(w), done: Mutex::new(done), found })
    }

    /// A journalled result for this candidate, if its parameters match.
    pub fn get(&self, phase: &str, generation: u32, index: u32, params: &[f64]) -> Option<Result<f64, String>> {
        let done = self.done.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let e = done.get(&(phase.to_string(), generation, index))?;
        (e.params == hash_params(params)).then(|| e.result.clone())
    }

    /// Appends a result (flushed at once: a kill loses at most the line being written).
    pub fn record(
        &self,
        phase: &str,
        generation: u32,
        index: u32,
        params: &[f64],
        result: &Result<f64, String>,
    ) -> Result<(), SearchError> {
        let (objective, error) = match result {
            Ok(v) => (format!("{:x}", v.to_bits()), String::new()),
            Err(e) => (String::new(), hex_text(e)),
        };
        let content = format!("{phase},{generation},{index},{:x},{objective},{error}", hash_params(params));
        let line = format!("{content},{}\n", checksum(&content));
        let io = |source| SearchError::Io { path: self.own.clone(), source };
        // a poisoned lock means another writer panicked: the line is still worth writing
        let mut w = self.file.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        w.write_all(line.as_bytes()).and_then(|_| w.flush()).map_err(io)
    }

    /// Whether position `index` of a generation is this process's to evaluate.
    pub fn owns(&self, index: u32) -> bool {
        self.shard.owns(u64::from(index))
    }

    /// Waits until the other shards' journals hold the positions `wanted` (with these
    /// parameters) of a generation, and returns their results. Gives up when no peer has journalled
    /// anything new for `patience`.
    #[expect(clippy::disallowed_methods, reason = "waiting for peers is wall-clock time; it never reaches a result")]
    pub fn wait_for(
        &self,
        phase: &str,
        generation: u32,
        wanted: &[(u32, &[f64])],
        patience: Duration,
    ) -> Result<Vec<Result<f64, String>>, SearchError> {
        let poll = (patience / 4).min(Duration::from_millis(500));
        let mut seen = usize::MAX;
        let mut since = Instant::now();
        loop {
            let mut missing = Vec::new();
            let mut got = Vec::with_capacity(wanted.len());
            {
                let done = self.done.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                for (index, params) in wanted {
                    match done.get(&(phase.to_string(), generation, *index)) {
                        Some(e) if e.params == hash_params(params) => got.push(e.result.clone()),
                        Some(_) => {
                            return Err(SearchError::Conflict(format!(
                                "a shard journalled other parameters for {phase} {generation}, candidate {index}: \
                                 are the shards running different versions of meshsim or of the spec?"
                            )));
                        }
                        None => missing.push(*index),
                    }
                }
                if missing.is_empty() {
                    return Ok(got);
                }
                if done.len() != seen {
                    seen = done.len();
                    since = Instant::now();
                }
            }
            if since.elapsed() >= patience {
                let mut shards: Vec<u64> = missing.iter().map(|i| u64::from(*i) % self.shard.count).collect();
                shards.dedup();
                return Err(SearchError::Stalled(format!(
                    "{}: no shard journalled anything for {:.0} s while {phase} {generation} waits for \
                     candidates {missing:?} of shard(s) {shards:?} of {}; run every shard `--shard I/{}` with \
                     the same --out on a file system they share (a finished or killed shard resumes from its journal)",
                    self.dir.display(),
                    patience.as_secs_f64(),
                    self.shard.count,
                    self.shard.count
                )));
            }
            std::thread::sleep(poll);
            let peers = read_all(&self.dir, &self.own, &self.header, false)?;
            let mut done = self.done.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            for (k, e) in peers {
                done.entry(k).or_insert(e);
            }
        }
    }

    /// Results journalled before this run (by an earlier run or, when sharded, by peers so far).
    pub fn len(&self) -> usize {
        self.found
    }

    /// Nothing journalled before this run.
    pub fn is_empty(&self) -> bool {
        self.found == 0
    }
}
