"""`audit verify` whose checkpoints cannot be checked (no key, or a key that cannot be used)
says so in its first line too: it printed "Audit log intact: …" above "Verification FAILED"
(the thirty-sixth session's header covered only checkpoints that do not match)."""

import io
import re

import pytest
from django.core.management import CommandError, call_command
from django.db import transaction

from madoguchi.audit import services as audit

pytestmark = pytest.mark.django_db


def _signed_log() -> None:
    key = audit.create_checkpoint_key()
    for i in range(2):
        with transaction.atomic():
            audit.record("accounts.sign_in_failed", payload={"username": f"u{i}", "reason": "x"})
    audit.write_checkpoint()
    key.unlink()  # the signing key gone: the checkpoints cannot be opened


@pytest.mark.parametrize(
    ("args", "failure"),
    [
        ((), "Verification FAILED: signed checkpoints exist but no verifier key is configured"),
        (
            ("--verifier-key", "not-a-key"),
            "Verification FAILED: the verifier key is not usable: The verifier key must be",
        ),
    ],
    ids=["no-key", "unusable-key"],
)
def test_verify_that_cannot_check_the_checkpoints_does_not_say_intact(settings, args, failure):
    settings.AUDIT_CHECKPOINT_VERIFIER_KEY = ""
    _signed_log()
    out = io.StringIO()
    with pytest.raises(CommandError) as refused:
        call_command("audit", "verify", *args, stdout=out)
    assert str(refused.value).startswith(failure)
    assert re.fullmatch(
        r"The hash chain is intact: 3 events, chain head [0-9a-f]{64}, but the signed "
        r"checkpoints cannot be checked:\n",
        out.getvalue(),
    ), out.getvalue()
