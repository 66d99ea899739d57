//! `meshsim.Simulation` and `meshsim.run`: a seeded run stepped from Python. The engine runs
//! with the GIL released, in chunks between which Ctrl-C is noticed; recorded rows are kept
//! as in-memory columns and handed to `pyarrow` on request.

use std::path::PathBuf;
use std::sync::{Mutex, MutexGuard, TryLockError};

use meshsim_core::SimOptions;
use meshsim_scenario::Scenario;
use meshsim_scenario::commands::{Command, CommandLog, TimedCommand};
use meshsim_tables::{Columns, Recorder, TableSet};
use pyo3::exceptions::{PyKeyError, PyRuntimeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::errors::{sim_error, table_error, world_error};
use crate::world::world_arg;

/// Blocks run between two looks at Python's signals (Ctrl-C) and two drains of the rows.
const CHUNK: u64 = 4096;

struct Inner {
    scenario: Scenario,
    sim: meshsim_core::Simulation,
    recorder: Recorder<Columns>,
    tables: TableSet,
    /// Commands applied, for a log `meshsim run --commands` replays.
    log: CommandLog,
    /// Why the run stopped: a stopped run does not go on (its state is mid-block).
    failed: Option<String>,
}

impl Inner {
    fn run(&mut self, blocks: u64) -> Result<(), String> {
        if let Some(why) = &self.failed {
            return Err(format!("the run stopped earlier: {why}"));
        }
        let Inner { scenario, sim, recorder, .. } = self;
        let result = sim
            .run_blocks(blocks)
            .map_err(chain)
            .and_then(|()| recorder.drain(scenario, sim).map_err(|e| e.to_string()));
        if let Err(why) = &result {
            self.failed = Some(why.clone());
        }
        result
    }
}

/// An error and its sources on one line, as the CLI prints them.
fn chain(e: impl std::error::Error) -> String {
    meshsim_scenario::input::chain(&e)
}

/// One seeded run of a world.
///
/// `Simulation(world, seed=None, tables="all", vault_every=1)`: `world` is a `meshsim.World`
/// or a world file's path; `seed` defaults to the world's. `tables` chooses the rows kept in
/// memory: `"all"`, `"none"` (the engine alone, fastest) or a comma-separated list of
/// `blocks, trades, vaults, cascades, lending, bridges, book, fills`. The same world and seed
/// give the same digest and tables as `meshsim run`, whatever the thread.
///
/// `run` and `step` release the GIL while the engine works, so Python threads (and a
/// `ThreadPoolExecutor` of simulations) run in parallel.
#[pyclass(module = "meshsim")]
pub struct Simulation {
    inner: Mutex<Inner>,
}

fn poisoned() -> PyErr {
    PyRuntimeError::new_err("the simulation failed in another thread")
}

// Locking: the engine runs holding the lock with the GIL released, so a thread that holds the
// GIL must never block on the lock (it would stall every Python thread, or deadlock with a
// holder that needs the GIL). `lock` waits with the GIL released, and no code calls into
// Python while holding the lock.
impl Simulation {
    fn lock(&self, py: Python<'_>) -> PyResult<MutexGuard<'_, Inner>> {
        loop {
            match self.inner.try_lock() {
                Ok(guard) => return Ok(guard),
                Err(TryLockError::WouldBlock) => py.detach(|| drop(self.inner.lock())),
                Err(TryLockError::Poisoned(_)) => return Err(poisoned()),
            }
        }
    }

    pub(crate) fn build(scenario: Scenario, tables: TableSet, vault_every: u64) -> PyResult<Simulation> {
        let options = SimOptions { record: tables.any_rows(), vault_every, ..SimOptions::default() };
        let sim = meshsim_core::Simulation::with_options(&scenario, options).map_err(|e| sim_error(chain(e)))?;
        let recorder = Recorder::new(&scenario, tables, |name, cols| Ok::<_, PyErr>(Columns::new(name, cols)))?;
        let log = CommandLog::new(&scenario, scenario.seed);
        Ok(Simulation { inner: Mutex::new(Inner { scenario, sim, recorder, tables, log, failed: None }) })
    }

    /// Runs `blocks` blocks with the GIL released, looking at signals between chunks.
    pub(crate) fn advance(&self, py: Python<'_>, blocks: u64, progress: Option<&Progress>) -> PyResult<u64> {
        let mut left = blocks;
        while left > 0 {
            let n = left.min(CHUNK);
            let result = py
                .detach(|| self.inner.lock().map(|mut inner| inner.run(n).map(|()| inner.sim.block())).map_err(|_| ()));
            let block = result.map_err(|()| poisoned())?.map_err(sim_error)?;
            left -= n;
            py.check_signals()?;
            if let Some(p) = progress {
                p.show(py, block)?;
            }
        }
        Ok(self.lock(py)?.sim.block())
    }

    pub(crate) fn apply_command(&self, py: Python<'_>, command: Command) -> PyResult<()> {
        let mut inner = self.lock(py)?;
        let block = inner.sim.block();
        inner.sim.apply(&command).map_err(|e| PyValueError::new_err(chain(e)))?;
        inner.log.commands.push(TimedCommand { block, command });
        Ok(())
    }

    /// Copies of the tables kept, by name (cascades made from the state now).
    fn copy_tables(&self, py: Python<'_>) -> PyResult<Vec<Columns>> {
        let inner = self.lock(py)?;
        let mut out: Vec<Columns> = inner.recorder.sinks().into_iter().map(|(_, c)| c.clone()).collect();
        if inner.tables.cascades {
            out.push(cascades(&inner)?);
        }
        Ok(out)
    }

    /// Every table kept, by name.
    pub(crate) fn tables<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let out = PyDict::new(py);
        for cols in self.copy_tables(py)? {
            out.set_item(cols.table.as_str(), crate::arrow::table(py, &cols)?)?;
        }
        Ok(out)
    }

    pub(crate) fn summary_json(&self, py: Python<'_>) -> PyResult<String> {
        let mut inner = self.lock(py)?;
        let Inner { scenario, sim, .. } = &mut *inner;
        let blocks = sim.block();
        let summary = meshsim_tables::summary(scenario, sim, blocks, &[]);
        serde_json::to_string(&summary).map_err(|e| PyRuntimeError::new_err(e.to_string()))
    }
}

fn cascades(inner: &Inner) -> PyResult<Columns> {
    let mut cols = Columns::new("cascades", meshsim_tables::cascade_columns());
    meshsim_tables::write_cascades(&inner.scenario, &inner.sim, &mut cols).map_err(table_error)?;
    Ok(cols)
}

/// A progress line on Python's `sys.stderr` (so a notebook shows it too), redrawn between
/// chunks: blocks done of the run's total.
pub(crate) struct Progress {
    total: u64,
    from: u64,
}

impl Progress {
    fn show(&self, py: Python<'_>, block: u64) -> PyResult<()> {
        let done = block.saturating_sub(self.from).min(self.total);
        let end = if done == self.total { "\n" } else { "" };
        let stderr = py.import("sys")?.getattr("stderr")?;
        stderr.call_method1("write", (format!("\r{done}/{} blocks{end}", self.total),))?;
        stderr.call_method0("flush")?;
        Ok(())
    }
}

fn json_loads<'py>(py: Python<'py>, text: &str) -> PyResult<Bound<'py, PyAny>> {
    py.import("json")?.call_method1("loads", (text,))
}

#[pymethods]
impl Simulation {
    #[new]
    #[pyo3(signature = (world, seed = None, tables = "all", vault_every = 1))]
    fn new(
        py: Python<'_>,
        world: &Bound<'_, PyAny>,
        seed: Option<u64>,
        tables: &str,
        vault_every: u64,
    ) -> PyResult<Self> {
        let mut scenario = world_arg(py, world)?;
        if let Some(seed) = seed {
            scenario.seed = seed;
        }
        let tables = TableSet::parse(tables).map_err(PyValueError::new_err)?;
        if vault_every == 0 {
            return Err(PyValueError::new_err("vault_every: expected at least 1"));
        }
        py.detach(|| Simulation::build(scenario, tables, vault_every))
    }

    /// Runs one block (of the hub chain, with every other chain's blocks before it); returns
    /// the block number reached.
    fn step(&self, py: Python<'_>) -> PyResult<u64> {
        self.advance(py, 1, None)
    }

    /// Runs `blocks` more blocks (default: the rest of the world's length); returns the block
    /// number reached. Ctrl-C stops it between chunks of 4,096 blocks; `progress=True` shows
    /// the blocks done on stderr.
    #[pyo3(signature = (blocks = None, progress = false))]
    fn run(&self, py: Python<'_>, blocks: Option<u64>, progress: bool) -> PyResult<u64> {
        let n = match blocks {
            Some(n) => n,
            None => {
                let inner = self.lock(py)?;
                inner.scenario.blocks.saturating_sub(inner.sim.block())
            }
        };
        if n > meshsim_scenario::limits::MAX_BLOCKS {
            return Err(PyValueError::new_err(format!(
                "blocks: at most {} blocks",
                meshsim_scenario::limits::MAX_BLOCKS
            )));
        }
        let from = self.lock(py)?.sim.block();
        self.advance(py, n, progress.then_some(&Progress { total: n, from }))
    }

    /// Blocks run so far (of the hub chain).
    #[getter]
    fn block(&self, py: Python<'_>) -> PyResult<u64> {
        Ok(self.lock(py)?.sim.block())
    }

    /// The seed of this run.
    #[getter]
    fn seed(&self, py: Python<'_>) -> PyResult<u64> {
        Ok(self.lock(py)?.scenario.seed)
    }

    /// SHA-256 of the whole state (hex): `final_digest` in `meshsim run`'s summary.json after
    /// the same blocks.
    fn digest(&self, py: Python<'_>) -> PyResult<String> {
        Ok(self.lock(py)?.sim.digest().to_string())
    }

    /// The state now as plain dicts: `block`, `timestamp`, `base_fee_wei`, `tokens`, `pools`,
    /// `agents`, `vaults`, `oracle_prices`, `lending`, `chains`. Amounts are exact ints in base
    /// units; prices and values floats in the numeraire.
    fn snapshot<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let (scenario, snap) = {
            let inner = self.lock(py)?;
            (inner.scenario.clone(), inner.sim.snapshot())
        };
        crate::snapshot::to_dict(py, &scenario, &snap)
    }

    /// Applies a command before the next block, in the command logs' syntax (what the GUI
    /// records and `meshsim run --commands` replays), e.g.
    /// `'Shock(token: "ETH", change: -0.3, blocks: 5)'` or
    /// `'SetVault(vault: "threshold", param: Band(0.02))'`.
    fn apply(&self, py: Python<'_>, command: &str) -> PyResult<()> {
        let parsed = meshsim_scenario::ron_options().from_str::<Command>(command).map_err(|e| {
            let issue = meshsim_scenario::Issue {
                file: "<command>".into(),
                line: e.span.start.line,
                col: e.span.start.col,
                path: String::new(),
                message: e.code.to_string(),
            };
            world_error(py, &meshsim_scenario::ScenarioError::Syntax(issue), "<command>")
        })?;
        self.apply_command(py, parsed)
    }

    /// The commands applied so far as a command log (RON text): saved to a file, `meshsim run
    /// WORLD --commands FILE` replays this run to the same digest.
    fn command_log(&self, py: Python<'_>) -> PyResult<String> {
        let inner = self.lock(py)?;
        let mut log = inner.log.clone();
        log.blocks = inner.sim.block();
        Ok(log.to_ron())
    }

    /// `summary.json` of the run so far, as a dict (its `outputs` is empty: nothing was
    /// written to files).
    fn summary<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let text = self.summary_json(py)?;
        json_loads(py, &text)
    }

    /// One row per block so far, as a `pyarrow.Table` (columns as in `meshsim run`'s
    /// blocks table). `start` skips the rows already read: `sim.blocks(start=n)` holds rows
    /// n, n+1, ... only, so reading as a run goes costs only the new rows.
    #[pyo3(signature = (start = 0))]
    fn blocks<'py>(&self, py: Python<'py>, start: usize) -> PyResult<Bound<'py, PyAny>> {
        self.table(py, "blocks", start)
    }

    /// One row per included transaction so far, as a `pyarrow.Table`; `start` as for `blocks`.
    #[pyo3(signature = (start = 0))]
    fn trades<'py>(&self, py: Python<'py>, start: usize) -> PyResult<Bound<'py, PyAny>> {
        self.table(py, "trades", start)
    }

    /// One row per vault per recorded block so far, as a `pyarrow.Table`; `start` as for
    /// `blocks`.
    #[pyo3(signature = (start = 0))]
    fn vaults<'py>(&self, py: Python<'py>, start: usize) -> PyResult<Bound<'py, PyAny>> {
        self.table(py, "vaults", start)
    }

    /// One row per cascade seen so far, as a `pyarrow.Table` (made from the state now: a
    /// cascade still spreading grows between calls).
    fn cascades<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        self.table(py, "cascades", 0)
    }

    /// Any table kept by name (`blocks`, `trades`, `vaults`, `cascades`, `lending`,
    /// `bridges`, `book`, `fills`), as a `pyarrow.Table`. `bridges` holds the transfers done so
    /// far; `meshsim.run` adds those still in flight at the end, as `meshsim run` does.
    /// `start` skips the first rows, as for `blocks`.
    #[pyo3(signature = (name, start = 0))]
    fn table<'py>(&self, py: Python<'py>, name: &str, start: usize) -> PyResult<Bound<'py, PyAny>> {
        let found = {
            let inner = self.lock(py)?;
            if name == "cascades" && inner.tables.cascades {
                Ok(cascades(&inner)?.tail(start))
            } else {
                let sinks = inner.recorder.sinks();
                match sinks.iter().find(|(n, _)| *n == name) {
                    Some((_, cols)) => Ok(cols.tail(start)),
                    None => {
                        let mut kept: Vec<&str> = sinks.iter().map(|(n, _)| *n).collect();
                        if inner.tables.cascades {
                            kept.push("cascades");
                        }
                        Err(kept.join(", "))
                    }
                }
            }
        };
        match found {
            Ok(cols) => crate::arrow::table(py, &cols),
            Err(kept) => Err(PyKeyError::new_err(format!(
                "no table {name:?} in this run: it keeps {} (a table exists only when the world has its \
                     venues and `tables` asked for it)",
                if kept.is_empty() { "none" } else { kept.as_str() }
            ))),
        }
    }

    /// Every table kept, as a dict of `pyarrow.Table` by name.
    #[pyo3(name = "tables")]
    fn all_tables<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        self.tables(py)
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        let inner = self.lock(py)?;
        Ok(format!(
            "Simulation(world={:?}, seed={}, block={})",
            inner.scenario.name,
            inner.scenario.seed,
            inner.sim.block()
        ))
    }
}

/// Runs a world start to end and returns a dict: `summary` (as `meshsim run`'s summary.json),
/// `digest`, and one `pyarrow.Table` per table kept (`blocks`, `trades`, ...).
///
/// `world` is a `meshsim.World` or a path; `seed` and `blocks` default to the world's (or the
/// command log's); `commands` replays a command log (a file saved by the GUI or by
/// `Simulation.command_log()`) as `meshsim run --commands` does; `progress=True` shows the
/// blocks done on stderr.
#[pyfunction]
#[pyo3(signature = (world, seed = None, blocks = None, tables = "all", vault_every = 1, commands = None, progress = false))]
#[expect(clippy::too_many_arguments, reason = "a Python function's keyword arguments")]
pub fn run<'py>(
    py: Python<'py>,
    world: &Bound<'py, PyAny>,
    seed: Option<u64>,
    blocks: Option<u64>,
    tables: &str,
    vault_every: u64,
    commands: Option<PathBuf>,
    progress: bool,
) -> PyResult<Bound<'py, PyDict>> {
    let mut scenario = world_arg(py, world)?;
    let log = match &commands {
        Some(path) => Some(
            meshsim_scenario::commands::load_commands(path, &scenario)
                .map_err(|e| world_error(py, &e, &path.display().to_string()))?,
        ),
        None => None,
    };
    if let Some(log) = &log {
        if seed.is_some_and(|s| s != log.seed) {
            return Err(PyValueError::new_err(format!(
                "seed {} differs from the command log's seed {}",
                seed.unwrap_or_default(),
                log.seed
            )));
        }
        scenario.seed = log.seed;
    }
    if let Some(seed) = seed {
        scenario.seed = seed;
    }
    let blocks = blocks.or(log.as_ref().map(|l| l.blocks)).unwrap_or(scenario.blocks);
    if blocks > meshsim_scenario::limits::MAX_BLOCKS {
        return Err(PyValueError::new_err(format!("blocks: at most {}", meshsim_scenario::limits::MAX_BLOCKS)));
    }
    let table_set = TableSet::parse(tables).map_err(PyValueError::new_err)?;
    if vault_every == 0 {
        return Err(PyValueError::new_err("vault_every: expected at least 1"));
    }
    let sim = py.detach(|| Simulation::build(scenario, table_set, vault_every))?;
    let bar = Progress { total: blocks, from: 0 };
    let mut done = 0;
    while done < blocks {
        let mut n = blocks - done;
        if let Some(log) = &log {
            for c in log.at(done) {
                sim.apply_command(py, c.clone())?;
            }
            if let Some(next) = log.next_after(done) {
                n = n.min(next - done);
            }
        }
        done = sim.advance(py, n, progress.then_some(&bar))?;
    }
    // commands given after the last block still belong to the session
    if let Some(log) = &log {
        for c in log.at(done) {
            sim.apply_command(py, c.clone())?;
        }
    }
    let out = PyDict::new(py);
    let summary = {
        let mut inner = sim.lock(py)?;
        let Inner { scenario, sim: engine, recorder, .. } = &mut *inner;
        // transfers still in flight get their rows, as in `meshsim run`
        if let Some(b) = engine.bridges() {
            let rows = b.in_flight_rows();
            recorder.write_in_flight(scenario, &rows).map_err(table_error)?;
        }
        serde_json::to_string(&meshsim_tables::summary(scenario, engine, blocks, &[]))
            .map_err(|e| PyRuntimeError::new_err(e.to_string()))?
    };
    out.set_item("summary", json_loads(py, &summary)?)?;
    let digest = sim.lock(py)?.sim.digest().to_string();
    out.set_item("digest", digest)?;
    for (name, table) in sim.tables(py)?.iter() {
        out.set_item(name, table)?;
    }
    Ok(out)
}
