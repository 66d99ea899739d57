"""meshsim from Python: seeded, deterministic simulations of DeFi rebalancing vaults and the
AMM pools, lending markets, bridges, order books, arbitrageurs and searchers around them.

    import meshsim
    world = meshsim.load_world("worlds/vaults.ron")
    sim = meshsim.Simulation(world, seed=7)
    sim.run(500)
    sim.trades().to_pandas()

The engine is the Rust one the ``meshsim`` command line runs: the same world and seed give
the same digest and the same tables, to the byte.
"""

from meshsim._meshsim import (
    Simulation,
    SweepPlan,
    World,
    WorldError,
    __version__,
    load_world,
    run,
    search,
    sweep,
)

__all__ = [
    "Simulation",
    "SweepPlan",
    "World",
    "WorldError",
    "__version__",
    "load_world",
    "run",
    "search",
    "sweep",
]
