//! The engine's snapshot as plain Python dicts, names instead of ids.

use meshsim_core::Snapshot;
use meshsim_scenario::{Scenario, TokenId};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};

/// `snapshot` as a dict (see `Simulation.snapshot`).
pub fn to_dict<'py>(py: Python<'py>, s: &Scenario, snap: &Snapshot) -> PyResult<Bound<'py, PyDict>> {
    let sym = |t: &TokenId| s.tokens.get(t.index()).map_or_else(String::new, |x| x.symbol.clone());
    // balances by token symbol where a list runs over every token of the world
    let by_token = |balances: &[u128], tokens: Option<&[TokenId]>| -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        for (k, b) in balances.iter().enumerate() {
            let name = match tokens {
                Some(ts) => ts.get(k).map(sym).unwrap_or_default(),
                None => s.tokens.get(k).map(|t| t.symbol.clone()).unwrap_or_default(),
            };
            d.set_item(name, *b)?;
        }
        Ok(d)
    };
    let out = PyDict::new(py);
    out.set_item("block", snap.block)?;
    out.set_item("timestamp", snap.timestamp)?;
    out.set_item("base_fee_wei", snap.base_fee_wei)?;
    let tokens = PyList::empty(py);
    for t in &snap.tokens {
        let d = PyDict::new(py);
        d.set_item("symbol", &t.symbol)?;
        d.set_item("decimals", t.decimals)?;
        d.set_item("price", t.price)?;
        tokens.append(d)?;
    }
    out.set_item("tokens", tokens)?;
    let pools = PyList::empty(py);
    for p in &snap.pools {
        let d = PyDict::new(py);
        d.set_item("name", &p.name)?;
        d.set_item("kind", p.kind.name())?;
        d.set_item("tokens", p.tokens.iter().map(sym).collect::<Vec<_>>())?;
        d.set_item("balances", by_token(&p.balances, Some(&p.tokens))?)?;
        d.set_item("price", p.price)?;
        d.set_item("deviation", p.deviation)?;
        d.set_item("fee", p.fee)?;
        d.set_item("value", p.value)?;
        pools.append(d)?;
    }
    out.set_item("pools", pools)?;
    let agents = PyList::empty(py);
    for a in &snap.agents {
        let d = PyDict::new(py);
        d.set_item("name", &a.name)?;
        d.set_item("kind", a.kind)?;
        d.set_item("balances", by_token(&a.balances, None)?)?;
        d.set_item("profit", a.profit)?;
        agents.append(d)?;
    }
    out.set_item("agents", agents)?;
    let vaults = PyList::empty(py);
    for v in &snap.vaults {
        let d = PyDict::new(py);
        let per_token = |values: &[f64]| -> PyResult<Bound<'py, PyDict>> {
            let m = PyDict::new(py);
            for (t, x) in v.tokens.iter().zip(values) {
                m.set_item(sym(t), *x)?;
            }
            Ok(m)
        };
        d.set_item("name", &v.name)?;
        d.set_item("tokens", v.tokens.iter().map(sym).collect::<Vec<_>>())?;
        d.set_item("balances", by_token(&v.balances, Some(&v.tokens))?)?;
        d.set_item("nav", v.nav)?;
        d.set_item("share_price", v.share_price)?;
        d.set_item("shares", v.shares)?;
        d.set_item("weights", per_token(&v.weights)?)?;
        d.set_item("targets", per_token(&v.targets)?)?;
        d.set_item("band", v.band)?;
        d.set_item("rebalancing", v.in_progress)?;
        d.set_item("last_rebalance", v.last_rebalance)?;
        d.set_item("hold_nav", v.hold_nav)?;
        d.set_item("continuous_nav", v.continuous_nav)?;
        vaults.append(d)?;
    }
    out.set_item("vaults", vaults)?;
    out.set_item("oracle_prices", snap.oracle_prices.clone())?;
    let lending = PyList::empty(py);
    for m in &snap.lending {
        let d = PyDict::new(py);
        d.set_item("name", &m.name)?;
        d.set_item("borrowers", m.borrowers)?;
        d.set_item("under_water", m.under_water)?;
        d.set_item("lowest_health", m.lowest_health)?;
        let reserves = PyList::empty(py);
        for r in &m.reserves {
            let x = PyDict::new(py);
            x.set_item("token", sym(&r.token))?;
            x.set_item("price", r.price)?;
            x.set_item("utilization", r.utilization)?;
            x.set_item("borrow_rate", r.borrow_rate)?;
            x.set_item("supply_rate", r.supply_rate)?;
            x.set_item("available", r.available)?;
            x.set_item("borrowed", r.borrowed)?;
            x.set_item("deficit", r.deficit)?;
            x.set_item("liquidations", r.liquidations)?;
            reserves.append(x)?;
        }
        d.set_item("reserves", reserves)?;
        lending.append(d)?;
    }
    out.set_item("lending", lending)?;
    let chains = PyList::empty(py);
    for (c, spec) in snap.chains.iter().zip(&s.chains) {
        let d = PyDict::new(py);
        d.set_item("name", &spec.name)?;
        d.set_item("block", c.block)?;
        d.set_item("timestamp", c.timestamp)?;
        d.set_item("base_fee_wei", c.base_fee_wei)?;
        chains.append(d)?;
    }
    out.set_item("chains", chains)?;
    Ok(out)
}
