"""Django's `dumpdata` and `loaddata` at the shell: the one read every resident's records and
the staff's secrets with no read recorded, the other wrote any row past every service with no
audit event. Both are refused from the command line; code (`call_command`) still has Django's."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import call_command, get_commands, load_command_class
from django_otp.plugins.otp_totp.models import TOTPDevice

from madoguchi.audit.models import AuditEvent
from tests import factories

pytestmark = pytest.mark.django_db


def run_cli(name: str, *args: str) -> tuple[int, str, str]:
    """The command `madoguchi NAME` finds, run as at a shell (`_called_from_command_line`)."""
    command = load_command_class(get_commands()[name], name)
    command._called_from_command_line = True
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command(command, *args, stdout=out, stderr=err)
    except SystemExit as exc:
        return int(exc.code or 0), out.getvalue(), err.getvalue()
    return 0, out.getvalue(), err.getvalue()


def test_dumpdata_at_the_shell_writes_out_nothing_and_names_the_audited_ways(tmp_path):
    member = factories.staff()
    device = factories.totp_device(member)
    target = tmp_path / "all.json"
    for args in [(), ("accounts", "otp_totp"), ("--output", str(target))]:
        code, out, err = run_cli("dumpdata", *args)
        assert code == 1
        assert out == ""
        assert err.startswith("madoguchi writes out no records with dumpdata")
        assert "Nothing was written." in err
        assert "madoguchi scan export DIR" in err
        assert "pg_dump" in err
        assert device.key not in out + err
        assert "Traceback" not in err
    assert not target.exists()


def test_loaddata_at_the_shell_loads_nothing(tmp_path):
    member = factories.staff()
    fixture = tmp_path / "grant.json"
    # What a fixture could do: make a desk member superuser, with no audit event.
    fixture.write_text(
        json.dumps(
            [
                {
                    "model": "accounts.user",
                    "pk": member.pk,
                    "fields": {
                        "username": member.username,
                        "password": member.password,
                        "is_superuser": True,
                        "is_staff": True,
                    },
                }
            ]
        ),
        encoding="utf-8",
    )
    before = AuditEvent.objects.count()
    code, _out, err = run_cli("loaddata", str(fixture))
    assert code == 1
    assert err.startswith("madoguchi loads no records with loaddata")
    assert "Nothing was loaded." in err
    member.refresh_from_db()
    assert not member.is_superuser
    assert not member.is_staff
    assert AuditEvent.objects.count() == before
    # Code still has Django's command: the fixture loads (what the refusal keeps from the shell).
    call_command("loaddata", str(fixture), stdout=io.StringIO())
    member.refresh_from_db()
    assert member.is_superuser
    assert AuditEvent.objects.count() == before


def test_dumpdata_from_code_is_djangos():
    member = factories.staff()
    factories.totp_device(member)
    out = io.StringIO()
    call_command("dumpdata", "otp_totp", stdout=out)
    assert TOTPDevice.objects.get(user=member).key in out.getvalue()
