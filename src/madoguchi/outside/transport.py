"""JSON over HTTP with timeouts, bounded retries and idempotency keys.

Rules (docs/outside.md, "Retries and idempotency"):
- connect and read timeouts are separate and always set;
- connect errors, timeouts, dropped connections, 429 and 500/502/503/504 are retried, at
  most `attempts` times in all, with exponential backoff and jitter; any other 4xx or 5xx
  answer (501, 505, 507 ...: retrying cannot help) is final;
- every POST carries an `Idempotency-Key`, the same one on every attempt, so a retry of a
  request whose answer was lost is replayed by the other side instead of done twice.
"""

from __future__ import annotations

import functools
import logging
import random
import ssl
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from madoguchi.outside.errors import (
    ERRORS_BY_CODE,
    IdempotencyConflict,
    InvalidRequest,
    OutsideAccessDenied,
    OutsideError,
    OutsideProtocolError,
    OutsideTimeout,
    OutsideUnavailable,
    SecurityCodeWrong,
    System,
)

logger = logging.getLogger("madoguchi.outside")

IDEMPOTENCY_HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
ACCESS_DENIED_STATUSES = frozenset({401, 403})


@dataclass(frozen=True)
class ClientConfig:
    """Timeouts in seconds; `attempts` counts the first try."""

    connect_timeout: float = 2.0
    read_timeout: float = 5.0
    attempts: int = 3
    backoff_initial: float = 0.2
    backoff_multiplier: float = 2.0
    backoff_max: float = 2.0
    headers: Mapping[str, str] = field(default_factory=dict)  # e.g. an API key for a real system
    # TLS: None = the shared default context; or an ssl.SSLContext (client certificates, a
    # private CA) for a real system.
    ssl_context: ssl.SSLContext | None = None

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise ValueError("attempts must be at least 1")
        if self.connect_timeout <= 0 or self.read_timeout <= 0:
            raise ValueError("timeouts must be positive")

    def backoff(self, retry: int, rng: random.Random) -> float:
        """Delay before retry number `retry` (1-based): exponential, capped, half jittered."""
        base = min(self.backoff_max, self.backoff_initial * self.backoff_multiplier ** (retry - 1))
        return base / 2 + rng.random() * base / 2


@dataclass(frozen=True)
class JsonResponse:
    status: int
    data: dict[str, Any]
    replayed: bool
    attempts: int


@functools.cache
def shared_ssl_context() -> ssl.SSLContext:
    """One verifying TLS context for every client: building one costs ~90 ms."""
    return httpx.create_ssl_context()


def new_idempotency_key() -> str:
    return str(uuid.uuid4())


class JsonClient:
    """One outside system at one base URL. Thread-safe; reuse it."""

    def __init__(
        self,
        base_url: str,
        *,
        system: System,
        system_name_ja: str | None = None,
        system_name_en: str | None = None,
        config: ClientConfig | None = None,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.system = system
        self.system_name_ja = system_name_ja
        self.system_name_en = system_name_en
        self.config = config or ClientConfig()
        self._sleep = sleep
        self._rng = rng or random.Random()  # noqa: S311 - jitter, not security
        c = self.config
        self._http = httpx.Client(
            base_url=self.base_url,
            timeout=httpx.Timeout(
                connect=c.connect_timeout,
                read=c.read_timeout,
                write=c.read_timeout,
                pool=c.connect_timeout,
            ),
            headers={"Accept": "application/json", **dict(c.headers)},
            transport=transport,
            verify=c.ssl_context or shared_ssl_context(),
            follow_redirects=False,
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> JsonClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _error(self, cls: type[OutsideError], **kwargs: Any) -> OutsideError:
        return cls(
            system=self.system,
            system_name_ja=self.system_name_ja,
            system_name_en=self.system_name_en,
            **kwargs,
        )

    def get(self, path: str) -> JsonResponse:
        return self.request("GET", path)

    def post(
        self, path: str, body: Mapping[str, Any], *, idempotency_key: str | None = None
    ) -> JsonResponse:
        return self.request("POST", path, body=body, idempotency_key=idempotency_key)

    def request(
        self,
        method: str,
        path: str,
        *,
        body: Mapping[str, Any] | None = None,
        idempotency_key: str | None = None,
    ) -> JsonResponse:
        headers: dict[str, str] = {}
        if method != "GET":
            headers[IDEMPOTENCY_HEADER] = idempotency_key or new_idempotency_key()
        attempts = self.config.attempts
        timed_out = False
        last_status: int | None = None
        for attempt in range(1, attempts + 1):
            if attempt > 1:
                self._sleep(self.config.backoff(attempt - 1, self._rng))
            try:
                response = self._http.request(
                    method, path, json=dict(body) if body is not None else None, headers=headers
                )
            except (httpx.ReadTimeout, httpx.WriteTimeout, httpx.PoolTimeout) as exc:
                timed_out = True
                logger.warning(
                    "%s %s: timeout on attempt %d/%d (%s)",
                    method,
                    path,
                    attempt,
                    attempts,
                    type(exc).__name__,
                )
                continue
            except (
                httpx.ConnectError,
                httpx.ConnectTimeout,
                httpx.RemoteProtocolError,
                httpx.ReadError,
                httpx.WriteError,
            ) as exc:
                timed_out = False
                logger.warning(
                    "%s %s: %s on attempt %d/%d",
                    method,
                    path,
                    type(exc).__name__,
                    attempt,
                    attempts,
                )
                continue
            except (httpx.HTTPError, httpx.InvalidURL) as exc:
                # Misconfiguration (bad URL, unsupported scheme, ...): retrying cannot help.
                logger.error("%s %s: %s", method, path, type(exc).__name__)
                raise self._error(OutsideProtocolError, attempts=attempt) from exc
            retry = response.status_code in RETRY_STATUSES
            if retry or attempt > 1:  # an ordinary first-try answer is no news for an operator
                logger.log(
                    logging.WARNING if retry else logging.INFO,
                    "%s %s: HTTP %d on attempt %d/%d",
                    method,
                    path,
                    response.status_code,
                    attempt,
                    attempts,
                )
            if retry:
                timed_out = False
                last_status = response.status_code
                continue
            return self._finish(response, attempt)
        cls = OutsideTimeout if timed_out else OutsideUnavailable
        raise self._error(cls, status=last_status, attempts=attempts)

    def _finish(self, response: httpx.Response, attempt: int) -> JsonResponse:
        try:
            data = response.json()
        except ValueError:
            data = None
        if not isinstance(data, dict):
            # A gateway's 401/403 page is seldom JSON: it still says whose fault it is.
            denied = response.status_code in ACCESS_DENIED_STATUSES
            cls = OutsideAccessDenied if denied else OutsideProtocolError
            raise self._error(cls, status=response.status_code, attempts=attempt)
        if response.status_code < 300:
            replayed = response.headers.get(REPLAYED_HEADER, "").lower() == "true"
            return JsonResponse(response.status_code, data, replayed, attempt)
        raise self._error_from(response.status_code, data, attempt)

    def _error_from(self, status: int, data: dict[str, Any], attempt: int) -> OutsideError:
        err = data.get("error")
        code = err.get("code") if isinstance(err, dict) else None
        message = str(err.get("message", "")) if isinstance(err, dict) else ""
        cls = ERRORS_BY_CODE.get(code) if isinstance(code, str) else None
        if cls is SecurityCodeWrong:
            left = err.get("attempts_left") if isinstance(err, dict) else None
            return SecurityCodeWrong(
                attempts_left=left if isinstance(left, int) else None,
                system=self.system,
                system_name_ja=self.system_name_ja,
                system_name_en=self.system_name_en,
                status=status,
                attempts=attempt,
            )
        if cls is None:
            cls = {
                400: InvalidRequest,
                401: OutsideAccessDenied,
                403: OutsideAccessDenied,
                409: IdempotencyConflict,
            }.get(status, OutsideProtocolError)
        if cls is InvalidRequest:
            return self._error(
                cls, status=status, attempts=attempt, detail_ja=message, detail_en=message
            )
        return self._error(cls, status=status, attempts=attempt)
