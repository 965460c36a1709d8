"""The report's 問い合わせ先 (and the resident's letters) printed the latest CityContact saved by
any city: in a deployment of two cities (cases, desks and scans are each a city's), 北市's case
report told its readers to call テスト市's department. A contact now names its city; a case
prints its own city's, else the one that names no city, and a letter keeps the contact it was
issued with."""

from django.contrib.auth.models import Group
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from madoguchi.accounts.constants import OrganisationKind, Role
from madoguchi.accounts.models import Organisation, User
from madoguchi.cases import document, selectors
from madoguchi.cases.models import CityContact
from madoguchi.cases.services import case_close
from madoguchi.residents import notices
from madoguchi.residents.models import Notice
from tests import cities, factories
from tests.cases.conftest import open_case


def _kita_official() -> User:
    kita = Organisation.objects.create(
        name="北市", kind=OrganisationKind.CITY, municipality_code="271004"
    )
    user = User.objects.create_user(username="official-kita", organisation=kita)
    user.groups.add(Group.objects.get_or_create(name=Role.CITY_OFFICIAL.value)[0])
    return user


def _report_md(user: User, case) -> str:
    client = Client()
    client.force_login(user)
    url = reverse("cases:report_md", args=[case.pk]) + "?reason=case_work"
    return client.get(url).content.decode()


def test_each_citys_report_names_its_own_contact(official):
    kita_official = _kita_official()
    kita = kita_official.organisation
    CityContact.objects.create(city=kita, city_name="北市", department="北市 市民課", phone="06-0")
    CityContact.objects.create(
        city=factories.city(), city_name="テスト市", department="テスト市 総務課", phone="03-1"
    )
    kita_case = open_case(kita_official)  # 北市's case (opened by its official, no desk)
    test_case = open_case(official)  # テスト市's
    md = _report_md(kita_official, kita_case)
    assert "北市 市民課" in md
    assert "テスト市 総務課" not in md
    md = _report_md(official, test_case)
    assert "テスト市 総務課" in md
    assert "北市 市民課" not in md
    # A case of a desk: its contractor's city's.
    desk_case = open_case(factories.staff(Role.DESK_STAFF), terminal=factories.terminal())
    assert document.build(desk_case).contact["department"] == "テスト市 総務課"


def test_a_city_without_its_own_contact_prints_the_one_that_names_no_city(official):
    kita_official = _kita_official()
    CityContact.objects.create(department="代表 窓口課", phone="0120-0")  # names no city
    CityContact.objects.create(city=factories.city(), department="テスト市 総務課", phone="03-1")
    assert document.build(open_case(kita_official)).contact["department"] == "代表 窓口課"
    assert document.build(open_case(official)).contact["department"] == "テスト市 総務課"


def test_a_letter_downloaded_again_names_the_contact_it_was_issued_with(
    trusted, official, settings
):
    from madoguchi.terminals import services as terminal_services
    from tests.residents.test_resident_page import ORIGIN, desk_completion

    settings.MADOGUCHI_ORIGIN = ORIGIN
    CityContact.objects.create(city=factories.city(), department="テスト市 総務課", phone="03-1")
    desk = terminal_services.desk_session_open(
        terminal=factories.terminal(), staff=factories.staff()
    )
    holder = desk_completion(desk, trusted.card("A")).visit.holder
    case = open_case(official, holder=holder, event_date=timezone.localdate())
    case_close(
        case,
        actor=official,
        summary="誤りではなかった",
        outcome="no_error",
        event_date=timezone.localdate(),
    )
    notice = Notice.objects.get(case=case)
    assert notice.contact["department"] == "テスト市 総務課"
    # The city saves a new contact afterwards: the letter sent still names the first.
    CityContact.objects.create(city=factories.city(), department="テスト市 市民課", phone="03-2")
    html = notices.notice_html(Notice.objects.get(pk=notice.pk))
    assert "テスト市 総務課" in html
    assert "テスト市 市民課" not in html


def test_a_deskless_cases_contact_stays_its_citys_after_its_opener_moves_city(official):
    """A deskless case's city is the one it was opened in (Case.organisation, cases 0014): its
    report and letters keep naming that city's contact after the admin moves the opener to
    another city."""
    kita = cities.kita()
    CityContact.objects.create(city=factories.city(), department="テスト市 総務課", phone="03-1")
    CityContact.objects.create(city=kita.city, department="北市 市民課", phone="06-0")
    case = open_case(official)
    assert document.build(case).contact["department"] == "テスト市 総務課"
    official.organisation = kita.city
    official.save()
    case.refresh_from_db()
    assert case.organisation.name == factories.city().name
    assert document.build(case).contact["department"] == "テスト市 総務課"
    assert selectors.case_city(case) == case.organisation
