//! Why a table could not be written.

use std::path::PathBuf;

/// Failure of one sink: what went wrong, before the file it belongs to is known.
#[derive(Debug, thiserror::Error)]
pub enum SinkError {
    /// Writing the file.
    #[error(transparent)]
    Io(#[from] std::io::Error),
    /// The CSV writer.
    #[error(transparent)]
    Csv(#[from] csv::Error),
    /// The Parquet writer.
    #[error(transparent)]
    Parquet(#[from] parquet::errors::ParquetError),
    /// A value the format cannot hold, or a cell of the wrong type for its column.
    #[error("{0}")]
    Value(String),
}

/// Why a run's outputs could not be written.
#[derive(Debug, thiserror::Error)]
pub enum TableError {
    /// A table file.
    #[error("cannot write {}: {source}", path.display())]
    Table {
        /// The file.
        path: PathBuf,
        /// What failed.
        #[source]
        source: SinkError,
    },
    /// A file or directory of the output set.
    #[error("{what} {}: {source}", path.display())]
    Io {
        /// What was being done (`cannot create`, ...).
        what: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// What failed.
        #[source]
        source: std::io::Error,
    },
    /// The output directory cannot take a run's outputs.
    #[error("{0}")]
    OutputDir(String),
    /// A row that does not fit its in-memory table.
    #[error("table {table}: {message}")]
    Row {
        /// The table.
        table: String,
        /// What did not fit.
        message: String,
    },
}

/// `map_err` helper: an I/O error with what was being done to which path.
pub(crate) fn io<'a>(what: &'static str, path: &'a std::path::Path) -> impl FnOnce(std::io::Error) -> TableError + 'a {
    move |source| TableError::Io { what, path: path.to_path_buf(), source }
}
