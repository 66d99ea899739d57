//! A replayed external price path from CSV: a `time` column (seconds from the start) and one
//! column per asset symbol; other columns are ignored.

use std::path::Path;

use crate::limits;
use crate::model::Replay;

/// Reads and checks a replay file. Errors name the file, row and column.
pub(crate) fn load(path: &Path, symbols: &[String]) -> Result<Replay, String> {
    let shown = path.display();
    // bounded whatever the metadata says: `/dev/zero` reports a size of 0
    let file = crate::input::open(path, limits::MAX_REPLAY_BYTES).map_err(|e| crate::input::chain(&e))?;
    let mut reader = csv::Reader::from_reader(file);
    let headers = reader.headers().map_err(|e| format!("{shown}: bad header: {e}"))?.clone();
    let time_col = headers
        .iter()
        .position(|h| h.trim() == "time")
        .ok_or_else(|| format!("{shown}: expected a `time` column, found {headers:?}"))?;
    let mut cols = Vec::new();
    for s in symbols {
        cols.push(
            headers
                .iter()
                .position(|h| h.trim() == s)
                .ok_or_else(|| format!("{shown}: expected a column for asset {s:?}, found {headers:?}"))?,
        );
    }
    let mut times: Vec<f64> = Vec::new();
    let mut prices = Vec::new();
    for (row, record) in reader.records().enumerate() {
        let line = row + 2;
        if row >= limits::MAX_REPLAY_ROWS {
            return Err(format!("{shown}: more than {} rows", limits::MAX_REPLAY_ROWS));
        }
        let record = record.map_err(|e| format!("{shown}:{line}: {e}"))?;
        let field = |c: usize, what: &str| -> Result<f64, String> {
            let text = record.get(c).unwrap_or("").trim();
            text.parse::<f64>()
                .map_err(|_| format!("{shown}:{line}: column {:?}: expected {what}, found {text:?}", &headers[c]))
        };
        let t = field(time_col, "a time in seconds")?;
        if !t.is_finite() || t < 0.0 || times.last().is_some_and(|last| t <= *last) {
            return Err(format!(
                "{shown}:{line}: times must be finite, start at or after 0 and strictly increase, found {t}"
            ));
        }
        if times.is_empty() && t != 0.0 {
            return Err(format!("{shown}:{line}: the first row must be at time 0, found {t}"));
        }
        let mut row_prices = Vec::with_capacity(cols.len());
        for c in &cols {
            let v = field(*c, "a positive price")?;
            if !v.is_finite() || v <= 0.0 {
                return Err(format!("{shown}:{line}: column {:?}: expected a positive price, found {v}", &headers[*c]));
            }
            row_prices.push(v);
        }
        times.push(t);
        prices.push(row_prices);
    }
    if times.is_empty() {
        return Err(format!("{shown}: no rows"));
    }
    Ok(Replay { times, prices })
}
