//! Search specs on any bytes: an error or a spec, never a panic; a spec's budget is bounded.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(spec) = meshsim_search::parse_spec(text, "fuzz.ron") {
        assert!(spec.method.budget().saturating_mul(spec.seeds) <= meshsim_search::spec::MAX_CANDIDATES);
        assert!(spec.parameters.iter().all(|p| p.from < p.to));
    }
});
