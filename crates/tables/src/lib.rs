//! A meshsim run's outputs: the tables (`blocks`, `trades`, `vaults`, `cascades`, `lending`,
//! `bridges`, `book`, `fills`) with their column schemas, rows made from the simulation's
//! records, and `summary.json`. Rows go to a [`Sink`]: CSV or Parquet files written whole or not
//! at all ([`TableWriter`], inside an [`OutputSet`] swapped into place at the end), or columns
//! in memory in the Arrow layout ([`Columns`]) for the Python package. The CLI and the Python
//! package share this code, so their tables agree cell for cell.

mod columns;
mod csv_file;
mod error;
mod file;
mod format;
mod parquet_file;
mod record;
mod schema;
mod set;
mod summary;

pub use columns::{Column, Columns};
pub use error::{SinkError, TableError};
pub use file::{TableWriter, Written, write_atomic};
pub use format::Format;
pub use record::{Recorder, TABLE_NAMES, TableSet, cascade_columns, sender_name, write_cascades};
pub use schema::{Cell, ColType, ColumnList, MAX_AMOUNT, Sink, schema};
pub use set::OutputSet;
pub use summary::summary;
