"""A virtual My Number card that answers APDUs the way docs/jpki-card.md describes.

State (keys, certificates, attributes, PIN counters) lives in a JSON `*.card` file, saved when a
counter changes, so a locked card stays locked across runs. One file, one counter: every VERIFY
reads the counters from the file and writes them back under a lock on the file (a sidecar
`*.card.lock`), so two processes holding the same card (two agents given the same card files,
`vcard plug` run twice) agree; a card blocked in one is blocked in the other. The card never
holds an individual number: input-support EF0001 does not exist (SELECT answers 6A82); only the
SHA-256 value that EF0003 records is stored, computed from random bytes at issue.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import hashlib
import hmac
import json
import os
import secrets
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed

from madoguchi.card import nextgen
from madoguchi.card.apdu import CommandAPDU, ResponseAPDU, parse_command
from madoguchi.card.errors import SW, CardError, MemoryFailure, StatusWordError
from madoguchi.card.inputsupport import INPUT_SUPPORT_AID, build_basic_four, build_integrity
from madoguchi.card.jpki import JPKI_AID, SHA256_DIGEST_INFO_PREFIX
from madoguchi.card.profiles import JPKI_RSA_2048, PROFILES, KeyType, profile_for_key
from madoguchi.card.testca import TestCA, generate_rsa_key

ATR = bytes.fromhex("3BE000FF8131FE4514")
CARD_FORMAT = "madoguchi-vcard/1"
# The largest card file read: an issued one is about 10 kB.
CARD_FILE_MOST = 1_000_000
#: How the card answers an empty VERIFY for a blocked PIN (both are seen on real cards).
BLOCKED_ANSWERS = ("6984", "63C0")

JPKI = "jpki"
SUPPORT = "support"
_AIDS = {JPKI_AID: JPKI, INPUT_SUPPORT_AID: SUPPORT}

# (app, fid) -> kind: "data" | "pin" | "key"
_PIN_EFS = {
    (JPKI, 0x0018): "auth_pin",
    (JPKI, 0x001B): "sign_pin",
    (SUPPORT, 0x0011): "support_pin",
}
_KEY_EFS = {(JPKI, 0x0017): "auth_pin", (JPKI, 0x001A): "sign_pin"}
# data EF -> PIN that protects it (None: free)
_DATA_EFS: dict[tuple[str, int], str | None] = {
    (JPKI, 0x0001): "sign_pin",
    (JPKI, 0x0002): None,
    (JPKI, 0x0006): None,
    (JPKI, 0x0008): None,
    (JPKI, 0x000A): None,
    (JPKI, 0x000B): None,
    (SUPPORT, 0x0002): "support_pin",
    (SUPPORT, 0x0003): "support_pin",
    (SUPPORT, 0x0004): None,
}


class _CardFileError(Exception):
    """The card file cannot be read or written (or holds another card) during a VERIFY."""


class _SW(Exception):
    def __init__(self, sw: int) -> None:
        self.sw = sw


def _pin_hash(salt: bytes, pin: bytes) -> str:
    return hashlib.sha256(salt + pin).hexdigest()


def _raw_pkcs1_v15_sign(key: rsa.RSAPrivateKey, data: bytes) -> bytes:
    """PKCS#1 v1.5 type-1 padding of `data` as given, then the RSA private operation."""
    k = (key.key_size + 7) // 8
    if len(data) > k - 11:
        raise _SW(SW.WRONG_LENGTH)
    if len(data) == len(SHA256_DIGEST_INFO_PREFIX) + 32 and data.startswith(
        SHA256_DIGEST_INFO_PREFIX
    ):
        # The same bytes (PKCS#1 v1.5 signing is deterministic) from OpenSSL, several times
        # faster than the arithmetic below: the common case (RS256 of a SHA-256 digest).
        digest = data[len(SHA256_DIGEST_INFO_PREFIX) :]
        return key.sign(digest, padding.PKCS1v15(), Prehashed(hashes.SHA256()))
    encoded = b"\x00\x01" + b"\xff" * (k - 3 - len(data)) + b"\x00" + data
    numbers = key.private_numbers()
    m = int.from_bytes(encoded, "big")
    # CRT for speed
    s1 = pow(m, numbers.dmp1, numbers.p)
    s2 = pow(m, numbers.dmq1, numbers.q)
    h = (numbers.iqmp * (s1 - s2)) % numbers.p
    return (s2 + h * numbers.q).to_bytes(k, "big")


@dataclass
class PinState:
    salt: str
    hash: str
    tries: int
    max_tries: int

    def matches(self, pin: bytes) -> bool:
        return hmac.compare_digest(_pin_hash(bytes.fromhex(self.salt), pin), self.hash)

    @classmethod
    def new(cls, pin: str, max_tries: int) -> PinState:
        salt = secrets.token_bytes(16)
        return cls(salt.hex(), _pin_hash(salt, pin.encode()), max_tries, max_tries)


class VirtualCard:
    """The card. Thread-safe: `process` may be called from the vpcd bridge thread."""

    def __init__(self, state: dict[str, Any], path: Path | None = None) -> None:
        if state.get("format") != CARD_FORMAT:
            raise ValueError(f"not a {CARD_FORMAT} card file")
        self.path = path
        self.state = state
        self.atr = bytes.fromhex(state.get("atr", ATR.hex()))
        self.sign_latency = float(state.get("sign_latency", 0.0))
        self.blocked_answer = str(state.get("blocked_answer", "6984"))
        if self.blocked_answer not in BLOCKED_ANSWERS:
            raise ValueError(f"blocked_answer must be one of {BLOCKED_ANSWERS}")
        self.pins = {name: PinState(**value) for name, value in state["pins"].items()}
        key = serialization.load_pem_private_key(state["auth_key_pem"].encode(), password=None)
        if not isinstance(key, (rsa.RSAPrivateKey, ec.EllipticCurvePrivateKey)):
            raise ValueError("card auth key is neither RSA nor EC")
        self._auth_key = key
        self.profile = profile_for_key(key)
        self._files: dict[tuple[str, int], bytes] = {
            (JPKI, 0x0001): b"",
            (JPKI, 0x0002): base64.b64decode(state["auth_ca_der"]),
            (JPKI, 0x0006): _token_info(state.get("token_label", "JPKIAPICCTOKEN2")),
            (JPKI, 0x0008): bytes.fromhex("8F8F00"),
            (JPKI, 0x000A): base64.b64decode(state["auth_cert_der"]),
            (JPKI, 0x000B): base64.b64decode(state["auth_ca_der"]),
            (SUPPORT, 0x0002): base64.b64decode(state["ef0002"]),
            (SUPPORT, 0x0003): base64.b64decode(state["ef0003"]),
            (SUPPORT, 0x0004): base64.b64decode(state.get("ef0004", "")),
        }
        self._lock = threading.RLock()
        self.powered = False
        self.power_on()

    # --- persistence ------------------------------------------------------------------------------

    @classmethod
    def load(cls, path: Path | str) -> VirtualCard:
        """The card a file written by `madoguchi vcard issue` holds. Any other file (a
        certificate, a text file, a card file cut short) is refused naming it and saying in
        plain words what is wrong, as a `CardError` (`agent --virtual /etc/hostname` ended in
        json's traceback, then in the exception's name: `UnicodeDecodeError: 'utf-8' codec…`).
        A file that cannot be read at all is the `OSError` it is (it names the file)."""
        p = Path(path)
        with p.open("rb") as fh:  # a directory: IsADirectoryError, naming it
            data = fh.read(CARD_FILE_MOST + 1)  # not forever from /dev/zero
        reason = ""
        try:
            if len(data) > CARD_FILE_MOST:
                reason = f"it is larger than {CARD_FILE_MOST:,} bytes, which no card file is"
            else:
                state = json.loads(data.decode("utf-8"))
                if not isinstance(state, dict) or state.get("format") != CARD_FORMAT:
                    reason = f"it does not say it is a card ({CARD_FORMAT})"
                else:
                    return cls(state, p)
        except UnicodeDecodeError:
            reason = "it is not text (a card file is JSON text)"
        except json.JSONDecodeError:
            reason = "it is not JSON text (a card file is)"
        except KeyError as exc:
            reason = f"its part {exc.args[0]!r} is missing (a file cut short or edited?)"
        except (ValueError, TypeError, AttributeError):
            # base64's and the key loader's errors, a value of the wrong kind.
            reason = "part of it is damaged (a file edited by hand?)"
        raise CardError(
            f"{p}: not a virtual card file (madoguchi vcard issue writes them): {reason}."
        )

    def save(self, path: Path | str | None = None) -> None:
        """Write the card to its file (or to `path`, which becomes its file), under the file's
        lock, atomically (a temporary file renamed over it)."""
        if path is not None:
            self.path = Path(path)
        with self._file_held():
            self._write()

    def _lock_path(self) -> Path:
        assert self.path is not None
        return self.path.with_name(self.path.name + ".lock")

    @contextlib.contextmanager
    def _file_held(self) -> Iterator[None]:
        """Hold the card file's lock, shared by every process that opens the card. The lock is
        on a sidecar file: each save renames a new file over the card file, so a lock on the
        card file itself would guard a file that is no longer there."""
        if self.path is None:
            yield
            return
        fd = os.open(self._lock_path(), os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # releases the lock

    def _write(self) -> None:
        """Write the state to the file (the caller holds the file's lock)."""
        if self.path is None:
            return
        self.state["pins"] = {name: vars(pin).copy() for name, pin in self.pins.items()}
        tmp = self.path.with_name(self.path.name + ".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            json.dump(self.state, fh, indent=1, ensure_ascii=False)
            fh.flush()
            os.fsync(fh.fileno())
        tmp.replace(self.path)

    def _reload_pins(self) -> None:
        """Take the PIN counters from the file (the caller holds the file's lock): another
        process holding the same card may have spent or reset them since this one loaded it."""
        if self.path is None:
            return
        try:
            with self.path.open("rb") as fh:
                data = fh.read(CARD_FILE_MOST + 1)
            state = json.loads(data.decode("utf-8"))
            if not isinstance(state, dict) or state.get("auth_cert_der") != self.state.get(
                "auth_cert_der"
            ):
                raise _CardFileError(f"{self.path} holds another card now")
            pins = {name: PinState(**value) for name, value in state["pins"].items()}
        except (OSError, ValueError, TypeError, KeyError) as exc:
            raise _CardFileError(f"{self.path}: {exc}") from exc
        if pins.keys() != self.pins.keys():
            raise _CardFileError(f"{self.path}: its PINs are not this card's")
        self.pins = pins

    # --- convenience views (tests, CLI) ------------------------------------------------------------

    @property
    def auth_certificate(self) -> x509.Certificate:
        return x509.load_der_x509_certificate(self._files[(JPKI, 0x000A)])

    @property
    def basic_four_bytes(self) -> bytes:
        """EF0002 of the input-support AP: the four attributes printed on the card's face."""
        return self._files[(SUPPORT, 0x0002)]

    def tries_left(self, pin: str = "auth_pin") -> int:
        """The PIN's counter as the card file holds it (in memory for a card without a file).
        A card file or lock file that cannot be read or made (or a file that holds another
        card now) is `MemoryFailure` naming it, as a VERIFY answers 6581: an `OSError` from the
        lock file escaped, and an unreadable file gave the counter this copy loaded."""
        with self._lock:
            try:
                with self._file_held():
                    self._reload_pins()
                    return self.pins[pin].tries
            except (_CardFileError, OSError) as exc:
                raise MemoryFailure(SW.MEMORY_FAILURE, f"card memory failure: {exc}") from exc

    # --- power ----------------------------------------------------------------------------------

    def power_on(self) -> None:
        """Power on / reset: clears selection, verified state and pending responses."""
        with self._lock:
            self.powered = True
            self.app: str | None = None
            self.current_ef: int | None = None
            self.verified: set[str] = set()
            self.pending = b""

    def power_off(self) -> None:
        with self._lock:
            self.power_on()
            self.powered = False

    reset = power_on

    def latency_for(self, apdu: bytes) -> float:
        return self.sign_latency if len(apdu) >= 2 and apdu[1] == 0x2A else 0.0

    # --- APDU processing ----------------------------------------------------------------------------

    def process(self, apdu: bytes) -> bytes:
        """Answer one command APDU with response data and SW1 SW2."""
        with self._lock:
            if not self.powered:
                self.power_on()
            try:
                command = parse_command(apdu)
            except StatusWordError as exc:
                return exc.sw.to_bytes(2, "big")
            try:
                data = self._dispatch(command)
            except _SW as exc:
                return exc.sw.to_bytes(2, "big")
            return self._respond(data, command.le, command.is_extended)

    def _respond(self, data: bytes, le: int | None, extended: bool) -> bytes:
        if not data:
            return SW.OK.to_bytes(2, "big")
        if le is None:
            # data available but not asked for: T=0 style 61xx, fetched with GET RESPONSE
            self.pending = data
            return bytes((SW.BYTES_REMAINING >> 8, min(len(data), 256) % 256))
        limit = le if extended else min(le, 256)
        if len(data) > limit:
            self.pending = data[limit:]
            return data[:limit] + bytes(
                (SW.BYTES_REMAINING >> 8, min(len(self.pending), 256) % 256)
            )
        return ResponseAPDU(data, SW.OK).to_bytes()

    def _dispatch(self, c: CommandAPDU) -> bytes:
        if c.ins != 0xC0:
            self.pending = b""
        if c.cla == 0x00:
            if c.ins == 0xA4:
                return self._select(c)
            if c.ins == 0x20:
                return self._verify(c)
            if c.ins == 0xB0:
                return self._read_binary(c)
            if c.ins == 0xC0:
                return self._get_response(c)
            raise _SW(SW.INS_NOT_SUPPORTED)
        if c.cla == 0x80:
            if c.ins == 0x2A:
                return self._sign(c)
            raise _SW(SW.INS_NOT_SUPPORTED)
        raise _SW(SW.CLA_NOT_SUPPORTED)

    def _select(self, c: CommandAPDU) -> bytes:
        if c.p1 == 0x04:
            if c.p2 not in (0x0C, 0x00):
                raise _SW(SW.INCORRECT_P1P2)
            app = _AIDS.get(c.data)
            if app is None:
                raise _SW(SW.FILE_NOT_FOUND)
            self.app, self.current_ef = app, None
            return b""
        if c.p1 == 0x02:
            if c.p2 not in (0x0C, 0x00):
                raise _SW(SW.INCORRECT_P1P2)
            if len(c.data) != 2:
                raise _SW(SW.WRONG_LENGTH)
            fid = int.from_bytes(c.data, "big")
            if self.app is None or not self._exists(self.app, fid):
                raise _SW(SW.FILE_NOT_FOUND)
            self.current_ef = fid
            return b""
        # MF (P1=00) and every other selection method
        raise _SW(SW.INCORRECT_P1P2)

    def _exists(self, app: str, fid: int) -> bool:
        key = (app, fid)
        if key in _DATA_EFS:
            return bool(self._files[key]) or key == (JPKI, 0x0001)  # older files lack EF0004
        return key in _PIN_EFS or key in _KEY_EFS

    def _ef_from_sfi(self, sfi: int) -> int:
        if self.app is None or not self._exists(self.app, sfi):
            raise _SW(SW.FILE_NOT_FOUND)
        self.current_ef = sfi
        return sfi

    def _verify(self, c: CommandAPDU) -> bytes:
        if c.p1 != 0x00:
            raise _SW(SW.INCORRECT_P1P2)
        if c.p2 == 0x80:
            fid = self.current_ef
        elif c.p2 & 0x80 and c.p2 & 0x60 == 0:
            fid = self._ef_from_sfi(c.p2 & 0x1F)
        else:
            raise _SW(SW.INCORRECT_P1P2)
        if self.app is None or fid is None:
            raise _SW(SW.COMMAND_NOT_ALLOWED)
        name = _PIN_EFS.get((self.app, fid))
        if name is None:
            raise _SW(SW.COMMAND_NOT_ALLOWED)
        try:
            with self._file_held():
                self._reload_pins()
                return self._check_pin(name, c.data)
        except (_CardFileError, OSError) as exc:
            # A card that cannot read or write its counter answers nothing but an error: it
            # never checks a PIN against a counter another process may have spent.
            self.verified.discard(name)
            raise _SW(SW.MEMORY_FAILURE) from exc

    def _check_pin(self, name: str, given: bytes) -> bytes:
        """VERIFY against the counter just read from the file (the caller holds its lock)."""
        pin = self.pins[name]
        if not given:
            if name in self.verified:
                return b""
            if pin.tries == 0:
                # Real cards answer a blocked PIN's empty VERIFY with 6984 or with 63C0.
                raise _SW(SW.VERIFY_FAILED if self.blocked_answer == "63C0" else SW.PIN_BLOCKED)
            raise _SW(SW.VERIFY_FAILED | pin.tries)
        if pin.tries == 0:
            self.verified.discard(name)
            raise _SW(SW.PIN_BLOCKED)
        if pin.matches(given):
            if pin.tries != pin.max_tries:
                pin.tries = pin.max_tries
                self._write()
            self.verified.add(name)
            return b""
        pin.tries -= 1
        self.verified.discard(name)
        self._write()
        raise _SW(SW.VERIFY_FAILED | pin.tries)

    def _read_binary(self, c: CommandAPDU) -> bytes:
        if c.p1 & 0x80:
            if c.p1 & 0x60:
                raise _SW(SW.INCORRECT_P1P2)
            fid = self._ef_from_sfi(c.p1 & 0x1F)
            offset = c.p2
        else:
            fid_opt = self.current_ef
            if self.app is None or fid_opt is None:
                raise _SW(SW.COMMAND_NOT_ALLOWED)
            fid = fid_opt
            offset = (c.p1 << 8) | c.p2
        assert self.app is not None
        key = (self.app, fid)
        if key not in _DATA_EFS:
            raise _SW(
                SW.INCOMPATIBLE_FILE_STRUCTURE
                if key in _KEY_EFS or key in _PIN_EFS
                else SW.FILE_NOT_FOUND
            )
        needed = _DATA_EFS[key]
        if needed is not None and needed not in self.verified:
            raise _SW(SW.SECURITY_STATUS_NOT_SATISFIED)
        if c.le is None:
            raise _SW(SW.WRONG_LENGTH)
        content = self._files[key]
        if offset >= len(content):
            raise _SW(SW.OFFSET_OUT_OF_RANGE)
        return content[offset : offset + c.le]

    def _get_response(self, c: CommandAPDU) -> bytes:
        if c.p1 or c.p2:
            raise _SW(SW.INCORRECT_P1P2)
        if not self.pending:
            raise _SW(SW.CONDITIONS_NOT_SATISFIED)
        data = self.pending
        self.pending = b""
        return data  # _respond splits again with 61xx when le is shorter

    def _sign(self, c: CommandAPDU) -> bytes:
        if c.p2 == 0x80:
            if self.app != JPKI or self.current_ef not in (0x0017, 0x001A):
                raise _SW(SW.COMMAND_NOT_ALLOWED)
            fid = self.current_ef
        elif c.p2 in (0x97, 0x9A):
            if self.app != JPKI:
                raise _SW(SW.FILE_NOT_FOUND)
            fid = c.p2 & 0x1F
        else:
            raise _SW(SW.INCORRECT_P1P2)
        if c.p1 > 0x05:
            raise _SW(SW.INCORRECT_P1P2)
        pin = _KEY_EFS[(JPKI, fid)]
        if pin not in self.verified:
            raise _SW(SW.SECURITY_STATUS_NOT_SATISFIED)
        if fid != 0x0017:  # the signature key is never usable: nobody knows its password
            raise _SW(SW.SECURITY_STATUS_NOT_SATISFIED)
        if c.le is not None and c.le not in (256,) and not c.is_extended:
            raise _SW(SW.WRONG_LE)
        data = c.data
        key = self._auth_key
        if isinstance(key, ec.EllipticCurvePrivateKey):
            return self._sign_ec(key, c)
        if c.p1 == 0x00:
            if not 1 <= len(data) <= 245:
                raise _SW(SW.WRONG_LENGTH)
            return _raw_pkcs1_v15_sign(key, data)
        if c.p1 == 0x01:
            if not data:
                raise _SW(SW.WRONG_LENGTH)
            return _raw_pkcs1_v15_sign(key, hashlib.sha256(data).digest())
        if c.p1 == 0x02:
            if len(data) != 32:
                raise _SW(SW.WRONG_LENGTH)
            return _raw_pkcs1_v15_sign(key, SHA256_DIGEST_INFO_PREFIX + data)
        if c.p1 == 0x03:
            if not 1 <= len(data) <= 255:
                raise _SW(SW.WRONG_LENGTH)
            return _raw_pkcs1_v15_sign(
                key, SHA256_DIGEST_INFO_PREFIX + hashlib.sha256(data).digest()
            )
        pss = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32)
        if c.p1 == 0x04:
            if len(data) != 32:
                raise _SW(SW.WRONG_LENGTH)
            return key.sign(data, pss, Prehashed(hashes.SHA256()))
        if not 1 <= len(data) <= 255:
            raise _SW(SW.WRONG_LENGTH)
        return key.sign(data, pss, hashes.SHA256())

    def _sign_ec(self, key: ec.EllipticCurvePrivateKey, c: CommandAPDU) -> bytes:
        """PROVISIONAL next-generation signing (assumptions in `madoguchi.card.nextgen`)."""
        if c.p1 != nextgen.SIGN_P1:
            raise _SW(SW.INCORRECT_P1P2)
        signature = nextgen.card_sign(key, c.data)
        if signature is None:
            raise _SW(SW.WRONG_LENGTH)
        return signature


def _token_info(label: str) -> bytes:
    """160-byte CK_TOKEN_INFO-shaped record: label, manufacturer, model, serial, then zeros."""
    out = label.encode("ascii").ljust(32, b" ")
    out += b"JPKI-TEST".ljust(32, b" ") + b"VIRTUAL".ljust(16, b" ") + b"0".ljust(16, b" ")
    return out.ljust(160, b"\x00")


def issue_card(
    ca: TestCA,
    *,
    name: str,
    address: str,
    birth: date,
    sex: str,
    pin: str,
    support_pin: str | None = None,
    now: datetime | None = None,
    key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | None = None,
    profile: str = JPKI_RSA_2048.name,
    sign_latency: float = 0.0,
    blocked_answer: str = "6984",
    path: Path | str | None = None,
) -> VirtualCard:
    """Issue a virtual card: a new auth key (unless `key` is given) of the card `profile`'s type
    (`jpki-rsa2048`, or the provisional `provisional-ecdsa-p384`), an auth certificate from
    `ca`, the basic four attributes, an EF0003 record and the EF0004 that certifies its key."""
    for label, value in (("PIN", pin), ("input-support PIN", support_pin or pin)):
        if not (len(value) == 4 and value.isascii() and value.isdigit()):
            raise ValueError(f"the {label} is 4 digits")
    card_profile = PROFILES[profile]
    if card_profile.key_type is KeyType.ECDSA_P384:
        key = key or nextgen.generate_key()
        lifetime = nextgen.CERTIFICATE_LIFETIME
    else:
        key = key or generate_rsa_key()
        lifetime = None
    if profile_for_key(key) is not card_profile:
        raise ValueError(f"the key does not fit the card profile {profile}")
    cert = ca.issue_auth_cert(key.public_key(), birth, now, lifetime=lifetime)
    ef0002 = build_basic_four(name, address, birth, sex)
    # The individual number is never held: EF0003's first hash covers random bytes.
    number_hash = hashlib.sha256(secrets.token_bytes(32)).digest()
    ef0003 = build_integrity(number_hash, ef0002, ca.support_signer_key)
    sign_password = secrets.token_urlsafe(12)  # unknown to everybody: the sign key stays unused
    state: dict[str, Any] = {
        "format": CARD_FORMAT,
        "atr": ATR.hex(),
        "sign_latency": sign_latency,
        "blocked_answer": blocked_answer,
        "auth_key_pem": key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode(),
        "auth_cert_der": base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode(),
        "auth_ca_der": base64.b64encode(
            ca.certificate.public_bytes(serialization.Encoding.DER)
        ).decode(),
        "token_label": "JPKIAPICCTOKEN2",
        "ef0002": base64.b64encode(ef0002).decode(),
        "ef0003": base64.b64encode(ef0003).decode(),
        "ef0004": base64.b64encode(ca.support_certificate()).decode(),
        "ef0001_sha256": number_hash.hex(),
        "pins": {
            "auth_pin": vars(PinState.new(pin, 3)),
            "sign_pin": vars(PinState.new(sign_password, 5)),
            "support_pin": vars(PinState.new(support_pin or pin, 3)),
        },
    }
    card = VirtualCard(state, Path(path) if path is not None else None)
    card.save()
    return card
