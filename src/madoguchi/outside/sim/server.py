"""A small JSON-over-HTTP server shared by the three simulators.

It adds what a real outside system does to every request: latency, transient 5xx failures,
answers that arrive too late, and Stripe-style idempotency (the first answer to a key is
stored and replayed; the same key with a different request is a 409 `idempotency_conflict`;
the same key while its first request is still being processed, a 409
`idempotency_in_progress`, not stored: retry later). A `/_control` endpoint
lets tests and the demo change the faults while the server runs. Requests are logged without
security codes, and with identifiers masked. With a state file (`madoguchi sim serve --state`,
as `madoguchi demo` runs them) what the system holds — accounts, registrations, stored answers
— is written after every request that may change it and read back at start, so a restart
remembers what the madoguchi database does.
"""

from __future__ import annotations

import contextlib
import hashlib
import ipaddress
import json
import logging
import os
import random
import socket
import threading
import time
from abc import ABC, abstractmethod
from dataclasses import asdict, dataclass, fields, replace
from enum import StrEnum
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from madoguchi.outside.sim.seed import SeedData
from madoguchi.outside.validation import mask

logger = logging.getLogger("madoguchi.outside.sim")

MAX_BODY = 1 << 20
MAX_KEYS = 100_000
Answer = tuple[int, dict[str, Any]]


class SimKind(StrEnum):
    PROVIDER = "provider"
    BANK = "bank"
    INSURER = "insurer"


def error(status: int, code: str, message: str, **extra: Any) -> Answer:
    return status, {"error": {"code": code, "message": message, **extra}}


def is_loopback(host: str) -> bool:
    """Whether `host` (a name or an address, an IPv6 one perhaps in brackets) is this machine's
    loopback: ``localhost`` or a loopback address."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.removeprefix("[").removesuffix("]")).is_loopback
    except ValueError:
        return False


def _host_name(header: str) -> str:
    """The name in a Host header, without its port."""
    if header.startswith("["):
        return header.partition("]")[0] + "]"
    return header.rpartition(":")[0] if header.count(":") == 1 else header


def browser_refusal(headers: Any, *, loopback: bool) -> Answer | None:
    """The refusal of a request a web page made, or None. A simulator answers programs: a
    browser page's request carries an Origin (every POST of a page does), and a page that
    reached a loopback simulator through a name of its own resolving to 127.0.0.1 (DNS
    rebinding) names that name in its Host."""
    if loopback and not is_loopback(_host_name(headers.get("Host") or "")):
        return error(
            403,
            "forbidden_host",
            "the Host header must name the simulator's loopback address (localhost or "
            "127.0.0.1); nothing was done",
        )
    if headers.get("Origin") is not None:
        return error(
            403,
            "forbidden_origin",
            "a simulator answers programs, not web pages: a request carrying an Origin header "
            "is refused; nothing was done",
        )
    return None


@dataclass
class Faults:
    """What goes wrong, and how often. `*_next` counters take precedence over the rates."""

    latency_ms: int = 0
    fail_rate: float = 0.0
    timeout_rate: float = 0.0
    hang_ms: int = 10_000  # how long a "timeout" answer is held back; longer than any client waits
    fail_status: int = 503
    fail_next: int = 0
    hang_next: int = 0

    def update(self, changes: dict[str, Any]) -> None:
        names = {f.name: f.type for f in fields(self)}
        for key, value in changes.items():
            if key not in names:
                raise ValueError(f"unknown fault setting {key!r}")
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ValueError(f"{key} must be a number")
            setattr(self, key, float(value) if key.endswith("_rate") else int(value))
        if not (0 <= self.fail_rate <= 1 and 0 <= self.timeout_rate <= 1):
            raise ValueError("rates are between 0 and 1")
        if not 500 <= self.fail_status <= 599:
            raise ValueError("fail_status is a 5xx status")


@dataclass
class Stats:
    requests: int = 0
    processed: int = 0
    replayed: int = 0
    failed: int = 0
    hung: int = 0
    conflicts: int = 0
    in_progress: int = 0  # a key's request arrived while its first was still being processed


@dataclass
class _Stored:
    fingerprint: str
    status: int
    body: dict[str, Any]


class SimApp(ABC):
    """The behaviour of one kind of outside system. Calls are serialised by the server."""

    kind: SimKind
    # Fields whose values never reach a log line, and fields logged masked.
    secret_fields: frozenset[str] = frozenset({"security_code"})
    masked_fields: frozenset[str] = frozenset()

    def __init__(self, seed: SeedData) -> None:
        self.seed = seed
        self.reset()

    @abstractmethod
    def reset(self) -> None:
        """Back to the seeded state."""

    @abstractmethod
    def handle(self, method: str, parts: list[str], body: dict[str, Any]) -> Answer:
        """Answer one request; `parts` is the decoded path split on '/'."""

    def state(self) -> dict[str, Any]:
        """What requests changed since the seed, as JSON (for the state file)."""
        return {}

    def restore(self, state: dict[str, Any]) -> None:  # noqa: B027  (a system with no state)
        """Back to a `state()` written earlier (nothing to restore by default)."""

    def requires_idempotency_key(self, method: str, parts: list[str]) -> bool:
        return False

    def redact(self, body: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in body.items():
            if key in self.secret_fields:
                continue
            if key in self.masked_fields and isinstance(value, str):
                out[key] = mask(value)
            elif isinstance(value, list):
                out[key] = f"[{len(value)} items]"
            else:
                out[key] = value
        return out


class StateFileError(Exception):
    """The state file given to `sim serve --state` is not one this simulator wrote."""


class SimServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(
        self,
        address: tuple[str, int],
        app: SimApp,
        *,
        faults: Faults | None = None,
        random_seed: int | None = None,
        state_path: Path | None = None,
    ) -> None:
        self.app = app
        self.state_path = state_path
        self.faults = faults or Faults()
        self.stats = Stats()
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.random_seed = random_seed
        self.rng = random.Random(random_seed)  # noqa: S311 - fault injection, not security
        self.idempotency: dict[str, _Stored] = {}
        self._in_flight: set[str] = set()  # keys whose first request is being processed
        self._connections: set[socket.socket] = set()
        # Bound to loopback (the default; `--allow-remote` binds another address): only the
        # loopback names are answered (see `browser_refusal`).
        self.loopback = is_loopback(address[0])
        if state_path is not None and state_path.exists():
            self._restore(state_path)
        super().__init__(address, _Handler)

    def _restore(self, path: Path) -> None:
        """Back to a state file written earlier; one that is not this simulator's (another
        kind's, edited, cut short) stops the start with the reason, never half a restore."""
        try:
            saved = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError, RecursionError) as exc:
            raise StateFileError(f"the state file {path} cannot be read ({exc})") from exc
        kind = saved.get("kind") if isinstance(saved, dict) else None
        if kind != str(self.app.kind):
            raise StateFileError(
                f"the state file {path} is a simulated {kind or 'nothing'}'s, "
                f"not the {self.app.kind}'s"
            )
        try:
            self.app.restore(saved.get("app", {}))
            self.idempotency = {k: _Stored(*v) for k, v in saved.get("idempotency", {}).items()}
        except (AttributeError, KeyError, TypeError, ValueError) as exc:
            raise StateFileError(f"the state file {path} is not as the simulator wrote it") from exc

    def _save(self) -> None:
        """Write the state file (call with the lock held): a new file renamed over the old, so
        a crash leaves the previous state, never half of one."""
        if self.state_path is None:
            return
        data = {
            "kind": str(self.app.kind),
            "app": self.app.state(),
            "idempotency": {
                k: [s.fingerprint, s.status, s.body] for k, s in self.idempotency.items()
            },
        }
        partial = self.state_path.with_name(self.state_path.name + ".partial")
        partial.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
        os.replace(partial, self.state_path)

    @property
    def base_url(self) -> str:
        host, port = self.server_address[:2]
        host = str(host)
        return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"

    def control_state(self) -> dict[str, Any]:
        return {
            "kind": str(self.app.kind),
            "faults": asdict(self.faults),
            "stats": asdict(self.stats),
        }

    def apply_control(self, changes: dict[str, Any]) -> dict[str, Any]:
        changes = dict(changes)
        with self.lock:
            if changes.pop("reset_state", False):
                self.app.reset()
                self.idempotency.clear()
                self.stats = Stats()
                self._save()
            if changes.pop("reset_stats", False):
                self.stats = Stats()
            if changes.pop("reset_faults", False):
                self.faults = Faults()
            if "random_seed" in changes:
                seed = changes.pop("random_seed")
                self.rng = random.Random(seed)  # noqa: S311
            proposed = replace(self.faults)
            proposed.update(changes)  # raises before anything changes
            self.faults = proposed
            return self.control_state()

    def process_request(self, request: Any, client_address: Any) -> None:
        with self.lock:
            self._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self.lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def stop(self) -> None:
        """Stop listening and cut every open connection (keep-alive ones too)."""
        self.stopping.set()
        self.shutdown()
        self.server_close()
        with self.lock:
            connections = list(self._connections)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)

    def _draw(self, counter: str, rate: float) -> bool:
        """One fault decision (call with the lock held)."""
        if getattr(self.faults, counter) > 0:
            setattr(self.faults, counter, getattr(self.faults, counter) - 1)
            return True
        return rate > 0 and self.rng.random() < rate

    def process(
        self, method: str, path: str, body: dict[str, Any], key: str | None
    ) -> tuple[int, dict[str, Any], bool, bool]:
        """Returns (status, body, replayed, hang)."""
        parts = [unquote(p) for p in path.strip("/").split("/")] if path.strip("/") else []
        tracked = key if method == "POST" else None
        with self.lock:
            self.stats.requests += 1
            if tracked is not None:
                if tracked in self._in_flight:
                    self.stats.in_progress += 1
                    return (
                        *error(
                            409,
                            "idempotency_in_progress",
                            "a request with this Idempotency-Key is still being processed; "
                            "retry later",
                        ),
                        False,
                        False,
                    )
                self._in_flight.add(tracked)
        try:
            return self._process(method, path, parts, body, key)
        finally:
            if tracked is not None:
                with self.lock:
                    self._in_flight.discard(tracked)

    def _process(
        self, method: str, path: str, parts: list[str], body: dict[str, Any], key: str | None
    ) -> tuple[int, dict[str, Any], bool, bool]:
        with self.lock:
            latency = self.faults.latency_ms / 1000
            fail = self._draw("fail_next", self.faults.fail_rate)
            hang = not fail and self._draw("hang_next", self.faults.timeout_rate)
            fail_status = self.faults.fail_status
        if latency:
            self.stopping.wait(latency)
        if fail:
            with self.lock:
                self.stats.failed += 1
            return (*error(fail_status, "unavailable", "simulated failure"), False, False)
        if method == "POST" and not key and self.app.requires_idempotency_key(method, parts):
            return (
                *error(400, "invalid_request", "an Idempotency-Key header is required"),
                False,
                False,
            )
        with self.lock:
            if key:
                canonical = json.dumps([method, path, body], sort_keys=True, ensure_ascii=False)
                fingerprint = hashlib.sha256(canonical.encode()).hexdigest()
                stored = self.idempotency.get(key)
                if stored is not None:
                    if stored.fingerprint != fingerprint:
                        self.stats.conflicts += 1
                        return (
                            *error(
                                409,
                                "idempotency_conflict",
                                "this Idempotency-Key was used for a different request",
                            ),
                            False,
                            False,
                        )
                    self.stats.replayed += 1
                    self.stats.hung += int(hang)
                    return stored.status, stored.body, True, hang
            status, answer = self.app.handle(method, parts, body)
            self.stats.processed += 1
            if key and status < 500:
                self.idempotency[key] = _Stored(fingerprint, status, answer)
                if len(self.idempotency) > MAX_KEYS:  # a long demo run: forget the oldest
                    del self.idempotency[next(iter(self.idempotency))]
            if hang:
                self.stats.hung += 1
            if method == "POST" and status < 500:
                self._save()
            return status, answer, False, hang


class _Handler(BaseHTTPRequestHandler):
    server: SimServer
    protocol_version = "HTTP/1.1"
    timeout = 30  # idle keep-alive connections give their thread back
    disable_nagle_algorithm = True  # headers and body are two writes: avoid the 40 ms stall

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def log_message(self, format: str, *args: Any) -> None:
        """Silenced: requests are logged by `_dispatch`, redacted."""

    def _dispatch(self, method: str) -> None:
        started = time.monotonic()
        path = urlsplit(self.path).path
        refused = browser_refusal(self.headers, loopback=self.server.loopback)
        if refused is not None:
            self.close_connection = True  # its body, if any, is not read
            self._send(*refused)
            return
        try:
            length = int(self.headers.get("Content-Length") or "0", 10)
        except ValueError:
            length = -1
        if length < 0:
            self.close_connection = True  # where this request ends is unknown
            self._send(*error(400, "invalid_request", "Content-Length is not a length in bytes"))
            return
        if length > MAX_BODY:
            self._send(*error(413, "invalid_request", "request body too large"))
            return
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else {}
        except (ValueError, RecursionError):  # not JSON, or nested deeper than the parser goes
            body = None
        if not isinstance(body, dict):
            self._send(*error(400, "invalid_request", "the body must be a JSON object"))
            return
        try:  # a lone surrogate (\ud800) parses but is no text: it could be neither compared
            json.dumps(body, ensure_ascii=False).encode("utf-8")  # nor echoed in the answer
        except UnicodeEncodeError:
            self._send(*error(400, "invalid_request", "the body's text is not valid Unicode"))
            return
        server = self.server
        if path == "/_health":
            self._send(200, {"ok": True, "kind": str(server.app.kind)})
            return
        if path == "/_control":
            try:
                state = server.apply_control(body) if method == "POST" else server.control_state()
            except ValueError as exc:
                self._send(*error(400, "invalid_request", str(exc)))
                return
            self._send(200, state)
            return
        key = self.headers.get("Idempotency-Key") or None
        if key is not None and len(key) > 255:
            self._send(
                *error(400, "invalid_request", "an Idempotency-Key is at most 255 characters")
            )
            return
        status, answer, replayed, hang = server.process(method, path, body, key)
        if hang:
            # The answer is ready (and stored under its key) but arrives after the client gave up.
            server.stopping.wait(server.faults.hang_ms / 1000)
        logger.info(
            "%s %s %s -> %d%s%s key=%s %s (%.0f ms)",
            server.app.kind,
            method,
            path,
            status,
            " replayed" if replayed else "",
            " late" if hang else "",
            (key or "-")[:12],
            json.dumps(server.app.redact(body), ensure_ascii=False),
            (time.monotonic() - started) * 1000,
        )
        self._send(status, answer, replayed=replayed)

    def _send(self, status: int, body: dict[str, Any], *, replayed: bool = False) -> None:
        data = json.dumps(body, ensure_ascii=False).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            if replayed:
                self.send_header("Idempotent-Replayed", "true")
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
