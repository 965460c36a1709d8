"""`scan export` of links made at a desk whose city carries no municipality code."""

import pytest
from django.core.management import CommandError, call_command

from madoguchi.accounts.constants import OrganisationKind
from madoguchi.accounts.models import Organisation
from tests.incidents.conftest import _origin, providers, sims, systems  # noqa: F401
from tests.scan.test_scans_app import _exported_link


@pytest.mark.usefixtures("providers", "systems")
def test_export_refuses_a_link_whose_city_has_no_code_and_says_how_to_set_it(trusted, tmp_path):
    """The export wrote `000000` for such a link: a code no city has, so its findings were
    no official's. Refused, naming the desk and the city and how to set the code; nothing
    written. Once the code is set, the link is written under it."""
    terminal = _exported_link(trusted).visit.terminal
    city = Organisation.objects.get(kind=OrganisationKind.CITY)
    Organisation.objects.filter(pk=city.pk).update(municipality_code="")
    with pytest.raises(CommandError) as refused:
        call_command("scan", "export", str(tmp_path / "out"))
    said = str(refused.value)
    assert "000000" not in said
    assert f"desk {terminal.name}" in said
    assert f"madoguchi organisation set-code '{city.name}' CODE" in said
    assert "Nothing was exported" in said
    assert not (tmp_path / "out").exists()
    Organisation.objects.filter(pk=city.pk).update(municipality_code="271403")
    call_command("scan", "export", str(tmp_path / "out"))
    from madoguchi.scan import schema

    links = schema.load(tmp_path / "out")["links"].to_pylist()
    assert [r["municipality_code"] for r in links] == ["271403"]
