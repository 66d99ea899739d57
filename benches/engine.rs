//! The engine's figures in the README: blocks per second of the benchmark worlds S1 and S2 and of
//! `mesh.ron`, each next to a plain-Rust f64 loop of the same world where there is one; whether
//! the cost per block stays flat as runs grow; and peak memory of a long run.
//!
//! Run: `cargo bench -p meshsim-benches --bench engine`. It prints a table and writes
//! `target/bench/engine.json`, from which `scripts/bench-readme` rewrites the README's table.
//! `-- --quick` runs every workload once, briefly (a smoke test of the harness, not a figure).
//!
//! A custom harness rather than divan: the figures must come out as data for the README, and the
//! memory figure needs this binary's own counting allocator.

use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use meshsim_benches::plain::PlainWorld;
use meshsim_core::{SimOptions, Simulation};
use serde_json::json;

/// The system allocator, keeping the live and the peak number of heap bytes.
struct Peak;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

#[expect(unsafe_code, reason = "a global allocator is an unsafe trait; this one only forwards to System")]
// SAFETY: every method forwards its arguments unchanged to `System`, which upholds the contract.
unsafe impl GlobalAlloc for Peak {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        grew(layout.size());
        // SAFETY: the caller's layout contract is passed on as is
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        // SAFETY: `ptr` came from `System` with `layout`
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        grew(new_size);
        // SAFETY: `ptr` came from `System` with `layout`
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

fn grew(bytes: usize) {
    let live = LIVE.fetch_add(bytes, Ordering::Relaxed) + bytes;
    PEAK.fetch_max(live, Ordering::Relaxed);
}

#[global_allocator]
static ALLOCATOR: Peak = Peak;

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn world(name: &str) -> meshsim_scenario::Scenario {
    let path = workspace().join("worlds").join(name);
    meshsim_scenario::load_file(&path).unwrap_or_else(|e| panic!("{e}"))
}

/// The engine as `meshsim run WORLD --tables none` drives it: no rows, no per-block checks.
fn engine(s: &meshsim_scenario::Scenario) -> Simulation {
    let options = SimOptions { record: false, check_conservation: false, ..SimOptions::default() };
    Simulation::with_options(s, options).expect("the bundled world builds")
}

#[expect(clippy::disallowed_methods, reason = "the benchmark's own stopwatch; never reaches results")]
fn seconds(f: impl FnOnce()) -> f64 {
    let t = Instant::now();
    f();
    t.elapsed().as_secs_f64()
}

/// Blocks per second over `samples` timed stretches of `blocks` each, after one untimed stretch:
/// the median and the best.
fn rate(samples: usize, blocks: u64, mut step: impl FnMut(u64)) -> (f64, f64) {
    step(blocks);
    let mut r: Vec<f64> = (0..samples).map(|_| blocks as f64 / seconds(|| step(blocks))).collect();
    r.sort_by(f64::total_cmp);
    (r[r.len() / 2], r[r.len() - 1])
}

/// Peak resident set of this process so far, bytes (Linux; `None` elsewhere).
fn peak_rss() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    // (samples, scale): the quick mode only proves the harness runs
    let (samples, scale) = if quick { (1, 100) } else { (7, 1) };
    let n = |blocks: u64| (blocks / scale).max(10);
    let mut results = Vec::new();
    let mut report = |name: &str, (median, best): (f64, f64)| {
        println!("{name:<14} {median:>14.0} blocks/s median {best:>14.0} best");
        results.push(json!({ "name": name, "median": median, "best": best }));
    };

    let s1 = world("bench/s1.ron");
    let s2 = world("bench/s2.ron");
    let mesh = world("mesh.ron");

    let mut sim = engine(&s1);
    report("s1/engine", rate(samples, n(300_000), |b| sim.run_blocks(b).expect("runs")));
    let mut plain = PlainWorld::new(&s1).expect("S1 is a plain world");
    report("s1/plain_f64", rate(samples, n(3_000_000), |b| black_box(&mut plain).run(b)));

    let mut sim = engine(&s2);
    report("s2/engine", rate(samples, n(40_000), |b| sim.run_blocks(b).expect("runs")));
    let mut plain = PlainWorld::new(&s2).expect("S2 is a plain world");
    report("s2/plain_f64", rate(samples, n(400_000), |b| black_box(&mut plain).run(b)));

    let mut sim = engine(&mesh);
    report("mesh/engine", rate(samples.min(5), n(5_000), |b| sim.run_blocks(b).expect("runs")));

    // cost per block flat in run length: one run of 4N blocks against four fresh runs of N
    let unit = n(100_000);
    let long = seconds(|| engine(&s2).run_blocks(4 * unit).expect("runs"));
    let short: f64 = (0..4).map(|_| seconds(|| engine(&s2).run_blocks(unit).expect("runs"))).sum();
    let flat = long / short;
    println!("s2 {} blocks in one run / four runs of {unit}: {flat:.3}", 4 * unit);

    // memory flat: the heap's peak over a long S2 run without tables (genesis included)
    let long_run = n(1_000_000);
    PEAK.store(LIVE.load(Ordering::Relaxed), Ordering::Relaxed);
    let base = LIVE.load(Ordering::Relaxed);
    engine(&s2).run_blocks(long_run).expect("runs");
    let heap = PEAK.load(Ordering::Relaxed) - base;
    let rss = peak_rss();
    println!("s2 {long_run} blocks: peak heap {:.1} MiB, peak RSS {:?} MiB", mib(heap as u64), rss.map(mib));

    let cpu = std::fs::read_to_string("/proc/cpuinfo").ok().and_then(|c| {
        let model = c.lines().find(|l| l.starts_with("model name"))?.split(':').nth(1)?.trim().to_string();
        Some((model, c.lines().filter(|l| l.starts_with("processor")).count()))
    });
    let out = json!({
        "quick": quick,
        "samples": samples,
        "cpu": cpu.as_ref().map(|c| &c.0),
        "cpus": cpu.as_ref().map(|c| c.1),
        "results": results,
        "flat": { "world": "bench/s2.ron", "unit_blocks": unit, "ratio": flat },
        "memory": { "world": "bench/s2.ron", "blocks": long_run, "peak_heap_bytes": heap, "peak_rss_bytes": rss },
    });
    let dir = workspace().join("target").join("bench");
    std::fs::create_dir_all(&dir).expect("target/bench");
    let path = dir.join(if quick { "engine-quick.json" } else { "engine.json" });
    // whole or not at all: write aside, then rename
    let tmp = path.with_extension("json.tmp");
    std::fs::write(&tmp, serde_json::to_vec_pretty(&out).expect("json")).expect("write");
    std::fs::rename(&tmp, &path).expect("rename");
    println!("wrote {}", path.display());
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}
