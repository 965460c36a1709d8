"""Bridge a `VirtualCard` to pcscd's vpcd driver over TCP ("inserting" it into a reader).

Framing both ways: 2-byte big-endian length, then the payload. A 1-byte payload from vpcd is a
control byte: 00 power off, 01 power on, 02 reset, 04 get ATR (answered with the ATR). Anything
else is a command APDU, answered with the response APDU. Closing the socket removes the card;
a card removed while it works on a command (`sign_latency`) never answers it.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator

from madoguchi.card.errors import CardTimeout, TransportError
from madoguchi.card.virtual import VirtualCard

DEFAULT_VPCD_PORT = 35963
CTRL_OFF, CTRL_ON, CTRL_RESET, CTRL_ATR = 0, 1, 2, 4


class VpcdBridge:
    """Runs the card side of the vpcd protocol in a background thread."""

    def __init__(
        self, card: VirtualCard, port: int = DEFAULT_VPCD_PORT, host: str = "127.0.0.1"
    ) -> None:
        self.card = card
        self.host = host
        self.port = port
        self._sock: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self.error: BaseException | None = None
        self.apdu_count = 0
        self.taken = threading.Event()
        """Set when vpcd first speaks to the card (power on, its ATR): the reader holds it. A
        connection to a slot that holds another card waits unanswered in vpcd's queue until
        that card leaves."""

    def connect(self, timeout: float = 10.0) -> None:
        """Connect to vpcd (retrying while pcscd starts) and start serving the card."""
        deadline = time.monotonic() + timeout
        last: OSError | None = None
        while True:
            try:
                sock = socket.create_connection((self.host, self.port), timeout=1.0)
                break
            except OSError as exc:
                last = exc
                if time.monotonic() >= deadline:
                    raise CardTimeout(
                        f"vpcd is not listening on {self.host}:{self.port} "
                        f"(is pcscd running with the vpcd reader?): {last}"
                    ) from exc
                time.sleep(0.1)
        sock.settimeout(0.5)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._sock = sock
        self._stop.clear()
        self._thread = threading.Thread(target=self._serve, name="vpcd-bridge", daemon=True)
        self._thread.start()

    def _recv_exact(self, n: int) -> bytes | None:
        sock = self._sock
        assert sock is not None
        buf = bytearray()
        while len(buf) < n:
            if self._stop.is_set():
                return None
            try:
                chunk = sock.recv(n - len(buf))
            except TimeoutError:
                continue
            except OSError:
                return None
            if not chunk:
                return None
            buf += chunk
        return bytes(buf)

    def _send(self, payload: bytes) -> None:
        assert self._sock is not None
        self._sock.sendall(len(payload).to_bytes(2, "big") + payload)

    def _serve(self) -> None:
        try:
            while not self._stop.is_set():
                head = self._recv_exact(2)
                if head is None:
                    break
                payload = self._recv_exact(int.from_bytes(head, "big"))
                if payload is None:
                    break
                self.taken.set()
                if len(payload) == 1:
                    ctrl = payload[0]
                    if ctrl == CTRL_OFF:
                        self.card.power_off()
                    elif ctrl in (CTRL_ON, CTRL_RESET):
                        self.card.power_on()
                    elif ctrl == CTRL_ATR:
                        self._send(self.card.atr)
                    continue
                # The card works for `delay` (a signature); pulled out meanwhile (`remove`), it
                # answers nothing: the link closes and the reader reports the card gone, as a
                # real card pulled mid-operation does.
                if self._stop.wait(self.card.latency_for(payload)):
                    break
                response = self.card.process(payload)
                if self._stop.is_set():
                    break
                self._send(response)
                self.apdu_count += 1
        except OSError as exc:
            if not self._stop.is_set():
                self.error = exc
        finally:
            self._close_socket()

    def _close_socket(self) -> None:
        sock, self._sock = self._sock, None
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    @property
    def connected(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def remove(self, timeout: float = 5.0) -> None:
        """Remove the card: close the socket and stop the thread. A command the card is working
        on (a signature's latency) gets no answer: the reader sees the card leave instead."""
        self._stop.set()
        thread = self._thread
        if thread is not None:
            thread.join(timeout)
            if thread.is_alive():
                raise TransportError("vpcd bridge thread did not stop")
        self._close_socket()
        self.card.power_off()

    def wait(self, timeout: float | None = None) -> bool:
        """Wait until the bridge ends (vpcd closed the link); True if it ended."""
        if self._thread is None:
            return True
        self._thread.join(timeout)
        return not self._thread.is_alive()


@contextlib.contextmanager
def plug(
    card: VirtualCard,
    port: int = DEFAULT_VPCD_PORT,
    host: str = "127.0.0.1",
    timeout: float = 10.0,
) -> Iterator[VpcdBridge]:
    """Insert `card` into the vpcd reader on `port` for the duration of the block."""
    bridge = VpcdBridge(card, port, host)
    bridge.connect(timeout)
    try:
        yield bridge
    finally:
        bridge.remove()
