"""Pending card requests: one PIN pad each, long-polled by the desk page.

A request id is 128 random bits (it is the only key to the PIN pad and the result). At most one
request is pending at a time: a new one cancels the previous one (the desk page moved on).
"""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

PENDING, DONE, FAILED, CANCELLED = "pending", "done", "failed", "cancelled"
KEEP_FINISHED = 600.0  # seconds a finished request stays readable
MAX_WAIT = 30.0


class Kind(StrEnum):
    AUTHENTICATE = "authenticate"
    SIGN_COMPLETION = "sign-completion"
    READ_ATTRIBUTES = "read-attributes"

    @property
    def pin(self) -> str:
        """Which PIN this request asks for."""
        return "support" if self is Kind.READ_ATTRIBUTES else "auth"


@dataclass
class CardRequest:
    id: str
    kind: Kind
    created: float
    expires: float
    origin: str | None = None
    nonce: str | None = None
    transaction: bytes | None = None
    display: tuple[str, ...] = ()
    status: str = PENDING
    result: dict[str, Any] | None = None
    error: str | None = None
    message: str | None = None
    tries_left: int | None = None
    notice: str | None = None
    """PIN pad notice after a refused attempt: ``wrong_pin`` or ``pin_format``."""
    finished: float | None = None
    version: int = 0
    busy: bool = field(default=False)
    """A PIN is being checked by the card right now (a second submission is refused)."""

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"status": self.status}
        if self.status == PENDING:
            out["tries_left"] = self.tries_left
        if self.result is not None:
            out["result"] = self.result
        if self.error is not None:
            out["error"] = self.error
            out["message"] = self.message or ""
        return out


class RequestBook:
    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self._requests: dict[str, CardRequest] = {}
        self._cond = threading.Condition()

    def create(self, kind: Kind, **fields: Any) -> CardRequest:
        now = time.monotonic()
        with self._cond:
            self._sweep(now)
            for other in self._requests.values():
                if other.status == PENDING:
                    self._finish(
                        other, CANCELLED, None, "superseded", "a newer request replaced it"
                    )
            request = CardRequest(
                secrets.token_urlsafe(16), kind, now, now + self.timeout, **fields
            )
            self._requests[request.id] = request
            self._cond.notify_all()
            return request

    def get(self, request_id: str) -> CardRequest | None:
        with self._cond:
            self._sweep(time.monotonic())
            return self._requests.get(request_id)

    def pending(self) -> list[CardRequest]:
        with self._cond:
            return [r for r in self._requests.values() if r.status == PENDING]

    def wait(self, request_id: str, timeout: float) -> CardRequest | None:
        """Block until the request changes (or stops pending) or `timeout` runs out."""
        deadline = time.monotonic() + max(0.0, min(timeout, MAX_WAIT))
        with self._cond:
            request = self._requests.get(request_id)
            if request is None:
                return None
            seen = request.version
            while request.status == PENDING and request.version == seen:
                now = time.monotonic()
                self._sweep(now)
                remaining = min(deadline, request.expires) - now
                if remaining <= 0 or request.status != PENDING:
                    break
                self._cond.wait(remaining)
            self._sweep(time.monotonic())
            return request

    def update(self, request: CardRequest, **changes: Any) -> None:
        with self._cond:
            for name, value in changes.items():
                setattr(request, name, value)
            request.version += 1
            self._cond.notify_all()

    def finish(
        self,
        request: CardRequest,
        status: str,
        result: dict[str, Any] | None = None,
        error: str | None = None,
        message: str | None = None,
    ) -> bool:
        """Move a pending request to its final state; False if it had already finished."""
        with self._cond:
            if request.status != PENDING:
                return False
            self._finish(request, status, result, error, message)
            return True

    def fail_pending(self, error: str, message: str) -> int:
        with self._cond:
            pending = [r for r in self._requests.values() if r.status == PENDING]
            for request in pending:
                self._finish(request, FAILED, None, error, message)
            return len(pending)

    def cancel_all(self) -> None:
        with self._cond:
            for request in self._requests.values():
                if request.status == PENDING:
                    self._finish(request, CANCELLED, None, "agent_stopped", "the agent stopped")

    def _finish(
        self,
        request: CardRequest,
        status: str,
        result: dict[str, Any] | None,
        error: str | None,
        message: str | None,
    ) -> None:
        request.status = status
        request.result = result
        request.error = error
        request.message = message
        request.finished = time.monotonic()
        request.busy = False
        request.version += 1
        self._cond.notify_all()

    def _sweep(self, now: float) -> None:
        for request in list(self._requests.values()):
            if request.status == PENDING and now >= request.expires and not request.busy:
                self._finish(request, FAILED, None, "timeout", "no PIN was entered in time")
            elif request.finished is not None and now - request.finished > KEEP_FINISHED:
                del self._requests[request.id]
