//! Same world + seed => identical state at every block; another seed => another path.

use meshsim_core::{SimOptions, Simulation, StateDigest};
use meshsim_tests::bundled_worlds;

fn digests(s: &meshsim_scenario::Scenario, blocks: u64) -> Vec<StateDigest> {
    let mut sim =
        Simulation::with_options(s, SimOptions { record: true, check_conservation: true, ..SimOptions::default() })
            .unwrap();
    let mut out = vec![sim.digest()];
    for _ in 0..blocks {
        sim.step_block().unwrap();
        out.push(sim.digest());
    }
    out
}

#[test]
fn every_world_replays_identically_block_by_block() {
    for path in bundled_worlds() {
        let s = meshsim_scenario::load_file(&path).unwrap();
        let blocks = s.blocks.min(200);
        let a = digests(&s, blocks);
        let b = digests(&s, blocks);
        for (k, (x, y)) in a.iter().zip(&b).enumerate() {
            assert_eq!(x, y, "{}: digests differ at block {k}", path.display());
        }
        let mut other = s.clone();
        other.seed = s.seed.wrapping_add(1);
        let c = digests(&other, blocks);
        assert_eq!(a[0], c[0], "genesis does not depend on the seed");
        assert_ne!(a.last(), c.last(), "{}: another seed must give another path", path.display());
    }
}

#[test]
fn recording_does_not_change_the_state() {
    let s = meshsim_tests::load("mesh.ron");
    let mut quiet =
        Simulation::with_options(&s, SimOptions { record: false, check_conservation: false, ..SimOptions::default() })
            .unwrap();
    let mut loud =
        Simulation::with_options(&s, SimOptions { record: true, check_conservation: true, ..SimOptions::default() })
            .unwrap();
    quiet.run_blocks(150).unwrap();
    loud.run_blocks(150).unwrap();
    assert_eq!(quiet.digest(), loud.digest());
}

#[test]
fn runs_on_other_threads_agree() {
    // parallelism goes across runs: the same run on several threads at once gives one answer
    let s = meshsim_tests::load("crash.ron");
    let handles: Vec<_> = (0..4)
        .map(|_| {
            let s = s.clone();
            std::thread::spawn(move || {
                let mut sim = Simulation::new(&s).unwrap();
                sim.run_blocks(200).unwrap();
                sim.digest()
            })
        })
        .collect();
    let results: Vec<StateDigest> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    assert!(results.windows(2).all(|w| w[0] == w[1]));
}
