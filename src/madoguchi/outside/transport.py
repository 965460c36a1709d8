"""JSON over HTTP with timeouts, bounded retries and idempotency keys.

Rules (docs/outside.md, "Retries and idempotency"):
- connect and read timeouts are separate and always set, and one attempt's whole exchange
  (connecting, sending, the answer's headers and body) ends within connect + read timeout
  however the bytes arrive: an answer trickled a byte at a time is cut at that deadline;
- connect errors, timeouts, dropped connections, 429 and 500/502/503/504 are retried, at
  most `attempts` times in all, with exponential backoff and jitter; any other 4xx or 5xx
  answer (501, 505, 507 ...: retrying cannot help) is final;
- every POST carries an `Idempotency-Key`, the same one on every attempt, so a retry of a
  request whose answer was lost is replayed by the other side instead of done twice; a 409
  saying that key's first request is still being processed is retried too, never final.

Why a network backend and not a watchdog: httpx's read timeout bounds each read of the socket,
not the answer, and httpx has no total timeout. Streaming the body with a check per chunk would
not see headers trickled in, and a watchdog thread closing the socket races the reading
thread. httpcore, under httpx, does every connect, read, write and TLS handshake through a
`NetworkBackend` it can be given; ours gives each of them at most the time left before the
attempt's deadline (a context variable, so each thread's request has its own), and past it
raises httpcore's own timeout, which httpx reports as `ReadTimeout` (or connect/write): the
same path as any timeout, in the calling thread, with nothing left running.
"""

from __future__ import annotations

import functools
import logging
import random
import ssl
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

import httpcore
import httpx

from madoguchi.outside.errors import (
    ERRORS_BY_CODE,
    IdempotencyConflict,
    IdempotencyInProgress,
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
# A 409 answer to a keyed request saying the key's first request is still being processed
# (ours: `idempotency_in_progress`; Stripe's: `idempotency_key_in_use`). A 409 with no code we
# know is read so too: the IETF Idempotency-Key draft gives 409 that meaning (a different
# request under the same key is its 422), and "not registered" must be true when we say it.
IN_PROGRESS_STATUS = 409


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

    def backoff_base(self, retry: int) -> float:
        """The longest delay before retry number `retry` (1-based): exponential, capped."""
        return min(self.backoff_max, self.backoff_initial * self.backoff_multiplier ** (retry - 1))

    def backoff(self, retry: int, rng: random.Random) -> float:
        """Delay before retry number `retry` (1-based): exponential, capped, half jittered."""
        base = self.backoff_base(retry)
        return base / 2 + rng.random() * base / 2

    @property
    def attempt_seconds(self) -> float:
        """The deadline of one attempt: connecting, sending and the whole answer."""
        return self.connect_timeout + self.read_timeout

    def call_seconds(self) -> float:
        """The longest one call can take: every attempt to its deadline, and the longest
        backoff before each retry. What the outbox worker's lease must exceed (three such
        calls under one claim: docs/outside.md, "The worker"); `madoguchi.settings` checks it
        with the same sum."""
        return self.attempts * self.attempt_seconds + sum(
            self.backoff_base(retry) for retry in range(1, self.attempts)
        )


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


# The attempt under way in this thread: when (time.monotonic()) its exchange must be over.
_deadline: ContextVar[float | None] = ContextVar("madoguchi_outside_deadline", default=None)
_WRITE_CHUNK = 16_384


def _time_left(timeout: float | None, late: type[httpcore.TimeoutException]) -> float | None:
    """`timeout` for one socket operation, cut to the time left before the attempt's deadline;
    past it, `late` is raised (httpx reports it as its own timeout)."""
    deadline = _deadline.get()
    if deadline is None:
        return timeout
    left = deadline - time.monotonic()
    if left <= 0:
        raise late("the attempt's deadline passed before the exchange was over")
    return left if timeout is None else min(timeout, left)


class _DeadlineStream(httpcore.NetworkStream):
    """A connection whose every read, write and TLS handshake ends by the deadline."""

    def __init__(self, stream: httpcore.NetworkStream) -> None:
        self._stream = stream

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._stream.read(max_bytes, _time_left(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        # In pieces: a peer reading our request slowly cannot hold one write past the deadline.
        for start in range(0, len(buffer), _WRITE_CHUNK):
            chunk = buffer[start : start + _WRITE_CHUNK]
            self._stream.write(chunk, _time_left(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._stream.close()

    def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        left = _time_left(timeout, httpcore.ConnectTimeout)
        return _DeadlineStream(self._stream.start_tls(ssl_context, server_hostname, left))

    def get_extra_info(self, info: str) -> Any:
        return self._stream.get_extra_info(info)


class _DeadlineBackend(httpcore.NetworkBackend):
    """httpcore's own sockets, each connection a `_DeadlineStream`."""

    def __init__(self) -> None:
        self._backend = httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        left = _time_left(timeout, httpcore.ConnectTimeout)
        stream = self._backend.connect_tcp(host, port, left, local_address, socket_options)
        return _DeadlineStream(stream)

    def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        left = _time_left(timeout, httpcore.ConnectTimeout)
        return _DeadlineStream(self._backend.connect_unix_socket(path, left, socket_options))

    def sleep(self, seconds: float) -> None:
        self._backend.sleep(seconds)


class DeadlineTransport(httpx.HTTPTransport):
    """httpx's transport, its connection pool on `_DeadlineBackend` (httpx does not pass a
    network backend through; `handle_request` uses `_pool` alone). Direct connections only:
    environment proxy variables are not read (JsonClient sets `trust_env=False`), so every
    request goes through it."""

    def __init__(self, *, ssl_context: ssl.SSLContext) -> None:
        super().__init__(verify=ssl_context, trust_env=False)
        if not isinstance(getattr(self, "_pool", None), httpcore.ConnectionPool):
            raise RuntimeError("httpx.HTTPTransport no longer keeps its pool in _pool")
        self._pool = httpcore.ConnectionPool(
            ssl_context=ssl_context,
            max_connections=100,
            max_keepalive_connections=20,
            keepalive_expiry=5.0,
            network_backend=_DeadlineBackend(),
        )


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
        ssl_context = c.ssl_context or shared_ssl_context()
        self._http = httpx.Client(
            base_url=self.base_url,
            timeout=httpx.Timeout(
                connect=c.connect_timeout,
                read=c.read_timeout,
                write=c.read_timeout,
                pool=c.connect_timeout,
            ),
            headers={"Accept": "application/json", **dict(c.headers)},
            # A transport given (tests' MockTransport) is used as it is; ours holds every
            # attempt to its deadline.
            transport=transport or DeadlineTransport(ssl_context=ssl_context),
            verify=ssl_context,
            trust_env=False,
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
        keyed = method != "GET"
        if keyed:
            headers[IDEMPOTENCY_HEADER] = idempotency_key or new_idempotency_key()
        config = self.config
        attempts = config.attempts
        # Each attempt ends by its deadline, and the call by its own (call_seconds: a backoff
        # that slept longer than asked cannot stretch it).
        call_deadline = time.monotonic() + config.call_seconds()
        failure = OutsideUnavailable  # what the last failed attempt amounts to
        last_status: int | None = None
        tried = 0
        for attempt in range(1, attempts + 1):
            if attempt > 1:
                self._sleep(config.backoff(attempt - 1, self._rng))
                if time.monotonic() >= call_deadline:
                    break
            tried = attempt
            deadline = min(time.monotonic() + config.attempt_seconds, call_deadline)
            token = _deadline.set(deadline)
            try:
                response = self._http.request(
                    method, path, json=dict(body) if body is not None else None, headers=headers
                )
            except (httpx.ReadTimeout, httpx.WriteTimeout, httpx.PoolTimeout) as exc:
                failure = OutsideTimeout
                logger.warning(
                    "%s %s: timeout on attempt %d/%d (%s: %s)",
                    method,
                    path,
                    attempt,
                    attempts,
                    type(exc).__name__,
                    str(exc)[:100] or "no answer in time",
                )
                continue
            except (
                httpx.ConnectError,
                httpx.ConnectTimeout,
                httpx.RemoteProtocolError,
                httpx.ReadError,
                httpx.WriteError,
            ) as exc:
                failure = OutsideUnavailable
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
            finally:
                _deadline.reset(token)
            in_progress = keyed and self._in_progress(response)
            retry = response.status_code in RETRY_STATUSES or in_progress
            if retry or attempt > 1:  # an ordinary first-try answer is no news for an operator
                logger.log(
                    logging.WARNING if retry else logging.INFO,
                    "%s %s: HTTP %d%s on attempt %d/%d",
                    method,
                    path,
                    response.status_code,
                    " (the key's first request is still in progress)" if in_progress else "",
                    attempt,
                    attempts,
                )
            if retry:
                failure = IdempotencyInProgress if in_progress else OutsideUnavailable
                last_status = response.status_code
                continue
            return self._finish(response, attempt)
        raise self._error(failure, status=last_status, attempts=tried)

    @staticmethod
    def _in_progress(response: httpx.Response) -> bool:
        """A 409 saying the key's first request is still being processed (or naming no
        code we know: the IETF draft's meaning of 409); a known code (a conflict, another card)
        stays what it says."""
        if response.status_code != IN_PROGRESS_STATUS:
            return False
        try:
            data = response.json()
        except ValueError:
            return False  # not JSON: an answer not understood (`_finish`)
        if not isinstance(data, dict):
            return False
        err = data.get("error")
        code = err.get("code") if isinstance(err, dict) else None
        cls = ERRORS_BY_CODE.get(code) if isinstance(code, str) else None
        return cls is None or cls is IdempotencyInProgress

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
