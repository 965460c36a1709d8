"""An event appended by other means than `audit.record()` (a plain INSERT, which the
application's role may do, with its hashes computed to match) that breaks the log's own rules
is named by `verify`, on every walk: its time earlier than the previous event's, an event id
that is not its name's, an unregistered name, a payload `record()` refuses. They passed as
"Audit log intact" (the rules lived only in `record()`)."""

from __future__ import annotations

import hashlib
import io
import json
import re
import sys
import unicodedata
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.utils import timezone

from madoguchi.audit import services as audit
from madoguchi.audit import timeorder, verify
from madoguchi.audit.canonical import EventRecord, canonical_bytes
from madoguchi.audit.models import AuditEvent

pytestmark = pytest.mark.django_db


def _record(n: int) -> None:
    for i in range(n):
        with transaction.atomic():
            audit.record("accounts.sign_in_failed", payload={"username": f"u{i}", "reason": "x"})


def _append_raw(*, keep_constraint: bool = False, **change: Any) -> int:
    """Append one event as a plain INSERT would, hashes and stored bytes computed to match
    (the ORM's INSERT: no `record()`, no append function), with the previous event's seq and
    time as the append function fills them. On PostgreSQL a payload that breaks the rules, or a
    time earlier than the previous event's, is refused by the database
    (`test_the_database_refuses_...`): its constraints are dropped first, as the tables' owner
    could."""
    if connection.vendor == "postgresql" and not keep_constraint:
        with connection.cursor() as cursor:  # undone with the test's transaction
            if "payload" in change:
                cursor.execute(
                    "ALTER TABLE audit_auditevent DROP CONSTRAINT IF EXISTS audit_payload_rules"
                )
            if "time" in change:
                for sql in timeorder.drop_sql():
                    cursor.execute(sql)
    head = AuditEvent.objects.order_by("-seq").first()
    assert head is not None
    fields: dict[str, Any] = dict(
        seq=head.seq + 1,
        time=head.time,
        event_id=1001,
        event_name="accounts.signed_in",
        actor_id="7",
        actor_label="田中 (tanaka)",
        terminal_id="",
        terminal_label="",
        subject_type="",
        subject_id="",
        payload={"method": "password+totp"},
    )
    fields.update(change)
    data = canonical_bytes(EventRecord(**fields))
    leaf = hashlib.sha256(b"\x00" + data).digest()
    chain = hashlib.sha256(bytes.fromhex(head.chain_hash) + leaf).digest()
    AuditEvent(
        **fields,
        canonical=data,
        leaf_hash=leaf.hex(),
        chain_hash=chain.hex(),
        previous_seq=head.seq,
        previous_time=head.time,
    ).save()
    return int(fields["seq"])


FORGED = pytest.mark.parametrize(
    ("change", "says"),
    [
        (
            {"time": datetime(2020, 1, 1, tzinfo=UTC)},
            "its time 2020-01-01T00:00:00.000000Z is earlier than the previous event's, ",
        ),
        ({"event_id": 4001}, "its event id 4001 is not accounts.signed_in's (1001)"),
        (
            {"event_name": "evil.unregistered"},
            "its event 'evil.unregistered' (id 1001) is not a registered event type",
        ),
        (
            {"payload": {"individual_number": "123456789012"}},
            "payload.individual_number is refused: PINs and individual numbers never go in the "
            "audit log",
        ),
        (
            {"payload": {"note": [{"ok": "１２３４５６７８９０１２ "}]}},
            "payload.note[0].ok is refused: a 12-digit value looks like an individual number",
        ),
        ({"payload": ["a", "list"]}, "its payload is a JSON list, not an object"),
    ],
    ids=[
        "backdated",
        "id-name-mismatch",
        "unregistered",
        "individual-number-key",
        "fullwidth-12-digits",
        "not-an-object",
    ],
)


def _walks(monkeypatch: pytest.MonkeyPatch, walk: str) -> None:
    """Make `verify_chain` take one walk: the stream (PostgreSQL's fast path), the row-by-row
    walk over the stored bytes (PostgreSQL), or the walk over the columns (any database)."""
    if walk != "columns" and connection.vendor != "postgresql":
        pytest.skip("the walks over stored bytes are PostgreSQL's")
    if walk == "rows":
        monkeypatch.setattr(verify, "_verify_stream", lambda *args: None)
    elif walk == "columns":

        def no_stored(*args: Any, **kwargs: Any) -> None:
            raise DatabaseError("as if the stored bytes could not be read")

        monkeypatch.setattr(verify, "_verify_stored", no_stored)


@FORGED
@pytest.mark.parametrize("walk", ["stream", "rows", "columns"])
def test_verify_names_an_appended_event_that_breaks_the_logs_rules(monkeypatch, walk, change, says):
    _record(3)
    if "time" in change and connection.vendor != "postgresql":
        pytest.skip("on SQLite a time going back is a warning (test_old_sqlite_log_time_back)")
    seq = _append_raw(**change)
    _record(1)  # an honest event after it
    _walks(monkeypatch, walk)
    report = verify.verify_log(verifier_key="", skip_checkpoints=False, directory=None)
    assert not report.ok
    assert len(report.lines) == 1, report.lines
    assert report.lines[0].startswith(f"Audit log broken at sequence number {seq}: {says}")
    assert report.lines[0].endswith(
        "; `audit.record()` appends no such event, so it was added by other means (an INSERT "
        "by a role that may insert into the log, with its hashes computed to match)."
    )


def test_verify_command_exits_1_naming_the_forged_event():
    _record(2)
    _append_raw(event_name="evil.thing")
    out = io.StringIO()
    with pytest.raises(CommandError, match=r"^Audit log broken at sequence number 3: its event "):
        call_command("audit", "verify", "--skip-checkpoints", stdout=out)
    assert "intact" not in out.getvalue()


def test_checkpoint_signs_no_log_with_a_forged_event():
    audit.create_checkpoint_key()
    _record(2)
    _append_raw(payload={"pin": "1234"})
    with pytest.raises(audit.AuditError, match=r"sequence number 3: payload\.pin is refused"):
        audit.write_checkpoint()


def test_a_log_the_recorder_wrote_takes_the_fast_path(monkeypatch):
    """The rules cost no walk of their own: an honest log is verified by the stream alone."""
    if connection.vendor != "postgresql":
        pytest.skip("the stream is PostgreSQL's")
    _record(5)
    with transaction.atomic():
        audit.record(
            "accounts.sign_in_failed", payload={"list": [{"a": "x"}, "日本語の長い文字列です"]}
        )

    def not_here(*args: Any) -> None:
        raise AssertionError("the stream left the fast path for an honest log")

    monkeypatch.setattr(verify, "_verify_keyset", not_here)
    monkeypatch.setattr(verify, "_verify_rows", not_here)
    assert verify.verify_chain().ok


def test_the_clock_going_back_does_not_make_time_go_back_along_seq(monkeypatch):
    """The recorder never writes what verify refuses: on SQLite too, an event is never earlier
    than the head (PostgreSQL's append function always did this)."""
    now = timezone.now()
    monkeypatch.setattr(timezone, "now", lambda: now)
    _record(1)
    monkeypatch.setattr(timezone, "now", lambda: now - timedelta(hours=1))  # the clock stepped back
    _record(1)
    first, second = AuditEvent.objects.order_by("seq")
    assert second.time == first.time == now
    assert verify.verify_chain().ok


# --- The rules in SQL are Python's rules --------------------------------------------------------

TRICKY_PAYLOADS: list[Any] = [
    {"method": "password+totp"},
    {"individual_number": "x"},
    {"a": [{"x_PIN_y": 1}]},
    {"pinx": 1},
    {"spin": 1},
    {"pin\n": 1},
    {"pin\n\n": 1},
    {"\u212aojin_bango": 1},  # KELVIN SIGN, which IGNORECASE takes for k
    {"my\u017fnumber": 1},
    {"my_number": 1},
    {"MyNumber": 1},
    {"kojinbango": 1},
    {"pa\u017f\u017fcode": 1},
    {"p\u0131n": 1},
    {"ab": "123456789012"},
    {"ab": "12345678901"},
    {"ab": "1234567890123"},
    {"ab": " \u3000123456789012\u2029\x1c"},
    {"ab": "１２３４５６７８９０１２"},
    {"ab": "\U0001d7ce" * 12},  # MATHEMATICAL BOLD DIGIT ZERO
    {"ab": "12345678901\u00b2"},  # a superscript two: a digit to isdigit(), not to \d
    {"ab": "123456-789012"},
    {"ab": ["x", ["123456789012"]]},
    {"ab": 123456789012},
    {"日本語のキー": "日本語の値は十二文字以上あります"},
    [],
    "123456789012",
]


def test_the_rules_in_sql_agree_with_pythons_on_tricky_payloads():
    from madoguchi.audit import rules

    if connection.vendor != "postgresql":
        pytest.skip("the rules in SQL are PostgreSQL's")
    for payload in TRICKY_PAYLOADS:
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT {rules.EVENT_OK} AND {rules.PAYLOAD_OK} FROM (SELECT 1001 AS event_id, "
                "'accounts.signed_in'::text AS event_name, %s::jsonb AS payload) AS row",
                [*rules.event_params(), json.dumps(payload)],
            )
            (ok,) = cursor.fetchone()
        assert ok == (rules.stored_problem(1001, "accounts.signed_in", payload) is None), payload


@pytest.mark.parametrize(
    "payload",
    [{"individual_number": "x"}, {"a": [{"Pin": 1}]}, {"n": " 123456789012"}, ["not", "object"]],
)
def test_the_database_refuses_a_payload_that_breaks_the_rules(payload):
    """On PostgreSQL a forged payload is not only named by verify: it cannot be inserted, by
    any role, while the constraint is there (the triggers lifted or not)."""
    from madoguchi.audit import rules

    if connection.vendor != "postgresql":
        pytest.skip("the CHECK constraint is PostgreSQL's")
    _record(1)
    head = AuditEvent.objects.get()
    forged = AuditEvent(
        seq=2,
        time=head.time,
        event_id=1001,
        event_name="accounts.signed_in",
        payload=payload,
        leaf_hash="0" * 64,
        chain_hash="0" * 64,
    )
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL session_replication_role = replica")  # the triggers lifted
    with pytest.raises(IntegrityError, match=rules.CONSTRAINT):
        forged.save()


def test_the_constraint_in_the_catalog_is_the_one_verify_expects():
    from madoguchi.audit import rules

    if connection.vendor != "postgresql":
        pytest.skip("the CHECK constraint is PostgreSQL's")
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {rules.CATALOG_COLUMNS} FROM (SELECT 1) AS one {rules.CATALOG_JOIN}"
        )
        assert rules.judge(*cursor.fetchone()) == (True, "")


def test_a_forged_payload_under_a_constraint_re_added_not_valid_is_named():
    from madoguchi.audit import rules

    if connection.vendor != "postgresql":
        pytest.skip("the CHECK constraint is PostgreSQL's")
    _record(2)
    _append_raw(payload={"my_number": "x"})
    with connection.cursor() as cursor:
        cursor.execute(rules.add_sql())  # NOT VALID: the catalog says it was never checked
    report = verify.verify_log(verifier_key="", skip_checkpoints=False, directory=None)
    assert report.lines == [
        "Audit log broken at sequence number 3: payload.my_number is refused: PINs and "
        "individual numbers never go in the audit log; `audit.record()` appends no such event, "
        "so it was added by other means (an INSERT by a role that may insert into the log, with "
        "its hashes computed to match)."
    ]


def test_the_rules_in_sql_spell_out_pythons_character_classes():
    """IGNORECASE's letters, `\\d` and `str.strip()`'s white space, over every code point."""
    from madoguchi.audit import rules

    every = "".join(map(chr, range(sys.maxunicode + 1)))
    digits = re.findall(r"\d", every)
    assert [ord(d) for d in digits if unicodedata.decimal(d) == 0] == list(rules._DIGIT_ZEROS)
    assert digits == [chr(z + i) for z in rules._DIGIT_ZEROS for i in range(10)]
    assert "".join(re.findall(r"\s", every)) == rules._SPACES
    assert "".join(c for c in every if c.isspace()) == rules._SPACES
    for letter in "abcdefghijklmnopqrstuvwxyz":
        matched = set(re.findall(letter, every, re.IGNORECASE))
        assert matched == {letter, letter.upper(), *rules._CASE_EXTRAS.get(letter, "")}, letter


def test_a_weaker_constraint_under_the_same_name_is_not_trusted():
    """One white-space character left out of the value rule's brackets (its printed definition
    differs only in white space): verify checks every payload itself."""
    from madoguchi.audit import rules

    if connection.vendor != "postgresql":
        pytest.skip("the CHECK constraint is PostgreSQL's")
    weaker = rules.PAYLOAD_OK.replace("\\u{3000}", "")
    assert weaker != rules.PAYLOAD_OK
    _record(2)
    with connection.cursor() as cursor:
        cursor.execute(rules.drop_sql())
        cursor.execute(
            f"ALTER TABLE audit_auditevent ADD CONSTRAINT {rules.CONSTRAINT} CHECK ({weaker})"
        )
    _append_raw(
        payload={"n": "\u3000123456789012"}, keep_constraint=True
    )  # the weaker one lets it in
    report = verify.verify_log(verifier_key="", skip_checkpoints=False, directory=None)
    assert report.lines[0].startswith(
        "Audit log broken at sequence number 3: payload.n is refused: a 12-digit value"
    )
