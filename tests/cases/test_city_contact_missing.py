"""With no contact block and no CASES_CITY_* settings, every report ended
「問い合わせ先 担当課： 電話：」, labels with nothing after them, and `check --deploy` said nothing.
Now the report leaves out what it does not know, and the deploy check names it (madoguchi.W115)."""

from django.core.checks.registry import registry

from madoguchi.accounts.constants import OrganisationKind
from madoguchi.accounts.models import Organisation
from madoguchi.cases import document
from madoguchi.cases.checks import city_contact_set
from madoguchi.cases.models import CityContact
from tests import factories
from tests.cases.conftest import open_case

NO_CONTACT = {"city": "", "department": "", "phone": "", "fax": ""}


def test_a_report_without_a_contact_prints_no_empty_labels(settings, official):
    settings.CASES_CITY_CONTACT = NO_CONTACT
    doc = document.build(open_case(official))
    md = document.to_markdown(doc)
    assert "問い合わせ先" not in md
    assert "担当課：" not in md
    assert "電話：" not in md
    html = document.to_html(doc)
    assert "問い合わせ先" not in html
    assert 'class="contact"' not in html


def test_a_report_prints_only_the_contact_lines_it_knows(settings, official):
    settings.CASES_CITY_CONTACT = {**NO_CONTACT, "department": "市民課"}
    md = document.to_markdown(document.build(open_case(official)))
    assert "問い合わせ先\t担当課：市民課\n" in md
    assert "電話：" not in md
    settings.CASES_CITY_CONTACT = {**NO_CONTACT, "department": "市民課", "phone": "03-1"}
    md = document.to_markdown(document.build(open_case(official)))
    assert "問い合わせ先\t担当課：市民課 電話：03-1\n" in md


def test_the_deploy_check_names_a_missing_contact(settings, db):
    assert city_contact_set in registry.deployment_checks
    settings.CASES_CITY_CONTACT = NO_CONTACT
    assert "the incident reports of every case:" in city_contact_set()[0].msg  # no city yet
    factories.city()
    warnings = city_contact_set()
    assert [w.id for w in warnings] == ["madoguchi.W115"]
    assert "CASES_CITY_DEPARTMENT and CASES_CITY_PHONE are not set" in warnings[0].msg
    assert "テスト市" in warnings[0].msg
    assert "print no 問い合わせ先" in warnings[0].msg
    settings.CASES_CITY_CONTACT = {**NO_CONTACT, "department": "市民課"}
    warnings = city_contact_set()
    assert "CASES_CITY_PHONE is not set" in warnings[0].msg
    assert "only part of 問い合わせ先" in warnings[0].msg


def test_the_deploy_check_is_quiet_with_a_contact(settings, db):
    settings.CASES_CITY_CONTACT = NO_CONTACT
    city = factories.city()
    CityContact.objects.create(city=city, department="総務課", phone="03-1")
    # Each city has its own: only a case of no city is left without one.
    warnings = city_contact_set()
    assert "テスト市" not in warnings[0].msg
    assert "any case of no city" in warnings[0].msg
    Organisation.objects.create(name="北市", kind=OrganisationKind.CITY)
    assert "北市" in city_contact_set()[0].msg
    CityContact.objects.create(city=None, department="市民課", phone="06-0")
    assert city_contact_set() == []
    CityContact.objects.all().delete()
    settings.CASES_CITY_CONTACT = {**NO_CONTACT, "department": "市民課", "phone": "03-1"}
    assert city_contact_set() == []
