//! Table files, written under a temporary name and renamed on completion, so an interrupted
//! run never leaves a file that looks whole.

use std::fs;
use std::path::{Path, PathBuf};

use crate::csv_file::CsvFile;
use crate::error::{SinkError, TableError, io};
use crate::format::{FileSink, Format};
use crate::parquet_file::ParquetFile;
use crate::schema::{Cell, ColType, Sink};

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

    /// `schema.json` of these tables.
    pub fn schema(written: &[Written]) -> serde_json::Value {
        let tables: Vec<_> = written.iter().map(|w| (w.table(), w.file_name(), w.columns.clone())).collect();
        crate::schema::schema(&tables)
    }
}

/// A table file being written.
pub struct TableWriter {
    sink: Option<Box<dyn FileSink + Send>>,
    columns: Vec<(String, ColType)>,
    tmp: PathBuf,
    path: PathBuf,
}

impl TableWriter {
    /// Starts `DIR/NAME.EXT` (written as a hidden temporary until [`TableWriter::finish`]).
    pub fn create(dir: &Path, name: &str, format: Format, columns: Vec<(String, ColType)>) -> Result<Self, TableError> {
        let path = dir.join(format!("{name}.{}", format.extension()));
        let tmp = dir.join(format!(".{name}.{}.partial", format.extension()));
        let file = fs::File::create(&tmp).map_err(io("cannot create", &tmp))?;
        let sink: Result<Box<dyn FileSink + Send>, SinkError> = match format {
            Format::Csv => CsvFile::new(file, &columns).map(|s| Box::new(s) as _),
            Format::Parquet => ParquetFile::new(file, &columns).map(|s| Box::new(s) as _),
        };
        let sink = sink.map_err(|source| TableError::Table { path: tmp.clone(), source })?;
        Ok(TableWriter { sink: Some(sink), columns, tmp, path })
    }

    /// Flushes, closes and renames the file into place.
    pub fn finish(mut self) -> Result<Written, TableError> {
        if let Some(s) = self.sink.take() {
            s.finish().map_err(|source| TableError::Table { path: self.tmp.clone(), source })?;
        }
        fs::rename(&self.tmp, &self.path).map_err(io("cannot move into place", &self.path))?;
        Ok(Written { path: self.path.clone(), columns: std::mem::take(&mut self.columns) })
    }
}

impl Sink for TableWriter {
    fn write_row(&mut self, row: &[Cell]) -> Result<(), TableError> {
        debug_assert_eq!(row.len(), self.columns.len());
        match self.sink.as_mut() {
            Some(s) => s.write_row(row).map_err(|source| TableError::Table { path: self.tmp.clone(), source }),
            None => Err(TableError::OutputDir(format!("table {} already finished", self.path.display()))),
        }
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
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), TableError> {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("out");
    let tmp = path.with_file_name(format!(".{name}.partial"));
    fs::write(&tmp, bytes).map_err(io("cannot write", &tmp))?;
    fs::rename(&tmp, path).map_err(io("cannot move into place", path))
}
