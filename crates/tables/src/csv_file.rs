//! CSV tables.

use std::fs::File;
use std::io::BufWriter;

use crate::error::SinkError;
use crate::format::FileSink;
use crate::schema::{Cell, ColType};

pub(crate) struct CsvFile {
    writer: csv::Writer<BufWriter<File>>,
    record: Vec<String>,
}

impl CsvFile {
    pub(crate) fn new(file: File, columns: &[(String, ColType)]) -> Result<Self, SinkError> {
        let mut writer = csv::Writer::from_writer(BufWriter::with_capacity(1 << 20, file));
        writer.write_record(columns.iter().map(|(n, _)| n.as_str()))?;
        Ok(CsvFile { writer, record: Vec::with_capacity(columns.len()) })
    }
}

impl FileSink for CsvFile {
    fn write_row(&mut self, row: &[Cell]) -> Result<(), SinkError> {
        self.record.clear();
        // f64 Debug is the shortest text that round-trips and keeps a decimal point on whole
        // values (`60000.0`), so files are byte-stable and readers infer a float column
        self.record.extend(row.iter().map(|c| match c {
            Cell::U64(v) => v.to_string(),
            Cell::OptU64(v) => v.map(|v| v.to_string()).unwrap_or_default(),
            Cell::F64(v) => format!("{v:?}"),
            Cell::OptF64(v) => v.map(|v| format!("{v:?}")).unwrap_or_default(),
            Cell::Amount(v) => v.to_string(),
            Cell::Str(s) => s.clone(),
            Cell::Bool(b) => b.to_string(),
        }));
        self.writer.write_record(&self.record)?;
        Ok(())
    }

    fn finish(self: Box<Self>) -> Result<(), SinkError> {
        let mut w = self.writer;
        w.flush()?;
        let buffered = w.into_inner().map_err(|e| SinkError::Io(std::io::Error::other(e.error().to_string())))?;
        let file = buffered.into_inner().map_err(|e| SinkError::Io(std::io::Error::other(e.error().to_string())))?;
        file.sync_all()?;
        Ok(())
    }
}
