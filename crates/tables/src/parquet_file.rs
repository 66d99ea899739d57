//! Parquet tables through the column writers (no arrow): rows are buffered per column and
//! flushed as row groups.

use std::fs::File;
use std::sync::Arc;

use parquet::basic::{Compression, DecimalType, IntType, LogicalType, Repetition, Type as PhysicalType};
use parquet::data_type::{
    BoolType, ByteArray, ByteArrayType, DoubleType, FixedLenByteArray, FixedLenByteArrayType, Int64Type,
};
use parquet::file::properties::WriterProperties;
use parquet::file::writer::SerializedFileWriter;
use parquet::schema::types::Type;

use crate::error::SinkError;
use crate::format::FileSink;
use crate::schema::{Cell, ColType, MAX_AMOUNT};

const ROWS_PER_GROUP: usize = 65_536;

enum Buffer {
    U64(Vec<i64>),
    /// Values present and the definition level of every row (1 present, 0 null).
    OptU64(Vec<i64>, Vec<i16>),
    F64(Vec<f64>),
    /// Values present and the definition level of every row.
    OptF64(Vec<f64>, Vec<i16>),
    Amount(Vec<FixedLenByteArray>),
    Str(Vec<ByteArray>),
    Bool(Vec<bool>),
}

pub(crate) struct ParquetFile {
    writer: SerializedFileWriter<File>,
    buffers: Vec<Buffer>,
    rows: usize,
}

impl ParquetFile {
    pub(crate) fn new(file: File, columns: &[(String, ColType)]) -> Result<Self, SinkError> {
        let fields = columns
            .iter()
            .map(|(name, ty)| {
                let b = match ty {
                    ColType::U64 | ColType::OptU64 => Type::primitive_type_builder(name, PhysicalType::INT64)
                        .with_logical_type(Some(LogicalType::Integer(IntType { bit_width: 64, is_signed: false }))),
                    ColType::F64 | ColType::OptF64 => Type::primitive_type_builder(name, PhysicalType::DOUBLE),
                    // exact base units: DECIMAL(38, 0) in 16 big-endian bytes
                    ColType::Amount => Type::primitive_type_builder(name, PhysicalType::FIXED_LEN_BYTE_ARRAY)
                        .with_length(16)
                        .with_logical_type(Some(LogicalType::Decimal(DecimalType { scale: 0, precision: 38 })))
                        .with_precision(38)
                        .with_scale(0),
                    ColType::Str => Type::primitive_type_builder(name, PhysicalType::BYTE_ARRAY)
                        .with_logical_type(Some(LogicalType::String)),
                    ColType::Bool => Type::primitive_type_builder(name, PhysicalType::BOOLEAN),
                };
                let optional = matches!(ty, ColType::OptU64 | ColType::OptF64);
                let repetition = if optional { Repetition::OPTIONAL } else { Repetition::REQUIRED };
                b.with_repetition(repetition).build().map(Arc::new)
            })
            .collect::<Result<Vec<_>, _>>()?;
        let schema = Arc::new(Type::group_type_builder("meshsim").with_fields(fields).build()?);
        let props = Arc::new(
            WriterProperties::builder().set_compression(Compression::SNAPPY).set_created_by("meshsim".into()).build(),
        );
        let writer = SerializedFileWriter::new(file, schema, props)?;
        let buffers = columns
            .iter()
            .map(|(_, ty)| match ty {
                ColType::U64 => Buffer::U64(Vec::new()),
                ColType::OptU64 => Buffer::OptU64(Vec::new(), Vec::new()),
                ColType::F64 => Buffer::F64(Vec::new()),
                ColType::OptF64 => Buffer::OptF64(Vec::new(), Vec::new()),
                ColType::Amount => Buffer::Amount(Vec::new()),
                ColType::Str => Buffer::Str(Vec::new()),
                ColType::Bool => Buffer::Bool(Vec::new()),
            })
            .collect();
        Ok(ParquetFile { writer, buffers, rows: 0 })
    }

    fn flush(&mut self) -> Result<(), SinkError> {
        if self.rows == 0 {
            return Ok(());
        }
        let mut group = self.writer.next_row_group()?;
        for buffer in &mut self.buffers {
            let Some(mut col) = group.next_column()? else {
                return Err(SinkError::Value("parquet schema has fewer columns than the table".into()));
            };
            match buffer {
                Buffer::U64(v) => {
                    col.typed::<Int64Type>().write_batch(v, None, None)?;
                    v.clear();
                }
                Buffer::OptU64(v, levels) => {
                    col.typed::<Int64Type>().write_batch(v, Some(levels), None)?;
                    v.clear();
                    levels.clear();
                }
                Buffer::F64(v) => {
                    col.typed::<DoubleType>().write_batch(v, None, None)?;
                    v.clear();
                }
                Buffer::OptF64(v, levels) => {
                    col.typed::<DoubleType>().write_batch(v, Some(levels), None)?;
                    v.clear();
                    levels.clear();
                }
                Buffer::Amount(v) => {
                    col.typed::<FixedLenByteArrayType>().write_batch(v, None, None)?;
                    v.clear();
                }
                Buffer::Str(v) => {
                    col.typed::<ByteArrayType>().write_batch(v, None, None)?;
                    v.clear();
                }
                Buffer::Bool(v) => {
                    col.typed::<BoolType>().write_batch(v, None, None)?;
                    v.clear();
                }
            }
            col.close()?;
        }
        group.close()?;
        self.rows = 0;
        Ok(())
    }
}

impl FileSink for ParquetFile {
    fn write_row(&mut self, row: &[Cell]) -> Result<(), SinkError> {
        for (buffer, cell) in self.buffers.iter_mut().zip(row) {
            match (buffer, cell) {
                // u64 stored as INT64 bits; the UINT_64 annotation makes readers show it unsigned
                (Buffer::U64(v), Cell::U64(x)) => v.push(*x as i64),
                (Buffer::OptU64(v, levels), Cell::OptU64(x)) => {
                    levels.push(i16::from(x.is_some()));
                    v.extend(x.map(|x| x as i64));
                }
                (Buffer::F64(v), Cell::F64(x)) => v.push(*x),
                (Buffer::OptF64(v, levels), Cell::OptF64(x)) => {
                    levels.push(i16::from(x.is_some()));
                    v.extend(*x);
                }
                (Buffer::Amount(v), Cell::Amount(x)) => {
                    if *x > MAX_AMOUNT {
                        return Err(SinkError::Value(format!("amount {x} exceeds DECIMAL(38, 0)")));
                    }
                    v.push(FixedLenByteArray::from(x.to_be_bytes().to_vec()));
                }
                (Buffer::Str(v), Cell::Str(s)) => v.push(ByteArray::from(s.as_str())),
                (Buffer::Bool(v), Cell::Bool(b)) => v.push(*b),
                _ => return Err(SinkError::Value(format!("cell {cell:?} does not match its column type"))),
            }
        }
        self.rows += 1;
        if self.rows >= ROWS_PER_GROUP {
            self.flush()?;
        }
        Ok(())
    }

    fn finish(mut self: Box<Self>) -> Result<(), SinkError> {
        self.flush()?;
        let file = self.writer.into_inner()?;
        file.sync_all()?;
        Ok(())
    }
}
