//! `meshsim.search`: the worst plausible case of a world, searched as `meshsim search` does,
//! with the same output files, and its candidates handed back as `pyarrow` tables.

use std::path::{Path, PathBuf};

use meshsim_search::{Options, Search, SearchError};
use pyo3::exceptions::{PyOSError, PyRuntimeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyDict;

/// A search failed: a bad spec, world or parameter is a `ValueError`, an unwritable output an
/// `OSError`, the rest `RuntimeError`.
fn search_error(e: SearchError) -> PyErr {
    let text = meshsim_scenario::input::chain(&e);
    match &e {
        // what the spec and its world say: the caller's input
        SearchError::Syntax { .. }
        | SearchError::Invalid(_)
        | SearchError::Input(_)
        | SearchError::World { .. }
        | SearchError::Parameters(_)
        | SearchError::Conflict(_) => PyValueError::new_err(text),
        SearchError::Io { .. } => PyOSError::new_err(text),
        _ => PyRuntimeError::new_err(text),
    }
}

/// Runs (or resumes, from its journal in `out`) a worst-case search as `meshsim search` does,
/// writing the same files, and returns a dict: `out`, `files`, `reused` (evaluations found in
/// the journal), `candidates` (a `pyarrow.Table` of every candidate: generation, parameters,
/// objective, penalty, score, error), `convergence` (a `pyarrow.Table`), and `summary` (the
/// parsed `summary.json`: best objective, the three worst cases and their world files, the tail
/// estimate). `out` defaults to `out/search-NAME`; `progress=True` shows candidates done.
/// Ctrl-C stops it once the evaluations under way finish (they are journaled, and the same call
/// resumes) and raises `KeyboardInterrupt`.
#[pyfunction]
#[pyo3(signature = (spec, threads = None, out = None, progress = false))]
pub fn search<'py>(
    py: Python<'py>,
    spec: PathBuf,
    threads: Option<usize>,
    out: Option<PathBuf>,
    progress: bool,
) -> PyResult<Bound<'py, PyDict>> {
    if threads == Some(0) {
        return Err(PyValueError::new_err("threads: expected at least 1"));
    }
    let search = py.detach(|| Search::load(&spec)).map_err(search_error)?;
    let out = out.unwrap_or_else(|| Path::new("out").join(format!("search-{}", search.spec.name)));
    let budget = search.spec.method.budget();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let opts = Options {
        threads,
        progress: progress.then(|| crate::progress::counter("candidates")),
        shard: None,
        patience: None,
        stop: Some(stop.clone()),
    };
    if progress {
        crate::progress::show("candidates", 0, budget);
    }
    let outcome = crate::progress::interruptible(py, &stop, || search.run(&out, &opts))?.map_err(search_error)?;
    let d = PyDict::new(py);
    d.set_item("out", out.clone())?;
    d.set_item("files", outcome.files.clone())?;
    d.set_item("reused", outcome.reused)?;
    let csv = py.import("pyarrow.csv")?;
    for table in ["candidates", "convergence"] {
        d.set_item(table, csv.call_method1("read_csv", (out.join(format!("{table}.csv")),))?)?;
    }
    let summary = std::fs::read_to_string(out.join("summary.json"))
        .map_err(|e| PyOSError::new_err(format!("{}: {e}", out.join("summary.json").display())))?;
    d.set_item("summary", py.import("json")?.call_method1("loads", (summary,))?)?;
    Ok(d)
}
