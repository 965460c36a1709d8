"""Benefits test support: the three simulators over real HTTP, desks, visits, signing."""

from __future__ import annotations

import pytest

from madoguchi.benefits import outside
from madoguchi.benefits.models import Provider
from madoguchi.desk import services as desk_services
from madoguchi.outside import ClientConfig
from madoguchi.outside.sim import running_all
from madoguchi.refusals import Refusal
from madoguchi.terminals import services as terminal_services
from tests import cardkit, factories
from tests.visits import commit, start_visit  # noqa: F401 (this package's tests import them here)
from tests.visits import sign_completion as sign  # noqa: F401

ORIGIN = "http://127.0.0.1:8000"
FAST = ClientConfig(
    connect_timeout=0.5, read_timeout=0.4, attempts=2, backoff_initial=0.01, backoff_max=0.02
)


@pytest.fixture(scope="session")
def sims():
    with running_all() as s:
        yield s


@pytest.fixture
def systems(sims):
    for sim in (sims.provider, sims.bank, sims.insurer):
        sim.control.reset()
    systems = sims.outside(FAST)
    with outside.use(systems):
        yield systems
    systems.close()


@pytest.fixture(autouse=True)
def _origin(settings):
    settings.MADOGUCHI_ORIGIN = ORIGIN
    settings.BENEFITS_CERTIFIED_READING = ""
    # No card agent reports presence in these tests; a loaded CI machine must not lapse visits.
    settings.VISIT_PRESENCE_TIMEOUT_SECONDS = 600


def drain(now=None):
    """Run the outbox worker once (what `madoguchi outside worker --once` does), as at `now`."""
    from madoguchi.benefits.services import outbox

    return outbox.drain(now)


def make_providers():
    Provider.objects.get_or_create(
        code="sim-pay", defaults={"display_name_ja": "シミュレーションペイ"}
    )
    Provider.objects.get_or_create(
        code="sim-pay-noname", defaults={"display_name_ja": "シミュレーションペイ（名義非開示）"}
    )


@pytest.fixture
def providers(db):
    make_providers()


def new_desk():
    return terminal_services.desk_session_open(
        terminal=factories.terminal(), staff=factories.staff()
    )


@pytest.fixture
def desk(db):
    return new_desk()


@pytest.fixture
def other_desk(db):
    return new_desk()


def apply_fields(psid="7010000000000001", code="123", kana="ヤマダ タロウ", **extra):
    fields = {
        "provider": "sim-pay",
        "payment_service_id": psid,
        "security_code": code,
        "resident_kana": kana,
        "resident_kana_confirmed": True,
    }
    fields.update(extra)
    return fields


def prepare(desk_session, kind="point_application", **fields):
    return desk_services.procedure_prepare(desk_session=desk_session, kind=kind, fields=fields)


def refused(code, fn, *args, **kwargs):
    with pytest.raises(Refusal) as exc:
        fn(*args, **kwargs)
    assert exc.value.code == code, exc.value
    assert exc.value.message_ja
    assert exc.value.message_en
    return exc.value


@pytest.fixture(scope="session")
def minor_card(pki, tmp_path_factory):
    """A child's card (the demo's `minor`, born 2014-02-03), issued by the test CA."""
    from datetime import date

    from madoguchi.card.virtual import issue_card

    return issue_card(
        pki.ca,
        name="佐藤　翔太",
        address="大阪府デモ市中区深井清水町１４０５",
        birth=date(2014, 2, 3),
        sex="1",
        pin=cardkit.PIN,
        path=tmp_path_factory.mktemp("minor") / "minor.card",
    )


@pytest.fixture
def support_keys(settings, pki, tmp_path):
    """The server trusts the test CA's input-support root (CARD_SUPPORT_KEYS)."""
    settings.CARD_SUPPORT_KEYS = [cardkit.support_key_spec(pki.ca, tmp_path)]
