//! [`Fresh`]: bevy's `Query` parameter without its per-run archetype walk.
//!
//! bevy's `Query` parameter brings its archetype cache up to date every time its system runs:
//! it checks the world's id, scans its required-component bitset and compares archetype
//! generations, about 43 instructions, for every query of every system of every block (about
//! 3 % of the S2 benchmark). meshsim's worlds gain archetypes only at genesis, so after the first
//! block the answer is always "nothing new". [`Fresh`] keeps the generation it last saw and only
//! asks bevy to update when the world's has moved: one comparison a run, the same cache, the same
//! query.

use std::ops::{Deref, DerefMut};

use bevy_ecs::archetype::ArchetypeGeneration;
use bevy_ecs::change_detection::Tick;
use bevy_ecs::prelude::*;
use bevy_ecs::query::{QueryData, QueryFilter, QueryState, ReadOnlyQueryData};
use bevy_ecs::system::{ReadOnlySystemParam, SystemAccess, SystemMeta, SystemParam, SystemParamValidationError};
use bevy_ecs::world::unsafe_world_cell::UnsafeWorldCell;

/// A `Query<D, F>` system parameter whose archetype cache is refreshed only when the world has
/// new archetypes. It dereferences to the query.
pub struct Fresh<'w, 's, D: QueryData + 'static, F: QueryFilter + 'static = ()>(Query<'w, 's, D, F>);

impl<'w, 's, D: QueryData + 'static, F: QueryFilter + 'static> Fresh<'w, 's, D, F> {
    /// The query, for the lifetimes that only the owned value carries (`get_inner`).
    #[inline]
    pub fn into_inner(self) -> Query<'w, 's, D, F> {
        self.0
    }
}

impl<'w, 's, D: QueryData + 'static, F: QueryFilter + 'static> Deref for Fresh<'w, 's, D, F> {
    type Target = Query<'w, 's, D, F>;

    #[inline]
    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl<D: QueryData + 'static, F: QueryFilter + 'static> DerefMut for Fresh<'_, '_, D, F> {
    #[inline]
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.0
    }
}

impl<'a, 'w, 's, D: QueryData + 'static, F: QueryFilter + 'static> IntoIterator for &'a Fresh<'w, 's, D, F>
where
    &'a Query<'w, 's, D, F>: IntoIterator,
{
    type Item = <&'a Query<'w, 's, D, F> as IntoIterator>::Item;
    type IntoIter = <&'a Query<'w, 's, D, F> as IntoIterator>::IntoIter;

    #[inline]
    fn into_iter(self) -> Self::IntoIter {
        (&self.0).into_iter()
    }
}

impl<'a, 'w, 's, D: QueryData + 'static, F: QueryFilter + 'static> IntoIterator for &'a mut Fresh<'w, 's, D, F>
where
    &'a mut Query<'w, 's, D, F>: IntoIterator,
{
    type Item = <&'a mut Query<'w, 's, D, F> as IntoIterator>::Item;
    type IntoIter = <&'a mut Query<'w, 's, D, F> as IntoIterator>::IntoIter;

    #[inline]
    fn into_iter(self) -> Self::IntoIter {
        (&mut self.0).into_iter()
    }
}

/// [`Fresh`]'s state: bevy's query state, and the archetype generation its cache was last
/// brought up to.
pub struct FreshState<D: QueryData + 'static, F: QueryFilter + 'static> {
    query: QueryState<D, F>,
    seen: Option<ArchetypeGeneration>,
}

#[expect(unsafe_code, reason = "a system parameter is an unsafe trait; this one delegates to bevy's Query")]
// SAFETY: the access registered is exactly the wrapped `Query`'s (`init_access` delegates), and
// `get_param` builds the same query bevy's `Query` parameter builds from the same state. The one
// step it skips, `QueryState::validate_world`, guards a precondition `get_param`'s caller already
// guarantees (the world is the one the state was made in; `FunctionSystem` asserts it each run).
// The archetype cache is updated whenever the world's archetype generation differs from the one
// it was last updated to, which is when bevy's own update would find anything new.
unsafe impl<D: QueryData + 'static, F: QueryFilter + 'static> SystemParam for Fresh<'_, '_, D, F> {
    type State = FreshState<D, F>;
    type Item<'w, 's> = Fresh<'w, 's, D, F>;

    fn init_state(world: &mut World) -> Self::State {
        FreshState { query: <Query<'_, '_, D, F> as SystemParam>::init_state(world), seen: None }
    }

    fn init_access(state: &Self::State, meta: &mut SystemMeta, access: &mut SystemAccess, world: &mut World) {
        <Query<'_, '_, D, F> as SystemParam>::init_access(&state.query, meta, access, world);
    }

    #[inline]
    unsafe fn get_param<'w, 's>(
        state: &'s mut Self::State,
        meta: &SystemMeta,
        world: UnsafeWorldCell<'w>,
        change_tick: Tick,
    ) -> Result<Self::Item<'w, 's>, SystemParamValidationError> {
        let now = world.archetypes().generation();
        if state.seen != Some(now) {
            state.query.update_archetypes_unsafe_world_cell(world);
            state.seen = Some(now);
        }
        // SAFETY: the access was registered (`init_access`), the caller ensures `world` is the
        // state's and grants that access, and the cache is current (above)
        Ok(Fresh(unsafe { state.query.query_unchecked_manual_with_ticks(world, meta.get_last_run(), change_tick) }))
    }
}

#[expect(unsafe_code, reason = "read-only system parameters are marked by an unsafe trait")]
// SAFETY: with read-only query data the wrapped query only reads, as bevy's read-only `Query` does.
unsafe impl<D: ReadOnlyQueryData + 'static, F: QueryFilter + 'static> ReadOnlySystemParam for Fresh<'_, '_, D, F> {}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Component)]
    struct A(u32);

    #[derive(Component)]
    struct B;

    fn total(q: Fresh<&A>, mut out: ResMut<Sum>) {
        out.0 = q.iter().map(|a| a.0).sum();
    }

    #[derive(Resource, Default)]
    struct Sum(u32);

    #[test]
    fn sees_entities_of_archetypes_made_after_it_first_ran() {
        let mut world = World::new();
        world.init_resource::<Sum>();
        world.spawn(A(1));
        let mut system = IntoSystem::into_system(total);
        system.initialize(&mut world);
        let mut run = |world: &mut World| {
            system.run((), world).expect("runs");
            world.resource::<Sum>().0
        };
        assert_eq!(run(&mut world), 1);
        // the same archetype: no new generation, the cached archetype still covers it
        world.spawn(A(2));
        assert_eq!(run(&mut world), 3);
        // a new archetype after the first run must be found
        world.spawn((A(4), B));
        assert_eq!(run(&mut world), 7);
        // and an entity moved into a new archetype
        let e = world.spawn(A(8)).id();
        world.entity_mut(e).insert(B);
        assert_eq!(run(&mut world), 15);
    }
}
