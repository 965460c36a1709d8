"""`madoguchi terminal revoke` of a credential already revoked."""

import io

import pytest
from django.core.management import call_command

from madoguchi.audit.models import AuditEvent
from madoguchi.terminals import services as terminal_services
from tests import factories

pytestmark = pytest.mark.django_db


def test_revoking_a_revoked_credential_says_so_and_records_nothing():
    """`terminal revoke` of a credential revoked before printed "Revoked …" again, with no
    event recorded: it says when it was revoked and that nothing was changed, as `staff flag`
    does."""
    from django.utils import timezone

    from madoguchi.terminals.models import TerminalCredential

    issued = terminal_services.credential_issue(terminal=factories.terminal("t-3"), actor=None)
    prefix = issued.credential.prefix
    out = io.StringIO()
    call_command("terminal", "revoke", prefix, stdout=out)
    assert out.getvalue() == f"Revoked {prefix}.\n"
    revoked_at = TerminalCredential.objects.get(prefix=prefix).revoked_at
    events = AuditEvent.objects.count()
    out = io.StringIO()
    call_command("terminal", "revoke", issued.raw, stdout=out)
    assert out.getvalue() == (
        f"{prefix} (terminal t-3) was already revoked on "
        f"{timezone.localtime(revoked_at):%Y-%m-%d %H:%M %Z}; nothing was changed.\n"
    )
    assert AuditEvent.objects.count() == events
    assert TerminalCredential.objects.get(prefix=prefix).revoked_at == revoked_at
