"""`scan export` writes every programme the desk commits: point links, public-fund accounts
and health-insurance registrations, each as the scan input's `links` row a case compares."""

import io

import pytest
from django.core.management import call_command

from madoguchi.accounts.constants import OrganisationKind
from madoguchi.accounts.models import Organisation
from madoguchi.benefits import identifiers
from madoguchi.benefits.models import HealthInsuranceRegistration, PaymentLink, PublicFundAccount
from madoguchi.scan import schema
from madoguchi.terminals import services as terminal_services
from madoguchi.terminals.models import Terminal
from tests import factories
from tests.benefits.conftest import apply_fields, commit, drain, prepare, start_visit
from tests.benefits.test_registrations import HI, public_fund
from tests.incidents.conftest import _origin, providers, sims, systems  # noqa: F401


@pytest.mark.usefixtures("providers", "systems")
def test_export_writes_insurance_registrations_beside_points_and_public_fund(trusted, tmp_path):
    """The export wrote point and public-fund links only: a resident's insurance registration,
    committed with their card like the others, never reached the scan."""
    desk = terminal_services.desk_session_open(
        terminal=factories.terminal(), staff=factories.staff()
    )
    c = trusted.card("C")
    for fields in (apply_fields(), {"kind": "public_fund_account", **public_fund()}):
        start_visit(desk, c)
        prepare(desk, **fields)
        commit(desk, c)
    start_visit(desk, c)
    prepare(desk, kind="health_insurance_use", **HI)
    commit(desk, c)
    drain()  # the insurer answers, reporting the insured person's kana
    insured = HealthInsuranceRegistration.objects.get()
    assert insured.insured_name_kana

    out = io.StringIO()
    call_command("scan", "export", str(tmp_path / "mine"), stdout=out)
    assert "3 completion signatures verified" in out.getvalue()
    # The scan's own validation of the input, then a run over it.
    schema.validate(tmp_path / "mine")
    links = {r["programme"]: r for r in schema.load(tmp_path / "mine")["links"].to_pylist()}
    assert set(links) == {"mynapoint_2", "public_fund", "health_insurance"}
    assert links["mynapoint_2"]["account_hash"] == PaymentLink.objects.get().account_hash
    assert links["public_fund"]["account_hash"] == PublicFundAccount.objects.get().account_hash
    row = links["health_insurance"]
    assert row["link_id"] == f"health_insurance-{insured.pk}"
    resident = row["resident_id"]
    assert {r["resident_id"] for r in links.values()} == {resident}
    # The hash a case compares what the resident presents with: insurer number, symbol,
    # number and branch together; the last 4 as kept, never the whole number.
    assert row["account_hash"] == identifiers.identifier_hash(
        identifiers.insured_identifier(
            HI["insurer_number"], HI["insured_symbol"], HI["insured_number"], HI["branch"]
        )
    )
    assert row["account_last4"] == HI["insured_number"][-4:]
    assert HI["insured_number"] not in str(row)
    assert row["holder_kana"] == insured.insured_name_kana
    assert (row["channel"], row["municipality_code"]) == ("desk", "131016")
    assert row["terminal_id"] == desk.terminal.name
    assert row["staff_id"] == desk.staff.get_username()
    commits = [
        e
        for e in schema.load(tmp_path / "mine")["desk_events"].to_pylist()
        if e["event"] == "commit"
    ]
    assert {e["link_id"] for e in commits} == {r["link_id"] for r in links.values()}
    residents = schema.load(tmp_path / "mine")["residents"].to_pylist()
    assert [(r["resident_id"], r["name_kana"]) for r in residents] == [
        (resident, HI["resident_kana"])
    ]

    ran = io.StringIO()
    call_command(
        "scan",
        "run",
        str(tmp_path / "mine"),
        "--out",
        str(tmp_path / "out"),
        "--no-pdf",
        stdout=ran,
        stderr=io.StringIO(),
    )
    assert "NOT scanned" not in ran.getvalue()
    assert (tmp_path / "out" / "findings.parquet").exists()


@pytest.mark.usefixtures("providers", "systems")
def test_export_gives_a_resident_the_municipality_of_their_latest_link_of_any_programme(
    trusted, tmp_path
):
    """The residents table took the municipality of the resident's latest link of the last
    programme exported (insurance, then public fund), not of their latest link of all: a
    resident whose point link came after their public-fund account, at another city's desk,
    was written under the older link's city (their reading already followed the latest)."""
    c = trusted.card("C")
    first = terminal_services.desk_session_open(
        terminal=factories.terminal(), staff=factories.staff()
    )
    start_visit(first, c)
    prepare(first, kind="public_fund_account", **public_fund())
    commit(first, c)
    later = terminal_services.desk_session_open(
        terminal=factories.terminal(), staff=factories.staff()
    )
    start_visit(later, c)
    prepare(later, **apply_fields())
    commit(later, c)
    # The later link's desk serves another city.
    other = Organisation.objects.create(
        name="別の市", kind=OrganisationKind.CITY, municipality_code="271403"
    )
    moved = Organisation.objects.create(
        name="別の窓口株式会社", kind=OrganisationKind.CONTRACTOR, city=other
    )
    Terminal.objects.filter(pk=later.terminal.pk).update(contractor=moved)

    call_command("scan", "export", str(tmp_path / "mine"), stdout=io.StringIO())
    links = {r["programme"]: r for r in schema.load(tmp_path / "mine")["links"].to_pylist()}
    assert links["public_fund"]["municipality_code"] == "131016"
    assert links["mynapoint_2"]["municipality_code"] == "271403"
    residents = schema.load(tmp_path / "mine")["residents"].to_pylist()
    assert [r["municipality_code"] for r in residents] == ["271403"]


@pytest.mark.usefixtures("providers", "systems")
def test_export_prefers_the_certified_reading_to_one_typed_at_the_desk(trusted, tmp_path, settings):
    """A resident's reading was the one recorded with their latest link, certified or typed:
    a reading typed at the desk is the resident's confirmed entry and may be another person's
    (the reading of the resident before, typed again), and the scan compares account holders
    with it. A certified reading is kept over any typed, whenever it was recorded."""
    from tests import cardkit

    desk = terminal_services.desk_session_open(
        terminal=factories.terminal(), staff=factories.staff()
    )
    c = trusted.card("C")
    settings.BENEFITS_CERTIFIED_READING = "madoguchi.benefits.readings:SimulatedCertifiedReadings"
    settings.BENEFITS_SIM_CERTIFIED_READINGS = {cardkit.fingerprint(c): "ヤマダ タロウ"}
    start_visit(desk, c)
    prepare(desk, **apply_fields(kana="", resident_kana_confirmed=False))
    commit(desk, c)
    assert PaymentLink.objects.get().kana_source == "certified"
    settings.BENEFITS_CERTIFIED_READING = ""
    start_visit(desk, c)
    prepare(desk, kind="public_fund_account", **public_fund(kana="やまだ たろう"))
    commit(desk, c)
    assert PublicFundAccount.objects.get().resident_kana == "やまだ たろう"
    call_command("scan", "export", str(tmp_path / "mine"), stdout=io.StringIO())
    residents = schema.load(tmp_path / "mine")["residents"].to_pylist()
    assert [r["name_kana"] for r in residents] == ["ヤマダ タロウ"]
