//! Tables held in memory column by column, in the Arrow columnar layout (little-endian values,
//! validity bitmaps, 32-bit string offsets), so a front end hands each column to Arrow as a few
//! buffers instead of converting rows: the Python package builds `pyarrow` arrays from them.

use crate::error::TableError;
use crate::schema::{Cell, ColType, MAX_AMOUNT, Sink};

/// One column's values.
#[derive(Debug, Clone, PartialEq)]
pub enum Column {
    /// [`ColType::U64`].
    U64(Vec<u64>),
    /// [`ColType::OptU64`]: values (0 where missing) and presence.
    OptU64(Vec<u64>, Vec<bool>),
    /// [`ColType::F64`].
    F64(Vec<f64>),
    /// [`ColType::OptF64`]: values (0.0 where missing) and presence.
    OptF64(Vec<f64>, Vec<bool>),
    /// [`ColType::Amount`].
    Amount(Vec<u128>),
    /// [`ColType::Str`]: Arrow offsets (one more than rows, from 0) and UTF-8 bytes.
    Str(Vec<i32>, Vec<u8>),
    /// [`ColType::Bool`].
    Bool(Vec<bool>),
}

impl Column {
    fn new(ty: ColType) -> Column {
        match ty {
            ColType::U64 => Column::U64(Vec::new()),
            ColType::OptU64 => Column::OptU64(Vec::new(), Vec::new()),
            ColType::F64 => Column::F64(Vec::new()),
            ColType::OptF64 => Column::OptF64(Vec::new(), Vec::new()),
            ColType::Amount => Column::Amount(Vec::new()),
            ColType::Str => Column::Str(vec![0], Vec::new()),
            ColType::Bool => Column::Bool(Vec::new()),
        }
    }

    /// Rows held.
    pub fn len(&self) -> usize {
        match self {
            Column::U64(v) | Column::OptU64(v, _) => v.len(),
            Column::F64(v) | Column::OptF64(v, _) => v.len(),
            Column::Amount(v) => v.len(),
            Column::Str(o, _) => o.len() - 1,
            Column::Bool(v) => v.len(),
        }
    }

    /// No rows.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// A copy of the values from row `start` on.
    fn tail(&self, start: usize) -> Column {
        let from = start.min(self.len());
        match self {
            Column::U64(v) => Column::U64(v[from..].to_vec()),
            Column::OptU64(v, p) => Column::OptU64(v[from..].to_vec(), p[from..].to_vec()),
            Column::F64(v) => Column::F64(v[from..].to_vec()),
            Column::OptF64(v, p) => Column::OptF64(v[from..].to_vec(), p[from..].to_vec()),
            Column::Amount(v) => Column::Amount(v[from..].to_vec()),
            Column::Str(offsets, data) => {
                // offsets rebased to start at 0
                let base = offsets[from];
                let rebased = offsets[from..].iter().map(|o| o - base).collect();
                Column::Str(rebased, data[base as usize..].to_vec())
            }
            Column::Bool(v) => Column::Bool(v[from..].to_vec()),
        }
    }

    /// Appends a cell of this column's type; `Err` names what did not fit.
    fn push(&mut self, cell: &Cell) -> Result<(), String> {
        match (self, cell) {
            (Column::U64(v), Cell::U64(x)) => v.push(*x),
            (Column::OptU64(v, present), Cell::OptU64(x)) => {
                v.push(x.unwrap_or(0));
                present.push(x.is_some());
            }
            (Column::F64(v), Cell::F64(x)) => v.push(*x),
            (Column::OptF64(v, present), Cell::OptF64(x)) => {
                v.push(x.unwrap_or(0.0));
                present.push(x.is_some());
            }
            (Column::Amount(v), Cell::Amount(x)) => {
                if *x > MAX_AMOUNT {
                    return Err(format!("amount {x} exceeds DECIMAL(38, 0)"));
                }
                v.push(*x);
            }
            (Column::Str(offsets, data), Cell::Str(s)) => {
                data.extend_from_slice(s.as_bytes());
                let end = i32::try_from(data.len()).map_err(|_| "more than 2 GiB of text in one column".to_string())?;
                offsets.push(end);
            }
            (Column::Bool(v), Cell::Bool(b)) => v.push(*b),
            (_, cell) => return Err(format!("cell {cell:?} does not match its column type")),
        }
        Ok(())
    }

    /// The Arrow buffers of the column: the validity bitmap (`None`: no nulls) and the data
    /// buffers, as the Arrow format lays them out (values; or offsets and bytes for text).
    pub fn arrow_buffers(&self) -> (Option<Vec<u8>>, Vec<Vec<u8>>) {
        match self {
            Column::U64(v) => (None, vec![v.iter().flat_map(|x| x.to_le_bytes()).collect()]),
            Column::OptU64(v, present) => (validity(present), vec![v.iter().flat_map(|x| x.to_le_bytes()).collect()]),
            Column::F64(v) => (None, vec![v.iter().flat_map(|x| x.to_le_bytes()).collect()]),
            Column::OptF64(v, present) => (validity(present), vec![v.iter().flat_map(|x| x.to_le_bytes()).collect()]),
            // decimal128: two's complement little-endian; every amount is below 10^38 < 2^127
            Column::Amount(v) => (None, vec![v.iter().flat_map(|x| x.to_le_bytes()).collect()]),
            Column::Str(offsets, data) => {
                (None, vec![offsets.iter().flat_map(|x| x.to_le_bytes()).collect(), data.clone()])
            }
            Column::Bool(v) => (None, vec![bitmap(v)]),
        }
    }
}

/// Arrow's LSB-first bitmap.
fn bitmap(bits: &[bool]) -> Vec<u8> {
    let mut out = vec![0u8; bits.len().div_ceil(8)];
    for (i, b) in bits.iter().enumerate() {
        if *b {
            out[i / 8] |= 1 << (i % 8);
        }
    }
    out
}

/// A validity bitmap, or none when every value is present.
fn validity(present: &[bool]) -> Option<Vec<u8>> {
    if present.iter().all(|p| *p) { None } else { Some(bitmap(present)) }
}

/// A table in memory.
#[derive(Debug, Clone, PartialEq)]
pub struct Columns {
    /// The table's name.
    pub table: String,
    /// Column names and types, in order.
    pub schema: Vec<(String, ColType)>,
    /// Values, one per column of the schema.
    pub columns: Vec<Column>,
}

impl Columns {
    /// An empty table.
    pub fn new(table: &str, schema: Vec<(String, ColType)>) -> Columns {
        let columns = schema.iter().map(|(_, t)| Column::new(*t)).collect();
        Columns { table: table.to_string(), schema, columns }
    }

    /// Rows held.
    pub fn rows(&self) -> usize {
        self.columns.first().map_or(0, Column::len)
    }

    /// A copy of the rows from `start` on (none when `start` is past the end): what a caller
    /// that has read the first `start` rows has not seen yet.
    pub fn tail(&self, start: usize) -> Columns {
        let columns = self.columns.iter().map(|c| c.tail(start)).collect();
        Columns { table: self.table.clone(), schema: self.schema.clone(), columns }
    }
}

impl Sink for Columns {
    fn write_row(&mut self, row: &[Cell]) -> Result<(), TableError> {
        if row.len() != self.columns.len() {
            return Err(TableError::Row {
                table: self.table.clone(),
                message: format!("{} cells for {} columns", row.len(), self.columns.len()),
            });
        }
        // check every cell before any is appended, so a bad row leaves the columns aligned
        for (col, cell) in self.columns.iter().zip(row) {
            let mut probe = Column::new(col_type(col));
            probe.push(cell).map_err(|message| TableError::Row { table: self.table.clone(), message })?;
        }
        for (col, cell) in self.columns.iter_mut().zip(row) {
            col.push(cell).map_err(|message| TableError::Row { table: self.table.clone(), message })?;
        }
        Ok(())
    }
}

fn col_type(c: &Column) -> ColType {
    match c {
        Column::U64(_) => ColType::U64,
        Column::OptU64(..) => ColType::OptU64,
        Column::F64(_) => ColType::F64,
        Column::OptF64(..) => ColType::OptF64,
        Column::Amount(_) => ColType::Amount,
        Column::Str(..) => ColType::Str,
        Column::Bool(_) => ColType::Bool,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table() -> Columns {
        let schema = vec![
            ("n".to_string(), ColType::U64),
            ("gap".to_string(), ColType::OptF64),
            ("amount".to_string(), ColType::Amount),
            ("who".to_string(), ColType::Str),
            ("ok".to_string(), ColType::Bool),
        ];
        Columns::new("t", schema)
    }

    #[test]
    fn buffers_follow_the_arrow_layout() {
        let mut t = table();
        let rows = [
            [
                Cell::U64(1),
                Cell::OptF64(Some(0.5)),
                Cell::Amount(u128::from(u64::MAX) + 1),
                Cell::Str("ab".into()),
                Cell::Bool(true),
            ],
            [Cell::U64(2), Cell::OptF64(None), Cell::Amount(7), Cell::Str(String::new()), Cell::Bool(false)],
            [Cell::U64(3), Cell::OptF64(Some(-1.0)), Cell::Amount(0), Cell::Str("é".into()), Cell::Bool(true)],
        ];
        for r in &rows {
            t.write_row(r).unwrap();
        }
        assert_eq!(t.rows(), 3);
        let (nulls, data) = t.columns[0].arrow_buffers();
        assert!(nulls.is_none());
        assert_eq!(data[0].len(), 24);
        assert_eq!(u64::from_le_bytes(data[0][8..16].try_into().unwrap()), 2);
        // the missing gap: bit 1 clear, bits 0 and 2 set
        let (nulls, data) = t.columns[1].arrow_buffers();
        assert_eq!(nulls, Some(vec![0b101]));
        assert_eq!(f64::from_le_bytes(data[0][16..24].try_into().unwrap()), -1.0);
        // an amount above 2^64 keeps its high word
        let (_, data) = t.columns[2].arrow_buffers();
        assert_eq!(u128::from_le_bytes(data[0][0..16].try_into().unwrap()), u128::from(u64::MAX) + 1);
        // text: offsets 0, 2, 2, 4 (é is two bytes) and the bytes
        let (_, data) = t.columns[3].arrow_buffers();
        let offsets: Vec<i32> = data[0].chunks(4).map(|c| i32::from_le_bytes(c.try_into().unwrap())).collect();
        assert_eq!(offsets, vec![0, 2, 2, 4]);
        assert_eq!(data[1], "abé".as_bytes());
        let (_, data) = t.columns[4].arrow_buffers();
        assert_eq!(data[0], vec![0b101]);
    }

    #[test]
    fn a_tail_holds_the_later_rows_alone() {
        let mut t = table();
        for (k, who) in ["ab", "", "é", "xyz"].iter().enumerate() {
            let row = [
                Cell::U64(k as u64),
                Cell::OptF64((k % 2 == 0).then_some(k as f64)),
                Cell::Amount(k as u128),
                Cell::Str((*who).into()),
                Cell::Bool(k % 2 == 1),
            ];
            t.write_row(&row).unwrap();
        }
        let tail = t.tail(2);
        assert_eq!(tail.rows(), 2);
        assert_eq!(tail.columns[0], Column::U64(vec![2, 3]));
        assert_eq!(tail.columns[1], Column::OptF64(vec![2.0, 0.0], vec![true, false]));
        assert_eq!(tail.columns[3], Column::Str(vec![0, 2, 5], "éxyz".as_bytes().to_vec()));
        assert_eq!(t.tail(4).rows(), 0);
        assert_eq!(t.tail(99).rows(), 0);
        assert_eq!(t.tail(0), t);
    }

    #[test]
    fn a_bad_row_is_refused_whole() {
        let mut t = table();
        let bad =
            [Cell::U64(1), Cell::OptF64(None), Cell::Amount(MAX_AMOUNT + 1), Cell::Str("x".into()), Cell::Bool(true)];
        let err = t.write_row(&bad).unwrap_err().to_string();
        assert!(err.contains("DECIMAL(38, 0)"), "{err}");
        assert_eq!(t.columns.iter().map(Column::len).collect::<Vec<_>>(), vec![0; 5], "no column moved");
        let wrong =
            [Cell::Str("1".into()), Cell::OptF64(None), Cell::Amount(1), Cell::Str("x".into()), Cell::Bool(true)];
        assert!(t.write_row(&wrong).is_err());
        assert!(t.write_row(&wrong[..2]).is_err());
        assert_eq!(t.rows(), 0);
    }
}
