"""The desk over real HTTP: a live server, the card agent with virtual cards, and a scripted
desk page (the same driver `madoguchi scenario sakai` uses)."""

import json
import shutil

import pytest

from madoguchi.agent import AgentConfig, running_agent
from madoguchi.checklists.services import template_install_default
from madoguchi.desk.constants import ProcedureStatus
from madoguchi.desk.models import Procedure, Visit
from madoguchi.identity import services as identity
from madoguchi.incidents.models import Incident
from madoguchi.scenario.driver import DeskDriver, Refusal
from madoguchi.scenario.sakai import A_ACCOUNT, B_PAYMENT_SERVICE_ID, SakaiConfig, run
from madoguchi.terminals import services as terminal_services
from tests import cardkit, factories
from tests.visits import LIVE_PRESENCE_TIMEOUT_SECONDS

# The live server answers in milliseconds, but on a loaded 2-core machine a first request can
# wait seconds for the CPU: httpx's 5-second default is not a limit these tests assert.
HTTP_TIMEOUT = 30


@pytest.fixture
def desk_env(live_server, pki, settings, tmp_path, desk_extra_cards):
    settings.MADOGUCHI_ORIGIN = live_server.url
    settings.VISIT_PRESENCE_TIMEOUT_SECONDS = LIVE_PRESENCE_TIMEOUT_SECONDS
    template_install_default()  # the desk manual's checklist is in force, as in the demo
    identity.trust_anchor_add(pem=pki.ca.certificates_pem())
    identity.crl_import(data=pki.ca.crl_pem())
    terminal = factories.terminal()
    credential = terminal_services.credential_issue(terminal=terminal, actor=None).raw
    staff = factories.staff()
    cards = tmp_path / "cards"
    cards.mkdir()
    for key, name in (("A", "sakai-a"), ("B", "sakai-b")):
        shutil.copy(pki.card(key).path, cards / f"{name}.card")
    for name, state in desk_extra_cards.items():
        (cards / f"{name}.card").write_text(json.dumps(state))
    config = AgentConfig(
        server_url=live_server.url,
        credential=credential,
        listen_port=0,
        virtual_cards=tuple(sorted(cards.glob("*.card"))),
        presence_interval=0.5,
    )
    with running_agent(config) as agent:
        yield {
            "server": live_server.url,
            "agent": agent.base_url,
            "credential": credential,
            "username": staff.username,
            "cards": cards,
            "terminal": terminal,
        }


def test_main_path_over_http(desk_env):
    desk = DeskDriver(desk_env["server"], desk_env["agent"])
    try:
        desk.enrol(desk_env["credential"])
        desk.sign_in(desk_env["username"], factories.PASSWORD)
        desk.tray_insert("sakai-a")
        visit = desk.start_visit(cardkit.PIN)
        assert not isinstance(visit, Refusal), visit
        assert not isinstance(
            desk.prepare("test_link", {"account": A_ACCOUNT, "points": 7500}), Refusal
        )
        done = desk.complete(cardkit.PIN)
        assert not isinstance(done, Refusal), done
        assert done["procedures"] == ["test_link"]
        # Card removal, reported by the agent, ends the visit.
        desk.tray_remove()
        import time

        deadline = time.monotonic() + 60  # a poll: returns as soon as the visit ended
        while time.monotonic() < deadline and not isinstance(desk.current(), Refusal):
            time.sleep(0.1)
        current = desk.current()
        assert isinstance(current, Refusal)
        assert current.code == "no_open_visit"
    finally:
        desk.close()
    assert Visit.objects.get().end_reason == "card_removed"


def test_api_errors_are_english_and_need_a_desk_session(desk_env):
    desk = DeskDriver(desk_env["server"], desk_env["agent"])
    try:
        # No session at all: 401 before the CSRF check (round 19; it was 403 csrf_failed).
        r = desk.api("POST", "/visits/auth-challenge")
        assert r.status_code == 401
        assert r.json()["code"] == "unauthenticated"
        desk.http.get("/accounts/sign-in/")  # sets the CSRF cookie, as a page load does
        r = desk.api("POST", "/visits/auth-challenge")
        assert r.status_code == 401
        assert "Sign in" in r.json()["message"]
        desk.enrol(desk_env["credential"])
        desk.sign_in(desk_env["username"], factories.PASSWORD)
        r = desk.api("POST", "/visits/start", {"token": "{}", "nonce": "x" * 44})
        assert r.status_code == 403
        assert r.json()["code"] == "nonce_unknown"
        assert r.json()["message"].startswith("The challenge")
        r = desk.api("POST", "/visits/current/procedures", {"kind": 3})
        assert r.status_code == 422
        assert r.json()["code"] == "malformed_request"
    finally:
        desk.close()


def test_agent_events_need_the_terminal_credential(desk_env):
    import httpx

    url = desk_env["server"] + "/api/v1/agent/events"
    body = {"kind": "removed", "cert_fingerprint": None}
    assert httpx.post(url, json=body, timeout=HTTP_TIMEOUT).status_code == 401
    assert (
        httpx.post(
            url, json=body, headers={"Authorization": "Bearer mdt_x_y"}, timeout=HTTP_TIMEOUT
        ).status_code
        == 401
    )
    ok = httpx.post(
        url,
        json=body,
        headers={"Authorization": f"Bearer {desk_env['credential']}"},
        timeout=HTTP_TIMEOUT,
    )
    assert ok.status_code == 204


def test_text_with_a_nul_character_is_a_clear_refusal_not_a_server_error(desk_env):
    """PostgreSQL cannot store NUL in text: a request carrying one gets a refusal that says
    why (on either database), never a server error."""
    import httpx

    auth = {"Authorization": f"Bearer {desk_env['credential']}"}
    url = desk_env["server"] + "/api/v1/agent/events"
    body = {"kind": "presence", "cert_fingerprint": "ab\u0000cd"}
    r = httpx.post(url, json=body, headers=auth, timeout=HTTP_TIMEOUT)
    assert r.status_code in (204, 422), r.text  # SQLite stores NUL: an unknown card, no visit
    if r.status_code == 422:
        assert r.json()["code"] == "malformed_request"
        assert "NUL" in r.json()["message"]
    desk = DeskDriver(desk_env["server"], desk_env["agent"])
    try:
        desk.http.get("/accounts/sign-in/")
        desk.enrol(desk_env["credential"])
        desk.sign_in(desk_env["username"], factories.PASSWORD)
        r = desk.api("POST", "/visits/start", {"token": "{}", "nonce": "ab\u0000cd"})
        assert r.status_code == 403, r.text
        assert r.json()["code"] == "nonce_unknown"
    finally:
        desk.close()


def test_openapi_document_is_served(desk_env):
    import httpx

    doc = httpx.get(desk_env["server"] + "/api/v1/openapi.json", timeout=HTTP_TIMEOUT).json()
    assert "/api/v1/visits/current/complete" in doc["paths"]
    assert "/api/v1/agent/events" in doc["paths"]


@pytest.fixture
def outside_sims(settings):
    """The simulated provider, bank and insurer over HTTP, and the providers registered."""
    from madoguchi.benefits import outside
    from madoguchi.benefits.models import Provider
    from madoguchi.outside import ClientConfig
    from madoguchi.outside.sim import running_all

    Provider.objects.get_or_create(
        code="sim-pay", defaults={"display_name_ja": "シミュレーションペイ"}
    )
    with running_all() as sims:
        systems = sims.outside(ClientConfig(read_timeout=2.0, attempts=2, backoff_initial=0.05))
        with outside.use(systems):
            yield systems
        systems.close()


def test_sakai_scenario_commits_nothing_for_the_wrong_person(desk_env, outside_sims):
    from madoguchi.benefits.identifiers import identifier_matches
    from madoguchi.benefits.models import PaymentLink

    result = run(
        SakaiConfig(
            server=desk_env["server"],
            agent=desk_env["agent"],
            terminal_credential=desk_env["credential"],
            username=desk_env["username"],
            password=factories.PASSWORD,
            card_dir=desk_env["cards"],
            # The tests' card A is 堺 花子 (1980-04-01): her own insurance record.
            a_procedure=(
                "health_insurance_use",
                {
                    "insurer_number": "139998",
                    "insured_symbol": "市国12",
                    "insured_number": "3458",
                    "branch": "00",
                    "resident_birth_date": "1980-04-01",
                    "resident_sex": "2",
                    "resident_kana": "サカイ ハナコ",
                    "resident_kana_confirmed": True,
                    "confirm_close_match": True,
                },
            ),
        ),
        say=print,
    )
    assert result.ok, [s for s in result.steps if not s.ok]
    committed = Procedure.objects.filter(status=ProcedureStatus.COMMITTED)
    assert [p.kind for p in committed] == ["health_insurance_use"]
    assert not any(
        identifier_matches(B_PAYMENT_SERVICE_ID, link.account_hash)
        for link in PaymentLink.objects.all()
    )
    # The second-agent variant reached the server's signature check.
    assert Incident.objects.filter(reason_code="certificate_mismatch").exists()
