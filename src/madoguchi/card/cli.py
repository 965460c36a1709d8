"""Logic of `madoguchi vcard ...` and `madoguchi card ...` (the Django commands only call here).

PINs come from the flag, or from a getpass prompt when the flag has no value; they are never
printed or logged.
"""

from __future__ import annotations

import argparse
import getpass
import secrets
import sys
import time
import unicodedata
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from cryptography import x509
from cryptography.hazmat.primitives import hashes

from madoguchi.argtypes import port, seconds
from madoguchi.card.cvcert import load_key_table
from madoguchi.card.errors import CardError, PinBlocked, WrongPin, tries_left_text
from madoguchi.card.inputsupport import InputSupportClient
from madoguchi.card.jpki import JpkiClient, verify_card_signature
from madoguchi.card.profiles import JPKI_RSA_2048, PROFILES
from madoguchi.card.testca import TestCA
from madoguchi.card.transport import PcscContext, PcscTransport
from madoguchi.card.virtual import BLOCKED_ANSWERS, VirtualCard, issue_card
from madoguchi.card.vpcd import DEFAULT_VPCD_PORT, VpcdBridge
from madoguchi.era import date_argument

PROMPT = "\0prompt"  # sentinel: the flag was given without a value
DEFAULT_CA_DIR = Path("var/testca")


class Writer(Protocol):
    def write(self, s: str, /) -> Any: ...


def _line(out: Writer, text: str = "") -> None:
    out.write(text + "\n")


def resolve_pin(value: str | None, label: str, ask: Callable[[str], str] | None = None) -> str:
    if value is None or value == PROMPT:
        try:
            return (ask or getpass.getpass)(f"{label}: ")
        except EOFError:
            # No terminal and nothing on standard input (a script, `< /dev/null`): getpass's
            # EOFError was a traceback.
            raise ValueError(
                f"no {label} was given: run the command in a terminal to be asked for it, or "
                "pipe it on standard input (nothing was sent to the card)."
            ) from None
    return value


# --- argument definitions (shared by the Django commands) -------------------------------------------

JAPAN = ZoneInfo("Asia/Tokyo")

NAME_MOST = 100
ADDRESS_MOST = 200
NAME_HELP = "family and given name separated by U+3000 (at most 100 characters)"


def birth_date(text: str) -> date:
    """A card holder's birth date: a date (`era.date_argument`), not after today in Japan,
    where cards are issued (the server's own zone may be UTC or another)."""
    born = date_argument(text)
    if born > datetime.now(JAPAN).date():
        raise argparse.ArgumentTypeError(
            f"the birth date {born.isoformat()} is after today: no card is issued to it"
        )
    return born


def card_text(what: str, most: int) -> Callable[[str], str]:
    """A text the card holds (its basic four's name or address): not empty, at most `most`
    characters, no control character. A 25,000-character name was an OverflowError's traceback
    (EF0002's offsets are two bytes), and an empty one made a card no desk could name."""

    def parse(text: str) -> str:
        if not text.strip():
            raise argparse.ArgumentTypeError(f"the card's {what} must not be empty")
        if len(text) > most:
            raise argparse.ArgumentTypeError(
                f"the card's {what} is {len(text)} characters; at most {most}"
            )
        if any(unicodedata.category(c) in ("Cc", "Cf") for c in text):
            raise argparse.ArgumentTypeError(
                f"the card's {what} holds a control or format character (a line break, U+202E …)"
            )
        return text

    return parse


def add_vcard_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", required=True)
    issue = sub.add_parser("issue", help="issue a virtual card signed by the test CA")
    issue.add_argument("--name", required=True, type=card_text("name", NAME_MOST), help=NAME_HELP)
    issue.add_argument("--birth", required=True, type=birth_date, help="YYYY-MM-DD")
    issue.add_argument("--sex", required=True, choices=["1", "2", "9"])
    issue.add_argument("--address", required=True, type=card_text("address", ADDRESS_MOST))
    issue.add_argument("--pin", nargs="?", const=PROMPT, default=PROMPT, help="4-digit auth PIN")
    issue.add_argument(
        "--support-pin", nargs="?", const=PROMPT, default=None, help="input-support PIN"
    )
    issue.add_argument("--ca-dir", type=Path, default=DEFAULT_CA_DIR)
    issue.add_argument(
        "--latency", type=seconds(zero=True), default=0.0, help="simulated signing seconds"
    )
    issue.add_argument(
        "--profile",
        choices=sorted(PROFILES),
        default=JPKI_RSA_2048.name,
        help="card profile: today's RSA-2048 card, or the PROVISIONAL next-generation ECDSA card",
    )
    issue.add_argument(
        "--blocked-answer",
        choices=BLOCKED_ANSWERS,
        default="6984",
        help="status word for an empty VERIFY once a PIN is blocked (real cards: either)",
    )
    issue.add_argument("--out", type=Path, required=True)
    plug_p = sub.add_parser("plug", help="insert a virtual card into the vpcd reader")
    plug_p.add_argument("card", type=Path)
    plug_p.add_argument("--port", type=port, default=DEFAULT_VPCD_PORT)
    plug_p.add_argument("--host", default="127.0.0.1")
    plug_p.add_argument("--remove-after", type=seconds(zero=False), default=None, help="seconds")


def add_card_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", required=True)
    sub.add_parser("readers", help="list PC/SC readers")
    show = sub.add_parser("show", help="certificate, PIN counters; basic four with the PIN")
    show.add_argument("--reader", default=None)
    show.add_argument(
        "--pin", nargs="?", const=PROMPT, default=None, help="input-support PIN (4 digits)"
    )
    show.add_argument(
        "--support-key",
        action="append",
        default=None,
        metavar="KEYID=PEM",
        help="trusted J-LIS input-support key: 32 hex digits of its key ID = PEM public key file "
        "(repeatable); checks EF0004 and the signature of EF0003",
    )
    auth = sub.add_parser("auth", help="sign a random challenge with the auth key and verify it")
    auth.add_argument("--reader", default=None)
    auth.add_argument("--pin", nargs="?", const=PROMPT, default=PROMPT, help="auth PIN")
    for p in (show, auth):
        p.add_argument(
            "--wait", type=seconds(zero=True), default=0.0, help="seconds to wait for a card"
        )


def run_vcard(options: dict[str, Any], out: Writer = sys.stdout, err: Writer = sys.stderr) -> int:
    try:
        if options["action"] == "issue":
            return vcard_issue(
                name=options["name"],
                birth=options["birth"],
                sex=options["sex"],
                address=options["address"],
                pin=resolve_pin(options["pin"], "auth PIN"),
                support_pin=(
                    None
                    if options.get("support_pin") is None
                    else resolve_pin(options["support_pin"], "input-support PIN")
                ),
                ca_dir=options["ca_dir"],
                out_path=options["out"],
                latency=options.get("latency", 0.0),
                blocked_answer=options.get("blocked_answer", "6984"),
                profile=options.get("profile") or JPKI_RSA_2048.name,
                out=out,
            )
        return vcard_plug(
            options["card"],
            port=options["port"],
            host=options.get("host", "127.0.0.1"),
            remove_after=options.get("remove_after"),
            out=out,
        )
    except (CardError, ValueError) as exc:
        _line(err, f"error: {exc}")
        return 1
    except OSError as exc:
        _line(err, f"error: {os_error_words(exc)}")
        return 1


def os_error_words(exc: OSError) -> str:
    """An operating system's refusal as a person reads it, naming the file: `/x.card: No such
    file or directory`, not `[Errno 2] No such file or directory: '/x.card'`."""
    words = exc.strerror or str(exc)
    return f"{exc.filename}: {words}" if exc.filename else words


def run_card(options: dict[str, Any], out: Writer = sys.stdout, err: Writer = sys.stderr) -> int:
    try:
        action = options["action"]
        if action == "readers":
            return card_readers(out)
        if action == "show":
            pin = options.get("pin")
            return card_show(
                reader=options.get("reader"),
                pin=None if pin is None else resolve_pin(pin, "input-support PIN"),
                support_keys=options.get("support_key") or (),
                wait=options.get("wait", 0.0),
                out=out,
            )
        return card_auth(
            reader=options.get("reader"),
            pin=resolve_pin(options.get("pin"), "auth PIN"),
            wait=options.get("wait", 0.0),
            out=out,
        )
    except PinBlocked:
        _line(err, "error: the PIN is blocked (reset it at the municipal office)")
        return 1
    except WrongPin as exc:
        if exc.tries_left == 0:
            _line(err, "error: wrong PIN, no tries left: the PIN is now blocked")
        else:
            _line(err, f"error: wrong PIN, {tries_left_text(exc.tries_left)}")
        return 1
    except (CardError, ValueError, OSError) as exc:
        _line(err, f"error: {exc}")
        return 1


# --- vcard ---------------------------------------------------------------------------------------


def vcard_issue(
    *,
    name: str,
    birth: date,
    sex: str,
    address: str,
    pin: str,
    support_pin: str | None,
    ca_dir: Path,
    out_path: Path,
    latency: float = 0.0,
    blocked_answer: str = "6984",
    profile: str = JPKI_RSA_2048.name,
    out: Writer = sys.stdout,
) -> int:
    ca = TestCA.load_or_create(ca_dir)
    # docs/agent.md's `--out var/cards/hanako.card`: the folder is made, as the CA's is.
    out_path.parent.mkdir(parents=True, exist_ok=True)
    card = issue_card(
        ca,
        name=name,
        address=address,
        birth=birth,
        sex=sex,
        pin=pin,
        support_pin=support_pin,
        sign_latency=latency,
        blocked_answer=blocked_answer,
        profile=profile,
        path=out_path,
    )
    cert = card.auth_certificate
    _line(out, f"issued {out_path}")
    _line(
        out,
        f"  auth certificate serial {cert.serial_number}, subject {cert.subject.rfc4514_string()}",
    )
    _line(out, f"  valid until {cert.not_valid_after_utc.isoformat()}")
    _line(out, f"  CA: {ca_dir} (generation {ca.current})")
    return 0


def vcard_plug(
    card_path: Path,
    *,
    port: int = DEFAULT_VPCD_PORT,
    host: str = "127.0.0.1",
    remove_after: float | None = None,
    out: Writer = sys.stdout,
    taken_wait: float = 5.0,
) -> int:
    card = VirtualCard.load(card_path)
    bridge = VpcdBridge(card, port, host)
    bridge.connect()

    def say(text: str) -> None:
        _line(out, text)
        if hasattr(out, "flush"):
            out.flush()

    # vpcd's slot takes one card: a second one's connection waits in its queue, unanswered,
    # until the first leaves. "Inserted" only once the reader has spoken to this card.
    if not bridge.taken.wait(taken_wait):
        say(
            f"card {card_path} is waiting: the reader of vpcd {host}:{port} has not taken it, "
            "as when another card is in it (one card per reader); it goes in when that card "
            "is removed. Ctrl-C gives up"
        )
    deadline = None if remove_after is None else time.monotonic() + remove_after
    inserted = False
    try:
        while deadline is None or time.monotonic() < deadline:
            if not inserted and bridge.taken.is_set():
                inserted = True
                say(f"card {card_path} inserted into vpcd {host}:{port}; Ctrl-C removes it")
            if bridge.wait(0.2):
                say("vpcd closed the connection")
                break
    except KeyboardInterrupt:
        pass
    finally:
        bridge.remove()
    _line(out, "card removed" if inserted else "card not inserted")
    return 0


# --- card ----------------------------------------------------------------------------------------


@contextmanager
def _connect(reader: str | None, wait: float) -> Iterator[PcscTransport]:
    with PcscContext() as ctx:
        name = ctx.pick_reader(reader)
        if wait > 0:
            ctx.wait_for_card(name, wait)
        with ctx.connect(name) as transport:
            yield transport


def card_readers(out: Writer = sys.stdout) -> int:
    with PcscContext() as ctx:
        readers = ctx.readers()
        if not readers:
            _line(out, "no readers")
        for name in readers:
            _line(out, f"{name}\t{'card present' if ctx.card_present(name) else 'empty'}")
    return 0


def _describe_cert(out: Writer, cert: x509.Certificate) -> None:
    _line(out, f"  subject:  {cert.subject.rfc4514_string()}")
    _line(out, f"  issuer:   {cert.issuer.rfc4514_string()}")
    _line(out, f"  serial:   {cert.serial_number}")
    _line(
        out,
        f"  valid:    {cert.not_valid_before_utc.isoformat()} .. {cert.not_valid_after_utc.isoformat()}",
    )
    _line(out, f"  sha256:   {cert.fingerprint(hashes.SHA256()).hex()}")


def _tries(fn: Callable[[], int | None]) -> str:
    try:
        left = fn()
    except PinBlocked:
        return "BLOCKED"
    return "verified" if left is None else tries_left_text(left)


def card_show(
    *,
    reader: str | None = None,
    pin: str | None = None,
    support_keys: Sequence[str] = (),
    wait: float = 0.0,
    out: Writer = sys.stdout,
) -> int:
    with _connect(reader, wait) as transport:
        _line(out, f"reader: {transport.reader}")
        _line(out, f"ATR: {transport.atr.hex(' ').upper()}")
        jpki = JpkiClient(transport)
        token = jpki.read_token_info()
        _line(out, f"token: {token.label}")
        cert = jpki.read_auth_certificate()
        _line(out, "user authentication certificate:")
        _describe_cert(out, cert)
        ca = jpki.read_auth_ca_certificate()
        try:
            cert.verify_directly_issued_by(ca)
            chain = "signed by the card's CA certificate"
        except Exception as exc:
            chain = f"NOT signed by the card's CA certificate ({type(exc).__name__})"
        _line(out, f"  chain:    {chain}")
        _line(out, f"auth PIN: {_tries(jpki.auth_pin_tries_left)}")
        support = InputSupportClient(transport)
        _line(out, f"input-support PIN: {_tries(support.tries_left)}")
        if pin is not None:
            trusted = load_key_table(support_keys) if support_keys else None
            support.verify_pin(pin)
            attrs = support.read_basic_four(trusted=trusted)
            _line(
                out,
                "basic four attributes (EF0002, checked against EF0003"
                + (", EF0004 and the signature):" if trusted else "):"),
            )
            _line(out, f"  name:     {attrs.name}")
            _line(out, f"  address:  {attrs.address}")
            _line(out, f"  birth:    {attrs.birth_date.isoformat()}")
            _line(out, f"  sex:      {attrs.sex}")
    return 0


def card_auth(
    *, reader: str | None = None, pin: str, wait: float = 0.0, out: Writer = sys.stdout
) -> int:
    challenge = secrets.token_bytes(32)
    with _connect(reader, wait) as transport:
        jpki = JpkiClient(transport)
        started = time.monotonic()
        result = jpki.authenticate(pin, challenge)
        elapsed = time.monotonic() - started
    cert = result.certificate
    ok = verify_card_signature(cert, challenge, result.signature)
    now = datetime.now(UTC)
    in_validity = cert.not_valid_before_utc <= now <= cert.not_valid_after_utc
    _line(out, f"certificate: {cert.subject.rfc4514_string()} (serial {cert.serial_number})")
    _line(out, f"challenge:   {challenge.hex()}")
    _line(
        out,
        f"signature:   {len(result.signature)} bytes, {result.algorithm}, {elapsed:.2f} s",
    )
    _line(
        out,
        f"verified:    {'OK' if ok else 'FAILED'}; certificate "
        + ("within" if in_validity else "OUTSIDE")
        + " its validity",
    )
    return 0 if ok else 1
