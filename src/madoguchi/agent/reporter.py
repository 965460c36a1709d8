"""Reports card events to the server from a background thread.

``inserted`` / ``removed`` are queued and sent at once, in order; ``presence`` is sent every
interval with the current certificate fingerprint (or null). A failed POST is logged and retried
with a bounded exponential backoff; nothing here ever raises into the agent.

Until the server has answered once (it may still be starting, as in ``make demo``), an
unreachable server is logged once at INFO ("waiting for the server at URL") and further attempts
only at DEBUG; after its first answer every failed delivery is a warning again, so a real outage
stays visible.
"""

from __future__ import annotations

import collections
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

log = logging.getLogger("madoguchi.agent")

MAX_QUEUED = 200


@dataclass(frozen=True)
class CardEvent:
    kind: str  # inserted | removed | presence
    cert_fingerprint: str | None
    reader: str
    at: str  # ISO 8601, UTC

    def as_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "cert_fingerprint": self.cert_fingerprint,
            "reader": self.reader,
            "at": self.at,
        }


class EventReporter:
    def __init__(
        self,
        url: str,
        credential: str,
        presence: Callable[[], CardEvent],
        *,
        interval: float = 2.0,
        timeout: float = 3.0,
        max_backoff: float = 30.0,
        client: httpx.Client | None = None,
    ) -> None:
        self.url = url
        self._presence = presence
        self.interval = interval
        self.max_backoff = max_backoff
        self._client = client or httpx.Client(
            timeout=httpx.Timeout(timeout, connect=min(timeout, 2.0)),
            headers={"Authorization": f"Bearer {credential}"},
            follow_redirects=False,
            trust_env=False,
        )
        self._queue: collections.deque[CardEvent] = collections.deque()
        self._cond = threading.Condition()
        self._stop = False
        self._hurry = False
        self._last_try = 0.0
        self._thread: threading.Thread | None = None
        self.sent = 0
        self.failures = 0
        self.answered = False  # the server has answered at least once
        self._waiting_logged = False

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="agent-reporter", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        with self._cond:
            self._stop = True
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._client.close()

    def wait_delivered(self, timeout: float) -> bool:
        """Wait until every queued ``inserted`` / ``removed`` event has been accepted by the
        server; False if that has not happened within `timeout` seconds.

        The agent signs nothing before this holds: a card swap the server has not heard of
        could otherwise let a signature reach it ahead of the removal that ends the visit."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._queue:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._hurry = True  # a signature is waiting: retry now, not after the backoff
                self._cond.notify_all()
                self._cond.wait(min(left, 0.1))
            return True

    def push(self, event: CardEvent) -> None:
        """Queue an ``inserted`` / ``removed`` event for immediate delivery."""
        with self._cond:
            if len(self._queue) >= MAX_QUEUED:
                dropped = self._queue.popleft()
                log.warning("event queue full: dropped the oldest (%s)", dropped.kind)
            self._queue.append(event)
            self._cond.notify_all()

    def _send(self, event: CardEvent) -> bool:
        try:
            response = self._client.post(self.url, json=event.as_json())
        except httpx.HTTPError as exc:
            self._log_undelivered(event, exc)
            return False
        self.answered = True
        if response.status_code >= 300:
            log.warning(
                "card event %s refused by the server: HTTP %s", event.kind, response.status_code
            )
            return False
        self.sent += 1
        return True

    def _log_undelivered(self, event: CardEvent, exc: httpx.HTTPError) -> None:
        if self.answered:
            log.warning("card event %s not delivered: %s", event.kind, type(exc).__name__)
        elif not self._waiting_logged:
            self._waiting_logged = True
            log.info("waiting for the server at %s", self.url)
        else:
            log.debug("card event %s not delivered yet: %s", event.kind, type(exc).__name__)

    def _run(self) -> None:
        backoff = 0.0
        retry_at = 0.0
        next_presence = time.monotonic()
        while True:
            with self._cond:
                if self._stop:
                    return
                now = time.monotonic()
                if self._hurry:
                    retry_at = min(retry_at, self._last_try + 0.25)
                if self._queue and now < retry_at:
                    self._cond.wait(retry_at - now)
                    continue
                if not self._queue:
                    self._hurry = False
                if not self._queue and now < next_presence:
                    self._cond.wait(next_presence - now)
                    continue
                event = self._queue[0] if self._queue else None
                self._last_try = now
            try:
                if event is None:
                    next_presence = time.monotonic() + self.interval
                    if not self._send(self._presence()):
                        self.failures += 1
                elif self._send(event):
                    with self._cond:
                        if self._queue and self._queue[0] is event:
                            self._queue.popleft()
                        self._cond.notify_all()
                    backoff = 0.0
                else:
                    self.failures += 1
                    backoff = min(max(backoff * 2, 0.25), self.max_backoff)
                    retry_at = time.monotonic() + backoff
            except Exception:  # never let the reporter die
                log.exception("card event reporter error")
                backoff = min(max(backoff * 2, 0.25), self.max_backoff)
                retry_at = time.monotonic() + backoff
                next_presence = time.monotonic() + self.interval
