"""Transports: how APDU bytes reach a card.

- `Transport`: the protocol every client uses (`transmit`, `reset`).
- `Exclusive`: a transport that can hold the card for a sequence of commands (`transaction`)
  and take up a connection after another program reset the card (`reconnect`);
  `run_exclusive` runs VERIFY + operation that way.
- `VirtualTransport`: in-process, straight into a `VirtualCard` (fast unit tests).
- `PcscTransport`: a card in a PC/SC reader through pyscard (a real reader, or pcscd + vpcd).

Every reader operation takes a timeout and raises `CardTimeout` when it runs out.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from typing import TYPE_CHECKING, Any, Protocol, TypeVar, runtime_checkable

from madoguchi.card.errors import (
    CardReset,
    CardTimeout,
    NoCard,
    PcscUnavailable,
    ReaderNotFound,
    TransportError,
)

if TYPE_CHECKING:
    from madoguchi.card.virtual import VirtualCard

T = TypeVar("T")


@runtime_checkable
class Transport(Protocol):
    def transmit(self, apdu: bytes, timeout: float) -> bytes:
        """Send one command APDU, return the response APDU including SW1 SW2."""
        ...

    def reset(self) -> None:
        """Warm-reset the card (clears verified PIN state)."""
        ...


@runtime_checkable
class Exclusive(Protocol):
    def transaction(self) -> contextlib.AbstractContextManager[None]:
        """Hold the card: no other program's command reaches it until the block ends."""
        ...

    def reconnect(self) -> None:
        """Take up the connection again after `CardReset` (the card's state is fresh)."""
        ...


def run_exclusive(transport: Transport, operation: Callable[[], T], *, retries: int = 1) -> T:
    """Run `operation` (VERIFY + the command that needs it) inside one PC/SC transaction, so no
    other program's commands interleave. If another program reset the card (`CardReset`), the
    card has forgotten the PIN: reconnect and run the whole operation again from the start
    (VERIFY included), at most `retries` times; nothing continues after a reset."""
    if not isinstance(transport, Exclusive):
        return operation()
    attempt = 0
    while True:
        try:
            with transport.transaction():
                return operation()
        except CardReset:
            if attempt >= retries:
                raise
            attempt += 1
            transport.reconnect()


class VirtualTransport:
    """Hands APDUs to an in-process `VirtualCard`; honours the card's simulated latency."""

    def __init__(self, card: VirtualCard) -> None:
        self.card = card
        self.sent: list[bytes] = []

    def transmit(self, apdu: bytes, timeout: float) -> bytes:
        self.sent.append(bytes(apdu))
        delay = self.card.latency_for(apdu)
        if delay > timeout:
            time.sleep(max(0.0, timeout))
            raise CardTimeout(f"card did not answer within {timeout:.1f} s")
        if delay > 0:
            time.sleep(delay)
        return self.card.process(apdu)

    def reset(self) -> None:
        self.card.power_on()

    @property
    def atr(self) -> bytes:
        return self.card.atr


# --- PC/SC ---------------------------------------------------------------------------------------


def _scard() -> Any:
    try:
        # pyscard (PC/SC, a native library) only when a real reader is used; virtual cards need none.
        from smartcard import scard
    except ImportError as exc:  # pragma: no cover - pyscard is a dependency
        raise PcscUnavailable("pyscard is not installed") from exc
    return scard


def _run_with_timeout(fn: Callable[[], T], timeout: float, what: str) -> T:
    """Run a blocking PC/SC call in a daemon thread so the caller can give up after `timeout`."""
    future: Future[T] = Future()

    def runner() -> None:
        try:
            future.set_result(fn())
        except BaseException as exc:
            future.set_exception(exc)

    threading.Thread(target=runner, name=f"pcsc-{what}", daemon=True).start()
    try:
        return future.result(timeout=timeout)
    except FutureTimeout as exc:
        raise CardTimeout(f"{what}: no answer within {timeout:.1f} s") from exc


class PcscContext:
    """A PC/SC context: list readers, wait for card insertion/removal, connect."""

    def __init__(self) -> None:
        scard = _scard()
        self._scard = scard
        hresult, self._ctx = scard.SCardEstablishContext(scard.SCARD_SCOPE_USER)
        if hresult != scard.SCARD_S_SUCCESS:
            raise PcscUnavailable(
                "cannot reach the PC/SC service (is pcscd running?): "
                + scard.SCardGetErrorMessage(hresult)
            )

    def close(self) -> None:
        if self._ctx is not None:
            self._scard.SCardReleaseContext(self._ctx)
            self._ctx = None

    def __enter__(self) -> PcscContext:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def readers(self) -> list[str]:
        scard = self._scard
        hresult, readers = scard.SCardListReaders(self._ctx, [])
        if hresult == scard.SCARD_E_NO_READERS_AVAILABLE:
            return []
        if hresult != scard.SCARD_S_SUCCESS:
            raise PcscUnavailable("cannot list readers: " + scard.SCardGetErrorMessage(hresult))
        return list(readers)

    def pick_reader(self, name: str | None = None) -> str:
        """The reader called `name` (or whose name contains it), else the only/first reader."""
        readers = self.readers()
        if not readers:
            raise ReaderNotFound("no smart card reader is connected")
        if name is None:
            return readers[0]
        if name in readers:
            return name
        matches = [r for r in readers if name in r]
        if not matches:
            raise ReaderNotFound(f"no reader named {name!r}; readers: {', '.join(readers)}")
        return matches[0]

    def card_present(self, reader: str) -> bool:
        scard = self._scard
        hresult, states = scard.SCardGetStatusChange(
            self._ctx, 0, [(reader, scard.SCARD_STATE_UNAWARE)]
        )
        if hresult != scard.SCARD_S_SUCCESS:
            raise ReaderNotFound(f"reader {reader!r}: " + scard.SCardGetErrorMessage(hresult))
        return bool(states[0][1] & scard.SCARD_STATE_PRESENT)

    def _wait(self, reader: str, present: bool, timeout: float) -> None:
        scard = self._scard
        deadline = time.monotonic() + timeout
        state = scard.SCARD_STATE_UNAWARE
        wait_ms = 0
        while True:
            hresult, states = scard.SCardGetStatusChange(self._ctx, wait_ms, [(reader, state)])
            if hresult == scard.SCARD_S_SUCCESS:
                event = states[0][1]
                if bool(event & scard.SCARD_STATE_PRESENT) == present and not (
                    event & scard.SCARD_STATE_MUTE
                ):
                    return
                state = event & ~scard.SCARD_STATE_CHANGED
            elif hresult != scard.SCARD_E_TIMEOUT:
                raise ReaderNotFound(f"reader {reader!r}: " + scard.SCardGetErrorMessage(hresult))
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                what = "insertion" if present else "removal"
                raise CardTimeout(f"no card {what} in {reader!r} within {timeout:.1f} s")
            wait_ms = max(1, int(min(remaining, 1.0) * 1000))

    def wait_for_card(self, reader: str, timeout: float) -> None:
        """Block until a card is present in `reader`; `CardTimeout` after `timeout` seconds."""
        self._wait(reader, True, timeout)

    def wait_for_removal(self, reader: str, timeout: float) -> None:
        """Block until `reader` is empty; `CardTimeout` after `timeout` seconds."""
        self._wait(reader, False, timeout)

    def connect(self, reader: str | None = None, timeout: float = 10.0) -> PcscTransport:
        return PcscTransport.connect(self, self.pick_reader(reader), timeout)


class PcscTransport:
    """A connection to the card in one PC/SC reader (shared mode, T=0 or T=1)."""

    def __init__(self, context: PcscContext, reader: str, hcard: Any, protocol: int) -> None:
        self._context = context
        self._scard = context._scard
        self.reader = reader
        self._hcard = hcard
        self._protocol = protocol
        self._lock = threading.Lock()

    @classmethod
    def connect(cls, context: PcscContext, reader: str, timeout: float = 10.0) -> PcscTransport:
        scard = context._scard

        def do() -> tuple[int, Any, int]:
            result: tuple[int, Any, int] = scard.SCardConnect(
                context._ctx,
                reader,
                scard.SCARD_SHARE_SHARED,
                scard.SCARD_PROTOCOL_T0 | scard.SCARD_PROTOCOL_T1,
            )
            return result

        hresult, hcard, protocol = _run_with_timeout(do, timeout, "connect")
        if hresult in (scard.SCARD_E_NO_SMARTCARD, scard.SCARD_W_REMOVED_CARD):
            raise NoCard(f"no card in {reader!r}")
        if hresult == scard.SCARD_E_UNKNOWN_READER:
            raise ReaderNotFound(f"no reader named {reader!r}")
        if hresult != scard.SCARD_S_SUCCESS:
            raise TransportError(
                f"cannot connect to {reader!r}: " + scard.SCardGetErrorMessage(hresult)
            )
        return cls(context, reader, hcard, protocol)

    def _check(self, hresult: int, what: str) -> None:
        scard = self._scard
        if hresult == scard.SCARD_S_SUCCESS:
            return
        if hresult == scard.SCARD_W_RESET_CARD:
            raise CardReset(f"{what}: the card was reset by another program")
        if hresult in (scard.SCARD_W_REMOVED_CARD, scard.SCARD_E_NO_SMARTCARD):
            raise NoCard(f"{what}: card removed ({scard.SCardGetErrorMessage(hresult)})")
        raise TransportError(f"{what}: " + scard.SCardGetErrorMessage(hresult))

    @contextlib.contextmanager
    def transaction(self, timeout: float = 10.0) -> Iterator[None]:
        """SCardBeginTransaction ... SCardEndTransaction around the block."""
        scard = self._scard

        def begin() -> int:
            result: int = scard.SCardBeginTransaction(self._hcard)
            return result

        self._check(_run_with_timeout(begin, timeout, "begin transaction"), "begin transaction")
        try:
            yield
        finally:
            with contextlib.suppress(Exception):
                scard.SCardEndTransaction(self._hcard, scard.SCARD_LEAVE_CARD)

    def reconnect(self, timeout: float = 10.0) -> None:
        """SCardReconnect without resetting: acknowledges another program's reset."""
        scard = self._scard

        def do() -> tuple[int, int]:
            with self._lock:
                result: tuple[int, int] = scard.SCardReconnect(
                    self._hcard,
                    scard.SCARD_SHARE_SHARED,
                    scard.SCARD_PROTOCOL_T0 | scard.SCARD_PROTOCOL_T1,
                    scard.SCARD_LEAVE_CARD,
                )
                return result

        hresult, protocol = _run_with_timeout(do, timeout, "reconnect")
        self._check(hresult, "reconnect")
        self._protocol = protocol

    def transmit(self, apdu: bytes, timeout: float) -> bytes:
        scard = self._scard

        def do() -> tuple[int, list[int]]:
            with self._lock:
                result: tuple[int, list[int]] = scard.SCardTransmit(
                    self._hcard, self._protocol, list(apdu)
                )
                return result

        hresult, response = _run_with_timeout(do, timeout, "transmit")
        self._check(hresult, "transmit")
        if len(response) < 2:
            # Every answer ends in SW1 SW2: none at all is a card that left mid-command (vpcd
            # reports a closed link as an empty answer), never an answer to parse.
            raise self._no_answer()
        return bytes(response)

    def _no_answer(self) -> TransportError:
        scard = self._scard
        try:
            hresult = scard.SCardStatus(self._hcard)[0]
        except Exception:  # pyscard's own failure: nothing more is known
            hresult = scard.SCARD_S_SUCCESS
        if hresult in (scard.SCARD_W_REMOVED_CARD, scard.SCARD_E_NO_SMARTCARD):
            return NoCard("transmit: the card was removed before it answered")
        return TransportError("transmit: the card gave no answer (was it removed?)")

    def reset(self, timeout: float = 10.0) -> None:
        scard = self._scard

        def do() -> tuple[int, int]:
            with self._lock:
                result: tuple[int, int] = scard.SCardReconnect(
                    self._hcard,
                    scard.SCARD_SHARE_SHARED,
                    scard.SCARD_PROTOCOL_T0 | scard.SCARD_PROTOCOL_T1,
                    scard.SCARD_RESET_CARD,
                )
                return result

        hresult, protocol = _run_with_timeout(do, timeout, "reset")
        self._check(hresult, "reset")
        self._protocol = protocol

    @property
    def atr(self) -> bytes:
        scard = self._scard
        hresult, _reader, _state, _protocol, atr = scard.SCardStatus(self._hcard)
        self._check(hresult, "status")
        return bytes(atr)

    def close(self, *, reset: bool = True) -> None:
        """Disconnect. By default the card is reset, so a verified PIN does not outlive us."""
        if self._hcard is not None:
            scard = self._scard
            disposition = scard.SCARD_RESET_CARD if reset else scard.SCARD_LEAVE_CARD
            scard.SCardDisconnect(self._hcard, disposition)
            self._hcard = None

    def __enter__(self) -> PcscTransport:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
