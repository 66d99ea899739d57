//! Output tables: a column schema, rows of cells, and CSV / Parquet writers that write under a
//! temporary name and rename on completion, so an interrupted run never leaves a file that looks
//! whole.

mod csv_table;
mod parquet_table;
mod set;

pub use set::OutputSet;

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

/// Column types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColType {
    /// Unsigned integer (block numbers, gas).
    U64,
    /// Unsigned integer or missing (CSV: empty; Parquet: null).
    OptU64,
    /// Float (prices, values).
    F64,
    /// Float or missing (CSV: empty; Parquet: null).
    OptF64,
    /// Exact token amount in base units (CSV integer text; Parquet DECIMAL(38, 0)).
    Amount,
    /// Text.
    Str,
    /// Boolean.
    Bool,
}

impl ColType {
    /// The name `schema.json` gives the type.
    pub fn name(self) -> &'static str {
        match self {
            ColType::U64 => "u64",
            ColType::OptU64 => "u64?",
            ColType::F64 => "f64",
            ColType::OptF64 => "f64?",
            ColType::Amount => "amount",
            ColType::Str => "str",
            ColType::Bool => "bool",
        }
    }
}

/// A finished table: its file and its columns.
#[derive(Debug, Clone)]
pub struct Written {
    /// The file.
    pub path: PathBuf,
    /// Its columns, in order.
    pub columns: Vec<(String, ColType)>,
}

impl Written {
    /// The file's name.
    pub fn file_name(&self) -> String {
        self.path.file_name().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default()
    }

    /// The table's name (`blocks` for `blocks.csv`).
    pub fn table(&self) -> String {
        self.file_name().split('.').next().unwrap_or_default().to_string()
    }
}

/// `schema.json`: every table's file and column types, for readers that want them exact
/// (an `amount` column holds integers that may not fit 64 bits).
pub fn schema(written: &[Written]) -> serde_json::Value {
    let tables: serde_json::Map<String, serde_json::Value> = written
        .iter()
        .map(|w| {
            let columns: Vec<serde_json::Value> =
                w.columns.iter().map(|(n, t)| serde_json::json!({ "name": n, "type": t.name() })).collect();
            (w.table(), serde_json::json!({ "file": w.file_name(), "columns": columns }))
        })
        .collect();
    serde_json::json!({
        "types": {
            "u64": "unsigned integer below 2^64",
            "u64?": "unsigned integer below 2^64, or missing (empty in CSV, null in Parquet)",
            "f64": "IEEE double, always written with a decimal point or exponent",
            "amount": "token amount in exact base units, an unsigned integer below 2^128",
            "str": "text; lists of transaction ids are JSON arrays such as [12,13]",
            "bool": "true or false",
        },
        "tables": tables,
    })
}

/// One cell.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    /// See [`ColType::U64`].
    U64(u64),
    /// See [`ColType::OptU64`].
    OptU64(Option<u64>),
    /// See [`ColType::F64`].
    F64(f64),
    /// See [`ColType::OptF64`].
    OptF64(Option<f64>),
    /// See [`ColType::Amount`].
    Amount(u128),
    /// See [`ColType::Str`].
    Str(String),
    /// See [`ColType::Bool`].
    Bool(bool),
}

/// File format of the tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Comma-separated text (default): `pandas.read_csv`, `polars.read_csv`.
    Csv,
    /// Apache Parquet: `pandas.read_parquet`, `polars.read_parquet`.
    Parquet,
}

impl Format {
    fn extension(self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::Parquet => "parquet",
        }
    }
}

trait Sink {
    fn write_row(&mut self, row: &[Cell]) -> Result<()>;
    fn finish(self: Box<Self>) -> Result<()>;
}

/// A table being written.
pub struct TableWriter {
    sink: Option<Box<dyn Sink>>,
    columns: Vec<(String, ColType)>,
    tmp: PathBuf,
    path: PathBuf,
}

impl TableWriter {
    /// Starts `DIR/NAME.EXT` (written as a hidden temporary until [`TableWriter::finish`]).
    pub fn create(dir: &Path, name: &str, format: Format, columns: Vec<(String, ColType)>) -> Result<Self> {
        let path = dir.join(format!("{name}.{}", format.extension()));
        let tmp = dir.join(format!(".{name}.{}.partial", format.extension()));
        let file = fs::File::create(&tmp).with_context(|| format!("cannot create {}", tmp.display()))?;
        let sink: Box<dyn Sink> = match format {
            Format::Csv => Box::new(csv_table::CsvSink::new(file, &columns)?),
            Format::Parquet => Box::new(parquet_table::ParquetSink::new(file, &columns)?),
        };
        Ok(TableWriter { sink: Some(sink), columns, tmp, path })
    }

    /// Appends a row; its cells must match the columns.
    pub fn write_row(&mut self, row: &[Cell]) -> Result<()> {
        debug_assert_eq!(row.len(), self.columns.len());
        match self.sink.as_mut() {
            Some(s) => s.write_row(row).with_context(|| format!("cannot write {}", self.tmp.display())),
            None => anyhow::bail!("table {} already finished", self.path.display()),
        }
    }

    /// Flushes, closes and renames the file into place.
    pub fn finish(mut self) -> Result<Written> {
        if let Some(s) = self.sink.take() {
            s.finish().with_context(|| format!("cannot write {}", self.tmp.display()))?;
        }
        fs::rename(&self.tmp, &self.path).with_context(|| format!("cannot move {} into place", self.path.display()))?;
        Ok(Written { path: self.path.clone(), columns: std::mem::take(&mut self.columns) })
    }
}

impl Drop for TableWriter {
    fn drop(&mut self) {
        // not finished: the run failed or was interrupted; leave nothing that looks whole
        if self.sink.is_some() {
            let _ = fs::remove_file(&self.tmp);
        }
    }
}

/// Writes `bytes` to `path` atomically (temporary file, then rename).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("out");
    let tmp = path.with_file_name(format!(".{name}.partial"));
    fs::write(&tmp, bytes).with_context(|| format!("cannot write {}", tmp.display()))?;
    fs::rename(&tmp, path).with_context(|| format!("cannot move {} into place", path.display()))
}
