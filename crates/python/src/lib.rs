//! The `meshsim` Python package's native module (`meshsim._meshsim`): worlds with located
//! errors, seeded simulations stepped from Python with the GIL released, tables handed to
//! `pyarrow` as column buffers, sweeps (whole, or run by run for Ray) and worst-case searches.
//!
//! Everything here is a thin layer over the crates the CLI uses (`meshsim-scenario`,
//! `meshsim-core`, `meshsim-tables`, `meshsim-sweep`, `meshsim-search`), so a world run from
//! Python and from `meshsim run` gives the same digest and the same tables.

use pyo3::prelude::*;

mod arrow;
mod errors;
mod progress;
mod search;
mod sim;
mod snapshot;
mod sweep;
mod world;

/// meshsim: seeded, deterministic simulations of DeFi rebalancing vaults and the AMM pools,
/// lending markets, bridges, order books, arbitrageurs and searchers around them.
#[pymodule]
fn _meshsim(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add("WorldError", m.py().get_type::<errors::WorldError>())?;
    m.add_class::<world::World>()?;
    m.add_class::<sim::Simulation>()?;
    m.add_class::<sweep::SweepPlan>()?;
    m.add_function(wrap_pyfunction!(world::load_world, m)?)?;
    m.add_function(wrap_pyfunction!(sim::run, m)?)?;
    m.add_function(wrap_pyfunction!(sweep::sweep, m)?)?;
    m.add_function(wrap_pyfunction!(search::search, m)?)?;
    Ok(())
}
