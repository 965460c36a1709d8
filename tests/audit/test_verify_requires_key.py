"""Issue 11 item 4: `audit verify` never passes silently when checkpoints cannot be checked."""

import io
import shutil

import pytest
from django.core.management import CommandError, call_command
from django.db import transaction

from madoguchi.audit import services as audit


def _record(n: int) -> None:
    for i in range(n):
        with transaction.atomic():
            audit.record("terminals.credential_rejected", payload={"reason": f"t{i}", "i": i})


def _checkpoint_then_lose_the_key(audit_files) -> None:
    call_command("audit", "keygen", stdout=io.StringIO())
    _record(2)
    call_command("audit", "checkpoint", stdout=io.StringIO())
    shutil.rmtree(audit_files / "keys")  # the verifier has neither the key file nor a key


@pytest.mark.django_db
def test_verify_fails_when_checkpoints_exist_and_no_verifier_key(audit_files, settings):
    settings.AUDIT_CHECKPOINT_VERIFIER_KEY = ""
    _checkpoint_then_lose_the_key(audit_files)
    with pytest.raises(CommandError, match="no verifier key") as excinfo:
        call_command("audit", "verify", stdout=io.StringIO())
    assert excinfo.value.returncode == 1


@pytest.mark.django_db
def test_skipping_checkpoints_is_explicit_and_printed(audit_files, settings):
    settings.AUDIT_CHECKPOINT_VERIFIER_KEY = ""
    _checkpoint_then_lose_the_key(audit_files)
    out = io.StringIO()
    call_command("audit", "verify", "--skip-checkpoints", stdout=out)
    assert "Signed checkpoints NOT checked (skipped on request)" in out.getvalue()


@pytest.mark.django_db
def test_no_checkpoints_and_no_key_passes_and_says_so(audit_files, settings):
    settings.AUDIT_CHECKPOINT_VERIFIER_KEY = ""
    _record(1)
    out = io.StringIO()
    call_command("audit", "verify", stdout=out)
    assert "No signed checkpoints on record yet" in out.getvalue()
