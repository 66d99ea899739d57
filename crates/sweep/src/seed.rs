//! Seeds of a sweep: each replicate's run seed and the sweep's own streams (random parameter
//! values), derived from the master seed by hashing, so that a run's seed depends only on its
//! replicate and never on how many runs there are or which machine runs it.

use rand::SeedableRng;
use rand_chacha::ChaCha12Rng;
use sha2::{Digest, Sha256};

/// A stream for the sweep's own draws (random parameter values).
pub fn stream(master_seed: u64, purpose: &str, id: u64) -> ChaCha12Rng {
    let mut h = Sha256::new();
    h.update(b"meshsim-sweep-v1");
    h.update(master_seed.to_le_bytes());
    h.update(purpose.as_bytes());
    h.update(id.to_le_bytes());
    ChaCha12Rng::from_seed(h.finalize().into())
}

/// The seed of replicate `k` of a sweep.
pub fn run_seed(master_seed: u64, replicate: u64) -> u64 {
    let mut h = Sha256::new();
    h.update(b"meshsim-sweep-seed-v1");
    h.update(master_seed.to_le_bytes());
    h.update(replicate.to_le_bytes());
    let d = h.finalize();
    u64::from_le_bytes([d[0], d[1], d[2], d[3], d[4], d[5], d[6], d[7]])
}
