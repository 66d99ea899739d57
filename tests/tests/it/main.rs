//! meshsim's integration tests, in one binary (one link of the whole engine instead of one per
//! file): the bundled worlds, determinism and golden digests, theory checks, vaults, MEV, stress
//! events, and the allocation count of the block loop.
#![expect(clippy::unwrap_used, reason = "tests: a panic with its message is a failing test")]

mod alloc;
mod books;
mod chains;
mod determinism;
mod docs;
mod golden;
mod lending;
mod mev;
mod stress;
mod theory;
mod triggers;
mod vaults;
mod worlds;

/// Counts heap allocations per thread, so that a test measures its own thread only while the
/// other tests run in parallel.
#[global_allocator]
static ALLOCATOR: alloc::Counting = alloc::Counting;
