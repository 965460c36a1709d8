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
from functools import lru_cache
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


def _members(record: EventRecord) -> dict[str, Any]:
    """The document's members other than seq and time."""
    return {
        "event": {"id": record.event_id, "name": record.event_name},
        "actor": _pair("id", record.actor_id, "label", record.actor_label),
        "terminal": _pair("id", record.terminal_id, "label", record.terminal_label),
        "subject": _pair("type", record.subject_type, "id", record.subject_id),
        "payload": record.payload,
    }


def as_document(record: EventRecord) -> dict[str, Any]:
    return {"seq": record.seq, "time": format_time(record.time), **_members(record)}


def canonical_json(value: Any) -> bytes:
    try:
        return rfc8785.dumps(value)
    except (rfc8785.CanonicalizationError, TypeError, ValueError) as exc:
        raise CanonicalError(f"Not representable as canonical JSON (RFC 8785): {exc}") from exc


def canonical_bytes(record: EventRecord) -> bytes:
    return canonical_json(as_document(record))


# The top-level keys in RFC 8785 order (UTF-16 code units; all ASCII here): seq and time, known
# only at append, fall between the others.
_KEYS = ("actor", "event", "payload", "seq", "subject", "terminal", "time")
assert list(_KEYS) == sorted(_KEYS)


@dataclass(frozen=True)
class CanonicalTemplate:
    """An event's canonical bytes before its seq and time are known (at ``record()``), so that
    appending, under the log's head lock, only fills them in:
    ``canonical = head + seq + middle + JSON(time) + "}"``, byte for byte what
    :func:`canonical_bytes` gives for the same record (RFC 8785 serialises an object as its
    members in key order, each value on its own; tests/audit/test_canonical_template.py)."""

    head: bytes  # {"actor":…,"event":…,"payload":…,"seq":
    middle: bytes  # ,"subject":…,"terminal":…,"time":

    def fill(self, seq: int, time_json: bytes) -> bytes:
        """The canonical bytes; `time_json` is :func:`time_json` of the event's time."""
        return b"".join((self.head, canonical_json(seq), self.middle, time_json, b"}"))


@lru_cache(maxsize=4096, typed=True)
def _pair_json(k1: str, v1: str, k2: str, v2: str) -> bytes:
    """The canonical JSON of one of `_members`' pairs (null when both values are empty),
    remembered: a desk's actor, terminal and event name recur in every event it records
    (issue 15, ninth round: RFC 8785's pure-Python serialiser ran eight times per event)."""
    return canonical_json(_pair(k1, v1, k2, v2))


@lru_cache(maxsize=1024, typed=True)
def _event_json(event_id: int, event_name: str) -> bytes:
    return canonical_json({"id": event_id, "name": event_name})


def template(record: EventRecord, payload_json: bytes | None = None) -> CanonicalTemplate:
    """The template of `record`'s canonical bytes (its seq and time are not read);
    `payload_json`: the canonical JSON of its payload, when the caller has it already. The
    parts are `_members`', each serialised on its own (the actor, terminal, subject and event
    remembered)."""
    if payload_json is None:
        payload_json = canonical_json(record.payload)
    actor = _pair_json("id", record.actor_id, "label", record.actor_label)
    terminal = _pair_json("id", record.terminal_id, "label", record.terminal_label)
    subject = _pair_json("type", record.subject_type, "id", record.subject_id)
    event = _event_json(record.event_id, record.event_name)
    return CanonicalTemplate(
        head=b'{"actor":%s,"event":%s,"payload":%s,"seq":' % (actor, event, payload_json),
        middle=b',"subject":%s,"terminal":%s,"time":' % (subject, terminal),
    )


def time_json(value: datetime) -> bytes:
    """The canonical JSON of an event time (shared by all events of one append)."""
    return canonical_json(format_time(value))


def event_leaf_hash(record: EventRecord) -> bytes:
    return leaf_hash(canonical_bytes(record))


def chain_hash(previous: bytes, leaf: bytes) -> bytes:
    return hashlib.sha256(previous + leaf).digest()
