"""Reading the log: by subject and terminal; display texts; tail; admin read-only."""

import io

import pytest
from django.core.management import CommandError, call_command
from django.db import transaction
from django.urls import reverse

from madoguchi.accounts.models import User
from madoguchi.audit import selectors
from madoguchi.audit import services as audit
from madoguchi.audit.models import AuditEvent
from tests import factories

pytestmark = pytest.mark.django_db


class Terminal:
    def __init__(self, pk, name):
        self.pk, self.name = pk, name

    def __str__(self):
        return self.name


@pytest.fixture
def logged():
    user = User.objects.create_user("suzuki", password="x" * 12, display_name="鈴木")
    desk1, desk2 = Terminal(1, "窓口1"), Terminal(2, "窓口2")
    with transaction.atomic():
        audit.record("terminals.desk_session_opened", actor=user, terminal=desk1, subject=user)
        audit.record(
            "terminals.credential_rejected", terminal=desk2, payload={"reason": "証明書失効"}
        )
        audit.record(
            "terminals.desk_session_closed",
            actor=user,
            terminal=desk1,
            payload={"reason": "カード取り外し"},
        )
        audit.record("accounts.signed_out", actor=user, subject=("cases.case", "9"))
    return user, desk1, desk2


def test_events_for_subject_and_terminal(logged):
    user, desk1, _ = logged
    assert [e.seq for e in selectors.events_for_subject(user)] == [1]
    assert [e.seq for e in selectors.events_for_subject(("cases.case", "9"))] == [4]
    assert [e.seq for e in selectors.events_for_terminal(desk1)] == [1, 3]
    assert [e.seq for e in selectors.events_for_terminal(2)] == [2]


def test_display_in_both_languages(logged):
    first, second, third, _ = selectors.latest(4)
    assert (
        selectors.display(first, "ja")
        == "鈴木 (suzuki) が端末 窓口1 で窓口セッションを開始しました"
    )
    assert selectors.display(first, "en") == "鈴木 (suzuki) opened a desk session on terminal 窓口1"
    assert selectors.display(second, "ja") == "端末の認証情報を拒否しました（理由: 証明書失効）"
    assert (
        selectors.display(third, "en")
        == "Desk session on terminal 窓口1 closed (reason: カード取り外し)"
    )


def test_display_of_system_event():
    with transaction.atomic():
        event = audit.record("accounts.signed_out")
    assert selectors.display(event, "ja") == "システム がサインアウトしました"
    assert selectors.display(event, "en") == "system signed out"


def test_tail_command(logged):
    out = io.StringIO()
    call_command("audit", "tail", "-n", "2", stdout=out)
    lines = out.getvalue().splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("#3 ")
    assert "窓口セッションを終了しました（理由: カード取り外し）" in lines[0]
    assert lines[1].startswith("#4 ")
    assert "鈴木 (suzuki) がサインアウトしました" in lines[1]
    out = io.StringIO()
    call_command("audit", "tail", "-n", "1", "--lang", "en", stdout=out)
    assert out.getvalue().strip().endswith("accounts.signed_out  鈴木 (suzuki) signed out")


def test_admin_is_read_only(logged, client):
    admin = User.objects.create_superuser("root", password="x" * 12)
    factories.verified_login(client, admin)
    changelist = client.get(reverse("admin:audit_auditevent_changelist"))
    assert changelist.status_code == 200
    assert "窓口セッションを開始しました" in changelist.content.decode()
    assert client.get(reverse("admin:audit_auditevent_add")).status_code == 403
    detail = client.get(reverse("admin:audit_auditevent_change", args=[1]))
    assert detail.status_code == 200
    assert (
        client.post(
            reverse("admin:audit_auditevent_change", args=[1]), {"event_name": "x"}
        ).status_code
        == 403
    )
    assert (
        client.post(reverse("admin:audit_auditevent_delete", args=[1]), {"post": "yes"}).status_code
        == 403
    )
    assert AuditEvent.objects.count() == 4


@pytest.mark.django_db
def test_tail_of_an_empty_log_says_it_is_empty():
    """It printed nothing, which reads as a command that did not run."""
    out = io.StringIO()
    call_command("audit", "tail", stdout=out)
    assert out.getvalue() == "The audit log is empty: no event has been recorded yet.\n"


@pytest.mark.django_db
@pytest.mark.parametrize("n", ["0", "-3", "1000000001", "99999999999999999999"])
def test_tail_refuses_a_count_out_of_range_in_a_sentence(n):
    """A count past 64 bits reached the database, which answered with a traceback
    (SQLite: "datatype mismatch")."""
    with pytest.raises(CommandError, match=f"-n must be from 1 to 1,000,000,000, not {n}"):
        call_command("audit", "tail", "-n", n, stdout=io.StringIO())
