"""A hard bound on each test's time, so a hang fails fast instead of running CI past its limit.

Each test (its setup, call and teardown) runs with `faulthandler.dump_traceback_later(bound,
exit=True)` armed: a test that runs past the bound has every thread's stack written to the
terminal's stderr and the test process ends with status 1 (under pytest-xdist the worker dies
and is reported crashed). The bound is generous, far above any test's own waits, since it is
there for a wait that never ends (a browser or a server waiting on the other), not for slowness.

`TEST_HANG_TIMEOUT` (seconds) in the environment, else the ini option `test_hang_timeout`, else
20 minutes; 0 turns the bound off (to sit in a debugger)."""

from __future__ import annotations

import faulthandler
import os
import sys

import pytest

DEFAULT_SECONDS = 20 * 60
ENV = "TEST_HANG_TIMEOUT"
INI = "test_hang_timeout"

_STDERR = pytest.StashKey[int]()


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini(
        INI,
        f"seconds a test may run before every thread's stack is dumped and the run ends"
        f" (default {DEFAULT_SECONDS}; 0 for none; {ENV} in the environment wins)",
        default=str(DEFAULT_SECONDS),
    )


def bound_seconds(config: pytest.Config) -> float:
    raw = os.environ.get(ENV) or config.getini(INI)
    try:
        seconds = float(raw)
    except ValueError:
        raise pytest.UsageError(f"{ENV} / {INI} must be a number of seconds, not {raw!r}") from None
    return max(seconds, 0.0)


@pytest.hookimpl(trylast=True)
def pytest_configure(config: pytest.Config) -> None:
    bound_seconds(config)  # a wrong value stops the run before any test
    # The terminal's stderr, kept apart: while a test runs, fd 2 is pytest's capture file, which
    # nobody reads once the process has ended.
    stderr = sys.__stderr__
    if stderr is not None:
        config.stash[_STDERR] = os.dup(stderr.fileno())


def pytest_unconfigure(config: pytest.Config) -> None:
    fd = config.stash.get(_STDERR, None)
    if fd is not None:
        faulthandler.cancel_dump_traceback_later()
        os.close(fd)
        del config.stash[_STDERR]


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None):
    seconds = bound_seconds(item.config)
    fd = item.config.stash.get(_STDERR, None)
    if not seconds or fd is None:
        return (yield)
    faulthandler.dump_traceback_later(seconds, exit=True, file=fd)
    try:
        return (yield)
    finally:
        faulthandler.cancel_dump_traceback_later()
