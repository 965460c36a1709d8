"""django-axes's `axes_reset_logs` and `axes_reset_failure_logs` ran at the shell and deleted
the sign-in records with no audit event, where the README says its `axes_reset*` are refused:
both are refused now, and every `axes_reset*` the installed django-axes has is madoguchi's."""

from datetime import timedelta

import pytest
from axes.models import AccessFailureLog, AccessLog
from django.core.management import get_commands
from django.utils import timezone

from madoguchi.audit.models import AuditEvent
from tests.accounts.test_shell_accounts import run_cli

pytestmark = pytest.mark.django_db


def _old(model, **fields):
    row = model.objects.create(
        user_agent="t", ip_address="127.0.0.1", username="desk1", http_accept="*/*",
        path_info="/accounts/login/", **fields,
    )  # fmt: skip
    model.objects.filter(pk=row.pk).update(attempt_time=timezone.now() - timedelta(days=400))


@pytest.mark.parametrize(
    ("name", "model"),
    [("axes_reset_logs", AccessLog), ("axes_reset_failure_logs", AccessFailureLog)],
)
def test_deleting_axes_sign_in_records_at_the_shell_is_refused(name, model):
    _old(model)
    before = AuditEvent.objects.count()
    code, err = run_cli(name, "--age", "1")
    assert code == 1
    assert err.strip() == (
        "madoguchi deletes no sign-in records this way: django-axes's sign-in records (who "
        "signed in and out, from where) would be gone with no audit event. Nothing was changed."
    )
    assert model.objects.count() == 1
    assert AuditEvent.objects.count() == before


def test_every_axes_reset_command_is_madoguchis():
    resets = {name: app for name, app in get_commands().items() if name.startswith("axes_reset")}
    assert {"axes_reset_logs", "axes_reset_failure_logs"} <= set(resets)
    assert set(resets.values()) == {"madoguchi.accounts"}, resets
