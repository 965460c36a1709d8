"""`audit keygen` and `audit checkpoint` where the key's or the checkpoints' folder cannot be
made or written: each was a traceback (FileNotFoundError, NotADirectoryError, PermissionError);
each is one sentence naming the path and its setting, and nothing is left half-written."""

import io
import re
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db import transaction

from madoguchi.audit import services as audit
from madoguchi.audit.models import AuditCheckpoint, AuditEvent

pytestmark = pytest.mark.django_db


def _record(n: int) -> None:
    for i in range(n):
        with transaction.atomic():
            audit.record("accounts.sign_in_failed", payload={"username": f"u{i}", "reason": "x"})


@pytest.fixture
def blocker(tmp_path) -> Path:
    """A regular file where a folder would have to be."""
    path = tmp_path / "file"
    path.write_text("")
    return path


def test_keygen_where_the_folder_cannot_be_made_is_one_sentence(settings, blocker):
    key = blocker / "keys" / "k.pem"
    settings.AUDIT_CHECKPOINT_KEY_FILE = str(key)
    with pytest.raises(CommandError) as refused:
        call_command("audit", "keygen", stdout=io.StringIO())
    assert re.fullmatch(
        rf"The checkpoint signing key cannot be written to {re.escape(str(key))} "
        r"\(AUDIT_CHECKPOINT_KEY_FILE\): Not a directory\.",
        str(refused.value),
    ), str(refused.value)


def test_keygen_given_a_directory_says_so(settings, tmp_path):
    settings.AUDIT_CHECKPOINT_KEY_FILE = str(tmp_path)
    with pytest.raises(CommandError) as refused:
        call_command("audit", "keygen", stdout=io.StringIO())
    assert str(refused.value) == (
        f"The checkpoint signing key cannot be written to {tmp_path} "
        "(AUDIT_CHECKPOINT_KEY_FILE): it is a directory; name a file in it."
    )
    # …and reading it as the key is one sentence too (it was IsADirectoryError).
    with pytest.raises(CommandError) as refused:
        call_command("audit", "pubkey", stdout=io.StringIO())
    assert str(refused.value) == (
        f"The checkpoint signing key at {tmp_path} (AUDIT_CHECKPOINT_KEY_FILE) cannot be read: "
        "it is a directory."
    )


@pytest.mark.skipif(not Path("/sys/kernel").is_dir(), reason="needs /sys")
def test_keygen_under_sys_is_one_sentence(settings):
    settings.AUDIT_CHECKPOINT_KEY_FILE = "/sys/madoguchi/k.pem"
    with pytest.raises(CommandError, match=r"^The checkpoint signing key cannot be written to "
                       r"/sys/madoguchi/k\.pem \(AUDIT_CHECKPOINT_KEY_FILE\): "):  # fmt: skip
        call_command("audit", "keygen", stdout=io.StringIO())


@pytest.mark.parametrize("where", ["through-a-file", "sys"])
def test_checkpoint_where_the_folder_cannot_be_made_is_one_sentence_and_signs_nothing(
    settings, blocker, where
):
    if where == "sys" and not Path("/sys/kernel").is_dir():
        pytest.skip("needs /sys")
    directory = blocker / "checkpoints" if where == "through-a-file" else Path("/sys/madoguchi")
    audit.create_checkpoint_key()
    _record(2)
    settings.AUDIT_CHECKPOINT_DIR = str(directory)
    with pytest.raises(CommandError) as refused:
        call_command("audit", "checkpoint", stdout=io.StringIO())
    assert str(refused.value).startswith(
        f"The checkpoint cannot be written to {directory} (AUDIT_CHECKPOINT_DIR): "
    )
    assert "\n" not in str(refused.value)
    # Nothing was signed: no row, no event saying a checkpoint was written.
    assert not AuditCheckpoint.objects.exists()
    assert not AuditEvent.objects.filter(event_name="audit.checkpoint_written").exists()


def test_a_checkpoint_file_that_cannot_be_read_is_named_by_verify(audit_files):
    audit.create_checkpoint_key()
    _record(2)
    audit.write_checkpoint()
    path = audit_files / "checkpoints" / "checkpoint-000000000002.txt"
    path.write_bytes(b"\xff\xfe not text")
    with pytest.raises(CommandError) as refused:
        call_command("audit", "verify", stdout=io.StringIO())
    assert str(refused.value) == (
        f"checkpoint file {path} does not verify: it cannot be read (it is not UTF-8 text)."
    )
