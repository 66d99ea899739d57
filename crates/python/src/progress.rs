//! Progress of a sweep or search on Python's `sys.stderr` (so a notebook shows it too).

use pyo3::prelude::*;

/// What the engines' progress hooks take: called with (done, total), from any thread.
pub type Hook = Box<dyn Fn(u64, u64) + Send + Sync>;

/// A line `done/total UNIT`, redrawn at each call and ended at the last.
pub fn counter(unit: &'static str) -> Hook {
    Box::new(move |done, total| show(unit, done, total))
}

/// Draws the line once (also before the first call, so a long first step shows something).
pub fn show(unit: &str, done: u64, total: u64) {
    // the hooks run on worker threads with the GIL released: take it for the write
    Python::attach(|py| {
        let end = if done >= total { "\n" } else { "" };
        let write = || -> PyResult<()> {
            let stderr = py.import("sys")?.getattr("stderr")?;
            stderr.call_method1("write", (format!("\r{done}/{total} {unit}{end}"),))?;
            stderr.call_method0("flush")?;
            Ok(())
        };
        // a progress line that cannot be drawn is not worth stopping the work for
        if let Err(e) = write() {
            e.print(py);
        }
    });
}
