"""The demo as `madoguchi demo` sets it up, for browser tests: its seed (staff, terminals with
their one-click credentials, providers, checklist), its residents' cards in the agent's tray, the
simulated outside systems, and a fresh browser context on the live server."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest

from madoguchi.agent import Agent, AgentConfig
from madoguchi.card.virtual import issue_card
from madoguchi.core import demo
from tests import cardkit

from .conftest import (
    ARTIFACTS,
    PRESENCE_TIMEOUT_SECONDS,
    _serve_insecure,
    close_context_then_stop,
    read_to_end_and_type,
)

# The demo residents the browser tests use (names, birth dates, addresses from core/demo.py).
TRAY = ("resident-a", "resident-b", "parent", "minor")


@pytest.fixture(scope="session")
def demo_cards(pki, tmp_path_factory) -> dict[str, Path]:
    """The demo residents' cards, issued once per session by the test CA."""
    directory = tmp_path_factory.mktemp("demo-cards")
    out = {}
    for file_name, name, birth, sex, address in demo.RESIDENTS:
        if file_name not in TRAY:
            continue
        card = issue_card(
            pki.ca,
            name=name,
            address=address,
            birth=date.fromisoformat(birth),
            sex=sex,
            pin=demo.DEMO_PIN,
            path=directory / f"{file_name}.card",
        )
        out[file_name] = card.path
    return out


@dataclass
class DemoDesk:
    url: str
    agent: Agent
    page: object  # playwright Page
    data_dir: Path

    def type_pin(self, pin: str = demo.DEMO_PIN) -> None:
        """Type the PIN into the agent's PIN pad iframe, as a resident does."""
        read_to_end_and_type(self.page, pin)

    def shot(self, name: str, *, full_page: bool = False) -> None:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=full_page)


@pytest.fixture
def demo_outside(db):
    from madoguchi.benefits import outside
    from madoguchi.outside.sim import running_all

    with running_all() as sims:
        systems = sims.outside()
        with outside.use(systems):
            yield systems
        systems.close()


@pytest.fixture
def demo_desk(
    live_server, trusted, settings, demo_cards, demo_outside, browser, tmp_path
) -> Iterator[DemoDesk]:
    """`make demo` in the test: seeded, terminals.json for the one-click enrolment, the desk-01
    agent with the demo cards in its tray. Nothing enrolled or signed in yet."""
    settings.DATA_DIR = tmp_path
    settings.DEMO = True
    seeded = demo.seed()
    (tmp_path / "demo").mkdir()
    (tmp_path / "demo" / "terminals.json").write_text(json.dumps(seeded.credentials))
    cards = []
    for name, path in demo_cards.items():
        copy = tmp_path / f"{name}.card"
        shutil.copy(path, copy)
        cards.append(copy)
    agent = Agent(
        AgentConfig(
            server_url=live_server.url,
            credential=seeded.credentials["desk-01"],
            listen_port=0,
            virtual_cards=tuple(cards),
            allow_test_pins=True,
            presence_interval=1.0,
            max_backoff=1.0,
        )
    )
    agent.start()
    _serve_insecure(settings, live_server.url, agent.base_url)
    settings.VISIT_PRESENCE_TIMEOUT_SECONDS = PRESENCE_TIMEOUT_SECONDS
    settings.CARD_AGENT_ORIGINS = {"desk-01": agent.base_url}
    settings.CARD_SUPPORT_KEYS = [cardkit.support_key_spec(trusted.ca, tmp_path)]
    context = browser.new_context(locale="ja-JP", viewport={"width": 1280, "height": 900})
    context.set_default_timeout(10_000)
    page = context.new_page()
    errors: list[str] = []
    page.on(
        "console", lambda m: errors.append(f"{page.url}: {m.text}") if m.type == "error" else None
    )
    try:
        yield DemoDesk(url=live_server.url, agent=agent, page=page, data_dir=tmp_path)
        csp = [e for e in errors if "Content Security Policy" in e]
        assert not csp, csp
    finally:
        close_context_then_stop(context, agent)
