"""The card's basic four bound to the holder they were first verified with, over real HTTP: a
live server, the card agent with two virtual cards, and the desk driver (docs/security.md,
round 9). Nothing on a card binds its input-support record to its authentication certificate,
so a tampered agent or page could replay a record read from another card; the server refuses
a record it has verified with another holder's card."""

import pytest

from madoguchi.desk.models import Visit
from madoguchi.identity.models import HolderRecord
from madoguchi.incidents.models import Incident
from madoguchi.scenario.driver import DeskDriver, Refusal
from tests import cardkit, factories
from tests.desk import test_e2e

desk_env = test_e2e.desk_env  # the live desk: server, card agent, two virtual cards


@pytest.fixture
def support_trusted(settings, pki, tmp_path):
    settings.CARD_SUPPORT_KEYS = [cardkit.support_key_spec(pki.ca, tmp_path)]


def _visit(desk: DeskDriver, card: str) -> None:
    desk.tray_insert(card)
    visit = desk.start_visit(cardkit.PIN)
    assert not isinstance(visit, Refusal), visit


def _read(desk: DeskDriver) -> dict:
    """The agent reads the card on the reader with the input-support PIN (its PIN pad)."""
    result = desk._card_request("/read-attributes", {}, cardkit.PIN)
    assert not isinstance(result, Refusal), result
    return result["evidence"]


def _leave(desk: DeskDriver) -> None:
    desk.end_visit()
    desk.tray_remove()


def test_a_record_read_from_another_card_is_refused_with_an_incident(desk_env, support_trusted):
    desk = DeskDriver(desk_env["server"], desk_env["agent"])
    try:
        desk.enrol(desk_env["credential"])
        desk.sign_in(desk_env["username"], factories.PASSWORD)
        # Resident B's visit: the agent reads B's card; the server verifies and binds it.
        _visit(desk, "sakai-b")
        b_record = _read(desk)
        r = desk.api("POST", "/visits/current/basic-four", b_record)
        assert r.status_code == 200, r.text
        _leave(desk)
        # Resident A's visit: a tampered agent sends B's genuine, J-LIS-signed record.
        _visit(desk, "sakai-a")
        r = desk.api("POST", "/visits/current/basic-four", b_record)
        assert r.status_code == 409, r.text
        body = r.json()
        assert body["code"] == "basic_four_other_card"
        assert body["message"].startswith("These basic four were verified earlier with another")
        assert body["message_ja"].startswith("この基本4情報は、以前に別の住民のカードで")
        visit = Visit.objects.get(ended_at__isnull=True)
        assert (visit.card_name, visit.card_birth_date, visit.card_sex) == ("", None, "")
        incident = Incident.objects.get(reason_code="basic_four_other_card")
        assert incident.visit == visit
        assert incident.kind == "card_swapped"
        assert incident.severity == "high"
        # A's own record, read by the agent from A's card, is taken.
        a_record = _read(desk)
        r = desk.api("POST", "/visits/current/basic-four", a_record)
        assert r.status_code == 200, r.text
        visit.refresh_from_db()
        assert visit.card_name == r.json()["name"] != ""
        _leave(desk)
    finally:
        desk.close()
    # Two records, each bound to its own holder; no attribute is stored with them.
    holders = {v.certificate.fingerprint: v.holder_id for v in Visit.objects.all()}
    assert len(set(holders.values())) == 2
    assert set(HolderRecord.objects.values_list("holder_id", flat=True)) == set(holders.values())


def test_the_same_card_read_again_in_a_later_visit_is_taken(desk_env, support_trusted):
    desk = DeskDriver(desk_env["server"], desk_env["agent"])
    try:
        desk.enrol(desk_env["credential"])
        desk.sign_in(desk_env["username"], factories.PASSWORD)
        for _ in range(2):
            _visit(desk, "sakai-a")
            r = desk.api("POST", "/visits/current/basic-four", _read(desk))
            assert r.status_code == 200, r.text
            _leave(desk)
    finally:
        desk.close()
    assert HolderRecord.objects.count() == 1
    assert not Incident.objects.filter(reason_code="basic_four_other_card").exists()
