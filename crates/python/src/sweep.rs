//! `meshsim.sweep` (the whole sweep on this machine's cores) and `meshsim.SweepPlan` (its runs
//! one by one, for Ray tasks or any other scheduler, gathered back into the same tables).

use std::path::{Path, PathBuf};

use meshsim_sweep::output::Records;
use meshsim_sweep::{Options, Outcome, Plan, Shard};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::errors::sweep_error;

/// A run's records as Python sees them: its run row and its vault rows.
type PyRecord = (Vec<String>, Vec<Vec<String>>);

/// The tables of a sweep directory.
const TABLES: [&str; 6] = ["runs", "vaults", "points", "vault_points", "tails", "pareto"];

fn load_plan(path: &Path) -> Result<Plan, meshsim_sweep::SweepError> {
    let (spec, text) = meshsim_sweep::load_spec(path)?;
    let dir = path.parent().map_or_else(|| PathBuf::from("."), Path::to_path_buf);
    Plan::new(spec, &text, &dir)
}

fn default_out(plan: &Plan) -> PathBuf {
    Path::new("out").join(format!("sweep-{}", plan.spec.name))
}

/// The outcome and, once complete, every table read with `pyarrow.csv`.
fn result<'py>(py: Python<'py>, out: &Path, o: &Outcome) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("out", out.to_path_buf())?;
    d.set_item("runs_total", o.runs)?;
    d.set_item("skipped", o.skipped)?;
    d.set_item("ran", o.ran)?;
    d.set_item("failed", o.failed)?;
    d.set_item("complete", o.complete)?;
    d.set_item("files", o.files.clone())?;
    let tables = PyDict::new(py);
    if o.complete {
        let csv = py.import("pyarrow.csv")?;
        for t in TABLES {
            let path = out.join(format!("{t}.csv"));
            if path.exists() {
                tables.set_item(t, csv.call_method1("read_csv", (path,))?)?;
            }
        }
    }
    d.set_item("tables", tables)?;
    Ok(d)
}

/// Runs (or resumes) a sweep on this machine's cores, as `meshsim sweep` does, and returns a
/// dict: `out`, `runs_total`, `ran`, `skipped`, `failed`, `complete`, `files` and `tables` (a
/// `pyarrow.Table` per sweep table: `runs`, `vaults`, `points`, `vault_points`, `tails`,
/// `pareto`). `out` defaults to `out/sweep-NAME`; `shard=(i, n)` runs one shard of n;
/// `progress=True` shows runs done. Ctrl-C stops it once the runs under way finish (they are
/// journaled, and the same call resumes) and raises `KeyboardInterrupt`.
#[pyfunction]
#[pyo3(signature = (spec, threads = None, out = None, shard = None, progress = false))]
pub fn sweep<'py>(
    py: Python<'py>,
    spec: PathBuf,
    threads: Option<usize>,
    out: Option<PathBuf>,
    shard: Option<(u64, u64)>,
    progress: bool,
) -> PyResult<Bound<'py, PyDict>> {
    let plan = py.detach(|| load_plan(&spec)).map_err(sweep_error)?;
    let shard = match shard {
        Some((index, count)) if count > 0 && index < count => Some(Shard { index, count }),
        Some((i, n)) => {
            return Err(PyValueError::new_err(format!("shard: expected (i, n) with i < n, found ({i}, {n})")));
        }
        None => None,
    };
    let out = out.unwrap_or_else(|| {
        let base = default_out(&plan);
        match shard {
            Some(s) => base.join(format!("shard-{}-of-{}", s.index, s.count)),
            None => base,
        }
    });
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let options = Options {
        threads,
        shard,
        progress: progress.then(|| crate::progress::counter("runs")),
        stop: Some(stop.clone()),
        ..Options::default()
    };
    let outcome = crate::progress::interruptible(py, &stop, || meshsim_sweep::sweep(&plan, &out, &options))?
        .map_err(sweep_error)?;
    result(py, &out, &outcome)
}

/// A sweep's runs, to be run anywhere and gathered back: what `examples/ray_sweep.py` fans out
/// as Ray tasks.
///
/// `SweepPlan(spec)` reads a sweep spec (its worlds relative to it). `plan.run(ids)` runs those
/// runs one after another on the calling thread (GIL released) and returns their records:
/// plain lists of strings, each row closed by a checksum, cheap to pickle.
/// `plan.collect(out, records)` checks and journals them into `out` and, once every run is
/// in, writes the same tables as `meshsim sweep` (a second `collect` resumes).
#[pyclass(module = "meshsim", frozen)]
pub struct SweepPlan {
    plan: Plan,
    spec: PathBuf,
}

#[pymethods]
impl SweepPlan {
    #[new]
    fn new(py: Python<'_>, spec: PathBuf) -> PyResult<Self> {
        let plan = py.detach(|| load_plan(&spec)).map_err(sweep_error)?;
        Ok(SweepPlan { plan, spec })
    }

    /// The sweep's name.
    #[getter]
    fn name(&self) -> &str {
        &self.plan.spec.name
    }

    /// The spec file.
    #[getter]
    fn spec(&self) -> PathBuf {
        self.spec.clone()
    }

    /// Runs in the sweep (points times seeds), numbered from 0.
    #[getter]
    fn run_count(&self) -> u64 {
        self.plan.run_count()
    }

    /// The parameters varied, by path.
    #[getter]
    fn parameters(&self) -> Vec<String> {
        self.plan.spec.parameters.iter().map(|p| p.path.clone()).collect()
    }

    /// Runs `ids` here, one after another, and returns their records: a list of
    /// `(run_row, vault_rows)` pairs of strings. `check` checks token conservation every block.
    #[pyo3(signature = (ids, check = false))]
    fn run(&self, py: Python<'_>, ids: Vec<u64>, check: bool) -> PyResult<Vec<PyRecord>> {
        let records = py.detach(|| meshsim_sweep::run_records(&self.plan, &ids, check)).map_err(sweep_error)?;
        Ok(records.into_iter().map(|r| (r.run, r.vaults)).collect())
    }

    /// Journals records from `run` into `out` (default `out/sweep-NAME`) and, once every run is
    /// in, writes the sweep's tables; returns the same dict as `meshsim.sweep`.
    #[pyo3(signature = (records, out = None))]
    fn collect<'py>(
        &self,
        py: Python<'py>,
        records: Vec<PyRecord>,
        out: Option<PathBuf>,
    ) -> PyResult<Bound<'py, PyDict>> {
        let out = out.unwrap_or_else(|| default_out(&self.plan));
        let records: Vec<Records> = records.into_iter().map(|(run, vaults)| Records { run, vaults }).collect();
        let outcome = py.detach(|| meshsim_sweep::collect(&self.plan, &out, &records)).map_err(sweep_error)?;
        result(py, &out, &outcome)
    }

    fn __repr__(&self) -> String {
        format!("SweepPlan(name={:?}, runs={})", self.plan.spec.name, self.plan.run_count())
    }
}
