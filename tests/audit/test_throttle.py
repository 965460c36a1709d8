"""Issue 11 item 8: unauthenticated requests are rate-limited in the audit log: one event per
kind, source and minute, and the repeats as one event with their count."""

from datetime import UTC, datetime, timedelta

import pytest
from django.db.models import Sum
from django.test import Client
from django.utils import timezone

from madoguchi.audit import throttle
from madoguchi.audit.models import AuditEvent, UnauthenticatedTally
from tests import factories

pytestmark = pytest.mark.django_db


def test_bad_agent_tokens_from_one_source_write_one_event_per_minute_and_a_count(clock_held):
    client = Client(REMOTE_ADDR="192.0.2.7")
    for i in range(30):
        r = client.post(
            "/api/v1/agent/events",
            {"kind": "presence"},
            content_type="application/json",
            headers={"authorization": f"Bearer mdt_nothere{i}_x"},
        )
        assert r.status_code == 401
    rejected = AuditEvent.objects.filter(event_name="terminals.credential_rejected")
    assert rejected.count() == 1  # the clock is held: all 30 fall in one minute
    assert rejected.first().payload["source"] == "192.0.2.7"
    total = UnauthenticatedTally.objects.aggregate(n=Sum("count"))["n"]
    assert total == 30
    # After the minute: one summary event per minute with the repeats' count.
    throttle.flush(now=timezone.now() + timedelta(minutes=2))
    repeats = AuditEvent.objects.filter(event_name="audit.unauthenticated_repeats")
    assert sum(e.payload["count"] for e in repeats) + rejected.count() == 30
    assert all(e.payload["source"] == "192.0.2.7" for e in repeats)
    # Flushing again writes nothing more.
    assert throttle.flush(now=timezone.now() + timedelta(minutes=3)) == 0


def test_each_source_and_reason_gets_its_own_first_event():
    now = timezone.now()
    for source in ("192.0.2.1", "192.0.2.2"):
        for _ in range(3):
            throttle.record_unauthenticated(
                "accounts.sign_in_failed", source=source, reason="bad_credentials",
                payload={"username": "x", "reason": "bad_credentials"}, now=now,
            )  # fmt: skip
    throttle.record_unauthenticated(
        "accounts.sign_in_failed", source="192.0.2.1", reason="totp_wrong",
        payload={"username": "x", "reason": "totp_wrong"}, now=now,
    )  # fmt: skip
    assert AuditEvent.objects.filter(event_name="accounts.sign_in_failed").count() == 3
    # The repeats' line says what was repeated and why in words: it read
    # 「「accounts.sign_in_failed」（bad_credentials）が 2 回繰り返されました」.
    from madoguchi.audit import selectors

    throttle.flush(now=now + timedelta(minutes=2))
    repeats = AuditEvent.objects.filter(event_name="audit.unauthenticated_repeats")
    lines = {selectors.display(e, "ja") for e in repeats}
    assert {line.split("の1分間に", 1)[1] for line in lines} == {
        "「ユーザー名 … のサインインに失敗しました（理由: ユーザー名またはパスワードが違います）」"
        "が 2 回繰り返されました"
    }
    english = {selectors.display(e, "en") for e in repeats}
    assert {line.split(" from ", 1)[0] for line in english} == {
        "2 repeats of \u201cSign-in failed for user name … (reason: wrong user name or password)\u201d"
    }


def test_the_repeats_line_names_its_minute_in_the_citys_time():
    """It read 「192.0.2.1 から 2026-12-03T21:05:00+00:00 の1分間に…」: the stored UTC form.
    Now the minute as the pages date things, in Japan's time (a UTC evening is the next
    morning there)."""
    from madoguchi.audit import selectors

    moment = datetime(2026, 12, 3, 21, 5, 30, tzinfo=UTC)
    for _ in range(3):
        throttle.record_unauthenticated(
            "accounts.sign_in_failed", source="192.0.2.1", reason="bad_credentials",
            payload={"username": "x", "reason": "bad_credentials"}, now=moment,
        )  # fmt: skip
    throttle.flush(now=moment + timedelta(minutes=2))
    [repeats] = AuditEvent.objects.filter(event_name="audit.unauthenticated_repeats")
    assert repeats.payload["minute"] == "2026-12-03T21:05:00+00:00"  # stored (hashed) as it was
    assert selectors.display(repeats, "ja").startswith(
        "192.0.2.1 から 令和8年12月4日 06:05 の1分間に「"
    )
    assert selectors.display(repeats, "en").endswith(
        " from 192.0.2.1 in the minute 2026-12-04 06:05"
    )


def test_failed_sign_ins_are_rate_limited_per_client(client, clock_held):
    user = factories.staff()
    head_before = AuditEvent.objects.count()
    for _ in range(3):  # below the lockout limit
        client.post("/accounts/sign-in/", {"username": user.username, "password": "wrong"})
    failed = AuditEvent.objects.filter(event_name="accounts.sign_in_failed")
    assert failed.count() == 1
    assert AuditEvent.objects.count() - head_before == failed.count()


def test_the_held_clock_keeps_a_tests_requests_in_one_minute(clock_held):
    """The fixture the per-minute tests use: Django's clock stands still (no wait for a fresh
    minute), so what a test counts cannot cross a minute's end however slow the machine."""
    import time

    before = timezone.now()
    time.sleep(0.01)
    assert timezone.now() == before == clock_held
    throttle.record_unauthenticated("accounts.sign_in_failed", source="192.0.2.9", reason="x")
    time.sleep(0.01)
    assert (
        throttle.count_this_minute("accounts.sign_in_failed", source="192.0.2.9", reason="x") == 1
    )
