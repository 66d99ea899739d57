//! Column types, cells, and `schema.json`.

use crate::error::TableError;

/// Column types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColType {
    /// Unsigned integer (block numbers, gas).
    U64,
    /// Unsigned integer or missing (CSV: empty; Parquet and Arrow: null).
    OptU64,
    /// Float (prices, values).
    F64,
    /// Float or missing (CSV: empty; Parquet and Arrow: null).
    OptF64,
    /// Exact token amount in base units (CSV integer text; Parquet and Arrow DECIMAL(38, 0)).
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

/// Largest amount DECIMAL(38, 0) holds.
pub const MAX_AMOUNT: u128 = 10u128.pow(38) - 1;

/// Where a table's rows go: a file or columns in memory.
pub trait Sink {
    /// Appends a row; its cells must match the columns.
    fn write_row(&mut self, row: &[Cell]) -> Result<(), TableError>;
}

/// A table's columns: name and type, in order.
pub type ColumnList = Vec<(String, ColType)>;

/// `schema.json`: every table's file and column types, for readers that want them exact
/// (an `amount` column holds integers that may not fit 64 bits). `tables` is (table, file,
/// columns).
pub fn schema(tables: &[(String, String, ColumnList)]) -> serde_json::Value {
    let tables: serde_json::Map<String, serde_json::Value> = tables
        .iter()
        .map(|(table, file, columns)| {
            let columns: Vec<serde_json::Value> =
                columns.iter().map(|(n, t)| serde_json::json!({ "name": n, "type": t.name() })).collect();
            (table.clone(), serde_json::json!({ "file": file, "columns": columns }))
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
