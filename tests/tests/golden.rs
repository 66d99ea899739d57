//! Golden digests: the final state digest of every bundled world at its own seed after a fixed
//! number of blocks. A change that moves one must be on purpose, and its commit says why.
//!
//! To see the digests a change produces: `MESHSIM_PRINT_GOLDEN=1 cargo test -p meshsim-tests
//! --test golden -- --nocapture`, which prints the table in this file's format.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use meshsim_core::{SimOptions, Simulation};
use meshsim_tests::{bundled_worlds, worlds_dir};

/// (world file relative to `worlds/`, blocks, final digest).
const GOLDEN: &[(&str, u64, &str)] = &[
    ("bench/s1.ron", 20000, "15aefa99eefbc6859bcd366aaa8c373f2ae8edb7c2b03809d3b5e603ce4a61e7"),
    ("bench/s2.ron", 2000, "7dcbb204657289de0f953bafdb8188cdbae86f7aba6c2208de3b031f5d935ab4"),
    ("cascade.ron", 150, "34ce7466173e4954568befd8b30dc1809973f52e0dd6b10dd007ee3ca08d73bf"),
    ("crash.ron", 400, "948000d27024bb17a76874ef03ca3dcd9ff64f3296239309726a64df7b14427d"),
    ("fee-arbitrage.ron", 5000, "18950b256f3cbc43b79dd0474aeb745c52eff71c54bfab2731be8aa9865eeac7"),
    ("lvr.ron", 5000, "fb0133a0eec1644042a6743f55894adf8dc4535bef8f3b8681a4d5041d366e9d"),
    ("mesh.ron", 1500, "751fc8b10a108514760f633909f2e165d35509fb524c30a6ab718dbe20ce8693"),
    ("mev.ron", 3000, "139a6e9e278c0176042ef6bf1d7476e661c9b2f50ce5324eea6b9e05dba68cb8"),
    ("stress/bank-run.ron", 1500, "160a5bd4110c8c1c455c4cabbfd67b2351219edba0bb4e501f0ef2f926022f24"),
    ("stress/correlated-crash.ron", 1500, "febebb8d249277f43918b160d793ce1573a2136c92a389949fb40c91c530ea48"),
    ("stress/crash.ron", 1500, "f3d1f5386199b9594227361c2a6dc7a2bcb10f96bdb9cc78502778ef1042c133"),
    ("stress/gas-spike.ron", 1500, "620e53d68e97c9989f7e9d05659ea1a9b504d8dc82fa40430d6af9f83bcf773e"),
    ("stress/liquidity-withdrawal.ron", 1500, "04657bdf166978930fb8a66ef102d2f68b559bbd536114f77f01a425c7dfdc41"),
    ("stress/oracle-freeze.ron", 1500, "0527f8405bad0ffc7741b17ab4c0e3c315c0db5aa162d293e7e8f8cc96db8529"),
    ("stress/volatility-spike.ron", 1500, "7dd831c25423111a9f2cca520107d38805efc37d5374daee3e324996b0619a78"),
    ("vaults.ron", 3000, "9a47171a4485309b0b881adb93990e94efd45df860e9af3cb051455ef1c9d551"),
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
