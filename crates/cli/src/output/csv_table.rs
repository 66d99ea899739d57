//! CSV tables.

use std::fs::File;
use std::io::BufWriter;

use anyhow::Result;

use super::{Cell, ColType, Sink};

pub(super) struct CsvSink {
    writer: csv::Writer<BufWriter<File>>,
    record: Vec<String>,
}

impl CsvSink {
    pub(super) fn new(file: File, columns: &[(String, ColType)]) -> Result<Self> {
        let mut writer = csv::Writer::from_writer(BufWriter::with_capacity(1 << 20, file));
        writer.write_record(columns.iter().map(|(n, _)| n.as_str()))?;
        Ok(CsvSink { writer, record: Vec::with_capacity(columns.len()) })
    }
}

impl Sink for CsvSink {
    fn write_row(&mut self, row: &[Cell]) -> Result<()> {
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

    fn finish(self: Box<Self>) -> Result<()> {
        let mut w = self.writer;
        w.flush()?;
        w.into_inner()
            .map_err(|e| anyhow::anyhow!("{}", e.error()))?
            .into_inner()
            .map_err(|e| anyhow::anyhow!("{}", e.error()))?
            .sync_all()?;
        Ok(())
    }
}
