"""`scan export` writes a link only as its card signed it: the completion's signed bytes carry
the link's account (account_hash, account_last4) and the readings (account_holder_kana,
resident_kana), and a stored row changed since the commit is refused like a signature that no
longer verifies."""

import io

import pytest
from django.core.management import CommandError, call_command

from madoguchi.benefits.models import PaymentLink
from tests.incidents.conftest import _origin, providers, sims, systems  # noqa: F401
from tests.scan.test_scans_app import _exported_link


@pytest.mark.usefixtures("providers", "systems")
@pytest.mark.parametrize(
    ("changed", "column", "key"),
    [
        ({"account_hash": "f" * 64}, "account_hash", "account_hash"),
        ({"account_holder_kana": "ｽｽﾞｷ ｲﾁﾛｳ"}, "holder_kana", "account_holder_kana"),
        ({"account_last4": "9999"}, "account_last4", "account_last4"),
        ({"resident_kana": "ｽｽﾞｷ ｲﾁﾛｳ"}, "resident's name_kana", "resident_kana"),
    ],
)
def test_export_refuses_a_link_other_than_its_card_signed(trusted, tmp_path, changed, column, key):
    """A point link whose stored row was changed after the commit was exported as it now
    read, beside "1 completion signatures verified". Now refused in one line naming the link
    and the column (never the value), nothing written."""
    completion = _exported_link(trusted)
    PaymentLink.objects.update(**changed)
    link = PaymentLink.objects.get()
    out = tmp_path / "mine"
    with pytest.raises(CommandError) as refused:
        call_command("scan", "export", str(out), stdout=io.StringIO())
    message = str(refused.value)
    assert message.startswith(
        f"Nothing was exported: link mynapoint_2-{link.pk} (completion {completion.pk}): its "
        f"stored {column} is not the one the card signed (the signed procedure's {key})"
    )
    assert "\n" not in message
    for value in changed.values():
        assert value not in message
    assert not out.exists()


@pytest.mark.usefixtures("providers", "systems")
def test_export_of_a_link_as_signed_is_written(trusted, tmp_path):
    """The comparison lets an unchanged link through."""
    _exported_link(trusted)
    stdout = io.StringIO()
    call_command("scan", "export", str(tmp_path / "mine"), stdout=stdout)
    assert "1 completion signatures verified" in stdout.getvalue()
