//! Table file formats, and what a format's writer does.

use crate::error::SinkError;
use crate::schema::Cell;

/// File format of the tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Comma-separated text (default): `pandas.read_csv`, `polars.read_csv`.
    Csv,
    /// Apache Parquet: `pandas.read_parquet`, `polars.read_parquet`.
    Parquet,
}

impl Format {
    /// The file extension.
    pub fn extension(self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::Parquet => "parquet",
        }
    }

    /// `csv` or `parquet`.
    pub fn parse(text: &str) -> Result<Format, String> {
        match text {
            "csv" => Ok(Format::Csv),
            "parquet" => Ok(Format::Parquet),
            other => Err(format!("unknown table format {other:?}: expected csv or parquet")),
        }
    }
}

/// A file format's writer.
pub(crate) trait FileSink {
    fn write_row(&mut self, row: &[Cell]) -> Result<(), SinkError>;
    fn finish(self: Box<Self>) -> Result<(), SinkError>;
}
