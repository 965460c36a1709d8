"""Real simulators on 127.0.0.1, one per kind for the module; reset before every test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from madoguchi.outside import ClientConfig, HttpBank, HttpInsurer, sim_registry
from madoguchi.outside.registry import ProviderRegistry
from madoguchi.outside.sim import RunningSim, SimKind, start

# Short timeouts and backoff keep the failure tests quick; the read timeout still leaves a
# loaded CI runner plenty of time for a normal answer.
FAST = ClientConfig(connect_timeout=1.0, read_timeout=2.0, attempts=3, backoff_initial=0.01)
# For the timeout tests: the client gives up long before the simulator answers.
IMPATIENT = ClientConfig(connect_timeout=1.0, read_timeout=0.2, attempts=2, backoff_initial=0.01)
LATE_MS = 3000


def _sim(kind: SimKind) -> Iterator[RunningSim]:
    sim = start(kind)
    try:
        yield sim
    finally:
        sim.stop()


@pytest.fixture(scope="session")
def provider_sim_server() -> Iterator[RunningSim]:
    yield from _sim(SimKind.PROVIDER)


@pytest.fixture(scope="session")
def bank_sim_server() -> Iterator[RunningSim]:
    yield from _sim(SimKind.BANK)


@pytest.fixture(scope="session")
def insurer_sim_server() -> Iterator[RunningSim]:
    yield from _sim(SimKind.INSURER)


@pytest.fixture
def provider_sim(provider_sim_server: RunningSim) -> RunningSim:
    provider_sim_server.control.reset()
    return provider_sim_server


@pytest.fixture
def bank_sim(bank_sim_server: RunningSim) -> RunningSim:
    bank_sim_server.control.reset()
    return bank_sim_server


@pytest.fixture
def insurer_sim(insurer_sim_server: RunningSim) -> RunningSim:
    insurer_sim_server.control.reset()
    return insurer_sim_server


@pytest.fixture
def providers(provider_sim: RunningSim) -> Iterator[ProviderRegistry]:
    registry = sim_registry(provider_sim.base_url, config=FAST)
    yield registry
    registry.close()


@pytest.fixture
def bank(bank_sim: RunningSim) -> Iterator[HttpBank]:
    client = HttpBank(bank_sim.base_url, config=FAST)
    yield client
    client.close()


@pytest.fixture
def insurer(insurer_sim: RunningSim) -> Iterator[HttpInsurer]:
    client = HttpInsurer(insurer_sim.base_url, config=FAST)
    yield client
    client.close()
