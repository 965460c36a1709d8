"""The card agent: a loopback HTTP server between the desk page and the card.

Protocol: docs/visits.md ("Agent local API"). Security rules enforced here:

- it listens on loopback only and answers only requests whose Host is its own loopback address
  (no DNS rebinding);
- a request with an ``Origin`` header must carry exactly the server origin (403 otherwise), except
  the PIN pad's own form post, which must carry the agent's own origin; CORS answers the server
  origin only;
- the ``origin`` a token will be signed for must equal the server origin, checked before any PIN
  is asked;
- a PIN arrives only through the PIN pad form (or ``/test/pin`` with virtual cards and
  ``--allow-test-pins``), goes to the card's VERIFY command and is never logged or stored.
"""

from __future__ import annotations

import contextlib
import json
import logging
import queue
import re
import secrets
import socket
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from madoguchi.agent import operations, pinpad
from madoguchi.agent.config import AgentConfig
from madoguchi.agent.operations import RequestError
from madoguchi.agent.reporter import CardEvent, EventReporter
from madoguchi.agent.requests import (
    CANCELLED,
    DONE,
    FAILED,
    PENDING,
    CardRequest,
    Kind,
    RequestBook,
)
from madoguchi.agent.sources import CardSource, PcscSource, TrayError, VirtualTray
from madoguchi.card.errors import CardError, NoCard, PinBlocked, WrongPin
from madoguchi.card.transport import Transport

log = logging.getLogger("madoguchi.agent")

MAX_BODY = 1 << 20
SSE_KEEPALIVE = 15.0
PIN_RE = re.compile(r"[0-9]{4}")

MSG_BLOCKED = "the PIN is blocked; it can be reset only at the municipal office"
MSG_REMOVED = "the card was removed"
MSG_UNDELIVERED = (
    "the server has not confirmed the card's insertion and removal; check the connection "
    "and try again"
)


def _now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        self.status = status
        self.code = code
        super().__init__(message)


def make_source(config: AgentConfig) -> CardSource:
    if config.virtual:
        return VirtualTray(list(config.virtual_cards))
    return PcscSource(config.reader, config.card_poll_interval)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    agent: Agent


class _Server6(_Server):
    address_family = socket.AF_INET6


class Agent:
    """One running agent. `start()` binds and returns the base URL; `stop()` ends everything."""

    def __init__(self, config: AgentConfig, source: CardSource | None = None) -> None:
        self.config = config.validate()
        self.server_origin = config.server_origin
        self.source = source if source is not None else make_source(config)
        self.book = RequestBook(config.request_timeout)
        self._card_lock = threading.Lock()
        self._state_lock = threading.Lock()
        self.card_present = False
        self.cert_fingerprint: str | None = None
        self._subscribers: list[queue.Queue[CardEvent | None]] = []
        self.reporter = EventReporter(
            config.events_url,
            config.credential,
            self.presence_event,
            interval=config.presence_interval,
            timeout=config.report_timeout,
            max_backoff=config.max_backoff,
        )
        self._httpd: _Server | None = None
        self._thread: threading.Thread | None = None
        self.base_url = ""
        self.allowed_hosts: frozenset[str] = frozenset()

    # --- life cycle ---------------------------------------------------------------------------------

    def start(self) -> str:
        host = self.config.listen_host
        bind_host = "127.0.0.1" if host == "localhost" else host
        server_class: type[_Server] = _Server6 if ":" in bind_host else _Server
        httpd = server_class((bind_host, self.config.listen_port), _Handler)
        httpd.agent = self
        self._httpd = httpd
        port = httpd.server_address[1]
        url_host = f"[{bind_host}]" if ":" in bind_host else bind_host
        self.base_url = f"http://{url_host}:{port}"
        hosts = {f"{url_host}:{port}"}
        if bind_host == "127.0.0.1":
            hosts.add(f"localhost:{port}")
        self.allowed_hosts = frozenset(hosts)
        self.reporter.start()
        self.source.start(self._on_card)
        self._thread = threading.Thread(
            target=httpd.serve_forever,
            kwargs={"poll_interval": 0.1},
            name="agent-http",
            daemon=True,
        )
        self._thread.start()
        log.info("card agent listening on %s for %s", self.base_url, self.server_origin)
        return self.base_url

    def stop(self) -> None:
        self.source.stop()
        self.book.cancel_all()
        with self._state_lock:
            for subscriber in self._subscribers:
                subscriber.put(None)
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None
        self.reporter.stop()

    def __enter__(self) -> Agent:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- card state and events --------------------------------------------------------------------

    def presence_event(self) -> CardEvent:
        with self._state_lock:
            return CardEvent("presence", self.cert_fingerprint, self.source.reader, _now_iso())

    def _on_card(self, present: bool) -> None:
        with self._state_lock:
            unchanged = present == self.card_present
        if unchanged and not present:
            return  # the source's first report of an empty reader: nothing was removed
        if present:
            fp: str | None = None
            try:
                with self._card_lock, self.source.session() as transport:
                    fp = operations.read_fingerprint(transport)
            except CardError as exc:
                log.warning("card inserted but its certificate could not be read: %s", exc)
            with self._state_lock:
                self.card_present, self.cert_fingerprint = True, fp
            self._emit(CardEvent("inserted", fp, self.source.reader, _now_iso()))
        else:
            with self._state_lock:
                previous = self.cert_fingerprint
                self.card_present, self.cert_fingerprint = False, None
            self.book.fail_pending("card_removed", MSG_REMOVED)
            self._emit(CardEvent("removed", previous, self.source.reader, _now_iso()))

    def _emit(self, event: CardEvent) -> None:
        log.info("card %s (%s)", event.kind, (event.cert_fingerprint or "-")[:16])
        with self._state_lock:
            for subscriber in self._subscribers:
                subscriber.put(event)
        self.reporter.push(event)

    def subscribe(self) -> queue.Queue[CardEvent | None]:
        q: queue.Queue[CardEvent | None] = queue.Queue()
        with self._state_lock:
            self._subscribers.append(q)
        return q

    def unsubscribe(self, q: queue.Queue[CardEvent | None]) -> None:
        with self._state_lock, contextlib.suppress(ValueError):
            self._subscribers.remove(q)

    def status(self) -> dict[str, Any]:
        with self._state_lock:
            return {
                "reader": self.source.reader,
                "card_present": self.card_present,
                "cert_fingerprint": self.cert_fingerprint,
                "terminal": self.config.terminal,
                "virtual": self.source.virtual,
            }

    # --- requests ---------------------------------------------------------------------------------

    def create_request(self, kind: Kind, body: dict[str, Any]) -> CardRequest:
        """Check the body, read the PIN tries left, register the request (no PIN yet)."""
        fields: dict[str, Any] = {}
        if kind is not Kind.READ_ATTRIBUTES:
            fields["origin"], fields["nonce"] = operations.check_challenge(body, self.server_origin)
        if kind is Kind.SIGN_COMPLETION:
            tx = operations.parse_transaction(body.get("transaction"))
            fields["transaction"], fields["display"] = tx.data, tx.display
        blocked = False
        try:
            with self._card_lock, self.source.session() as transport:
                if kind is Kind.READ_ATTRIBUTES:
                    fields["tries_left"] = operations.support_tries_left(transport)
                else:
                    fields["tries_left"] = operations.auth_tries_left(transport)
        except PinBlocked:
            blocked = True
        except NoCard as exc:
            raise ApiError(409, "no_card", "no card is in the reader") from exc
        except CardError as exc:
            raise ApiError(502, "card_error", f"the card could not be read: {exc}") from exc
        request = self.book.create(kind, **fields)
        if blocked:
            self.book.finish(request, FAILED, error="pin_blocked", message=MSG_BLOCKED)
        return request

    def submit_pin(self, request: CardRequest, pin: str) -> None:
        """Give `pin` to the card for `request`. Wrong PIN: the request stays pending."""
        if request.status != PENDING:
            return
        if not PIN_RE.fullmatch(pin):
            self.book.update(request, notice="pin_format")
            return
        with self._state_lock:
            if request.busy:
                raise ApiError(409, "busy", "a PIN for this request is being checked")
            request.busy = True
        try:
            if request.kind is not Kind.READ_ATTRIBUTES and not self.reporter.wait_delivered(
                self.config.delivery_timeout
            ):
                self.book.finish(
                    request, FAILED, error="events_undelivered", message=MSG_UNDELIVERED
                )
                return
            with self._card_lock:
                if request.status != PENDING:
                    return
                with self.source.session() as transport:
                    result = self._run(request, transport, pin)
            self.book.finish(request, DONE, result)
        except WrongPin as exc:
            if exc.tries_left == 0:
                self.book.finish(request, FAILED, error="pin_blocked", message=MSG_BLOCKED)
            else:
                self.book.update(request, tries_left=exc.tries_left, notice="wrong_pin", busy=False)
        except PinBlocked:
            self.book.finish(request, FAILED, error="pin_blocked", message=MSG_BLOCKED)
        except NoCard:
            self.book.finish(request, FAILED, error="card_removed", message=MSG_REMOVED)
        except CardError as exc:
            log.warning("card operation %s failed: %s", request.kind.value, exc)
            self.book.finish(request, FAILED, error="card_error", message=f"card error: {exc}")
        finally:
            del pin
            if request.busy:
                self.book.update(request, busy=False)

    def _run(self, request: CardRequest, transport: Transport, pin: str) -> dict[str, Any]:
        if request.kind is Kind.READ_ATTRIBUTES:
            return operations.read_attributes(transport, pin)
        assert request.origin is not None
        assert request.nonce is not None
        if request.kind is Kind.SIGN_COMPLETION:
            assert request.transaction is not None
            return operations.sign_completion(
                transport, pin, request.origin, request.nonce, request.transaction
            )
        return operations.authenticate(transport, pin, request.origin, request.nonce)

    def cancel(self, request: CardRequest) -> None:
        self.book.finish(request, CANCELLED)


# --- HTTP ----------------------------------------------------------------------------------------

_REQUEST_PATH = re.compile(r"/requests/(?P<id>[A-Za-z0-9_-]{1,64})(?P<cancel>/cancel)?")
_PINPAD_PATH = re.compile(r"/pinpad/(?P<id>[A-Za-z0-9_-]{1,64})")
_KINDS = {"/authenticate": Kind.AUTHENTICATE, "/sign-completion": Kind.SIGN_COMPLETION}
_KINDS["/read-attributes"] = Kind.READ_ATTRIBUTES


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    server_version = "madoguchi-agent"
    sys_version = ""
    protocol_version = "HTTP/1.0"

    @property
    def agent(self) -> Agent:
        return self.server.agent

    def log_message(self, format: str, *args: Any) -> None:
        # Paths carry request ids (capabilities); bodies may carry PINs: log neither.
        log.debug("http %s", self.command)

    # --- dispatch ----------------------------------------------------------------------------

    def do_OPTIONS(self) -> None:
        self._handle(self._preflight)

    def do_GET(self) -> None:
        self._handle(self._get)

    def do_POST(self) -> None:
        self._handle(self._post)

    def do_PUT(self) -> None:
        self._handle(self._not_allowed)

    do_DELETE = do_PATCH = do_PUT

    def _handle(self, route: Callable[[str, dict[str, list[str]]], None]) -> None:
        parts = urlsplit(self.path)
        try:
            self._check_host()
            route(parts.path, parse_qs(parts.query))
        except ApiError as exc:
            self._json(exc.status, {"error": exc.code, "message": str(exc)})
        except RequestError as exc:
            status = 403 if exc.code == "origin_mismatch" else 400
            self._json(status, {"error": exc.code, "message": str(exc)})
        except TrayError as exc:
            self._json(
                404 if exc.code == "unknown_card" else 409, {"error": exc.code, "message": str(exc)}
            )
        except (BrokenPipeError, ConnectionResetError):
            pass
        except Exception:
            log.exception("agent request failed")
            with contextlib.suppress(OSError):
                self._json(500, {"error": "internal", "message": "internal error in the agent"})

    def _not_allowed(self, path: str, query: dict[str, list[str]]) -> None:
        raise ApiError(405, "method_not_allowed", f"{self.command} is not supported")

    # --- checks -----------------------------------------------------------------------------------

    def _check_host(self) -> None:
        host = self.headers.get("Host", "")
        if host not in self.agent.allowed_hosts:
            raise ApiError(
                403, "forbidden_host", "the Host header must name the agent's loopback address"
            )

    @property
    def _own_origin(self) -> str:
        return "http://" + self.headers.get("Host", "")

    def _check_origin(self, *, own: bool = False) -> None:
        origin = self.headers.get("Origin")
        if own:
            if origin != self._own_origin:
                raise ApiError(
                    403,
                    "forbidden_origin",
                    "the PIN form is accepted only from the PIN pad page itself",
                )
            return
        if origin is not None and origin != self.agent.server_origin:
            raise ApiError(403, "forbidden_origin", f"origin {origin[:100]!r} is not allowed")

    # --- responses -------------------------------------------------------------------------------

    def _common_headers(self, referrer_policy: str = "no-referrer") -> None:
        self.send_header("Access-Control-Allow-Origin", self.agent.server_origin)
        self.send_header("Vary", "Origin")
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Referrer-Policy", referrer_policy)

    def _json(self, status: int, payload: dict[str, Any]) -> None:
        data = json.dumps(payload, ensure_ascii=False).encode("utf-8")
        self.send_response(status)
        self._common_headers()
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _read_body(self) -> bytes:
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError as exc:
            raise ApiError(400, "bad_request", "bad Content-Length") from exc
        if length > MAX_BODY:
            raise ApiError(413, "too_large", f"the body is limited to {MAX_BODY} bytes")
        return self.rfile.read(length) if length > 0 else b""

    def _read_json(self) -> dict[str, Any]:
        raw = self._read_body()
        if not raw:
            return {}
        try:
            body = json.loads(raw)
        except (UnicodeDecodeError, ValueError) as exc:
            raise ApiError(400, "bad_json", "the body is not JSON") from exc
        if not isinstance(body, dict):
            raise ApiError(400, "bad_json", "the body must be a JSON object")
        return body

    # --- routes -----------------------------------------------------------------------------------

    def _preflight(self, path: str, query: dict[str, list[str]]) -> None:
        origin = self.headers.get("Origin")
        if origin != self.agent.server_origin:
            raise ApiError(403, "forbidden_origin", "CORS is answered only for the server origin")
        self.send_response(204)
        self._common_headers()
        self.send_header("Access-Control-Allow-Methods", "GET, POST, OPTIONS")
        self.send_header("Access-Control-Allow-Headers", "Content-Type")
        self.send_header("Access-Control-Max-Age", "600")
        if self.headers.get("Access-Control-Request-Private-Network") == "true":
            self.send_header("Access-Control-Allow-Private-Network", "true")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def _get(self, path: str, query: dict[str, list[str]]) -> None:
        agent = self.agent
        if (m := _PINPAD_PATH.fullmatch(path)) is not None:
            self._check_origin()
            lang = pinpad.pick_lang((query.get("lang") or ["ja"])[0])
            self._pinpad(agent.book.get(m.group("id")), lang)
            return
        self._check_origin()
        if path == "/status":
            self._json(200, agent.status())
        elif path == "/events":
            self._events()
        elif (m := _REQUEST_PATH.fullmatch(path)) is not None and not m.group("cancel"):
            try:
                wait = float((query.get("wait") or ["0"])[0])
            except ValueError as exc:
                raise ApiError(400, "bad_request", "wait must be a number of seconds") from exc
            request = agent.book.wait(m.group("id"), wait)
            if request is None:
                raise ApiError(404, "not_found", "no such request (unknown or expired)")
            self._json(200, request.as_json())
        elif path == "/tray":
            tray = self._tray()
            self._json(
                200,
                {
                    "cards": [
                        {
                            "name": name,
                            "cert_fingerprint": tray.fingerprints[name],
                            "inserted": name == tray.inserted_name,
                        }
                        for name in tray.paths
                    ],
                    "inserted": tray.inserted_name,
                },
            )
        elif path in _KINDS or path in ("/tray/insert", "/tray/remove", "/test/pin"):
            raise ApiError(405, "method_not_allowed", f"use POST for {path}")
        else:
            raise ApiError(404, "not_found", f"no endpoint {path}")

    def _post(self, path: str, query: dict[str, list[str]]) -> None:
        agent = self.agent
        if (m := _PINPAD_PATH.fullmatch(path)) is not None:
            self._check_origin(own=True)
            self._pinpad_post(m.group("id"))
            return
        self._check_origin()
        if path in _KINDS:
            body = self._read_json()
            request = agent.create_request(_KINDS[path], body)
            self._json(
                200,
                {"request_id": request.id, "pinpad_url": f"{agent.base_url}/pinpad/{request.id}"},
            )
        elif (m := _REQUEST_PATH.fullmatch(path)) is not None and m.group("cancel"):
            found = agent.book.get(m.group("id"))
            if found is None:
                raise ApiError(404, "not_found", "no such request (unknown or expired)")
            agent.cancel(found)
            if found.status != CANCELLED:
                raise ApiError(409, "not_pending", f"the request is already {found.status}")
            self._json(200, {"status": CANCELLED})
        elif path == "/tray/insert":
            tray = self._tray()
            name = self._read_json().get("card")
            if not isinstance(name, str):
                raise ApiError(400, "bad_request", "'card' must be the name of a tray card")
            tray.insert(name)
            self._json(200, {"inserted": name, "cert_fingerprint": agent.cert_fingerprint})
        elif path == "/tray/remove":
            self._json(200, {"removed": self._tray().remove()})
        elif path == "/test/pin":
            if not agent.config.allow_test_pins or not agent.source.virtual:
                raise ApiError(
                    404,
                    "not_available",
                    "/test/pin needs virtual cards and --allow-test-pins",
                )
            body = self._read_json()
            request_id, pin = body.get("request_id"), body.get("pin")
            if not isinstance(request_id, str) or not isinstance(pin, str):
                raise ApiError(400, "bad_request", "'request_id' and 'pin' must be strings")
            target = agent.book.get(request_id)
            if target is None:
                raise ApiError(404, "not_found", "no such request (unknown or expired)")
            agent.submit_pin(target, pin)
            self._json(200, target.as_json())
        else:
            raise ApiError(404, "not_found", f"no endpoint {path}")

    def _tray(self) -> VirtualTray:
        source = self.agent.source
        if not isinstance(source, VirtualTray):
            raise ApiError(404, "not_available", "the tray exists only with --virtual card files")
        return source

    # --- server-sent events ------------------------------------------------------------------------

    def _events(self) -> None:
        agent = self.agent
        subscription = agent.subscribe()
        try:
            self.send_response(200)
            self._common_headers()
            self.send_header("Content-Type", "text/event-stream; charset=utf-8")
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(b"retry: 2000\n\n")
            self.wfile.flush()
            while True:
                try:
                    event = subscription.get(timeout=SSE_KEEPALIVE)
                except queue.Empty:
                    self.wfile.write(b": keep-alive\n\n")
                    self.wfile.flush()
                    continue
                if event is None:
                    return
                data = {
                    "kind": event.kind,
                    "cert_fingerprint": event.cert_fingerprint,
                    "at": event.at,
                }
                self.wfile.write(f"event: card\ndata: {json.dumps(data)}\n\n".encode())
                self.wfile.flush()
        except OSError:
            return
        finally:
            agent.unsubscribe(subscription)
            self.close_connection = True

    # --- PIN pad -------------------------------------------------------------------------------------

    def _pinpad(self, request: CardRequest | None, lang: str) -> None:
        nonce = secrets.token_urlsafe(16)
        html = pinpad.render(request, lang, nonce).encode("utf-8")
        self.send_response(200 if request is not None else 404)
        # Not no-referrer: under it a browser sends `Origin: null` with the PIN form's POST, and
        # the agent accepts that POST only with its own origin.
        self._common_headers(referrer_policy="same-origin")
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header(
            "Content-Security-Policy",
            f"default-src 'none'; script-src 'nonce-{nonce}'; style-src 'nonce-{nonce}'; "
            f"form-action 'self'; base-uri 'none'; frame-ancestors {self.agent.server_origin}",
        )
        self.send_header("Content-Length", str(len(html)))
        self.end_headers()
        self.wfile.write(html)

    def _pinpad_post(self, request_id: str) -> None:
        request = self.agent.book.get(request_id)
        if request is None:
            raise ApiError(404, "not_found", "no such request (unknown or expired)")
        ctype = self.headers.get("Content-Type", "").split(";")[0].strip()
        if ctype != "application/x-www-form-urlencoded":
            raise ApiError(415, "bad_request", "the PIN pad posts a form")
        form = parse_qs(self._read_body().decode("utf-8", "replace"), max_num_fields=4)
        lang = pinpad.pick_lang((form.get("lang") or ["ja"])[0])
        pin = (form.get("pin") or [""])[0]
        form.clear()
        self.agent.submit_pin(request, pin)
        del pin
        self.send_response(303)
        self._common_headers()
        self.send_header("Location", f"/pinpad/{request.id}?lang={lang}")
        self.send_header("Content-Length", "0")
        self.end_headers()


@contextlib.contextmanager
def running_agent(config: AgentConfig, source: CardSource | None = None) -> Iterator[Agent]:
    """Start an agent for the duration of the block (tests, demo)."""
    agent = Agent(config, source)
    agent.start()
    try:
        yield agent
    finally:
        agent.stop()


def run_agent_in_thread(
    config: AgentConfig, source: CardSource | None = None
) -> tuple[str, Callable[[], None]]:
    """Start an agent in background threads; returns (base URL, stop function)."""
    agent = Agent(config, source)
    return agent.start(), agent.stop
