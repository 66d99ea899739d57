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
//! Shared state lives as components of one entity, the [`SimState`] entity, rather than as
//! resources: a system reads all the state it needs through one [`State`] query, which
//! costs about what fetching one resource costs (each resource is its own entity in bevy 0.20,
//! looked up per parameter per run). Per-chain state is keyed by chain id inside its component.
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
    /// Scheduled events that act before the market moves (liquidity withdrawals).
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
    /// Base fee rolls; conservation is checked; the block's touched pools are handed on.
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
    fn digest(&self, _world: StateView<'_>, _hasher: &mut Sha256) {}

    /// Fills the domain's part of the front ends' snapshot.
    fn snapshot(&self, _world: StateView<'_>, _snapshot: &mut Snapshot) {}
}

/// Marks the entity that holds the simulation's shared state.
#[derive(Component, Debug, Clone, Copy, Default)]
pub struct SimState;

/// A system's access to the shared state: the components `D` of the [`SimState`] entity, in one
/// query. Wrapped in `Option` so that a missing component is never a silently skipped system
/// (what a bare `Single` would do): [`shared`] turns it into a loud failure.
pub type State<'w, 's, D> = Option<Single<'w, 's, D, With<SimState>>>;

/// The state a system asked for.
///
/// # Panics
/// If the state entity lacks a component the system needs: a plugin registered a system without
/// inserting (or requiring the presence of the plugin that inserts) its state. That is a wiring
/// bug, never a property of the input; every plugin runs in the bundled worlds' tests.
#[track_caller]
pub fn shared<'w, 's, D: bevy_ecs::query::IterQueryData>(s: State<'w, 's, D>) -> D::Item<'w, 's> {
    match s {
        Some(s) => s.into_inner(),
        None => panic!("the state entity lacks what a system needs: {}", std::any::type_name::<D>()),
    }
}

/// Read access to a built simulation: the world and its state entity.
#[derive(Clone, Copy)]
pub struct StateView<'w> {
    /// The world.
    pub world: &'w World,
    /// The [`SimState`] entity.
    pub state: Entity,
}

impl<'w> StateView<'w> {
    /// A component of the state entity; `None` if no plugin present in this world added it.
    pub fn get<T: Component>(&self) -> Option<&'w T> {
        self.world.get::<T>(self.state)
    }

    /// A component of the state entity that every world has.
    ///
    /// # Panics
    /// If no plugin added it: a bug in plugin wiring, not a property of the input.
    pub fn state<T: Component>(&self) -> &'w T {
        match self.get::<T>() {
            Some(t) => t,
            None => panic!("the state entity has no {}", std::any::type_name::<T>()),
        }
    }
}

/// What plugins build into: the world, the scenario and options, and the block schedule.
pub struct App<'a> {
    /// The ECS world.
    pub world: World,
    /// The [`SimState`] entity.
    pub state: Entity,
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
        // the phases in order, each after the one before
        for pair in Phase::ALL.windows(2) {
            schedule.configure_sets(pair[1].after(pair[0]));
        }
        let mut world = World::new();
        let state = world.spawn(SimState).id();
        App { world, state, scenario, options, schedule, slots: 0, last_slot: [None; Phase::ALL.len()] }
    }

    /// Adds shared state (a component of the [`SimState`] entity).
    pub fn insert_state<T: Component>(&mut self, value: T) {
        self.world.entity_mut(self.state).insert(value);
    }

    /// Shared state added by an earlier plugin.
    ///
    /// # Panics
    /// If no earlier plugin added it: a bug in plugin order, not a property of the input.
    pub fn state<T: Component>(&self) -> &T {
        StateView { world: &self.world, state: self.state }.state::<T>()
    }

    /// Shared state added by an earlier plugin, mutably.
    ///
    /// # Panics
    /// As [`App::state`].
    pub fn state_mut<T: Component<Mutability = bevy_ecs::component::Mutable>>(&mut self) -> Mut<'_, T> {
        match self.world.get_mut::<T>(self.state) {
            Some(t) => t,
            None => panic!("the state entity has no {}", std::any::type_name::<T>()),
        }
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

    /// The world, its state entity and its initialized schedule.
    pub fn finish(mut self) -> Result<(World, Entity, Schedule), SimError> {
        if let Err(e) = self.schedule.initialize(&mut self.world) {
            return Err(SimError::Schedule(e.to_string(self.schedule.graph(), &self.world)));
        }
        // bevy's executor ends every run by applying each system's deferred buffers (commands),
        // one dynamic call per system per block; no meshsim system defers anything, so that pass
        // is skipped unless one does
        let defers = match self.schedule.systems() {
            Ok(mut systems) => systems.any(|(_, s)| s.has_deferred()),
            Err(_) => true,
        };
        self.schedule.set_apply_final_deferred(defers);
        Ok((self.world, self.state, self.schedule))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Component)]
    struct Spawned;

    fn spawn_one(mut commands: Commands) {
        commands.spawn(Spawned);
    }

    fn count(world: &mut World) -> usize {
        world.query::<&Spawned>().iter(world).count()
    }

    fn scenario() -> Scenario {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../worlds/bench/s1.ron");
        meshsim_scenario::load_file(&path).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn commands_still_apply_when_a_system_defers() {
        // the final deferred pass is skipped only when no system defers: one that does keeps it
        let s = scenario();
        let mut app = App::new(&s, SimOptions::default());
        app.add_systems(Phase::Record, spawn_one);
        let (mut world, _, mut schedule) = app.finish().unwrap_or_else(|e| panic!("{e}"));
        schedule.run(&mut world);
        schedule.run(&mut world);
        assert_eq!(count(&mut world), 2);
    }
}
