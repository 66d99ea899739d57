//! Errors as Python exceptions: a world's problems as `WorldError` with their locations as
//! attributes; the engine's failures as `RuntimeError`; bad arguments as `ValueError`.

use meshsim_scenario::ScenarioError;
use pyo3::exceptions::{PyRuntimeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyDict;

pyo3::create_exception!(
    meshsim,
    WorldError,
    PyValueError,
    "A world file (or command log) that cannot be loaded. `file`, `line`, `column`, `field` and \
     `message` locate the first problem (`line` and `column` are None when the file could not be \
     read at all); `issues` lists every problem as dicts with the same keys."
);

/// A world's (or command log's) problems as a `WorldError`.
pub fn world_error(py: Python<'_>, e: &ScenarioError, origin: &str) -> PyErr {
    let err = WorldError::new_err(e.to_string());
    if let Err(set) = describe(py, &err, e, origin) {
        return set;
    }
    err
}

fn describe(py: Python<'_>, err: &PyErr, e: &ScenarioError, origin: &str) -> PyResult<()> {
    let value = err.value(py);
    let issues = e.issues();
    let mut list = Vec::new();
    for i in &issues {
        let d = PyDict::new(py);
        d.set_item("file", &i.file)?;
        d.set_item("line", i.line)?;
        d.set_item("column", i.col)?;
        d.set_item("field", &i.path)?;
        d.set_item("message", &i.message)?;
        list.push(d);
    }
    match issues.first() {
        Some(i) => {
            value.setattr("file", &i.file)?;
            value.setattr("line", i.line)?;
            value.setattr("column", i.col)?;
            value.setattr("field", &i.path)?;
            value.setattr("message", &i.message)?;
        }
        None => {
            // unreadable: the file is known, the place in it is not (unless it is not UTF-8)
            let (line, col) = match e {
                ScenarioError::Input(meshsim_scenario::input::InputError::NotUtf8 { line, col, .. }) => {
                    (Some(*line), Some(*col))
                }
                _ => (None, None),
            };
            value.setattr("file", origin)?;
            value.setattr("line", line)?;
            value.setattr("column", col)?;
            value.setattr("field", "")?;
            value.setattr("message", e.to_string())?;
        }
    }
    value.setattr("issues", list)?;
    Ok(())
}

/// The engine stopped (conservation broken, a value out of range, ...).
pub fn sim_error(e: impl std::fmt::Display) -> PyErr {
    PyRuntimeError::new_err(e.to_string())
}

/// A table could not be written or made.
pub fn table_error(e: meshsim_tables::TableError) -> PyErr {
    let text = meshsim_scenario::input::chain(&e);
    match e {
        meshsim_tables::TableError::Io { .. } | meshsim_tables::TableError::Table { .. } => {
            pyo3::exceptions::PyOSError::new_err(text)
        }
        _ => PyRuntimeError::new_err(text),
    }
}

/// A sweep failed: a bad spec, world or point is a `ValueError`, the rest `RuntimeError` or
/// `OSError`.
pub fn sweep_error(e: meshsim_sweep::SweepError) -> PyErr {
    use meshsim_sweep::SweepError as E;
    let text = meshsim_scenario::input::chain(&e);
    match &e {
        // what the spec, its worlds or its points say: the caller's input
        E::Spec(_) | E::World { .. } | E::Point { .. } | E::Input(_) | E::Conflict(_) => PyValueError::new_err(text),
        E::Io { .. } => pyo3::exceptions::PyOSError::new_err(text),
        _ => PyRuntimeError::new_err(text),
    }
}
