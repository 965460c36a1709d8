"""Small builders for test data (plain functions: fewer moving parts than a factory library)."""

from __future__ import annotations

import itertools

from django.contrib.auth.models import Group
from django_otp.plugins.otp_totp.models import TOTPDevice

from madoguchi.accounts.constants import OrganisationKind, Role
from madoguchi.accounts.models import Organisation, User
from madoguchi.terminals import services as terminal_services
from madoguchi.terminals.models import Terminal

PASSWORD = "correct horse battery staple"
_n = itertools.count(1)


def city() -> Organisation:
    # 131016: the municipality of the scan tests' hand-made desk logs (tests/scan/builders.py).
    return Organisation.objects.get_or_create(
        name="テスト市", kind=OrganisationKind.CITY, defaults={"municipality_code": "131016"}
    )[0]


def contractor() -> Organisation:
    return Organisation.objects.get_or_create(
        name="テスト窓口株式会社", kind=OrganisationKind.CONTRACTOR, defaults={"city": city()}
    )[0]


def staff(role: Role = Role.DESK_STAFF, username: str | None = None) -> User:
    org = city() if role in (Role.CITY_OFFICIAL, Role.OPERATOR) else contractor()
    user = User.objects.create_user(
        username=username or f"{role.value}{next(_n)}", password=PASSWORD, organisation=org
    )
    user.groups.add(Group.objects.get_or_create(name=role.value)[0])
    return user


def totp_device(user: User) -> TOTPDevice:
    return TOTPDevice.objects.create(user=user, name="test", confirmed=True)


def terminal(name: str | None = None) -> Terminal:
    return terminal_services.terminal_register(
        name=name or f"desk-{next(_n):02d}",
        location="本庁 1階",
        contractor=contractor(),
        actor=None,
    )


def verified_login(client, user: User) -> None:
    """Sign a test client in as `user` with a verified second factor (the admin needs one)."""
    from django_otp import DEVICE_ID_SESSION_KEY

    device = TOTPDevice.objects.filter(user=user, confirmed=True).first() or totp_device(user)
    client.force_login(user)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()


def sign_in_with_code(client, user: User, device: TOTPDevice) -> None:
    """Sign a test client in through the staff sign-in page, with the device's current code."""
    from django.urls import reverse
    from django_otp.oath import totp

    response = client.post(
        reverse("accounts:login"),
        {
            "username": user.username,
            "password": PASSWORD,
            "otp_token": f"{totp(device.bin_key):06d}",
        },
    )
    assert response.status_code == 302, response.status_code


def sign_in_over_http(http, user: User, code: str = ""):
    """Sign an `httpx.Client` (its `base_url` a live server) in on the staff sign-in page, as a
    browser does: the page's CSRF token, then the form with the authenticator's `code`."""
    import re

    origin = str(http.base_url).rstrip("/")
    page = http.get("/accounts/sign-in/")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
    return http.post(
        "/accounts/sign-in/",
        data={
            "username": user.username,
            "password": PASSWORD,
            "otp_token": code,
            "csrfmiddlewaretoken": token,
        },
        headers={"Referer": origin + "/accounts/sign-in/", "Origin": origin},
    )


def reasons_given(client, *paths: str, reason: str = "audit") -> None:
    """A reason to open residents' records already chosen in this sign-in for `paths`, as the
    reason page leaves it (`identity.access.chosen_reason`): the officials' pages and the
    admin's pages of residents' records ask it first."""
    session = client.session
    session["read_reasons"] = {**session.get("read_reasons", {}), **dict.fromkeys(paths, reason)}
    session.save()
