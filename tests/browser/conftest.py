"""Browser tests: Debian's chromium through Playwright, a live server, and the card agent in a
thread with virtual cards (the tray) and test PINs allowed.

Each test gets its own terminal, staff member, agent and browser context; the CA and the cards
are made once per session (tests/conftest.py) and copied per test so PIN counters never leak.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from madoguchi.agent import Agent, AgentConfig
from madoguchi.checklists import services as checklists
from madoguchi.terminals import services as terminal_services
from tests import cardkit, factories
from tests.visits import LIVE_PRESENCE_TIMEOUT_SECONDS

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
# Playwright's sync API keeps an event loop on the main thread; the ORM calls the tests make there
# are ordinary blocking calls, which Django would otherwise refuse.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
# How long a test's teardown waits for its browser context to close. Playwright's close has no
# bound of its own (it waits for the browser without end); a close that takes longer fails the
# teardown instead of holding the run until the hang bound (tests/hang_bound.py).
CONTEXT_CLOSE_SECONDS = 60.0

ARTIFACTS = Path(os.environ.get("TEST_ARTIFACTS", "test-artifacts"))

pytestmark = pytest.mark.browser

PRESENCE_TIMEOUT_SECONDS = LIVE_PRESENCE_TIMEOUT_SECONDS  # tests/visits.py says why


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """A failed desk test says how the terminal's last visit stands (open, or ended and why,
    with its times and the agent's reports), so a flow that landed on the "ended" page
    explains itself."""
    outcome = yield
    report = outcome.get_result()
    desk = item.funcargs.get("desk") if hasattr(item, "funcargs") else None
    if report.when == "call" and report.failed and isinstance(desk, Desk):
        try:
            report.sections.append(("the terminal's last visit", repr(desk.last_visit())))
        except Exception as exc:  # a report must never hide the failure itself
            report.sections.append(("the terminal's last visit", f"unreadable: {exc!r}"))


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed")
    from playwright.sync_api import expect, sync_playwright

    # Playwright's assertions wait 5 s for what they expect by default: on a loaded 2-core
    # machine a page the live server renders in this same process can take longer to come. The
    # wait returns as soon as the page shows it; its bound is not something these tests assert.
    expect.set_options(timeout=30_000)
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield b
        b.close()


def close_context_then_stop(
    context: Any, agent: Any, seconds: float = CONTEXT_CLOSE_SECONDS
) -> None:
    """Close a test's browser context, waiting at most `seconds`, then stop its card agent, even
    when the close failed or took too long (the close's error is raised after the stop).

    The bound is asyncio's, around the context's own close on Playwright's event loop (its sync
    API runs every call there, so a thread of ours could not wait for it instead)."""
    try:
        context._sync(asyncio.wait_for(context._impl_obj.close(reason=None), seconds))
    finally:
        agent.stop()


def read_to_end_and_type(page, pin: str) -> None:
    """As a resident: read the signed lines down to the end (the PIN field opens only then),
    then type the PIN and press Enter."""
    from playwright.sync_api import expect

    frame = page.frame_locator("[data-testid=pinpad-frame]")
    field = frame.get_by_test_id("pin")
    field.wait_for(state="visible")
    lines = frame.get_by_test_id("signed-lines")
    for _ in range(60):
        if field.is_enabled():
            break
        lines.press("ArrowDown")
    # Typed into a disabled field, the PIN would be lost without a trace (the page would wait).
    # The arrow key's scroll is animated: the field opens when the list comes to rest.
    try:
        expect(field).to_be_enabled(timeout=30_000)
    except AssertionError:
        box = lines.evaluate(
            "l => ({top: l.scrollTop, client: l.clientHeight, scroll: l.scrollHeight})"
        )
        raise AssertionError(
            f"the PIN field did not open after reading the signed lines: {box}"
        ) from None
    field.press_sequentially(pin)
    field.press("Enter")


@dataclass
class Desk:
    url: str
    agent: Agent
    terminal: object
    staff: object
    credential: str
    page: object  # playwright Page

    @property
    def agent_url(self) -> str:
        return self.agent.base_url

    def go(self, path: str) -> None:
        self.page.goto(self.url + path)

    def insert(self, card: str) -> None:
        r = httpx.post(f"{self.agent_url}/tray/insert", json={"card": card}, timeout=5)
        r.raise_for_status()

    def remove(self) -> None:
        httpx.post(f"{self.agent_url}/tray/remove", timeout=5).raise_for_status()

    def pending_request(self) -> str:
        """The id of the PIN request the PIN pad iframe shows."""
        src = self.page.get_by_test_id("pinpad-frame").get_attribute("src") or ""
        m = re.search(r"/pinpad/([^?]+)", src)
        assert m, src
        return m.group(1)

    def test_pin(self, pin: str = cardkit.PIN) -> None:
        """Answer the pending PIN pad through /test/pin (the agent's automated-test door)."""
        self.page.get_by_test_id("pinpad-frame").wait_for(state="visible")
        r = httpx.post(
            f"{self.agent_url}/test/pin",
            json={"request_id": self.pending_request(), "pin": pin},
            timeout=10,
        )
        r.raise_for_status()

    def type_pin(self, pin: str = cardkit.PIN) -> None:
        """Type the PIN into the agent's PIN pad iframe, as a resident does."""
        read_to_end_and_type(self.page, pin)

    def wait_for_receipt(self, timeout_ms: int = 30_000) -> None:
        """Wait for the receipt page after a signed completion. On a timeout, fail with what
        the page showed (its URL, the flow's status and error lines), so a failure says where
        the flow stopped: the PIN pad, the card, the server's answer or the navigation."""
        from playwright.sync_api import TimeoutError as PlaywrightTimeout

        try:
            self.page.wait_for_url(re.compile(r"/desk/visit/receipt/$"), timeout=timeout_ms)
        except PlaywrightTimeout:
            seen = {"url": self.page.url}
            for role in ("flow-status", "flow-error"):
                found = self.page.locator(f"[data-role={role}]")
                seen[role] = found.first.text_content() if found.count() else None
            seen["visit"] = self.last_visit()
            self.shot("timeout-waiting-for-receipt")
            raise AssertionError(f"no receipt after the signed completion: {seen}") from None

    def last_visit(self) -> dict[str, object] | None:
        """The terminal's latest visit as the server keeps it: whether and why it ended, its
        times, and the agent's presence reports (how many were sent, how many failed), so a
        failure that ends on the desk's "ended" page says which of the visit's limits ended it."""
        from django.utils import timezone

        from madoguchi.desk.models import Completion, Visit

        visit = Visit.objects.filter(terminal=self.terminal).order_by("-started_at").first()
        if visit is None:
            return None
        now = timezone.now()

        def ago(at):
            return None if at is None else round((now - at).total_seconds(), 2)

        return {
            "end_reason": visit.end_reason or None,
            "ended_s_ago": ago(visit.ended_at),
            "started_s_ago": ago(visit.started_at),
            "last_presence_s_ago": ago(visit.last_presence_at),
            "last_activity_s_ago": ago(visit.last_activity_at),
            "completions": Completion.objects.filter(visit=visit).count(),
            "presence_sent": self.agent.reporter.sent,
            "presence_failures": self.agent.reporter.failures,
        }

    def shot(self, name: str) -> None:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=False)


@pytest.fixture
def card_files(pki, tmp_path) -> list[Path]:
    out = []
    for key, card in pki.cards.items():
        copy = tmp_path / f"{key}.card"
        shutil.copy(card.path, copy)
        out.append(copy)
    return out


def resident_page_origin(server_url: str) -> str:
    return server_url.replace("//localhost:", "//127.0.0.1:")


def _serve_insecure(settings, origin: str, agent_origin: str) -> None:
    settings.MADOGUCHI_ORIGIN = origin
    settings.CARD_AGENT_ORIGIN = agent_origin
    settings.SESSION_COOKIE_SECURE = False
    settings.CSRF_COOKIE_SECURE = False
    settings.SECURE_SSL_REDIRECT = False
    settings.SECURE_HSTS_SECONDS = 0
    settings.ALLOWED_HOSTS = ["localhost", "127.0.0.1"]
    settings.CSRF_TRUSTED_ORIGINS = [origin]
    policy = {k: list(v) for k, v in settings.CONTENT_SECURITY_POLICY["DIRECTIVES"].items()}
    policy["connect-src"] = ["'self'", agent_origin]
    policy["frame-src"] = [agent_origin]
    settings.CONTENT_SECURITY_POLICY = {"DIRECTIVES": policy}


@pytest.fixture
def desk(live_server, trusted, settings, card_files, browser, tmp_path) -> Iterator[Desk]:
    """A terminal enrolled in a fresh browser context, desk staff signed in, the agent running
    with residents A, B and C's cards in its tray (none inserted)."""
    checklists.template_install_default()
    terminal = factories.terminal()
    raw = terminal_services.credential_issue(terminal=terminal, actor=None).raw
    staff = factories.staff()
    config = AgentConfig(
        server_url=live_server.url,
        credential=raw,
        listen_port=0,
        virtual_cards=tuple(card_files),
        allow_test_pins=True,
        presence_interval=1.0,
        max_backoff=1.0,
        # The resident page's own origin (tests/browser/test_resident.py): the same live server
        # by its other loopback name.
        page_origins=(resident_page_origin(live_server.url),),
    )
    agent = Agent(config)
    agent.start()
    _serve_insecure(settings, live_server.url, agent.base_url)
    settings.VISIT_PRESENCE_TIMEOUT_SECONDS = PRESENCE_TIMEOUT_SECONDS
    # The resident page's session lapses by the same kind of window (its heartbeat's reports):
    # the same reason holds, and its card removal is checked, not its lapse.
    settings.RESIDENT_PRESENCE_TIMEOUT_SECONDS = PRESENCE_TIMEOUT_SECONDS
    settings.DEMO = True  # the tray UI
    settings.CARD_SUPPORT_KEYS = [cardkit.support_key_spec(trusted.ca, tmp_path)]
    context = browser.new_context(locale="ja-JP", viewport={"width": 1280, "height": 900})
    context.set_default_timeout(10_000)
    page = context.new_page()
    errors: list[str] = []
    page.on(
        "console", lambda m: errors.append(f"{page.url}: {m.text}") if m.type == "error" else None
    )
    d = Desk(
        url=live_server.url, agent=agent, terminal=terminal, staff=staff, credential=raw, page=page
    )
    try:
        d.go("/terminal/enrol/")
        page.fill("#credential", raw)
        page.locator("main form button[type=submit]").first.click()
        page.wait_for_load_state()
        d.go("/accounts/sign-in/")
        page.fill("input[name=username]", staff.username)
        page.fill("input[name=password]", factories.PASSWORD)
        page.locator("main form button[type=submit]").click()
        page.wait_for_load_state()
        assert re.search(r"/desk/$", page.url), page.locator("main").inner_text()
        yield d
        csp = [e for e in errors if "Content Security Policy" in e]
        assert not csp, csp
    finally:
        close_context_then_stop(context, agent)
