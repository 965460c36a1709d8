"""The main desk path through real PC/SC: pcscd with the vpcd driver, a virtual card plugged in
as if into a reader, the agent on that reader, a live server, and the scripted desk page."""

import time

import pytest

from madoguchi.agent import AgentConfig, running_agent
from madoguchi.card.pcscd import PcscdBusy, shared_pcscd
from madoguchi.card.virtual import VirtualCard
from madoguchi.card.vpcd import VpcdBridge
from madoguchi.checklists.services import template_install_default
from madoguchi.desk.constants import ProcedureStatus, VisitEndReason
from madoguchi.desk.models import Procedure, Visit
from madoguchi.identity import services as identity
from madoguchi.scenario.driver import DeskDriver, Refusal
from madoguchi.terminals import services as terminal_services
from tests import cardkit, factories
from tests.visits import LIVE_PRESENCE_TIMEOUT_SECONDS

pytestmark = pytest.mark.pcsc


@pytest.fixture(scope="module")
def pcscd():
    try:
        with shared_pcscd() as shared:
            yield shared
    except PcscdBusy as exc:  # never a silent skip: say that another pcscd holds the socket
        pytest.fail(str(exc))


def test_visit_and_signed_completion_through_pcscd(pcscd, live_server, pki, settings):
    settings.MADOGUCHI_ORIGIN = live_server.url
    settings.VISIT_PRESENCE_TIMEOUT_SECONDS = LIVE_PRESENCE_TIMEOUT_SECONDS
    template_install_default()  # the desk manual's checklist is in force, as in the demo
    identity.trust_anchor_add(pem=pki.ca.certificates_pem())
    identity.crl_import(data=pki.ca.crl_pem())
    terminal = factories.terminal()
    credential = terminal_services.credential_issue(terminal=terminal, actor=None).raw
    staff = factories.staff()
    with pcscd.lease() as slot:
        config = AgentConfig(
            server_url=live_server.url,
            credential=credential,
            listen_port=0,
            reader=slot.name,
            presence_interval=0.5,
            card_poll_interval=0.2,
        )
        with running_agent(config) as agent:
            desk = DeskDriver(live_server.url, agent.base_url)
            bridge = VpcdBridge(VirtualCard.load(pki.card("A").path), slot.port)
            bridge.connect(timeout=10)
            try:
                desk.enrol(credential)
                desk.sign_in(staff.username, factories.PASSWORD)
                deadline = time.monotonic() + 60  # a poll: returns once the agent sees it
                while not desk.agent_status()["card_present"] and time.monotonic() < deadline:
                    time.sleep(0.1)
                visit = desk.start_visit(cardkit.PIN)
                assert not isinstance(visit, Refusal), visit
                prepared = desk.prepare("test_link", {"account": "PAY-A", "points": 7500})
                assert not isinstance(prepared, Refusal), prepared
                done = desk.complete(cardkit.PIN)
                assert not isinstance(done, Refusal), done
            finally:
                bridge.remove()
                desk.close()
            deadline = time.monotonic() + 60  # a poll: returns once the removal ended it
            while time.monotonic() < deadline:
                if Visit.objects.filter(ended_at__isnull=False).exists():
                    break
                time.sleep(0.1)
    visit = Visit.objects.get()
    assert visit.end_reason == VisitEndReason.CARD_REMOVED
    assert visit.certificate.fingerprint == cardkit.fingerprint(pki.card("A"))
    assert Procedure.objects.get().status == ProcedureStatus.COMMITTED
