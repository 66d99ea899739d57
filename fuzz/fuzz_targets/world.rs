//! The world loader on any bytes: an error or a world, never a panic or a hang.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = meshsim_scenario::input::text(data.to_vec(), std::path::Path::new("fuzz.ron")) else { return };
    if let Err(e) = meshsim_scenario::parse_str(&text, "fuzz.ron", std::path::Path::new("/nonexistent")) {
        // every located issue has a position inside the document
        for issue in e.issues() {
            assert!(issue.line >= 1 && issue.col >= 1, "{issue}");
        }
    }
});
