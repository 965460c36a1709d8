"""The browser tests' teardown: the context's close is bounded and the card agent always stops."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

import pytest

from .conftest import close_context_then_stop


class _Agent:
    def __init__(self) -> None:
        self.stopped = False

    def stop(self) -> None:
        self.stopped = True


class _Impl:
    def __init__(self, close) -> None:
        self.close = close


class _Context:
    """Stands for Playwright's sync BrowserContext: `_sync` runs a coroutine to its end, as the
    sync API does on its event loop, and `_impl_obj.close` is the close that may fail or hang.

    The loop is a fresh one on a thread of its own: a worker that ran another browser file first
    already has Playwright's loop set on this thread, where `asyncio.run` refuses to start."""

    def __init__(self, close) -> None:
        self._impl_obj = _Impl(close)

    def _sync(self, awaitable):
        async def run():
            return await awaitable

        with ThreadPoolExecutor(max_workers=1) as pool:
            return pool.submit(asyncio.run, run()).result()


def test_the_agent_stops_when_the_context_s_close_fails():
    async def broken(reason):
        raise RuntimeError("Target page, context or browser has been closed")

    agent = _Agent()
    with pytest.raises(RuntimeError, match="has been closed"):
        close_context_then_stop(_Context(broken), agent)
    assert agent.stopped


def test_a_close_that_never_ends_fails_the_teardown_and_the_agent_stops():
    async def hangs(reason):
        await asyncio.Event().wait()

    agent = _Agent()
    with pytest.raises(TimeoutError):
        close_context_then_stop(_Context(hangs), agent, seconds=0.2)
    assert agent.stopped


def test_a_real_context_closes_and_the_agent_stops(browser):
    context = browser.new_context()
    context.new_page().set_content("<p>閉じる</p>")
    agent = _Agent()
    close_context_then_stop(context, agent)
    assert agent.stopped
    assert not browser.contexts
