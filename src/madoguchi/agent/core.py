"""The card agent: card state, card events and the requests that wait for a PIN.

`Agent` owns the card source, the request book and the event reporter; its HTTP face is in
`madoguchi.agent.http` (server, checks, responses) and `madoguchi.agent.routes` (endpoints).
Protocol: docs/visits.md ("Agent local API"); security rules: docs/agent.md.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import re
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from madoguchi.agent import operations
from madoguchi.agent.config import AgentConfig
from madoguchi.agent.errors import ApiError
from madoguchi.agent.http import AgentHTTPServer, bind
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
from madoguchi.agent.sources import CardSource, PcscSource, VirtualTray
from madoguchi.card.errors import CardError, NoCard, PinBlocked, WrongPin
from madoguchi.card.transport import Transport

log = logging.getLogger("madoguchi.agent")

PIN_RE = re.compile(r"[0-9]{4}")

MSG_BLOCKED = "the PIN is blocked; it can be reset only at the municipal office"
MSG_REMOVED = "the card was removed"
MSG_UNDELIVERED = (
    "the server has not confirmed the card's insertion and removal; check the connection "
    "and try again"
)


def _now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def make_source(config: AgentConfig) -> CardSource:
    if config.virtual:
        return VirtualTray(list(config.virtual_cards))
    return PcscSource(config.reader, config.card_poll_interval)


class Agent:
    """One running agent. `start()` binds and returns the base URL; `stop()` ends everything."""

    def __init__(self, config: AgentConfig, source: CardSource | None = None) -> None:
        self.config = config.validate()
        self.server_origin = config.server_origin
        self.allowed_origins = config.allowed_origins
        self.source = source if source is not None else make_source(config)
        self.support_trust = self.config.support_trust
        self.book = RequestBook(config.request_timeout)
        self._card_lock = threading.Lock()
        self._state_lock = threading.Lock()
        self.card_present = False
        self.cert_fingerprint: str | None = None
        self._subscribers: list[queue.Queue[CardEvent | None]] = []
        self._stopped = False  # set by stop(): a stream subscribing later ends at once
        self.reporter = EventReporter(
            config.events_url,
            config.credential,
            self.presence_event,
            interval=config.presence_interval,
            timeout=config.report_timeout,
            max_backoff=config.max_backoff,
        )
        self._httpd: AgentHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.base_url = ""
        self.allowed_hosts: frozenset[str] = frozenset()

    # --- life cycle ---------------------------------------------------------------------------------

    def start(self) -> str:
        httpd, self.base_url, self.allowed_hosts = bind(
            self, self.config.listen_host, self.config.listen_port
        )
        self._httpd = httpd
        self.reporter.start()
        self.source.start(self._on_card)
        self._thread = threading.Thread(
            target=httpd.serve_forever,
            kwargs={"poll_interval": 0.1},
            name="agent-http",
            daemon=True,
        )
        self._thread.start()
        return self.base_url

    def stop(self) -> None:
        self.source.stop()
        self.book.cancel_all()
        with self._state_lock:
            self._stopped = True
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
        """A queue of the card events to come; `None` in it says the agent has stopped. A stream
        that subscribes once `stop()` has told the streams to end (a request the server accepted
        just before it stopped) is told at once: else it would send keep-alives to a page that
        keeps it open for as long as the page stays, the agent long gone."""
        q: queue.Queue[CardEvent | None] = queue.Queue()
        with self._state_lock:
            if self._stopped:
                q.put(None)
            else:
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
            fields["origin"], fields["nonce"] = operations.check_challenge(
                body, self.allowed_origins
            )
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
            # A read of the name as much as a signature: a name read after an undelivered
            # removal would be taken for the visit's card on the server.
            if not self.reporter.wait_delivered(self.config.delivery_timeout):
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
            return operations.read_attributes(transport, pin, self.support_trust)
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


@contextlib.contextmanager
def running_agent(config: AgentConfig, source: CardSource | None = None) -> Iterator[Agent]:
    """Start an agent for the duration of the block (tests, demo)."""
    agent = Agent(config, source)
    agent.start()
    try:
        yield agent
    finally:
        agent.stop()
