from datetime import datetime, timedelta

import pytest
from django.utils import timezone

from madoguchi.accounts.constants import OrganisationKind, Role
from madoguchi.accounts.models import Organisation
from madoguchi.desk import services as desk_services
from madoguchi.terminals import services as terminal_services
from madoguchi.terminals.models import Terminal
from tests import cardkit, checklistkit, factories
from tests.visits import start_visit  # noqa: F401 (this package's tests import it here)

ORIGIN = "http://127.0.0.1:8000"


@pytest.fixture(autouse=True)
def _origin(settings):
    settings.MADOGUCHI_ORIGIN = ORIGIN


@pytest.fixture
def yesterday():
    return timezone.localdate() - timedelta(days=1)


@pytest.fixture
def at(monkeypatch):
    """`at(dt)` makes the clock read dt (for records made 'yesterday')."""

    def set_clock(dt: datetime) -> None:
        monkeypatch.setattr(timezone, "now", lambda: dt)

    return set_clock


def local(day, hour, minute=0):
    return timezone.make_aware(datetime(day.year, day.month, day.day, hour, minute))


@pytest.fixture
def desk(db):
    """A desk session on a terminal registered a month ago: a day's report is due only from
    the day its desk was registered (`services.before_registration`)."""
    terminal = factories.terminal()
    Terminal.objects.filter(pk=terminal.pk).update(created_at=timezone.now() - timedelta(days=30))
    terminal.refresh_from_db()
    return terminal_services.desk_session_open(terminal=terminal, staff=factories.staff())


@pytest.fixture
def supervisor(db):
    return factories.staff(Role.SUPERVISOR)


@pytest.fixture
def other_supervisor(db):
    other = Organisation.objects.create(
        name="別の窓口株式会社", kind=OrganisationKind.CONTRACTOR, city=factories.city()
    )
    user = factories.staff(Role.SUPERVISOR)
    user.organisation = other
    user.save()
    return user


@pytest.fixture
def official(db):
    return factories.staff(Role.CITY_OFFICIAL)


def commit_test_link(desk_session, card, account="PAY-A-0001"):
    desk_services.procedure_prepare(
        desk_session=desk_session, kind="test_link", fields={"account": account, "points": 5000}
    )
    checklistkit.tick_before(desk_session)
    ch = desk_services.completion_challenge(desk_session=desk_session)
    token = cardkit.completion_token(card, ORIGIN, ch.nonce.value, ch.transaction_bytes)
    return desk_services.completion_commit(
        desk_session=desk_session, token=token, nonce=ch.nonce.value
    )
