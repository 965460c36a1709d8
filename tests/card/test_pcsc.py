"""Through real pcscd + vsmartcard-vpcd: the same clients, over PC/SC, as with a real reader."""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from madoguchi.card import cli, errors
from madoguchi.card.inputsupport import InputSupportClient
from madoguchi.card.jpki import JpkiClient, verify_rs256
from madoguchi.card.pcscd import PcscdBusy, PcscdHarness, SharedPcscd, VirtualReader
from madoguchi.card.transport import PcscContext, PcscTransport
from madoguchi.card.virtual import VirtualCard
from madoguchi.card.vpcd import VpcdBridge

from .conftest import PIN, SUPPORT_PIN

pytestmark = pytest.mark.pcsc


@pytest.fixture
def slot(pcscd: SharedPcscd) -> Iterator[VirtualReader]:
    with pcscd.lease() as reader:
        yield reader


@pytest.fixture
def reader(slot: VirtualReader) -> str:
    return slot.name


@pytest.fixture
def insert(slot: VirtualReader) -> Iterator[Callable[[VirtualCard], VpcdBridge]]:
    bridges: list[VpcdBridge] = []

    def do(card: VirtualCard) -> VpcdBridge:
        bridge = VpcdBridge(card, slot.port)
        bridge.connect(timeout=10)
        bridges.append(bridge)
        with PcscContext() as ctx:
            ctx.wait_for_card(slot.name, 10)
        return bridge

    yield do
    for bridge in bridges:
        bridge.remove()
    with PcscContext() as ctx:
        ctx.wait_for_removal(slot.name, 10)


@pytest.fixture
def connected(
    card: VirtualCard, insert: Callable[[VirtualCard], VpcdBridge], reader: str
) -> Iterator[PcscTransport]:
    insert(card)
    with PcscContext() as ctx, ctx.connect(reader) as transport:
        yield transport


def test_reader_is_listed_and_empty(reader: str) -> None:
    with PcscContext() as ctx:
        assert reader in ctx.readers()
        assert not ctx.card_present(reader)
        with pytest.raises(errors.CardTimeout):
            ctx.wait_for_card(reader, 0.3)
        with pytest.raises(errors.ReaderNotFound):
            ctx.pick_reader("no such reader")


def test_read_verify_sign(card: VirtualCard, connected: PcscTransport) -> None:
    assert connected.atr == card.atr
    client = JpkiClient(connected)
    assert client.read_auth_certificate() == card.auth_certificate
    assert client.auth_pin_tries_left() == 3
    result = client.authenticate(PIN, b"challenge over pc/sc")
    assert verify_rs256(result.certificate, b"challenge over pc/sc", result.signature)
    support = InputSupportClient(connected)
    support.verify_pin(SUPPORT_PIN)
    assert support.read_basic_four().name == "山田　太郎"


def test_reset_clears_the_pin(connected: PcscTransport) -> None:
    client = JpkiClient(connected)
    client.verify_auth_pin(PIN)
    assert client.auth_pin_tries_left() is None
    connected.reset()
    assert client.auth_pin_tries_left() == 3
    client.select()
    with pytest.raises(errors.SecurityStatusNotSatisfied):
        client.sign_rs256(b"x")


def test_lockout_and_after(
    card: VirtualCard,
    insert: Callable[[VirtualCard], VpcdBridge],
    reader: str,
) -> None:
    bridge = insert(card)
    with PcscContext() as ctx, ctx.connect(reader) as transport:
        client = JpkiClient(transport)
        for left in (2, 1, 0):
            with pytest.raises(errors.WrongPin) as info:
                client.verify_auth_pin("0000")
            assert info.value.tries_left == left
        with pytest.raises(errors.PinBlocked):
            client.verify_auth_pin(PIN)
        with pytest.raises(errors.PinBlocked):
            client.auth_pin_tries_left()
        # the input-support PIN has its own counter
        assert InputSupportClient(transport).tries_left() == 3
    bridge.remove()
    with PcscContext() as ctx:
        ctx.wait_for_removal(reader, 10)
    # the card file remembers: re-inserted, still blocked; `card show` says so
    insert(VirtualCard.load(card.path))  # type: ignore[arg-type]
    out, err = io.StringIO(), io.StringIO()
    assert cli.run_card({"action": "show", "reader": reader, "pin": None}, out, err) == 0
    assert "auth PIN: BLOCKED" in out.getvalue()
    assert cli.run_card({"action": "auth", "reader": reader, "pin": PIN}, out, err) == 1
    assert "blocked" in err.getvalue()


def test_removal_is_seen(
    card: VirtualCard, insert: Callable[[VirtualCard], VpcdBridge], reader: str
) -> None:
    bridge = insert(card)
    with PcscContext() as ctx:
        transport = ctx.connect(reader)
        JpkiClient(transport).read_token_info()
        bridge.remove()
        ctx.wait_for_removal(reader, 10)
        assert not ctx.card_present(reader)
        with pytest.raises(errors.TransportError):
            JpkiClient(transport).read_token_info()
        transport.close()
        with pytest.raises(errors.NoCard):
            ctx.connect(reader)


def test_cli_auth_and_show(
    card: VirtualCard, insert: Callable[[VirtualCard], VpcdBridge], reader: str
) -> None:
    insert(card)
    out, err = io.StringIO(), io.StringIO()
    assert cli.run_card({"action": "auth", "reader": reader, "pin": PIN}, out, err) == 0, (
        err.getvalue()
    )
    assert "verified:    OK" in out.getvalue()
    out = io.StringIO()
    code = cli.run_card({"action": "show", "reader": reader, "pin": SUPPORT_PIN}, out, err)
    assert code == 0, err.getvalue()
    text = out.getvalue()
    assert "東京都千代田区霞が関１丁目１番１号" in text
    assert "auth PIN: 3 tries left" in text
    assert "individual" not in text.lower()
    out = io.StringIO()
    assert cli.run_card({"action": "readers"}, out, err) == 0
    assert f"{reader}\tcard present" in out.getvalue()


def test_second_pcscd_is_refused_clearly(pcscd: SharedPcscd, tmp_path: Path) -> None:
    from madoguchi.card.pcscd import DEFAULT_BASE_PORT, free_port_pair

    # Free ports below the ephemeral range, so only the socket can be what refuses it.
    other = PcscdHarness(tmp_path / "other", base_port=free_port_pair(DEFAULT_BASE_PORT + 100))
    with pytest.raises(PcscdBusy, match="another pcscd"):
        other.start()
    assert other.pid is None


def test_the_busy_refusal_names_the_pid_on_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Debian's pcscd writes its pid file as "21488\\n\\0": the refusal printed the NUL and broke
    its sentence over two lines. It now names the pid alone."""
    from madoguchi.card import pcscd as module

    pid_file = tmp_path / "pcscd.pid"
    pid_file.write_bytes(b"21488\n\0")
    monkeypatch.setattr(module, "PCSCD_PID_FILE", pid_file)
    monkeypatch.setattr(module, "pcscd_socket_alive", lambda: True)
    monkeypatch.setattr(module, "VPCD_DRIVER", pid_file)
    monkeypatch.setattr(module.shutil, "which", lambda name: "/usr/sbin/pcscd")
    with pytest.raises(PcscdBusy) as refused:
        PcscdHarness(tmp_path / "other", base_port=29990).start()
    assert "another pcscd (pid 21488) already serves" in str(refused.value)
    assert "\0" not in str(refused.value)
    assert "\n" not in str(refused.value)


def test_a_taken_default_port_moves_the_readers_to_the_next_free_pair() -> None:
    """The CI of the fourteenth session failed because another process held port 35990 (inside
    Linux's ephemeral range). The shared harness takes the first pair of free ports instead."""
    import socket

    from madoguchi.card.pcscd import DEFAULT_BASE_PORT, free_port_pair

    start = free_port_pair(DEFAULT_BASE_PORT + 200)
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as holder:
        holder.bind(("127.0.0.1", start + 1))
        holder.listen(1)
        chosen = free_port_pair(start)
        assert chosen != start
        assert chosen >= start + 2
        assert chosen % 2 == start % 2
    assert DEFAULT_BASE_PORT < 32768, "the default lies below Linux's ephemeral port range"


def test_the_shared_state_names_the_ports_the_readers_use(pcscd: SharedPcscd) -> None:
    from madoguchi.card.pcscd import SHARED_ROOT

    state = json.loads((SHARED_ROOT / "state.json").read_text())
    assert state["base_port"] == pcscd.harness.base_port
    assert [r.port for r in pcscd.readers] == [state["base_port"], state["base_port"] + 1]
