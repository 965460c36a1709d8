"""Demo data: a city, a contractor, staff for each role, two terminals. Idempotent."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from django.conf import settings
from django.contrib.auth.models import Group
from django.db import transaction
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from madoguchi.accounts.constants import OrganisationKind, Role
from madoguchi.accounts.models import Organisation, User
from madoguchi.audit import conf
from madoguchi.audit import services as audit
from madoguchi.benefits.models import Provider
from madoguchi.card.errors import PinBlocked, WrongPin
from madoguchi.card.jpki import JpkiClient
from madoguchi.card.testca import SUPPORT_ROOT_KEY_ID, TestCA
from madoguchi.card.transport import VirtualTransport
from madoguchi.card.virtual import issue_card
from madoguchi.cases.models import CityContact
from madoguchi.checklists.services import template_install_default
from madoguchi.identity import services as identity
from madoguchi.terminals import services as terminal_services
from madoguchi.terminals.models import Terminal

CITY = "デモ市"
CONTRACTOR = "デモ窓口サービス株式会社"
# The demo city's 全国地方公共団体コード: the first municipality `madoguchi scan generate`
# writes, so a generated scan recorded on the demo shows its official that city's findings
# (docs/scan.md). `scan export` writes each link under its desk's city's code.
CITY_MUNICIPALITY_CODE = "131016"
DEMO_PASSWORD = "madoguchi-demo"
# How a second shell runs a command against the running demo (its data, its key, demo mode).
DEMO_CLI = "MADOGUCHI_DEMO=1 .venv/bin/madoguchi"
# Fixed TOTP key for the demo official and operator, so the demo can print a current code.
DEMO_TOTP_KEY = "3132333435363738393031323334353637383930"

STAFF = [
    ("desk1", "窓口 一郎", Role.DESK_STAFF, CONTRACTOR),
    ("desk2", "窓口 二葉", Role.DESK_STAFF, CONTRACTOR),
    ("supervisor", "監督 三郎", Role.SUPERVISOR, CONTRACTOR),
    ("official", "市役 四子", Role.CITY_OFFICIAL, CITY),
    ("operator", "運用 五郎", Role.OPERATOR, CITY),
]
# The simulated payment providers (`madoguchi sim serve provider` serves both).
PROVIDERS = [
    ("sim-pay", "シミュレーションペイ", "SimPay"),
    ("sim-pay-noname", "シミュレーションペイ（名義非開示）", "SimPay (no holder names)"),
]
# The incident report's contact block (fictitious numbers).
DEMO_CITY_CONTACT = {
    "city_name": CITY,
    "department": "市民生活部 マイナンバーカード推進課",
    "phone": "000-000-0000",
    "fax": "000-000-0001",
}
TERMINALS = [("desk-01", "本庁 1階 支援窓口 1番"), ("desk-02", "本庁 1階 支援窓口 2番")]


@dataclass
class DemoSeed:
    credentials: dict[str, str] = field(default_factory=dict)  # terminal name -> raw credential


def seed() -> DemoSeed:
    result = DemoSeed()
    with transaction.atomic():
        city, _ = Organisation.objects.get_or_create(
            name=CITY,
            defaults={"kind": OrganisationKind.CITY, "municipality_code": CITY_MUNICIPALITY_CODE},
        )
        if not city.municipality_code:  # a database seeded before cities carried one
            city.municipality_code = CITY_MUNICIPALITY_CODE
            city.save(update_fields=["municipality_code"])
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

        template_install_default()

        if not CityContact.objects.exists():  # the report's 問い合わせ先 (admin-editable)
            CityContact.objects.create(**DEMO_CITY_CONTACT)

        for code, ja, en in PROVIDERS:
            Provider.objects.get_or_create(
                code=code, defaults={"display_name_ja": ja, "display_name_en": en}
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

    return f"{totp(bytes.fromhex(key_hex)):06d}"


# --- demo residents' cards ------------------------------------------------------------------

# (file name, name on the card, birth date, sex, address)
RESIDENTS = [
    ("resident-a", "山田　太郎", "1980-04-01", "1", "大阪府デモ市堺区南瓦町３番１号"),
    ("resident-b", "鈴木　一郎", "1975-09-30", "1", "大阪府デモ市北区新金岡町５丁１番"),
    ("parent", "佐藤　花子", "1985-06-15", "2", "大阪府デモ市中区深井清水町１４０５"),
    ("minor", "佐藤　翔太", "2014-02-03", "1", "大阪府デモ市中区深井清水町１４０５"),
    ("locked", "高橋　健", "1962-11-20", "1", "大阪府デモ市西区鳳東町６丁６００"),
    # The incident scenario's residents (`make scenario`), on terminal desk-02.
    ("sakai-a", "堺　一郎", "1970-07-05", "1", "大阪府デモ市堺区南瓦町２番１号"),
    ("sakai-b", "小林　翔子", "1988-03-12", "2", "大阪府デモ市東区日置荘西町１丁"),
]
DEMO_PIN = "1234"


def demo_dir() -> Path:

    return Path(settings.DATA_DIR) / "demo"


def ensure_pki() -> tuple[Path, list[Path]]:
    """The demo's JPKI-TEST CA, trusted, with a fresh CRL, and the residents' virtual cards."""

    root = demo_dir()
    ca = TestCA.load_or_create(root / "ca")
    identity.trust_anchor_add(pem=ca.certificates_pem(), name="JPKI-TEST (demo)")
    refresh_crl()
    cards_dir = root / "cards"
    cards_dir.mkdir(parents=True, exist_ok=True)
    cards = []
    for file_name, name, birth, sex, address in RESIDENTS:
        path = cards_dir / f"{file_name}.card"
        if not path.exists():
            card = issue_card(
                ca,
                name=name,
                address=address,
                birth=date.fromisoformat(birth),
                sex=sex,
                pin=DEMO_PIN,
                path=path,
            )
            card.save()
            if file_name == "locked":
                client = JpkiClient(VirtualTransport(card))
                for _ in range(3):
                    with contextlib.suppress(WrongPin, PinBlocked):  # the point is to lock it
                        client.verify_auth_pin("0000")
        cards.append(path)
    return root, cards


def support_key_spec() -> str:
    """`CARD_SUPPORT_KEYS` for the demo server: the demo CA's input-support root (it plays
    J-LIS's key with which the server verifies EF0003 of the demo cards)."""

    ca = TestCA.load_or_create(demo_dir() / "ca")
    path = demo_dir() / "ca" / "support-root.pub.pem"
    path.write_bytes(ca.support_public_key_pem())
    return f"{SUPPORT_ROOT_KEY_ID.hex()}={path}"


def refresh_crl() -> None:
    """Import a fresh CRL from the demo CA (the demo's stand-in for the scheduled J-LIS fetch)."""

    ca = TestCA.load_or_create(demo_dir() / "ca")
    identity.crl_import(data=ca.crl_pem(), source="demo CA")


def audit_checkpoint() -> None:
    """Sign a checkpoint of the audit log (making the demo's signing key the first time)."""

    if not conf.key_file().exists():
        audit.create_checkpoint_key()
    audit.write_checkpoint()
