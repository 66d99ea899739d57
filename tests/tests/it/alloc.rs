//! Zero heap allocations per block in steady state: the benchmark worlds S1 and S2, without
//! tables, counted by this binary's global allocator on the test's own thread.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use meshsim_core::{SimOptions, Simulation};

thread_local! {
    // const-initialised and without a destructor: reading it never allocates
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
    // set while measuring with MESHSIM_ALLOC_BACKTRACE=1: print where each allocation comes from
    static TRAP: Cell<bool> = const { Cell::new(false) };
}

/// The system allocator, counting allocations (and reallocations) of each thread.
pub struct Counting;

#[expect(unsafe_code, reason = "a global allocator is an unsafe trait; this one only forwards to System")]
// SAFETY: every method forwards its arguments unchanged to `System`, which upholds the contract.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count();
        // SAFETY: the caller's layout contract is passed on as is
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count();
        // SAFETY: as above
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count();
        // SAFETY: `ptr` came from this allocator, i.e. from `System`, with `layout`
        unsafe { System.realloc(ptr, layout, new_size) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `System` with `layout`
        unsafe { System.dealloc(ptr, layout) }
    }
}

fn count() {
    // during thread teardown the counter may be gone; nothing to count then
    let _ = ALLOCATIONS.try_with(|c| c.set(c.get() + 1));
    // the trap is off while the backtrace itself allocates
    if TRAP.try_with(|t| t.replace(false)).unwrap_or(false) {
        eprintln!("allocation at:\n{}", std::backtrace::Backtrace::force_capture());
        TRAP.with(|t| t.set(true));
    }
}

/// Allocations made so far by the calling thread.
fn allocations() -> u64 {
    ALLOCATIONS.with(Cell::get)
}

#[test]
fn the_benchmark_worlds_allocate_nothing_per_block_in_steady_state() {
    // warm-up: buffers reach their working size and the cascade window fills
    for (world, warmup, measured) in [("bench/s1.ron", 5_000, 20_000), ("bench/s2.ron", 3_000, 20_000)] {
        let s = meshsim_tests::load(world);
        for check_conservation in [false, true] {
            let options = SimOptions { record: false, check_conservation, ..SimOptions::default() };
            let mut sim = Simulation::with_options(&s, options).unwrap();
            sim.run_blocks(warmup).unwrap();
            let activity = |sim: &Simulation| {
                let m = sim.metrics();
                (m.pools.iter().map(|p| p.trades).sum::<u64>(), m.vaults.iter().map(|v| v.rebalances).sum::<u64>())
            };
            let (trades, rebalances) = activity(&sim);
            let trap = std::env::var_os("MESHSIM_ALLOC_BACKTRACE").is_some();
            let before = allocations();
            TRAP.with(|t| t.set(trap));
            sim.run_blocks(measured).unwrap();
            TRAP.with(|t| t.set(false));
            let n = allocations() - before;
            assert_eq!(
                n, 0,
                "{world} (checks {check_conservation}): {n} allocations in {measured} blocks after warm-up \
                 (MESHSIM_ALLOC_BACKTRACE=1 shows where)"
            );
            // the window was busy: trades, and in S2 vault rebalances
            let (t, r) = activity(&sim);
            assert!(t - trades > measured / 20, "{world}: only {} trades in the window", t - trades);
            assert!(s.vaults.is_empty() || r > rebalances, "{world}: no rebalance in the window");
        }
    }
}
