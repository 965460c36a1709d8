"""A second city on the same server, beside `factories.city()` (テスト市): 北市, its contractor,
a desk with a desk session, and one of its residents' point links there."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import Group

from madoguchi.accounts.constants import OrganisationKind, Role
from madoguchi.accounts.models import Organisation, User
from madoguchi.terminals import services as terminal_services
from tests import factories


def member(org: Organisation, role: Role, name: str) -> User:
    """A member of `org` with `role` (the factories put every one in テスト市)."""
    user = User.objects.create_user(username=name, password=factories.PASSWORD, organisation=org)
    user.groups.add(Group.objects.get_or_create(name=role.value)[0])
    return user


@dataclass
class SecondCity:
    city: Organisation
    contractor: Organisation
    desk: Any
    session: Any
    link: Any


def kita() -> SecondCity:
    """北市 (municipality 271004) with its contractor, the desk kita-01, a desk session on it
    and a resident's point link made there (account ending 9999)."""
    from tests.benefits import builders

    city = Organisation.objects.create(
        name="北市", kind=OrganisationKind.CITY, municipality_code="271004"
    )
    contractor = Organisation.objects.create(
        name="北窓口株式会社", kind=OrganisationKind.CONTRACTOR, city=city
    )
    desk = terminal_services.terminal_register(
        name="kita-01", location="北市役所 1階", contractor=contractor, actor=None
    )
    session = terminal_services.desk_session_open(
        terminal=desk, staff=member(contractor, Role.DESK_STAFF, "kitadesk")
    )
    link = builders.link(
        builders.holder(),
        programme=builders.programme(),
        provider=builders.provider(),
        account="7010000000009999",
        session=session,
    )
    return SecondCity(city, contractor, desk, session, link)
