"""Demo data: a city, a contractor, staff for each role, two terminals. Idempotent."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.contrib.auth.models import Group
from django.db import transaction
from django_otp.plugins.otp_totp.models import TOTPDevice

from madoguchi.accounts.constants import OrganisationKind, Role
from madoguchi.accounts.models import Organisation, User
from madoguchi.terminals import services as terminal_services
from madoguchi.terminals.models import Terminal

CITY = "デモ市"
CONTRACTOR = "デモ窓口サービス株式会社"
DEMO_PASSWORD = "madoguchi-demo"
# Fixed TOTP key for the demo official and operator, so the demo can print a current code.
DEMO_TOTP_KEY = "3132333435363738393031323334353637383930"

STAFF = [
    ("desk1", "窓口 一郎", Role.DESK_STAFF, CONTRACTOR),
    ("desk2", "窓口 二葉", Role.DESK_STAFF, CONTRACTOR),
    ("supervisor", "監督 三郎", Role.SUPERVISOR, CONTRACTOR),
    ("official", "市役 四子", Role.CITY_OFFICIAL, CITY),
    ("operator", "運用 五郎", Role.OPERATOR, CITY),
]
TERMINALS = [("desk-01", "本庁 1階 支援窓口 1番"), ("desk-02", "本庁 1階 支援窓口 2番")]


@dataclass
class DemoSeed:
    credentials: dict[str, str] = field(default_factory=dict)  # terminal name -> raw credential


def seed() -> DemoSeed:
    result = DemoSeed()
    with transaction.atomic():
        city, _ = Organisation.objects.get_or_create(
            name=CITY, defaults={"kind": OrganisationKind.CITY}
        )
        contractor, _ = Organisation.objects.get_or_create(
            name=CONTRACTOR, defaults={"kind": OrganisationKind.CONTRACTOR, "city": city}
        )
        orgs = {CITY: city, CONTRACTOR: contractor}
        for username, display, role, org in STAFF:
            user = User.objects.filter(username=username).first()
            if user is None:
                user = User.objects.create_user(
                    username=username,
                    password=DEMO_PASSWORD,
                    display_name=display,
                    organisation=orgs[org],
                    is_staff=role == Role.OPERATOR,
                    is_superuser=role == Role.OPERATOR,
                )
                user.groups.add(Group.objects.get(name=role.value))
                if user.requires_totp:
                    TOTPDevice.objects.create(
                        user=user, name="demo", key=DEMO_TOTP_KEY, confirmed=True
                    )
        for name, location in TERMINALS:
            terminal = Terminal.objects.filter(name=name).first()
            if terminal is None:
                terminal = terminal_services.terminal_register(
                    name=name, location=location, contractor=contractor, actor=None
                )
            # A fresh credential per demo run; earlier ones stay valid until revoked.
            result.credentials[name] = terminal_services.credential_issue(
                terminal=terminal, actor=None
            ).raw
    return result


def current_totp(key_hex: str = DEMO_TOTP_KEY) -> str:
    """The current TOTP code for the demo key (demo convenience only)."""
    from django_otp.oath import totp

    return f"{totp(bytes.fromhex(key_hex)):06d}"
