//! Command logs on any bytes, checked against a bundled world: an error or a log, never a panic.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use meshsim_scenario::Scenario;

fn world() -> &'static Scenario {
    static WORLD: OnceLock<Scenario> = OnceLock::new();
    WORLD.get_or_init(|| {
        let text = include_str!("../../worlds/vaults.ron");
        meshsim_scenario::parse_str(text, "vaults.ron", std::path::Path::new("worlds")).expect("bundled world")
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(log) = meshsim_scenario::commands::parse_commands(text, "fuzz.ron", world()) {
        // an accepted log only holds commands that fit the world
        for c in &log.commands {
            assert!(c.command.check(world()).is_ok());
        }
    }
});
