//! Sweep throughput: runs per second of a whole sweep (plan, parallel runs, journals, tables,
//! plots) on one worker thread and on two. Run: `cargo bench -p meshsim-benches --bench sweep`.
//!
//! The sweep is the stress library as shipped (worlds/sweeps/stress.ron: seven worlds of 1,500
//! blocks) at 8 seeds instead of 32: 56 runs of similar size. The ratio of the two medians is the
//! parallel speed-up; what does not scale is loading the worlds and writing tables and plots.

use std::path::Path;

use divan::Bencher;
use divan::counter::ItemsCount;
use meshsim_sweep::{Options, Plan};

fn main() {
    divan::main();
}

fn plan() -> Plan {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../worlds/sweeps");
    let text = std::fs::read_to_string(dir.join("stress.ron"))
        .expect("bundled stress sweep")
        .replace("seeds: 32,", "seeds: 8,");
    let spec = meshsim_sweep::parse_spec(&text, "stress.ron").expect("spec parses");
    Plan::new(spec, &text, &dir).expect("plan builds")
}

#[divan::bench(args = [1, 2], sample_count = 5, sample_size = 1)]
fn stress_sweep(bencher: Bencher, threads: usize) {
    let plan = plan();
    let runs = plan.run_count() as usize;
    bencher.counter(ItemsCount::new(runs)).with_inputs(|| tempfile::tempdir().expect("temp dir")).bench_local_values(
        |dir| {
            let options = Options { threads: Some(threads), ..Options::default() };
            let out = meshsim_sweep::sweep(&plan, dir.path(), &options).expect("sweep runs");
            assert_eq!(out.ran as usize, runs);
            dir
        },
    );
}
