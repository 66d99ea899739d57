//! Long work from Python: its progress on `sys.stderr` (so a notebook shows it too), and Ctrl-C
//! honoured while it runs.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use pyo3::exceptions::PyRuntimeError;
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

/// Runs `work` on its own thread while this one, without the GIL, checks Python's signals every
/// 50 ms. On Ctrl-C (or any signal handler that raises) it sets `stop`, waits for the work to
/// wind down (what it finished is journaled) and raises that error; otherwise it returns the
/// work's result.
pub fn interruptible<T: Send>(py: Python<'_>, stop: &Arc<AtomicBool>, work: impl FnOnce() -> T + Send) -> PyResult<T> {
    std::thread::scope(|s| {
        let handle = s.spawn(work);
        while !handle.is_finished() {
            py.detach(|| std::thread::sleep(Duration::from_millis(50)));
            if let Err(e) = py.check_signals() {
                stop.store(true, Ordering::Relaxed);
                // the work's own result is dropped: the interruption is the answer
                let _ = py.detach(|| handle.join());
                return Err(e);
            }
        }
        py.detach(|| handle.join()).map_err(|_| PyRuntimeError::new_err("the work's thread panicked"))
    })
}
