"""Type stubs of the meshsim package (its native module, meshsim._meshsim)."""

import os
import pathlib
from typing import Any, final

import pyarrow

__version__: str

_Path = str | os.PathLike[str]

class WorldError(ValueError):
    """A world file (or command log) that cannot be loaded; the first problem located."""

    file: str
    line: int | None
    column: int | None
    field: str
    message: str
    issues: list[dict[str, Any]]

@final
class World:
    """A validated world: tokens, chains, pools, markets, agents and vaults."""

    @staticmethod
    def from_str(text: str, origin: str = "<string>", base_dir: _Path = ".") -> World: ...
    @property
    def name(self) -> str: ...
    @property
    def seed(self) -> int: ...
    @property
    def blocks(self) -> int: ...
    @property
    def hash(self) -> str: ...
    @property
    def text(self) -> str: ...
    @property
    def tokens(self) -> list[str]: ...
    @property
    def chains(self) -> list[str]: ...
    @property
    def pools(self) -> list[str]: ...
    @property
    def agents(self) -> list[str]: ...
    @property
    def vaults(self) -> list[str]: ...
    def __reduce__(self) -> tuple[Any, tuple[str, str, str]]: ...

def load_world(path: _Path) -> World:
    """Loads and validates a world file; raises WorldError with every problem located."""

@final
class Simulation:
    """One seeded run of a world; tables kept in memory and returned as pyarrow tables."""

    def __new__(
        cls, world: World | _Path, seed: int | None = None, tables: str = "all", vault_every: int = 1
    ) -> Simulation: ...
    def step(self) -> int: ...
    def run(self, blocks: int | None = None, progress: bool = False) -> int: ...
    @property
    def block(self) -> int: ...
    @property
    def seed(self) -> int: ...
    def digest(self) -> str: ...
    def snapshot(self) -> dict[str, Any]: ...
    def apply(self, command: str) -> None: ...
    def command_log(self) -> str: ...
    def summary(self) -> dict[str, Any]: ...
    def blocks(self, start: int = 0) -> pyarrow.Table: ...
    def trades(self, start: int = 0) -> pyarrow.Table: ...
    def vaults(self, start: int = 0) -> pyarrow.Table: ...
    def cascades(self) -> pyarrow.Table: ...
    def table(self, name: str, start: int = 0) -> pyarrow.Table: ...
    def tables(self) -> dict[str, pyarrow.Table]: ...

def run(
    world: World | _Path,
    seed: int | None = None,
    blocks: int | None = None,
    tables: str = "all",
    vault_every: int = 1,
    commands: _Path | None = None,
    progress: bool = False,
) -> dict[str, Any]:
    """Runs a world start to end: summary, digest and one pyarrow table per table kept."""

def sweep(
    spec: _Path,
    threads: int | None = None,
    out: _Path | None = None,
    shard: tuple[int, int] | None = None,
    progress: bool = False,
) -> dict[str, Any]:
    """Runs (or resumes) a sweep on this machine; its outcome and tables."""

def search(
    spec: _Path,
    threads: int | None = None,
    out: _Path | None = None,
    progress: bool = False,
) -> dict[str, Any]:
    """Runs (or resumes) a worst-case search as `meshsim search` does; its candidates and summary."""

_Record = tuple[list[str], list[list[str]]]

@final
class SweepPlan:
    """A sweep's runs, to be run anywhere (Ray tasks) and collected into the sweep's tables."""

    def __new__(cls, spec: _Path) -> SweepPlan: ...
    @property
    def name(self) -> str: ...
    @property
    def spec(self) -> pathlib.Path: ...
    @property
    def run_count(self) -> int: ...
    @property
    def parameters(self) -> list[str]: ...
    def run(self, ids: list[int], check: bool = False) -> list[_Record]: ...
    def collect(self, records: list[_Record], out: _Path | None = None) -> dict[str, Any]: ...
