//! The search's journal: every evaluated candidate is appended as it finishes (one line each,
//! closed by a checksum), so a killed search keeps what it evaluated and the same command resumes
//! it: the draws are deterministic, so each journalled candidate is recognised by its phase,
//! generation, position and parameters, and reused instead of run again. A cut last line fails
//! its checksum and is run again. A directory holding another search's journal is refused.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use sha2::{Digest as _, Sha256};

use crate::SearchError;

/// What one journalled evaluation gave.
#[derive(Debug, Clone, PartialEq)]
struct Entry {
    params: u64,
    result: Result<f64, String>,
}

/// The journal of one search directory.
pub struct Journal {
    path: PathBuf,
    file: Mutex<std::io::BufWriter<std::fs::File>>,
    done: BTreeMap<(String, u32, u32), Entry>,
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

impl Journal {
    /// Opens (or starts) the journal in `dir` for the search with these hashes.
    pub fn open(dir: &Path, spec_hash: &str, world_hash: &str) -> Result<Self, SearchError> {
        let path = dir.join("journal.csv");
        let io = |source| SearchError::Io { path: path.clone(), source };
        std::fs::create_dir_all(dir).map_err(|source| SearchError::Io { path: dir.to_path_buf(), source })?;
        let header = format!("# meshsim search journal v1 {spec_hash} {world_hash}");
        let mut done = BTreeMap::new();
        if path.exists() {
            let text = meshsim_scenario::input::read_text(&path, 1 << 34, "a search journal")?;
            let mut lines = text.lines();
            if lines.next() != Some(header.as_str()) {
                return Err(SearchError::Conflict(format!(
                    "{} belongs to another search (or another version of its world): choose another --out",
                    path.display()
                )));
            }
            for line in lines {
                let Some((content, sum)) = line.rsplit_once(',') else { continue };
                if checksum(content) != sum {
                    continue;
                }
                let f: Vec<&str> = content.split(',').collect();
                let [phase, g, i, params, objective, error] = f.as_slice() else { continue };
                let (Ok(g), Ok(i), Ok(params)) = (g.parse(), i.parse(), u64::from_str_radix(params, 16)) else {
                    continue;
                };
                let result = if error.is_empty() {
                    match u64::from_str_radix(objective, 16) {
                        Ok(bits) => Ok(f64::from_bits(bits)),
                        Err(_) => continue,
                    }
                } else {
                    match text_hex(error) {
                        Some(e) => Err(e),
                        None => continue,
                    }
                };
                done.insert((phase.to_string(), g, i), Entry { params, result });
            }
        }
        let existed = path.exists();
        let file = std::fs::OpenOptions::new().create(true).append(true).open(&path).map_err(io)?;
        let mut w = std::io::BufWriter::new(file);
        if !existed {
            writeln!(w, "{header}").and_then(|_| w.flush()).map_err(io)?;
        }
        Ok(Journal { path, file: Mutex::new(w), done })
    }

    /// A journalled result for this candidate, if its parameters match.
    pub fn get(&self, phase: &str, generation: u32, index: u32, params: &[f64]) -> Option<Result<f64, String>> {
        let e = self.done.get(&(phase.to_string(), generation, index))?;
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
        let io = |source| SearchError::Io { path: self.path.clone(), source };
        // a poisoned lock means another writer panicked: the line is still worth writing
        let mut w = self.file.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        w.write_all(line.as_bytes()).and_then(|_| w.flush()).map_err(io)
    }

    /// Results journalled before this run.
    pub fn len(&self) -> usize {
        self.done.len()
    }

    /// Nothing journalled before this run.
    pub fn is_empty(&self) -> bool {
        self.done.is_empty()
    }
}
