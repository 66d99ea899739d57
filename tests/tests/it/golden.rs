//! Golden digests: the final state digest of every bundled world at its own seed after a fixed
//! number of blocks. A change that moves one must be on purpose, and its commit says why.
//!
//! To see the digests a change produces: `MESHSIM_PRINT_GOLDEN=1 cargo test -p meshsim-tests
//! --test it golden -- --nocapture`, which prints the table in this file's format.

use meshsim_core::{SimOptions, Simulation};
use meshsim_tests::{bundled_worlds, worlds_dir};

/// (world file relative to `worlds/`, blocks, final digest).
const GOLDEN: &[(&str, u64, &str)] = &[
    ("bench/s1.ron", 20000, "da423ced934bbe5e1581a4857d0564ce1460e98a47ea347642f9f95c0f8b6295"),
    ("bench/s2.ron", 2000, "2689a51d367f1722e9b2ce808fe564aa422932707d9fa3093e3fbfe425a4e709"),
    ("cascade.ron", 150, "d5c555a7db706c4d7607b0460dde823244bb0533bb5af3d476182eac78d0ed65"),
    ("crash.ron", 400, "743c7c300e257baa732747cf23999b3adffda97d52254f5678fe6ae781efd8fd"),
    ("fee-arbitrage.ron", 5000, "37db8ad79046e0873b833a046788fdf2146eb0da79306138473b090b6961ead2"),
    ("lvr.ron", 5000, "c3d69e328782b8c78ab1b0dd1b38a45f08a894d60a6b666eaa1243002098bd5c"),
    ("mesh.ron", 1500, "a27dd0e402e0e24477e7b3a1c18c16d632e50091a08793f606b65ca25c3b56ea"),
    ("mev.ron", 3000, "a1774ff2f6b8e00e00dd4c79bf532e46f09145cb6126ff24e30204b9f3ba0b2a"),
    ("stress/bank-run.ron", 1500, "59dc90a89cba04bbeb75d62fa6ef261f4b7fb63a8f67021a3169daca0f90e207"),
    ("stress/correlated-crash.ron", 1500, "ba9da3ad57ce180b7f71444a8172f7b64abfb0564f9d7408685b6b107bf58445"),
    ("stress/crash.ron", 1500, "d5ed89898a7f4204111a7f5dc432f7eb50a4c4e8ea3d3eedf94c712558f4c7ea"),
    ("stress/gas-spike.ron", 1500, "aa4ec839a8b841f523589ab28db5e898ed01a0b5f955c90e8423f9170ec8dd25"),
    ("stress/liquidity-withdrawal.ron", 1500, "e4c56274fe7c7e7ddfbdb565b68eb9e785df6a4153d2ae583cbee632b2577778"),
    ("stress/oracle-freeze.ron", 1500, "c1763ab3a0e82e1a4a2b40a928a20764d0840aedc6d713b12098dec3587db850"),
    ("stress/volatility-spike.ron", 1500, "ed9793de90da34452887ace62ba0f48a81181285ac491f8e5262161f071dfa9f"),
    ("vaults.ron", 3000, "e66709af099954139cb62a36ce313deb491452b7aaedd9de012761c0f04b16a0"),
];

fn digest_after(path: &std::path::Path, blocks: u64) -> String {
    let s = meshsim_scenario::load_file(path).unwrap_or_else(|e| panic!("{e}"));
    let mut sim =
        Simulation::with_options(&s, SimOptions { record: false, check_conservation: true, ..SimOptions::default() })
            .unwrap();
    sim.run_blocks(blocks).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    sim.digest().to_string()
}

#[test]
fn every_bundled_world_ends_on_its_golden_digest() {
    let root = worlds_dir();
    let names: Vec<String> =
        bundled_worlds().iter().map(|p| p.strip_prefix(&root).unwrap().to_string_lossy().replace('\\', "/")).collect();
    let print = std::env::var_os("MESHSIM_PRINT_GOLDEN").is_some();
    let mut wrong = Vec::new();
    for name in &names {
        let Some((_, blocks, expected)) = GOLDEN.iter().find(|g| g.0 == name) else {
            wrong.push(format!("{name}: no golden digest (add it to GOLDEN)"));
            continue;
        };
        let got = digest_after(&root.join(name), *blocks);
        if print {
            println!("    (\"{name}\", {blocks}, \"{got}\"),");
        }
        if got != *expected {
            wrong.push(format!("{name} after {blocks} blocks: {got}, golden {expected}"));
        }
    }
    for (name, _, _) in GOLDEN {
        assert!(names.iter().any(|n| n == name), "golden entry {name} names no bundled world");
    }
    assert!(wrong.is_empty(), "digests moved:\n{}", wrong.join("\n"));
}
