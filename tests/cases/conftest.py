from datetime import date

import pytest

from madoguchi.accounts.constants import Role
from madoguchi.cases import services
from tests import factories

A_CARD = "4980-1111-2222-3333"  # the payment card A brings
B_CARD = "4980-9999-8888-7777"  # the card that was linked (B's)


@pytest.fixture
def official(db):
    return factories.staff(Role.CITY_OFFICIAL)


@pytest.fixture
def desk_staff(db):
    return factories.staff(Role.DESK_STAFF)


@pytest.fixture
def supervisor(db):
    return factories.staff(Role.SUPERVISOR)


def open_case(actor, **kw):
    args = dict(
        actor=actor,
        title="",
        resident_label="A氏",
        reported_by="A氏",
        summary="マイナポイントの申込について心当たりがない。",
        event_date=date(2022, 8, 1),
        date_precision="month",
    )
    args.update(kw)
    return services.case_open(**args)


def legacy(official, **kw):
    args = dict(
        actor=official,
        resident_label="A氏",
        provider_name="キャッシュレス決済サービス",
        account_number=B_CARD,
        linked_on=date(2022, 8, 1),
        linked_on_precision="month",
        desk_location="本庁（堺区役所）の支援窓口",
    )
    args.update(kw)
    return services.legacy_link_add(**args)


def legacy_form(**fields: str) -> dict[str, str]:
    """The legacy-link form of a case page as posted (its fields carry the `legacy-` prefix)."""
    form = {
        "resident_label": "A氏",
        "provider_name": "決済サービス",
        "account_number": "4980-1111-2222-3333",  # typed hidden, kept as a keyed hash
        "linked_on_precision": "unknown",
        **fields,
    }
    return {f"legacy-{name}": value for name, value in form.items()}


def report_url(case, name: str = "report", reason: str = "case_work") -> str:
    """The case report's page (`report`), Markdown (`report_md`) or PDF (`report_pdf`) with a
    reason given, as an official reaches it from the case page (the report asks one first)."""
    from django.urls import reverse

    return reverse(f"cases:{name}", args=[case.pk]) + f"?reason={reason}"
