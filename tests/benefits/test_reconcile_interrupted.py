"""A database error during `outside reconcile` exited 1 under the words "nothing compared or
changed" (its --help) though the run may already have re-sent calls: it now prints what it did
before and names the call it was checking, which may have reached the insurer unrecorded."""

import pytest
from django.core.management import CommandError, call_command
from django.db import OperationalError

from madoguchi.benefits.models import OutsideCall
from madoguchi.benefits.services import reconcile as reconcile_module
from tests.benefits.test_outbox import _hi_completion

pytestmark = pytest.mark.usefixtures("providers", "systems")


def _fails(*args, **kwargs):
    raise OperationalError("server closed the connection unexpectedly")


def test_a_database_error_after_a_resend_says_what_was_sent(trusted, desk, monkeypatch):
    _hi_completion(trusted, desk)
    call = OutsideCall.objects.get()
    # The re-send is answered and recorded; the database goes away before its audit event.
    monkeypatch.setattr(reconcile_module, "_audited", _fails)
    with pytest.raises(CommandError) as stopped:
        call_command("outside", "reconcile")
    message = str(stopped.value)
    assert stopped.value.returncode == 1
    assert message.startswith(
        "reconcile: database error: server closed the connection unexpectedly. "
    )
    assert f"while checking {call.key}, which may have been sent to the insurer" in message
    assert "Nothing was compared or changed" not in message
    assert OutsideCall.objects.get().state == "done"


def test_a_database_error_before_anything_was_done_is_the_database_error(
    trusted, desk, monkeypatch
):
    _hi_completion(trusted, desk)
    monkeypatch.setattr(reconcile_module, "_latest_cancellations", _fails)
    with pytest.raises(OperationalError):
        call_command("outside", "reconcile")
    assert OutsideCall.objects.get().state == "pending"
