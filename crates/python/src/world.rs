//! `meshsim.World`: a validated world file, loaded once and shared by the simulations made
//! from it.

use std::path::{Path, PathBuf};

use meshsim_scenario::Scenario;
use pyo3::prelude::*;
use pyo3::types::PyTuple;

use crate::errors::world_error;

/// A validated world: tokens, chains, pools, lending markets, agents and vaults, with the
/// seed and length a run uses unless told otherwise.
///
/// Made by `meshsim.load_world(path)` or `World.from_str(text)`; a world that does not
/// validate raises `meshsim.WorldError` naming every problem's file, line, column and field.
/// Worlds pickle (as their text), so they travel to Ray workers and subprocesses.
#[pyclass(module = "meshsim", frozen)]
pub struct World {
    pub(crate) scenario: Scenario,
    text: String,
    origin: String,
    base_dir: PathBuf,
}

impl World {
    fn parse(py: Python<'_>, text: String, origin: String, base_dir: PathBuf) -> PyResult<World> {
        let parsed = py.detach(|| meshsim_scenario::parse_str(&text, &origin, &base_dir));
        match parsed {
            Ok(scenario) => Ok(World { scenario, text, origin, base_dir }),
            Err(e) => Err(world_error(py, &e, &origin)),
        }
    }

    /// Loads `path` (a world file).
    pub(crate) fn load(py: Python<'_>, path: &Path) -> PyResult<World> {
        let origin = path.display().to_string();
        let read = meshsim_scenario::input::read_text(path, meshsim_scenario::limits::MAX_WORLD_BYTES, "a world file");
        let text = read.map_err(|e| world_error(py, &meshsim_scenario::ScenarioError::Input(e), &origin))?;
        let base = path.parent().map_or_else(|| PathBuf::from("."), Path::to_path_buf);
        World::parse(py, text, origin, base)
    }
}

/// A world given as a `World` or as the path of a world file.
pub(crate) fn world_arg(py: Python<'_>, world: &Bound<'_, PyAny>) -> PyResult<Scenario> {
    if let Ok(w) = world.cast::<World>() {
        return Ok(w.get().scenario.clone());
    }
    match world.extract::<PathBuf>() {
        Ok(path) => Ok(World::load(py, &path)?.scenario),
        Err(_) => {
            Err(pyo3::exceptions::PyTypeError::new_err("world: expected a meshsim.World or the path of a world file"))
        }
    }
}

#[pymethods]
impl World {
    /// Parses and validates a world from RON text. `origin` names it in error messages;
    /// `base_dir` resolves relative paths inside it (replay files).
    #[staticmethod]
    #[pyo3(
        signature = (text, origin = "<string>".to_string(), base_dir = PathBuf::from(".")),
        text_signature = "(text, origin='<string>', base_dir='.')"
    )]
    fn from_str(py: Python<'_>, text: String, origin: String, base_dir: PathBuf) -> PyResult<World> {
        World::parse(py, text, origin, base_dir)
    }

    /// The world's name.
    #[getter]
    fn name(&self) -> &str {
        &self.scenario.name
    }

    /// The seed a run uses unless given another.
    #[getter]
    fn seed(&self) -> u64 {
        self.scenario.seed
    }

    /// Blocks a run lasts unless told otherwise.
    #[getter]
    fn blocks(&self) -> u64 {
        self.scenario.blocks
    }

    /// SHA-256 of the world file's text (hex), as `world_hash` in a run's summary.
    #[getter]
    fn hash(&self) -> &str {
        &self.scenario.world_hash
    }

    /// The world's source text.
    #[getter]
    fn text(&self) -> &str {
        &self.text
    }

    /// Token symbols, in id order.
    #[getter]
    fn tokens(&self) -> Vec<String> {
        self.scenario.tokens.iter().map(|t| t.symbol.clone()).collect()
    }

    /// Chain names, hub first.
    #[getter]
    fn chains(&self) -> Vec<String> {
        self.scenario.chains.iter().map(|c| c.name.clone()).collect()
    }

    /// Pool names, in id order.
    #[getter]
    fn pools(&self) -> Vec<String> {
        self.scenario.pools.iter().map(|p| p.name.clone()).collect()
    }

    /// Agent names (arbitrageurs, searchers, liquidators, ...), in id order.
    #[getter]
    fn agents(&self) -> Vec<String> {
        self.scenario.agents.iter().map(|a| a.name.clone()).collect()
    }

    /// Vault names, in id order.
    #[getter]
    fn vaults(&self) -> Vec<String> {
        self.scenario.vaults.iter().map(|v| v.name.clone()).collect()
    }

    fn __repr__(&self) -> String {
        format!(
            "World(name={:?}, seed={}, blocks={}, tokens={}, pools={}, vaults={})",
            self.scenario.name,
            self.scenario.seed,
            self.scenario.blocks,
            self.scenario.tokens.len(),
            self.scenario.pools.len(),
            self.scenario.vaults.len()
        )
    }

    /// Pickles as `World.from_str(text, origin, base_dir)`.
    fn __reduce__<'py>(slf: &Bound<'py, Self>) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyTuple>)> {
        let py = slf.py();
        let w = slf.get();
        let ctor = py.get_type::<World>().getattr("from_str")?;
        let args = PyTuple::new(py, [w.text.clone(), w.origin.clone(), w.base_dir.display().to_string()])?;
        Ok((ctor, args))
    }
}

/// Loads and validates a world file. Raises `meshsim.WorldError` with every problem located
/// (file, line, column, field).
#[pyfunction]
pub fn load_world(py: Python<'_>, path: PathBuf) -> PyResult<World> {
    World::load(py, &path)
}
