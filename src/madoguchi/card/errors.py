"""Typed errors of the card layer. Every failure the layer reports is a `CardError`."""

from __future__ import annotations

from enum import IntEnum


class CardError(Exception):
    """Base class of every error raised by `madoguchi.card`."""


# --- transport level -------------------------------------------------------------------------


class TransportError(CardError):
    """The reader or the link to the card failed."""


class CardTimeout(TransportError):
    """The reader did not answer within the timeout."""


class NoCard(TransportError):
    """No card is present in the reader (or it was removed)."""


class CardReset(TransportError):
    """Another program reset the card (SCARD_W_RESET_CARD): any verified PIN is gone. Reconnect
    and authenticate again; never continue the interrupted operation."""


class ReaderNotFound(TransportError):
    """No reader of that name, or no reader at all."""


class PcscUnavailable(TransportError):
    """The PC/SC service (pcscd) is not running or not reachable."""


# --- data level --------------------------------------------------------------------------------


class MalformedResponse(CardError):
    """The card answered something that cannot be parsed."""


class TLVError(MalformedResponse):
    """TLV data is truncated or inconsistent."""


class IntegrityError(CardError):
    """Data read from the card does not match its integrity record."""


class RefusedOperation(CardError):
    """The client refuses to do this by design (e.g. reading the individual number)."""


# --- status words ------------------------------------------------------------------------------


class SW(IntEnum):
    """Status words by name (ISO 7816-4 and docs/jpki-card.md). The low nibble of
    `VERIFY_FAILED` and the low byte of `BYTES_REMAINING`/`WRONG_LE` carry a count."""

    OK = 0x9000
    BYTES_REMAINING = 0x6100  # 61xx: xx more bytes for GET RESPONSE
    VERIFY_FAILED = 0x63C0  # 63Cx: x tries left
    MEMORY_FAILURE = 0x6581  # the card cannot read or write its memory (a virtual card: its file)
    WRONG_LENGTH = 0x6700
    INCOMPATIBLE_FILE_STRUCTURE = 0x6981
    SECURITY_STATUS_NOT_SATISFIED = 0x6982
    AUTHENTICATION_METHOD_BLOCKED = 0x6983
    PIN_BLOCKED = 0x6984  # "reference data not usable"
    CONDITIONS_NOT_SATISFIED = 0x6985
    COMMAND_NOT_ALLOWED = 0x6986
    WRONG_DATA = 0x6A80
    FILE_NOT_FOUND = 0x6A82
    INCORRECT_P1P2 = 0x6A86
    OFFSET_OUT_OF_RANGE = 0x6B00
    WRONG_LE = 0x6C00  # 6Cxx: the right Le is xx
    INS_NOT_SUPPORTED = 0x6D00
    CLA_NOT_SUPPORTED = 0x6E00


class StatusWordError(CardError):
    """The card answered with an error status word."""

    default_message = "card error"

    def __init__(self, sw: int, message: str | None = None) -> None:
        self.sw = sw
        super().__init__(f"{message or self.default_message} (SW {sw:04X})")


class WrongPin(StatusWordError):
    """63Cx: the PIN was wrong; `tries_left` tries remain (0: the card is now blocked)."""

    default_message = "wrong PIN"

    def __init__(self, sw: int, message: str | None = None) -> None:
        self.tries_left = sw & 0x0F
        super().__init__(sw, message or f"wrong PIN, {tries_left_text(self.tries_left)}")


class PinBlocked(StatusWordError):
    """6984: the PIN is blocked; it can only be reset at a municipal office."""

    default_message = "PIN blocked"


class MemoryFailure(StatusWordError):
    """6581: the card could not read or write its memory; a virtual card, its card file (its PIN
    counters live there)."""

    default_message = "card memory failure"


class SecurityStatusNotSatisfied(StatusWordError):
    """6982: the PIN has not been verified in this session."""

    default_message = "security status not satisfied (PIN not verified)"


class AuthenticationMethodBlocked(StatusWordError):
    """6983."""

    default_message = "authentication method blocked"


class ConditionsNotSatisfied(StatusWordError):
    """6985."""

    default_message = "conditions of use not satisfied"


class CommandNotAllowed(StatusWordError):
    """6986 (e.g. no current EF)."""

    default_message = "command not allowed"


class WrongData(StatusWordError):
    """6A80."""

    default_message = "incorrect data field"


class FileNotFound(StatusWordError):
    """6A82."""

    default_message = "file or application not found"


class IncorrectP1P2(StatusWordError):
    """6A86."""

    default_message = "incorrect P1/P2"


class WrongLength(StatusWordError):
    """6700."""

    default_message = "wrong length"


class OffsetOutOfRange(StatusWordError):
    """6B00."""

    default_message = "offset outside the file"


class WrongLe(StatusWordError):
    """6Cxx that could not be resolved by re-sending."""

    default_message = "wrong Le"


class InsNotSupported(StatusWordError):
    """6D00."""

    default_message = "instruction not supported"


class ClaNotSupported(StatusWordError):
    """6E00."""

    default_message = "class not supported"


class UnknownStatus(StatusWordError):
    """Any other status word."""

    default_message = "unexpected status word"


_BY_SW: dict[int, type[StatusWordError]] = {
    SW.MEMORY_FAILURE: MemoryFailure,
    SW.SECURITY_STATUS_NOT_SATISFIED: SecurityStatusNotSatisfied,
    SW.AUTHENTICATION_METHOD_BLOCKED: AuthenticationMethodBlocked,
    SW.PIN_BLOCKED: PinBlocked,
    SW.CONDITIONS_NOT_SATISFIED: ConditionsNotSatisfied,
    SW.COMMAND_NOT_ALLOWED: CommandNotAllowed,
    SW.WRONG_DATA: WrongData,
    SW.FILE_NOT_FOUND: FileNotFound,
    SW.INCORRECT_P1P2: IncorrectP1P2,
    SW.WRONG_LENGTH: WrongLength,
    SW.OFFSET_OUT_OF_RANGE: OffsetOutOfRange,
    SW.INS_NOT_SUPPORTED: InsNotSupported,
    SW.CLA_NOT_SUPPORTED: ClaNotSupported,
}


def error_for_sw(sw: int) -> StatusWordError:
    """The typed exception for a non-success status word."""
    if sw & 0xFFF0 == SW.VERIFY_FAILED:
        return WrongPin(sw)
    if sw & 0xFF00 == SW.WRONG_LE:
        return WrongLe(sw)
    return _BY_SW.get(sw, UnknownStatus)(sw)


def tries_left_text(n: int) -> str:
    """ "2 tries left", "1 try left": what a person reads of a PIN's remaining tries."""
    return "1 try left" if n == 1 else f"{n} tries left"
