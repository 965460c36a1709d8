"""The outside systems benefits talk to, built once from settings.

`BENEFITS_OUTSIDE` = {"provider_url", "bank_url", "insurer_url", "connect_timeout",
"read_timeout", "attempts"}
(defaults: the simulators' default ports on 127.0.0.1). Tests swap them with `use(...)`.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from django.conf import settings

from madoguchi.outside import ClientConfig, OutsideSystems, sim_outside

_lock = threading.Lock()
_systems: OutsideSystems | None = None


def _from_settings() -> OutsideSystems:
    conf = getattr(settings, "BENEFITS_OUTSIDE", {})
    config = ClientConfig(
        connect_timeout=float(conf.get("connect_timeout", 2.0)),
        read_timeout=float(conf.get("read_timeout", 5.0)),
        attempts=int(conf.get("attempts", 3)),
    )
    return sim_outside(
        conf.get("provider_url", "http://127.0.0.1:8701"),
        conf.get("bank_url", "http://127.0.0.1:8702"),
        conf.get("insurer_url", "http://127.0.0.1:8703"),
        config=config,
    )


def systems() -> OutsideSystems:
    global _systems
    with _lock:
        if _systems is None:
            _systems = _from_settings()
        return _systems


@contextmanager
def use(replacement: OutsideSystems) -> Iterator[OutsideSystems]:
    """Use other outside systems (tests, the demo) for the duration."""
    global _systems
    with _lock:
        previous, _systems = _systems, replacement
    try:
        yield replacement
    finally:
        with _lock:
            _systems = previous
