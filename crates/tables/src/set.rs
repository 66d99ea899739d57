//! A run's outputs as one set: everything is written into a hidden directory beside the output
//! directory and swapped into place at the end, so a reader (or a kill at any moment) sees either
//! the whole previous set or the whole new one, never new tables beside an old summary or stale
//! files of a run with other options.

use std::fs;
use std::path::{Path, PathBuf};

use crate::error::{TableError, io};

/// Files a run writes; a directory holding anything else is not replaced.
fn is_ours(name: &str) -> bool {
    let tables = ["blocks", "trades", "vaults", "cascades", "lending", "bridges", "book", "fills"];
    let ext = ["csv", "parquet"];
    ["summary.json", "timing.json", "schema.json"].contains(&name)
        || tables.iter().any(|t| ext.iter().any(|e| name == format!("{t}.{e}")))
        || (name.starts_with('.') && name.ends_with(".partial"))
}

/// An output set being written.
#[derive(Debug)]
pub struct OutputSet {
    /// Where the set ends up.
    target: PathBuf,
    /// Where it is written meanwhile.
    staging: PathBuf,
    committed: bool,
}

impl OutputSet {
    /// Prepares `target` (which must be missing, empty, or a previous run's outputs) and a fresh
    /// staging directory beside it; leftovers of interrupted runs into the same target are removed.
    pub fn begin(target: &Path) -> Result<OutputSet, TableError> {
        let name = target
            .file_name()
            .and_then(|n| n.to_str())
            .ok_or_else(|| TableError::OutputDir(format!("{}: the output directory needs a name", target.display())))?
            .to_string();
        let parent = match target.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        fs::create_dir_all(&parent).map_err(io("cannot create", &parent))?;
        if target.exists() {
            let entries = fs::read_dir(target).map_err(io("cannot read", target))?;
            let mut foreign = Vec::new();
            for entry in entries {
                let entry = entry.map_err(io("cannot read", target))?;
                let n = entry.file_name().to_string_lossy().into_owned();
                // `meshsim plot` draws into `plots/`: the run's charts go with the run
                let plots = n == "plots" && entry.file_type().is_ok_and(|t| t.is_dir());
                if !plots && (!is_ours(&n) || !entry.file_type().is_ok_and(|t| t.is_file())) {
                    foreign.push(n);
                }
            }
            if !foreign.is_empty() {
                foreign.sort();
                foreign.truncate(5);
                return Err(TableError::OutputDir(format!(
                    "{} holds files a run did not write ({}); a run replaces its output directory whole, so \
                     choose an empty or new directory",
                    target.display(),
                    foreign.join(", ")
                )));
            }
        }
        // leftovers of runs killed before they finished
        let prefix = format!(".{name}.");
        if let Ok(entries) = fs::read_dir(&parent) {
            for entry in entries.flatten() {
                let n = entry.file_name().to_string_lossy().into_owned();
                if n.starts_with(&prefix) && (n.contains(".partial-") || n.contains(".old-")) {
                    let _ = fs::remove_dir_all(entry.path());
                }
            }
        }
        let staging = parent.join(format!("{prefix}partial-{}", std::process::id()));
        fs::create_dir(&staging).map_err(io("cannot create", &staging))?;
        Ok(OutputSet { target: target.to_path_buf(), staging, committed: false })
    }

    /// Where to write the set's files.
    pub fn dir(&self) -> &Path {
        &self.staging
    }

    /// Puts the whole set in place of the previous one in one step.
    pub fn commit(mut self) -> Result<(), TableError> {
        swap_into_place(&self.staging, &self.target).map_err(io("cannot move the outputs into", &self.target))?;
        self.committed = true;
        Ok(())
    }
}

impl Drop for OutputSet {
    fn drop(&mut self) {
        // not committed: the run failed; the previous set stays as it was
        if !self.committed {
            let _ = fs::remove_dir_all(&self.staging);
        }
    }
}

/// Moves `staging` to `target`; an existing `target` is exchanged atomically (Linux) and the old
/// set removed.
fn swap_into_place(staging: &Path, target: &Path) -> std::io::Result<()> {
    if !target.exists() {
        return fs::rename(staging, target);
    }
    #[cfg(target_os = "linux")]
    {
        use rustix::fs::{CWD, RenameFlags, renameat_with};
        match renameat_with(CWD, staging, CWD, target, RenameFlags::EXCHANGE) {
            // `staging` now holds the previous set
            Ok(()) => return fs::remove_dir_all(staging),
            // a file system without exchange (some network ones): fall through to two renames
            Err(e) if e == rustix::io::Errno::INVAL || e == rustix::io::Errno::NOSYS => {}
            Err(e) => return Err(e.into()),
        }
    }
    // two renames: a kill between them leaves the previous set beside the target, whole
    let old = staging.with_file_name(
        staging.file_name().map(|n| n.to_string_lossy().replace(".partial-", ".old-")).unwrap_or_default(),
    );
    fs::rename(target, &old)?;
    fs::rename(staging, target)?;
    fs::remove_dir_all(old)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_set_replaces_the_previous_one_whole_or_not_at_all() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        // first set
        let set = OutputSet::begin(&out).unwrap();
        fs::write(set.dir().join("blocks.csv"), "a").unwrap();
        fs::write(set.dir().join("summary.json"), "1").unwrap();
        set.commit().unwrap();
        // a second run with other options: no stale blocks.csv beside its summary
        let set = OutputSet::begin(&out).unwrap();
        fs::write(set.dir().join("summary.json"), "2").unwrap();
        assert_eq!(fs::read_to_string(out.join("summary.json")).unwrap(), "1", "not replaced before commit");
        set.commit().unwrap();
        assert_eq!(fs::read_to_string(out.join("summary.json")).unwrap(), "2");
        assert!(!out.join("blocks.csv").exists());
        // a failed run leaves the previous set and no staging directory
        let set = OutputSet::begin(&out).unwrap();
        fs::write(set.dir().join("summary.json"), "3").unwrap();
        drop(set);
        assert_eq!(fs::read_to_string(out.join("summary.json")).unwrap(), "2");
        let names: Vec<_> = fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(names, vec![std::ffi::OsString::from("out")]);
    }

    #[test]
    fn leftovers_of_a_killed_run_are_cleaned_and_foreign_directories_refused() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        let stale = dir.path().join(".out.partial-999999");
        fs::create_dir(&stale).unwrap();
        fs::write(stale.join("blocks.csv"), "half").unwrap();
        let set = OutputSet::begin(&out).unwrap();
        assert!(!stale.exists());
        set.commit().unwrap();
        // a directory with the user's own files is never replaced
        let home = dir.path().join("home");
        fs::create_dir(&home).unwrap();
        fs::write(home.join("notes.txt"), "mine").unwrap();
        let err = OutputSet::begin(&home).unwrap_err().to_string();
        assert!(err.contains("notes.txt"), "{err}");
        assert_eq!(fs::read_to_string(home.join("notes.txt")).unwrap(), "mine");
    }
}
