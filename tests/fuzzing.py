"""How long the fuzz tests run: bounded in `make test`, longer on demand.

Each fuzz test asks for `examples(n)`: n in the suite, derandomized (the same examples every
run, so a failure is reproducible and the suite's time is steady). `MADOGUCHI_FUZZ_SCALE=50`
multiplies every count by 50 and draws new random examples each run: an acceptance tester's
longer search (docs/security.md, "Fuzzing").
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

SCALE = max(1, int(os.environ.get("MADOGUCHI_FUZZ_SCALE", "1") or "1"))
DERANDOMIZE = SCALE == 1


def examples(n: int) -> int:
    return n * SCALE


def bounded(n: int) -> settings:
    """The settings of a fuzz loop run inside a test (which holds fixtures): `examples(n)`, no
    deadline or health checks (a live server or a database answers in its own time), no
    example database."""
    return settings(
        max_examples=examples(n),
        deadline=None,
        suppress_health_check=list(HealthCheck),
        derandomize=DERANDOMIZE,
        database=None,
    )
