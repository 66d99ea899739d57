//! The block schedule: every system of a world, in the order it runs, run one after another on
//! the calling thread.
//!
//! meshsim's order is total and explicit (phases in order; within a phase, registration order),
//! no system has a run condition (a plugin that does not apply is left out when the world is
//! built) and none defers commands. bevy's `SingleThreadedExecutor` would still walk set
//! membership, fold (empty) condition lists and track completion bitsets for every system every
//! block: about a fifth of the S1 benchmark's instructions. This runs the same systems in the
//! same order on the same one thread, so results are those of that executor, minus its
//! bookkeeping.

use bevy_ecs::prelude::*;
use bevy_ecs::system::{BoxedSystem, RunSystemError};

use super::Phase;

/// One registered system.
struct Entry {
    system: BoxedSystem,
    // only a system with deferred buffers (commands) pays for applying them
    defers: bool,
}

/// The systems of one block, in run order.
pub struct BlockSchedule {
    systems: Vec<Entry>,
}

/// Systems being registered, before the world is built.
#[derive(Default)]
pub(super) struct Registry {
    // (phase, registration number, system)
    pending: Vec<(Phase, u32, BoxedSystem)>,
}

impl Registry {
    /// Adds `system` to `phase`, after everything registered there before.
    pub fn add(&mut self, phase: Phase, system: BoxedSystem) {
        let seq = self.pending.len() as u32;
        self.pending.push((phase, seq, system));
    }

    /// Systems registered so far.
    pub fn len(&self) -> usize {
        self.pending.len()
    }

    /// Orders the systems (phase, then registration) and initializes them on `world`.
    pub fn finish(mut self, world: &mut World) -> BlockSchedule {
        self.pending.sort_by_key(|(phase, seq, _)| (*phase, *seq));
        let systems = self
            .pending
            .into_iter()
            .map(|(_, _, mut system)| {
                system.initialize(world);
                let defers = system.has_deferred();
                Entry { system, defers }
            })
            .collect();
        BlockSchedule { systems }
    }
}

impl BlockSchedule {
    /// Runs every system once, in order.
    ///
    /// # Panics
    /// If a system cannot fetch its parameters or fails: a plugin wired a system without the
    /// state it needs, a bug found by the bundled worlds' tests, never a property of the input.
    pub fn run(&mut self, world: &mut World) {
        for e in &mut self.systems {
            match e.system.run_without_applying_deferred((), world) {
                Ok(()) => {}
                Err(RunSystemError::Skipped(why)) => panic!("system {} was skipped: {why}", e.system.name()),
                Err(RunSystemError::Failed(why)) => panic!("system {} failed: {why}", e.system.name()),
            }
            if e.defers {
                e.system.apply_deferred(world);
            }
        }
        // change ticks wrap after about four billion system runs; bevy asks for a check of the
        // ones stored long before that, the systems' own included
        if let Some(check) = world.check_change_ticks() {
            for e in &mut self.systems {
                e.system.check_change_tick(check);
            }
        }
    }

    /// Systems run per block.
    pub fn len(&self) -> usize {
        self.systems.len()
    }

    /// Whether the schedule has no systems.
    pub fn is_empty(&self) -> bool {
        self.systems.is_empty()
    }
}
