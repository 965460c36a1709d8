"""A checkpoint row's columns (size, root, origin, key id) are not signed; its note is. `verify`
compares each row's columns with its opened note, and `prove` names a signed checkpoint only
from what the notes sign: a row whose size and root columns were changed (its note untouched)
passed `verify`, and `prove` then said a signed checkpoint "matches the root" of a tree no
signature covers."""

import io

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, transaction

from madoguchi.audit import services as audit
from madoguchi.audit import triggers
from madoguchi.audit.models import AuditCheckpoint

pytestmark = pytest.mark.django_db


def _record(n: int) -> None:
    for i in range(n):
        with transaction.atomic():
            audit.record("accounts.sign_in_failed", payload={"username": f"u{i}", "reason": "x"})


def _change_columns(sql: str, params: list) -> None:
    """As the owner would, with the append-only triggers lifted."""
    with triggers.suspended(connection), connection.cursor() as cursor:
        cursor.execute(sql, params)


@pytest.fixture
def signed_over_three(audit_files):
    audit.create_checkpoint_key()
    _record(3)
    checkpoint = audit.write_checkpoint()  # signs 3 events; its own event is #4
    _record(3)  # the log goes on: 7 events
    return checkpoint


def test_prove_does_not_name_a_signed_checkpoint_from_changed_columns(signed_over_three):
    _change_columns("UPDATE audit_auditcheckpoint SET size = 7, root_hash = %s", ["00" * 32])
    out = io.StringIO()
    with pytest.raises(CommandError) as refused:
        call_command("audit", "prove", "--seq", "1", stdout=out)
    assert out.getvalue() == ""
    assert str(refused.value) == (
        f"checkpoint row {signed_over_three.pk} (size 7): its columns are not what its signed "
        f"note says (size 7 where the note says 3; root_hash '{'00' * 32}' where the note says "
        f"'{signed_over_three.root_hash}'): the row was changed after it was signed. No proof "
        "is given over a log that does not verify."
    )


@pytest.mark.parametrize(
    ("column", "value"),
    [("origin", "other.example/audit"), ("key_id", "00000000")],
)
def test_verify_names_a_row_whose_other_columns_are_not_its_notes(signed_over_three, column, value):
    _change_columns(f"UPDATE audit_auditcheckpoint SET {column} = %s", [value])
    with pytest.raises(
        CommandError, match=rf"its columns are not what its signed note says \({column} "
    ):
        call_command("audit", "verify", stdout=io.StringIO())


def test_prove_names_the_signed_checkpoint_its_note_signs(signed_over_three):
    out = io.StringIO()
    call_command("audit", "prove", "--seq", "2", stdout=out)
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("tree size 3, root ")
    assert lines[1] == f"signed checkpoint {signed_over_three.pk} for this size matches the root"
    assert AuditCheckpoint.objects.count() == 1
