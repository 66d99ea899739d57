//! Why a sweep could not run or merge, and the helpers that attach a file to an I/O or CSV error.

use std::path::{Path, PathBuf};

/// Largest manifest read.
pub const MAX_MANIFEST_BYTES: u64 = 64 * 1024 * 1024;
/// Largest journal or table read back (a 10-million-run sweep's table fits).
pub const MAX_TABLE_BYTES: u64 = 16 * 1024 * 1024 * 1024;

/// Why a sweep could not run or merge. Messages never repeat their source: front ends print the
/// chain (the CLI with `{:#}`).
#[derive(Debug, thiserror::Error)]
pub enum SweepError {
    /// Reading or writing a file.
    #[error("{path}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// An input file (spec, world, manifest, journal) could not be read, is over its size
    /// limit or is not UTF-8.
    #[error(transparent)]
    Input(#[from] meshsim_scenario::input::InputError),
    /// A JSON file of the sweep (manifest) cannot be read or written.
    #[error("{path}: JSON")]
    Json {
        /// The file.
        path: PathBuf,
        /// What serde_json found.
        #[source]
        source: serde_json::Error,
    },
    /// A CSV table cannot be read or written.
    #[error("{path}: CSV")]
    Csv {
        /// The file.
        path: PathBuf,
        /// What the csv crate found.
        #[source]
        source: csv::Error,
    },
    /// The sweep spec is malformed: its syntax, or every problem found, each located.
    #[error(transparent)]
    Spec(#[from] SpecError),
    /// A base world does not load.
    #[error("world {path}")]
    World {
        /// The world file, as the spec names it.
        path: PathBuf,
        /// Why.
        #[source]
        source: meshsim_scenario::ScenarioError,
    },
    /// A point's parameters do not fit its world.
    #[error("point {index} ({describe})")]
    Point {
        /// The point's index.
        index: u64,
        /// Its parameter values.
        describe: String,
        /// Why.
        #[source]
        source: PointError,
    },
    /// The output directory holds another sweep, or shards do not fit together.
    #[error("{0}")]
    Conflict(String),
    /// Drawing or writing a plot.
    #[error(transparent)]
    Plot(#[from] meshsim_plot::PlotError),
    /// The thread pool could not start.
    #[error("thread pool")]
    Threads(#[from] rayon::ThreadPoolBuildError),
    /// The journal writer thread panicked (a bug).
    #[error("the journal writer panicked")]
    WriterPanicked,
}

/// Why a point's world is not valid.
#[derive(Debug, thiserror::Error)]
pub enum PointError {
    /// A parameter path does not fit the world document.
    #[error("{0}")]
    Patch(String),
    /// The patched world does not validate.
    #[error("the patched world is not valid")]
    Invalid(#[source] meshsim_scenario::ScenarioError),
}

/// An I/O error on `path`.
pub fn io(path: &Path) -> impl Fn(std::io::Error) -> SweepError + '_ {
    move |source| SweepError::Io { path: path.to_path_buf(), source }
}

/// A CSV error on `path`.
pub fn csv_err(path: &Path) -> impl Fn(csv::Error) -> SweepError + '_ {
    move |source| SweepError::Csv { path: path.to_path_buf(), source }
}

/// A CSV table written to memory, to be stored at `path`.
pub fn csv_bytes(path: &Path, w: csv::Writer<Vec<u8>>) -> Result<Vec<u8>, SweepError> {
    w.into_inner().map_err(|e| SweepError::Io { path: path.to_path_buf(), source: e.into_error() })
}

/// Why a sweep spec is not valid.
#[derive(Debug, thiserror::Error)]
pub enum SpecError {
    /// RON syntax or a value of the wrong shape.
    #[error("{origin}:{line}:{col}")]
    Syntax {
        /// The spec file.
        origin: String,
        /// Line, from 1.
        line: usize,
        /// Column, from 1.
        col: usize,
        /// What the parser found.
        #[source]
        source: ron::Error,
    },
    /// The spec parsed but breaks rules: every problem, located.
    #[error("{} problem(s) in the sweep spec:\n{}", .0.len(), .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"))]
    Invalid(Vec<SpecIssue>),
    /// A focus names a vault the world does not have.
    #[error("focus: no vault {vault:?} in {world}")]
    UnknownVault {
        /// The vault asked for.
        vault: String,
        /// The world file.
        world: String,
    },
}

/// One problem of a spec, located.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpecIssue {
    /// The spec file.
    pub origin: String,
    /// Line, from 1.
    pub line: usize,
    /// Column, from 1.
    pub col: usize,
    /// The field, as a path.
    pub path: String,
    /// What was expected.
    pub message: String,
}

impl std::fmt::Display for SpecIssue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "  {}:{}:{}: {}: {}", self.origin, self.line, self.col, self.path, self.message)
    }
}
