"""Lock order: every row lock of a transaction comes before the audit log's head lock.

A deadlock itself cannot be shown deterministically in a test; what is asserted is the order
(see tests/lockorder.py) and that the behaviour still holds.
"""

from madoguchi.desk.constants import VisitEndReason
from madoguchi.desk.models import Visit
from madoguchi.terminals import services as terminal_services
from madoguchi.terminals.constants import DeskSessionCloseReason
from tests.lockorder import LockOrder

from .test_visits import start_visit


def test_signing_in_where_two_sessions_are_open_locks_both_visits_first(trusted, desk, other_desk):
    """The staff member of `desk` signs in on `other_desk`'s terminal: both sessions close and
    both open visits end, the second visit locked before the first close is audited."""
    mine = start_visit(desk, trusted.card("A"))
    theirs = start_visit(other_desk, trusted.card("B"))
    with LockOrder() as order:
        new = terminal_services.desk_session_open(terminal=other_desk.terminal, staff=desk.staff)
    order.assert_rows_before_audit()
    for visit in (mine, theirs):
        visit = Visit.objects.get(pk=visit.pk)
        assert visit.end_reason == VisitEndReason.DESK_SESSION_CLOSED
    desk.refresh_from_db()
    other_desk.refresh_from_db()
    assert desk.close_reason == other_desk.close_reason == DeskSessionCloseReason.SUPERSEDED
    assert new.closed_at is None


def test_revoking_a_credential_locks_the_visit_before_auditing(trusted, desk):
    visit = start_visit(desk, trusted.card("A"))
    credential = terminal_services.credential_issue(terminal=desk.terminal, actor=None).credential
    with LockOrder() as order:
        terminal_services.credential_revoke(credential=credential, actor=None)
    order.assert_rows_before_audit()
    assert Visit.objects.get(pk=visit.pk).end_reason == VisitEndReason.DESK_SESSION_CLOSED
