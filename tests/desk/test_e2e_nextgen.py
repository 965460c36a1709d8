"""A whole visit and completion with the PROVISIONAL next-generation card (ECDSA P-384, ES384):
the agent signs with the card's profile, the server validates ES384 tokens (docs/card.md)."""

from datetime import date

from madoguchi.agent import AgentConfig, running_agent
from madoguchi.agent.operations import fingerprint
from madoguchi.card.profiles import PROVISIONAL_ECDSA_P384
from madoguchi.card.virtual import issue_card
from madoguchi.checklists.services import template_install_default
from madoguchi.desk.models import Visit
from madoguchi.identity import services as identity
from madoguchi.identity.models import HolderCertificate
from madoguchi.scenario.driver import DeskDriver, Refusal
from madoguchi.scenario.sakai import A_ACCOUNT
from madoguchi.terminals import services as terminal_services
from tests import cardkit, factories
from tests.visits import LIVE_PRESENCE_TIMEOUT_SECONDS


def test_visit_and_completion_with_a_provisional_ecdsa_card(live_server, pki, settings, tmp_path):
    settings.MADOGUCHI_ORIGIN = live_server.url
    settings.VISIT_PRESENCE_TIMEOUT_SECONDS = LIVE_PRESENCE_TIMEOUT_SECONDS
    template_install_default()
    identity.trust_anchor_add(pem=pki.ca.certificates_pem())
    identity.crl_import(data=pki.ca.crl_pem())
    cards = tmp_path / "cards"
    cards.mkdir()
    card = issue_card(
        pki.ca,
        name="堺　次世代",
        address="大阪府デモ市堺区南瓦町３番１号",
        birth=date(1988, 8, 8),
        sex="2",
        pin=cardkit.PIN,
        profile=PROVISIONAL_ECDSA_P384.name,
        path=cards / "nextgen.card",
    )
    assert card.profile is PROVISIONAL_ECDSA_P384
    terminal = factories.terminal()
    credential = terminal_services.credential_issue(terminal=terminal, actor=None).raw
    staff = factories.staff()
    config = AgentConfig(
        server_url=live_server.url,
        credential=credential,
        listen_port=0,
        virtual_cards=(cards / "nextgen.card",),
        presence_interval=0.5,
    )
    with running_agent(config) as agent:
        desk = DeskDriver(live_server.url, agent.base_url)
        try:
            desk.enrol(credential)
            desk.sign_in(staff.username, factories.PASSWORD)
            desk.tray_insert("nextgen")
            visit = desk.start_visit(cardkit.PIN)
            assert not isinstance(visit, Refusal), visit
            prepared = desk.prepare("test_link", {"account": A_ACCOUNT, "points": 7500})
            assert not isinstance(prepared, Refusal), prepared
            done = desk.complete(cardkit.PIN)
            assert not isinstance(done, Refusal), done
            assert done["procedures"] == ["test_link"]
        finally:
            desk.close()
    assert Visit.objects.count() == 1
    known = HolderCertificate.objects.values_list("fingerprint", flat=True)
    assert fingerprint(card.auth_certificate) in set(known)
