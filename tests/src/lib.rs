//! Helpers shared by the integration tests: load bundled worlds, patch them, run them.

use std::path::{Path, PathBuf};

use meshsim_core::record::{BlockRow, TradeRow};
use meshsim_core::{SimOptions, Simulation};
use meshsim_scenario::Scenario;
use meshsim_scenario::raw::RawWorld;

/// The repository's `worlds/` folder.
pub fn worlds_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join("worlds")
}

/// Every bundled world file (`worlds/`, the stress library `worlds/stress/` and the benchmark
/// worlds `worlds/bench/`), sorted.
pub fn bundled_worlds() -> Vec<PathBuf> {
    let list = |dir: PathBuf| -> Vec<PathBuf> {
        std::fs::read_dir(dir)
            .expect("worlds/ exists")
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "ron"))
            .collect()
    };
    let mut v = list(worlds_dir());
    v.extend(list(worlds_dir().join("stress")));
    v.extend(list(worlds_dir().join("bench")));
    v.sort();
    assert!(!v.is_empty(), "no bundled worlds found");
    v
}

/// Loads a bundled world by file name.
pub fn load(name: &str) -> Scenario {
    let path = worlds_dir().join(name);
    meshsim_scenario::load_file(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Loads a bundled world, lets `patch` change its document, and validates the result.
pub fn load_patched(name: &str, patch: impl FnOnce(&mut RawWorld)) -> Scenario {
    let path = worlds_dir().join(name);
    let text = std::fs::read_to_string(&path).expect("readable world");
    let mut raw = meshsim_scenario::parse_raw(&text, name).expect("parses");
    patch(&mut raw);
    meshsim_scenario::from_raw(&raw, &text, name, &worlds_dir(), "patched".into()).unwrap_or_else(|e| panic!("{e}"))
}

/// Runs `blocks` blocks with recording on; returns all rows.
pub fn run_recorded(scenario: &Scenario, blocks: u64) -> (Vec<BlockRow>, Vec<TradeRow>) {
    let mut sim = Simulation::with_options(
        scenario,
        SimOptions { record: true, check_conservation: true, ..SimOptions::default() },
    )
    .expect("builds");
    let (mut b, mut t) = (Vec::new(), Vec::new());
    let mut done = 0;
    while done < blocks {
        let n = 1000.min(blocks - done);
        sim.run_blocks(n).expect("runs");
        done += n;
        let (bb, tt) = sim.drain_records();
        b.extend(bb);
        t.extend(tt);
    }
    (b, t)
}
