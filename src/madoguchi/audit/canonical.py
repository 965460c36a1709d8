"""Canonical bytes and hashes of one audit event. Pure Python, no Django.

canonical = RFC 8785 (JCS) JSON of
    {"seq", "time", "event": {"id", "name"}, "actor", "terminal", "subject", "payload"}
with time as ISO 8601 UTC with microseconds (``2025-04-01T00:00:00.000000Z``), and actor,
terminal, subject either null (both columns empty) or ``{"id", "label"}`` / ``{"type", "id"}``.

leaf(n)  = SHA-256(0x00 || canonical(n))         (RFC 9162 leaf hash)
chain(n) = SHA-256(chain(n-1) || leaf(n)),  chain(0) = GENESIS (32 zero bytes)
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import rfc8785

from .merkle import leaf_hash

GENESIS = bytes(32)


class CanonicalError(ValueError):
    """The event cannot be put in canonical form (bad time, payload not JSON-representable)."""


@dataclass(frozen=True)
class EventRecord:
    """Everything that is hashed about one event, in the form stored in the database."""

    seq: int
    time: datetime
    event_id: int
    event_name: str
    actor_id: str
    actor_label: str
    terminal_id: str
    terminal_label: str
    subject_type: str
    subject_id: str
    payload: dict[str, Any]


def format_time(value: datetime) -> str:
    if value.tzinfo is None or value.utcoffset() is None:
        raise CanonicalError("Audit event times must be timezone-aware.")
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _pair(k1: str, v1: str, k2: str, v2: str) -> dict[str, str] | None:
    # null only when both columns are empty, so that every stored column is covered by the hash.
    return {k1: v1, k2: v2} if v1 or v2 else None


def as_document(record: EventRecord) -> dict[str, Any]:
    return {
        "seq": record.seq,
        "time": format_time(record.time),
        "event": {"id": record.event_id, "name": record.event_name},
        "actor": _pair("id", record.actor_id, "label", record.actor_label),
        "terminal": _pair("id", record.terminal_id, "label", record.terminal_label),
        "subject": _pair("type", record.subject_type, "id", record.subject_id),
        "payload": record.payload,
    }


def canonical_json(value: Any) -> bytes:
    try:
        return rfc8785.dumps(value)
    except (rfc8785.CanonicalizationError, TypeError, ValueError) as exc:
        raise CanonicalError(f"Not representable as canonical JSON (RFC 8785): {exc}") from exc


def canonical_bytes(record: EventRecord) -> bytes:
    return canonical_json(as_document(record))


def event_leaf_hash(record: EventRecord) -> bytes:
    return leaf_hash(canonical_bytes(record))


def chain_hash(previous: bytes, leaf: bytes) -> bytes:
    return hashlib.sha256(previous + leaf).digest()
