//! Sweep specs on any bytes: an error or a spec, never a panic; a spec's values expand.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(spec) = meshsim_sweep::parse_spec(text, "fuzz.ron") {
        for (k, p) in spec.parameters.iter().enumerate() {
            let values = p.values.expand(spec.master_seed, k);
            assert!(!values.is_empty() && values.len() as u64 <= meshsim_sweep::spec::MAX_VALUES);
        }
    }
});
