//! Golden digests: the final state digest of every bundled world at its own seed after a fixed
//! number of blocks. A change that moves one must be on purpose, and its commit says why.
//!
//! To see the digests a change produces: `MESHSIM_PRINT_GOLDEN=1 cargo test -p meshsim-tests
//! --test it golden -- --nocapture`, which prints the table in this file's format.

use meshsim_core::{SimOptions, Simulation};
use meshsim_tests::{bundled_worlds, worlds_dir};

/// (world file relative to `worlds/`, blocks, final digest).
const GOLDEN: &[(&str, u64, &str)] = &[
    ("bench/s1.ron", 20000, "e0c2ab3a2a5910a17fb8817ffa44b3282d9a019e4a1b862dc1db224178b9a9c9"),
    ("bench/s2.ron", 2000, "db7c07cfa2e14b675680f8771584a94ed76d16eed09ea61cbc8f029186174832"),
    ("cascade.ron", 150, "c30f249c743e5534881fd488411676e3a8f381d39f4c0464f6b6188c311c1026"),
    ("cost-aware.ron", 3000, "502f382363fd35a5d26a89a30febc995d9bfda57ecebb138ca850bf748c8cb94"),
    ("crash.ron", 400, "a6367fba18f736dca7c6dda3fee894d449e0b00353c5b81a42fbceceb59be472"),
    ("cross-chain.ron", 300, "8ce9a8a45c3d9c81330316baa69e0e3c420998162a5f7aafd3b357a7f1b99337"),
    ("fee-arbitrage.ron", 5000, "a45098531a6d23332962975a9e266825d804b8e518668fbb2c6a132acae5c2b2"),
    ("lending.ron", 3000, "e0d9defcf9de1f96da190e7653032ed3959acccd20fc4e381602c52ef95855a5"),
    ("lvr.ron", 5000, "6710be1007a5f3679a4236c69b09bbab12613c58312c8ed37f619bc873a5f07c"),
    ("mesh.ron", 1500, "ea81a730a40390171c240df61d5cee810826a5c3427381fb2e1c97c59334f067"),
    ("mev.ron", 3000, "41e8923397d958ae443a6681ad1478e011de9350604358e55d1e25c9eeb54ad5"),
    ("orderbook.ron", 2000, "fa480a1423a9c08e637c271fb156475f7be2006480446d293495982c8e215676"),
    ("stress/bank-run.ron", 1500, "30e3dd2a6128b0cb9cff570554369d83ef30349014670b5b0c1b5408cb25ae76"),
    ("stress/bridge-halt.ron", 600, "90992779eba1d01ab5e1c67b8993b17bf9ce2c96019bf8c072ab8d6666d4f03b"),
    ("stress/correlated-crash.ron", 1500, "eada5d985fc2c09c97f8e8e1366b1ac58b4f1cbcf66576f0419a4e31885aa7ba"),
    ("stress/crash.ron", 1500, "3409545c4dd975e3f0f83267f7f4e640a6d934681dc222773ddbc5a1766f37ee"),
    ("stress/gas-spike.ron", 1500, "65b8cb14587ae75c9e03b65b38e1ecf28e2cfd9e0ef7a3e86b1b12065644b825"),
    ("stress/liquidation-freeze.ron", 900, "30a04a677c1dbdf816b4da03d536a70af2c72bd457519aea0f9cf6630d1dc423"),
    ("stress/liquidation-spiral.ron", 900, "31c6fec6b7e7d4a09862e0fe275a69cd04287b4bf37eee33a08f614f6a41e54a"),
    ("stress/liquidity-withdrawal.ron", 1500, "c6f68235fdc8d20f3d9ad46ae4e559e4d7f5371abd9abb10f942fc2d33b6d4c6"),
    ("stress/oracle-freeze.ron", 1500, "8de6eb4dc4e420b75bf1d3a24b463924e9e9396db326f07b069be804878930a8"),
    ("stress/volatility-spike.ron", 1500, "61247757e4a81e0d54d72cab40c446c3d63ac25c515248f4d4b6b2f5e5d580ee"),
    ("vaults.ron", 3000, "c4cb8ca9ca22eeb3ade4398073cc3f271d7b23f390ebc2b37d7a145b216cdff2"),
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
