//! The engine's seams: the phases of a block, the [`Plugin`] each domain implements, and the
//! [`App`] a plugin builds itself into.
//!
//! A block is one schedule of named [`Phase`]s run in order on one thread ([`BlockSchedule`]).
//! Each domain (chain, market, pools, arbitrage, oracles, vaults, block building, searchers,
//! metrics, cascades, records) is a plugin in its own folder: it inserts its resources and spawns
//! its entities from the scenario (genesis), registers its systems into phases, and writes its
//! part of the state digest and of the front ends' snapshot. A world pays only for the plugins it
//! has: `Plugin::present` leaves out a domain the world does not use.
//!
//! Shared state lives as components of one entity, the [`SimState`] entity, rather than as
//! resources: a system reads all the state it needs through one [`State`] parameter, a query
//! fetched by that entity's id, which costs about what fetching one resource costs (each
//! resource is its own entity in bevy 0.20, looked up per parameter per run). Per-chain state is
//! keyed by chain id inside its component.
//!
//! Within a phase, systems run in the order they were registered: plugins in the order of
//! [`crate::simulation::PLUGINS`], each plugin's calls in its own order. So the order is explicit
//! and total, and no result can depend on how systems are scheduled: the schedule is a list.

mod fresh;
mod schedule;
pub mod venue;

use bevy_ecs::prelude::*;
use meshsim_scenario::Scenario;
use sha2::Sha256;

pub use self::fresh::Fresh;
pub use self::schedule::BlockSchedule;
use crate::snapshot::Snapshot;
use crate::{SimError, SimOptions};

/// The phases of a block, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
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

/// A system's access to the shared state: the components `D` of the [`SimState`] entity, fetched
/// by that entity's id (found once, when the system is initialized) rather than by iterating the
/// query: a lookup costs less than a walk that must also prove no second entity matches, and
/// every system pays it every block. The query is a [`Fresh`] one, which skips bevy's archetype
/// walk once the world has no new archetypes. [`shared`] turns a missing component into a loud
/// failure, never a silently skipped system.
#[derive(bevy_ecs::system::SystemParam)]
pub struct State<'w, 's, D: bevy_ecs::query::QueryData + 'static> {
    query: Fresh<'w, 's, D, With<SimState>>,
    entity: Local<'s, StateEntity>,
}

/// The [`SimState`] entity's id, as a system keeps it.
#[derive(Debug, Clone, Copy)]
pub struct StateEntity(Entity);

impl FromWorld for StateEntity {
    fn from_world(world: &mut World) -> Self {
        // App::new spawns the state entity before any system exists; a world without one makes
        // every fetch fail loudly in `shared`
        let mut q = world.query_filtered::<Entity, With<SimState>>();
        StateEntity(q.iter(world).next().unwrap_or(Entity::PLACEHOLDER))
    }
}

impl<'w, 's, D: bevy_ecs::query::QueryData + 'static> State<'w, 's, D> {
    /// The state, read-only, borrowed from the parameter (for a parameter read more than once).
    ///
    /// # Panics
    /// As [`shared`].
    #[track_caller]
    pub fn get(&self) -> <D::ReadOnly as bevy_ecs::query::QueryData>::Item<'_, 's> {
        match self.query.get(self.entity.0) {
            Ok(item) => item,
            Err(_) => panic!("the state entity lacks what a system needs: {}", std::any::type_name::<D>()),
        }
    }
}

/// The state a system asked for.
///
/// # Panics
/// If the state entity lacks a component the system needs: a plugin registered a system without
/// inserting (or requiring the presence of the plugin that inserts) its state. That is a wiring
/// bug, never a property of the input; every plugin runs in the bundled worlds' tests.
#[track_caller]
#[inline]
pub fn shared<'w, 's, D: bevy_ecs::query::QueryData + 'static>(s: State<'w, 's, D>) -> D::Item<'w, 's> {
    let entity = s.entity.0;
    match s.query.into_inner().get_inner(entity) {
        Ok(item) => item,
        Err(_) => panic!("the state entity lacks what a system needs: {}", std::any::type_name::<D>()),
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
    systems: schedule::Registry,
}

impl<'a> App<'a> {
    /// An empty world.
    pub fn new(scenario: &'a Scenario, options: SimOptions) -> Self {
        let mut world = World::new();
        let state = world.spawn(SimState).id();
        App { world, state, scenario, options, systems: schedule::Registry::default() }
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

    /// Registers a system into `phase`, after everything registered there before.
    pub fn add_systems<M>(&mut self, phase: Phase, system: impl IntoSystem<(), (), M>) -> &mut Self {
        self.systems.add(phase, Box::new(IntoSystem::into_system(system)));
        self
    }

    /// Systems registered so far, for the architecture listing and tests.
    pub fn system_count(&self) -> usize {
        self.systems.len()
    }

    /// The world, its state entity and its block schedule, its systems initialized.
    pub fn finish(mut self) -> (World, Entity, BlockSchedule) {
        let schedule = self.systems.finish(&mut self.world);
        (self.world, self.state, schedule)
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
        let (mut world, _, mut schedule) = app.finish();
        schedule.run(&mut world);
        schedule.run(&mut world);
        assert_eq!(count(&mut world), 2);
    }

    #[derive(Component, Default)]
    struct Trace(Vec<&'static str>);

    #[derive(Component, Default)]
    struct Counter(u32);

    fn bump(state: State<(&mut Counter, &Trace)>) {
        let (mut counter, trace) = shared(state);
        counter.0 += 1 + trace.0.len() as u32;
    }

    fn wants_a_missing_part(state: State<(&Counter, &Spawned)>) {
        let _ = shared(state);
    }

    #[test]
    fn state_reaches_the_state_entity_and_not_another() {
        let s = scenario();
        let mut app = App::new(&s, SimOptions::default());
        app.insert_state(Counter::default());
        app.insert_state(Trace(vec!["a", "b"]));
        // a second entity with the same components, not the state entity: never read
        app.world.spawn((Counter(100), Trace::default()));
        app.add_systems(Phase::Settle, bump);
        let (mut world, state, mut schedule) = app.finish();
        schedule.run(&mut world);
        schedule.run(&mut world);
        assert_eq!(world.get::<Counter>(state).map(|c| c.0), Some(6));
        let others: Vec<u32> =
            world.query_filtered::<&Counter, Without<SimState>>().iter(&world).map(|c| c.0).collect();
        assert_eq!(others, vec![100]);
    }

    #[test]
    #[should_panic(expected = "the state entity lacks what a system needs")]
    fn a_missing_part_of_the_state_fails_loudly() {
        let s = scenario();
        let mut app = App::new(&s, SimOptions::default());
        app.insert_state(Counter::default());
        app.add_systems(Phase::Settle, wants_a_missing_part);
        let (mut world, _, mut schedule) = app.finish();
        schedule.run(&mut world);
    }

    fn first(mut t: Single<&mut Trace>) {
        t.0.push("first");
    }
    fn second(mut t: Single<&mut Trace>) {
        t.0.push("second");
    }
    fn third(mut t: Single<&mut Trace>) {
        t.0.push("third");
    }

    #[test]
    fn systems_run_by_phase_then_by_registration() {
        let s = scenario();
        let mut app = App::new(&s, SimOptions::default());
        app.insert_state(Trace::default());
        app.add_systems(Phase::Settle, third);
        app.add_systems(Phase::Decide, first);
        app.add_systems(Phase::Settle, second);
        let (mut world, state, mut schedule) = app.finish();
        schedule.run(&mut world);
        let order = world.get::<Trace>(state).map(|t| t.0.clone());
        assert_eq!(order, Some(vec!["first", "third", "second"]));
    }
}
