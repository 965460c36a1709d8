"""Simulated outside systems: a payment provider host, a bank and a health insurer over HTTP.

No Django here. Start one with `madoguchi sim serve provider|bank|insurer`, or in-process::

    with running_all() as sims:
        outside = sims.outside()
        account = outside.providers.get("sim-pay").verify("7010000000000001", "123")
"""

from madoguchi.outside.sim.control import SimControl
from madoguchi.outside.sim.runner import (
    RunningSim,
    SimSet,
    make_server,
    run_in_thread,
    running,
    running_all,
    start,
    start_all,
)
from madoguchi.outside.sim.seed import default_seed_text, load_seed
from madoguchi.outside.sim.server import Faults, SimKind, SimServer

__all__ = [
    "Faults",
    "RunningSim",
    "SimControl",
    "SimKind",
    "SimServer",
    "SimSet",
    "default_seed_text",
    "load_seed",
    "make_server",
    "run_in_thread",
    "running",
    "running_all",
    "start",
    "start_all",
]
