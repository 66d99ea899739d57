//! In-memory tables to `pyarrow.Table`: each column goes over as its Arrow buffers (one copy
//! into a `bytes` object, wrapped by `pyarrow.py_buffer` without another), never row by row.

use meshsim_tables::{ColType, Columns};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList};

/// `columns` as a `pyarrow.Table` with the types of the CLI's Parquet files: u64 as uint64,
/// f64 as float64, amounts as decimal128(38, 0), text as string, flags as bool. Missing values
/// (`u64?`, `f64?`) are nulls. The schema's metadata names each column's meshsim type.
pub fn table<'py>(py: Python<'py>, columns: &Columns) -> PyResult<Bound<'py, PyAny>> {
    let pa = py.import("pyarrow")?;
    let array_type = pa.getattr("Array")?;
    let rows = columns.rows();
    let mut arrays = Vec::with_capacity(columns.columns.len());
    let mut fields = Vec::with_capacity(columns.columns.len());
    for ((name, ty), col) in columns.schema.iter().zip(&columns.columns) {
        let dtype = match ty {
            ColType::U64 | ColType::OptU64 => pa.call_method0("uint64")?,
            ColType::F64 | ColType::OptF64 => pa.call_method0("float64")?,
            ColType::Amount => pa.call_method1("decimal128", (38, 0))?,
            ColType::Str => pa.call_method0("string")?,
            ColType::Bool => pa.call_method0("bool_")?,
        };
        let (validity, data) = col.arrow_buffers();
        let buffer = |bytes: &[u8]| pa.call_method1("py_buffer", (PyBytes::new(py, bytes),));
        let mut buffers: Vec<Bound<'py, PyAny>> = Vec::with_capacity(data.len() + 1);
        let nulls = match &validity {
            Some(bits) => {
                buffers.push(buffer(bits)?);
                rows - count_set(bits, rows)
            }
            None => {
                buffers.push(py.None().into_bound(py));
                0
            }
        };
        for d in &data {
            buffers.push(buffer(d)?);
        }
        let kwargs = PyDict::new(py);
        kwargs.set_item("null_count", nulls)?;
        let array =
            array_type.call_method("from_buffers", (dtype.clone(), rows, PyList::new(py, buffers)?), Some(&kwargs))?;
        arrays.push(array);
        let meta = PyDict::new(py);
        meta.set_item("meshsim_type", ty.name())?;
        fields.push(pa.call_method1("field", (name.as_str(), dtype, ty_nullable(*ty), meta))?);
    }
    let schema = pa.call_method1("schema", (PyList::new(py, fields)?,))?;
    let kwargs = PyDict::new(py);
    kwargs.set_item("schema", schema)?;
    pa.getattr("Table")?.call_method("from_arrays", (PyList::new(py, arrays)?,), Some(&kwargs))
}

fn ty_nullable(ty: ColType) -> bool {
    matches!(ty, ColType::OptU64 | ColType::OptF64)
}

/// Set bits among the first `rows` of an LSB-first bitmap.
fn count_set(bits: &[u8], rows: usize) -> usize {
    (0..rows).filter(|i| bits[i / 8] & (1 << (i % 8)) != 0).count()
}
