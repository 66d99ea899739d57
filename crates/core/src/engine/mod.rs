//! The engine's seams: the phases of a block, the [`Plugin`] each domain implements, and the
//! [`App`] a plugin builds itself into.
//!
//! A block is one schedule of named [`Phase`]s run in order on the single-threaded executor.
//! Each domain (chain, market, pools, arbitrage, oracles, vaults, block building, searchers,
//! metrics, cascades, records) is a plugin in its own folder: it inserts its resources and spawns
//! its entities from the scenario (genesis), registers its systems into phases, and writes its
//! part of the state digest and of the front ends' snapshot. A world pays only for the plugins it
//! has: `Plugin::present` leaves out a domain the world does not use.
//!
//! Within a phase, systems run in the order they were registered: plugins in the order of
//! [`crate::simulation::PLUGINS`], each plugin's calls in its own order. So the order is explicit
//! and total, bevy's ambiguity detection (on, as an error) has nothing to find, and no result can
//! depend on the executor.

pub mod venue;

use bevy_ecs::prelude::*;
use bevy_ecs::schedule::{LogLevel, ScheduleBuildSettings, ScheduleConfigs, SingleThreadedExecutor};
use bevy_ecs::system::ScheduleSystem;
use meshsim_scenario::Scenario;
use sha2::Sha256;

use crate::snapshot::Snapshot;
use crate::{SimError, SimOptions};

/// The phases of a block, in order.
#[derive(SystemSet, Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Phase {
    /// Each chain's block number and time advance.
    Clock,
    /// Per-block resets; last block's touched pools become visible; scheduled pool events.
    Begin,
    /// External prices move.
    Market,
    /// Oracles take their reading.
    Oracles,
    /// Agents and vaults observe the new prices on their holdings; depositors come and go.
    Observe,
    /// Agents decide on a read-only view and write their own pending transactions.
    Decide,
    /// New transactions enter the mempool.
    Submit,
    /// Searchers read the public mempool and send bundles.
    Search,
    /// One system builds the block by the ordering policy.
    Build,
    /// One system executes it; receipts come out.
    Execute,
    /// Receipts flow to metrics, cascades and each sender's inbox.
    Account,
    /// Rows for the output tables and end-of-block measurements.
    Record,
    /// Base fee rolls; conservation is checked.
    Settle,
}

impl Phase {
    /// Every phase, in order.
    pub const ALL: [Phase; 13] = [
        Phase::Clock,
        Phase::Begin,
        Phase::Market,
        Phase::Oracles,
        Phase::Observe,
        Phase::Decide,
        Phase::Submit,
        Phase::Search,
        Phase::Build,
        Phase::Execute,
        Phase::Account,
        Phase::Record,
        Phase::Settle,
    ];
}

/// One registration slot: each `App::add_systems` call gets its own, ordered after the previous
/// slot of the same phase.
#[derive(SystemSet, Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct Slot(u32);

/// A domain of the simulation.
pub trait Plugin: Sync {
    /// Name, for errors and the architecture listing.
    fn name(&self) -> &'static str;

    /// Whether a world with this scenario and these options has the domain at all.
    fn present(&self, _scenario: &Scenario, _options: &SimOptions) -> bool {
        true
    }

    /// Genesis and systems: inserts resources, spawns entities, mints genesis balances, and
    /// registers systems into phases.
    fn build(&self, app: &mut App<'_>) -> Result<(), SimError>;

    /// Writes the domain's state into the run's digest, in a canonical (id) order.
    fn digest(&self, _world: &World, _hasher: &mut Sha256) {}

    /// Fills the domain's part of the front ends' snapshot.
    fn snapshot(&self, _world: &World, _snapshot: &mut Snapshot) {}
}

/// What plugins build into: the world, the scenario and options, and the block schedule.
pub struct App<'a> {
    /// The ECS world.
    pub world: World,
    /// The world file, validated.
    pub scenario: &'a Scenario,
    /// How this run records and checks.
    pub options: SimOptions,
    schedule: Schedule,
    slots: u32,
    last_slot: [Option<u32>; Phase::ALL.len()],
}

impl<'a> App<'a> {
    /// An empty world with the phases chained in order.
    pub fn new(scenario: &'a Scenario, options: SimOptions) -> Self {
        let mut schedule = Schedule::default();
        // pinned: feature unification must never switch a run to the multi-threaded executor
        schedule.set_executor(SingleThreadedExecutor::new());
        schedule
            .set_build_settings(ScheduleBuildSettings { ambiguity_detection: LogLevel::Error, ..Default::default() });
        schedule.configure_sets(
            (
                Phase::Clock,
                Phase::Begin,
                Phase::Market,
                Phase::Oracles,
                Phase::Observe,
                Phase::Decide,
                Phase::Submit,
                Phase::Search,
                Phase::Build,
                Phase::Execute,
                Phase::Account,
                Phase::Record,
                Phase::Settle,
            )
                .chain(),
        );
        App { world: World::new(), scenario, options, schedule, slots: 0, last_slot: [None; Phase::ALL.len()] }
    }

    /// Registers systems into `phase`, after everything registered there before. Pass one
    /// system, or several with `.chain()`.
    pub fn add_systems<M>(&mut self, phase: Phase, systems: impl IntoScheduleConfigs<ScheduleSystem, M>) -> &mut Self {
        let slot = Slot(self.slots);
        self.slots += 1;
        let k = Phase::ALL.iter().position(|p| *p == phase).unwrap_or(0);
        match self.last_slot[k] {
            Some(prev) => self.schedule.configure_sets(slot.in_set(phase).after(Slot(prev))),
            None => self.schedule.configure_sets(slot.in_set(phase)),
        };
        self.last_slot[k] = Some(slot.0);
        let configs: ScheduleConfigs<ScheduleSystem> = systems.into_configs();
        self.schedule.add_systems(configs.in_set(slot));
        self
    }

    /// Systems registered so far, for the architecture listing and tests.
    pub fn system_count(&self) -> usize {
        self.schedule.systems_len()
    }

    /// The world and its initialized schedule.
    pub fn finish(mut self) -> Result<(World, Schedule), SimError> {
        if let Err(e) = self.schedule.initialize(&mut self.world) {
            return Err(SimError::Schedule(e.to_string(self.schedule.graph(), &self.world)));
        }
        Ok((self.world, self.schedule))
    }
}
