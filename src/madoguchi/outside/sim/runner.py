"""Run a simulator in a background thread of this process, on an ephemeral loopback port."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from madoguchi.outside.registry import OutsideSystems, sim_outside
from madoguchi.outside.sim.control import SimControl
from madoguchi.outside.sim.handlers import APPS
from madoguchi.outside.sim.seed import SeedData, resolve_seed
from madoguchi.outside.sim.server import Faults, SimKind, SimServer
from madoguchi.outside.transport import ClientConfig


@dataclass
class RunningSim:
    kind: SimKind
    base_url: str
    server: SimServer
    thread: threading.Thread

    @property
    def control(self) -> SimControl:
        return SimControl(self.base_url)

    def stop(self) -> None:
        if self.thread.is_alive():
            self.server.stop()
            self.thread.join(timeout=5)


def make_server(
    kind: SimKind | str,
    seed: SeedData | str | Path | None = None,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    faults: Faults | None = None,
    random_seed: int | None = None,
    state_path: Path | None = None,
) -> SimServer:
    """``state_path``: the state file (read at start when it exists, written after changes)."""
    kind = SimKind(kind)
    app = APPS[kind](resolve_seed(seed))
    return SimServer(
        (host, port), app, faults=faults, random_seed=random_seed, state_path=state_path
    )


def start(
    kind: SimKind | str,
    seed: SeedData | str | Path | None = None,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    faults: Faults | None = None,
    random_seed: int | None = None,
    state_path: Path | None = None,
) -> RunningSim:
    server = make_server(
        kind,
        seed,
        host=host,
        port=port,
        faults=faults,
        random_seed=random_seed,
        state_path=state_path,
    )
    thread = threading.Thread(
        target=server.serve_forever,
        kwargs={"poll_interval": 0.05},
        name=f"sim-{server.app.kind}",
        daemon=True,
    )
    thread.start()
    return RunningSim(server.app.kind, server.base_url, server, thread)


def run_in_thread(
    kind: SimKind | str, seed: SeedData | str | Path | None = None, **options: Any
) -> tuple[str, Callable[[], None]]:
    """Start a simulator; returns its base URL and the function that stops it."""
    sim = start(kind, seed, **options)
    return sim.base_url, sim.stop


@contextmanager
def running(
    kind: SimKind | str, seed: SeedData | str | Path | None = None, **options: Any
) -> Iterator[RunningSim]:
    sim = start(kind, seed, **options)
    try:
        yield sim
    finally:
        sim.stop()


@dataclass
class SimSet:
    provider: RunningSim
    bank: RunningSim
    insurer: RunningSim
    seed: SeedData

    def outside(self, config: ClientConfig | None = None) -> OutsideSystems:
        """Adapters wired to these simulators (close them when done)."""
        return sim_outside(
            self.provider.base_url,
            self.bank.base_url,
            self.insurer.base_url,
            seed=self.seed,
            config=config,
        )

    def stop(self) -> None:
        for sim in (self.provider, self.bank, self.insurer):
            sim.stop()


def start_all(seed: SeedData | str | Path | None = None, **options: Any) -> SimSet:
    data = resolve_seed(seed)
    sims = {kind: start(kind, data, **options) for kind in SimKind}
    return SimSet(
        provider=sims[SimKind.PROVIDER],
        bank=sims[SimKind.BANK],
        insurer=sims[SimKind.INSURER],
        seed=data,
    )


@contextmanager
def running_all(seed: SeedData | str | Path | None = None, **options: Any) -> Iterator[SimSet]:
    """All three simulators, each on its own ephemeral port."""
    sims = start_all(seed, **options)
    try:
        yield sims
    finally:
        sims.stop()
