"""The canonical template (made at `record()`, filled in at append under the head lock) gives
byte for byte the RFC 8785 form of the whole document, which `audit verify` recomputes."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from madoguchi.audit import canonical
from madoguchi.audit.canonical import (
    EventRecord,
    canonical_bytes,
    canonical_json,
    template,
    time_json,
)

_text = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=12)
_json = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**53) + 1, 2**53 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | _text,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_text, inner, max_size=3),
    max_leaves=8,
)


@settings(max_examples=300, deadline=None)
@given(
    seq=st.integers(1, 2**53 - 1),
    micros=st.integers(0, 10**15),
    event_id=st.integers(1000, 9999),
    names=st.tuples(_text, _text, _text, _text, _text, _text, _text),
    payload=st.dictionaries(_text, _json, max_size=4),
)
def test_the_filled_template_is_the_canonical_form(seq, micros, event_id, names, payload):
    # Some of the labels and ids are empty strings, so the null rule of each pair is exercised.
    time = datetime(1990, 1, 1, tzinfo=UTC) + timedelta(microseconds=micros)
    name, actor_id, actor_label, terminal_id, terminal_label, subject_type, subject_id = names
    record = EventRecord(
        seq=seq,
        time=time,
        event_id=event_id,
        event_name=name,
        actor_id=actor_id,
        actor_label=actor_label,
        terminal_id=terminal_id,
        terminal_label=terminal_label,
        subject_type=subject_type,
        subject_id=subject_id,
        payload=payload,
    )
    assert template(record).fill(seq, time_json(time)) == canonical_bytes(record)
    # With the payload's canonical JSON given (as `record()` has it), and its remembered parts.
    again = template(record, canonical_json(payload))
    assert again.fill(seq, time_json(time)) == canonical_bytes(record)


def test_a_typical_event():
    record = EventRecord(
        seq=12,
        time=datetime(2025, 4, 1, 0, 0, 0, 123456, tzinfo=UTC),
        event_id=1001,
        event_name="accounts.signed_in",
        actor_id="7",
        actor_label="田中 (tanaka)",
        terminal_id="",
        terminal_label="",
        subject_type="accounts.user",
        subject_id="7",
        payload={"method": "password+totp", "n": 1.5},
    )
    assert (
        template(record).fill(12, time_json(record.time))
        == (
            '{"actor":{"id":"7","label":"田中 (tanaka)"},"event":{"id":1001,'
            '"name":"accounts.signed_in"},"payload":{"method":"password+totp","n":1.5},"seq":12,'
            '"subject":{"id":"7","type":"accounts.user"},"terminal":null,'
            '"time":"2025-04-01T00:00:00.123456Z"}'
        ).encode()
    )


def test_the_parts_that_recur_are_serialised_once(monkeypatch):
    """A desk's actor, terminal, subject and event recur from event to event: their canonical
    JSON is remembered, and a payload serialised by the caller is not serialised again (issue
    15, ninth round); the bytes are the same."""
    calls = []
    real = canonical.canonical_json

    def counting(value):
        calls.append(value)
        return real(value)

    monkeypatch.setattr(canonical, "canonical_json", counting)

    # seq, time, event id and name, actor id and label, terminal id and label, subject type and id
    first = EventRecord(
        *(1, datetime(2026, 11, 30, tzinfo=UTC), 4321, "tests.recurring", "7", "窓口 太郎"),
        *("3", "desk-99", "desk.visit", "recurring", {"n": 1}),
    )
    template(first, real(first.payload))
    calls.clear()
    second = replace(first, seq=2, payload={"n": 2})
    made = template(second, real(second.payload))
    assert calls == []
    assert made.fill(2, time_json(second.time)) == canonical_bytes(second)
