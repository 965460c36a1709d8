"""The agent's PIN pad in a cross-origin frame, used with the keyboard alone (issue 16): the
frame is focused the way the desk page focuses it, every signed line is readable (long lists
scroll inside their box, and the PIN field opens only once the list was read to its end), and
the PIN is typed and sent with keys only."""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from madoguchi.agent import AgentConfig, running_agent
from madoguchi.identity.tokens import canonical_transaction_bytes, generate_nonce
from tests import cardkit

pytestmark = pytest.mark.browser

HOST_PAGE = """<!doctype html><html lang="ja"><head><meta charset="utf-8"><title>desk</title>
<style>.pinpad-frame{width:100%;max-width:560px;height:860px;border:3px solid #345}</style>
</head><body><button id="before">staff</button>
<iframe class="pinpad-frame" title="PIN pad" id="frame"></iframe>
<script>
var f=document.getElementById('frame');var q=new URLSearchParams(location.search);
if(q.get('h')){f.style.height=q.get('h')+'px';}
f.src=q.get('src');
f.focus();  /* what the desk page's showPinpad() does */
</script></body></html>"""


class _Host(BaseHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        body = HOST_PAGE.encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:  # the agent's card events
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")


@pytest.fixture
def host() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Host)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


LONG_LINES = [
    f"{n}. 堺市デモ給付金 申請 {n} 件目：口座 ****{1000 + n} へ 7,500 円を振り込みます。"
    "振込予定日は受付の翌月末です（土日祝日の場合は前営業日）。"
    for n in range(1, 13)
]


def _request(agent_url: str, origin: str, display: list[str]) -> str:
    tx = canonical_transaction_bytes({"display": display, "procedure": "test"})
    r = httpx.post(
        f"{agent_url}/sign-completion",
        json={
            "origin": origin,
            "nonce": generate_nonce(),
            "transaction": base64.b64encode(tx).decode(),
        },
        headers={"Origin": origin},
        timeout=10,
    )
    r.raise_for_status()
    return str(r.json()["pinpad_url"])


@contextmanager
def _pinpad(browser, card_files, host: str, display: list[str], query: str = ""):
    """A card agent with card A inserted, a PIN request for `display`, and the host page
    showing its PIN pad (`query`: extra host page parameters). Yields (agent, page, pinpad URL)."""
    config = AgentConfig(
        server_url=host,
        credential="mdt_" + "x" * 40,
        listen_port=0,
        virtual_cards=tuple(card_files),
    )
    with running_agent(config) as agent:
        httpx.post(
            f"{agent.base_url}/tray/insert", json={"card": card_files[0].stem}, timeout=5
        ).raise_for_status()
        pinpad_url = _request(agent.base_url, host, display)
        context = browser.new_context(viewport={"width": 800, "height": 1000})
        try:
            page = context.new_page()
            page.goto(f"{host}/?{query}src={pinpad_url}")
            yield agent, page, pinpad_url
        finally:
            context.close()


def _type_the_pin(page, frame, agent, host: str, pinpad_url: str) -> dict:
    """Type the right PIN and Enter with the keyboard; the request is done: its answer."""
    page.keyboard.type(cardkit.PIN)
    page.keyboard.press("Enter")
    frame.locator(".notice.ok").wait_for(state="visible", timeout=10_000)
    request_id = pinpad_url.rsplit("/", 1)[1]
    result = httpx.get(
        f"{agent.base_url}/requests/{request_id}", headers={"Origin": host}, timeout=5
    ).json()
    assert result["status"] == "done"
    return dict(result)


@pytest.mark.parametrize("display", [LONG_LINES, LONG_LINES[:2]], ids=["12-long-lines", "2-lines"])
def test_pin_by_keyboard_only_with_every_signed_line_readable(
    browser, card_files, host: str, display: list[str]
) -> None:
    with _pinpad(browser, card_files, host, display) as (agent, page, pinpad_url):
        frame = page.frame_locator("#frame")
        pin = frame.get_by_test_id("pin")
        lines = frame.get_by_test_id("signed-lines")
        lines.wait_for(state="visible")
        box = lines.evaluate(
            "l => ({sh: l.scrollHeight, ch: l.clientHeight, sw: l.scrollWidth,"
            " cw: l.clientWidth, items: l.children.length})"
        )
        assert box["items"] == len(display)
        assert box["sw"] <= box["cw"], "signed lines overflow sideways"
        overflowing = box["sh"] > box["ch"] + 2
        assert overflowing == (display is LONG_LINES)
        if overflowing:
            # The list must be read first: it has the focus and the PIN field is closed.
            assert lines.evaluate("l => document.activeElement === l")
            assert pin.is_disabled()

            def visible() -> set[str]:
                return set(
                    lines.evaluate(
                        "l => { const r = l.getBoundingClientRect(); return [...l.children]"
                        ".filter(li => { const b = li.getBoundingClientRect();"
                        " return b.top >= r.top - 1 && b.bottom <= r.bottom + 1; })"
                        ".map(li => li.textContent) }"
                    )
                )

            seen = set()
            for _ in range(60):  # the resident reads down with the arrow key
                seen |= visible()
                if not pin.is_disabled():
                    # The key's scroll is animated: the PIN may open while the list still moves
                    # its last pixels; what counts is where it comes to rest.
                    page.wait_for_timeout(400)
                    seen |= visible()
                    break
                page.keyboard.press("ArrowDown")
            assert seen == set(display), "some signed lines were never fully visible"
        assert not pin.is_disabled()
        assert pin.evaluate("i => document.activeElement === i"), "focus is not on the PIN"
        result = _type_the_pin(page, frame, agent, host, pinpad_url)
        token = json.loads(result["result"]["token"])
        assert token["format"] == "madoguchi-completion:1.0"


@pytest.mark.django_db(transaction=True)
def test_the_desk_page_hands_the_focus_to_the_pin_field(desk) -> None:
    """On the real desk page: staff start the visit with the keyboard, the resident types the PIN
    and presses Enter without a click (no locator focuses the field for us)."""
    import re

    from playwright.sync_api import expect

    desk.insert("A")
    page = desk.page
    desk.go("/desk/")
    expect(page.get_by_test_id("presence")).to_contain_text("カード")
    for _ in range(30):
        page.keyboard.press("Tab")
        if page.evaluate("() => document.activeElement.dataset.testid") == "start-visit":
            break
    else:
        raise AssertionError("start-visit is not reachable with the keyboard")
    page.keyboard.press("Enter")
    pin = page.frame_locator("[data-testid=pinpad-frame]").get_by_test_id("pin")
    expect(pin).to_be_focused(timeout=10_000)
    page.keyboard.type(cardkit.PIN)
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/desk/visit/$"))


def test_the_pin_field_opens_when_the_pad_grows_until_every_line_shows(
    browser, card_files, host: str
) -> None:
    """The pad can be laid out small and grow afterwards (the desk page shows and sizes the
    frame, fonts arrive). When the list no longer overflows, it has been read: the PIN field
    opens, though no scroll ever happened (it once stayed closed for good)."""
    from playwright.sync_api import expect

    display = LONG_LINES[:5]
    with _pinpad(browser, card_files, host, display, "h=420&") as (_agent, page, _url):
        frame = page.frame_locator("#frame")
        pin = frame.get_by_test_id("pin")
        lines = frame.get_by_test_id("signed-lines")
        lines.wait_for(state="visible")
        # Loaded into a short frame, the list overflows and the PIN field is closed.
        assert lines.evaluate("l => l.scrollHeight > l.clientHeight + 2")
        expect(pin).to_be_disabled()
        page.locator("#frame").evaluate("f => { f.style.height = '4000px'; }")
        fits = lines.evaluate("l => l.scrollHeight <= l.clientHeight + 2")
        assert fits, "the grown frame should show every line"
        expect(pin).to_be_enabled(timeout=30_000)
        expect(pin).to_be_focused()


def test_after_a_wrong_pin_the_lines_read_once_are_not_read_again(
    browser, card_files, host: str
) -> None:
    """The pad shows again after a wrong PIN (the form posts to the agent, which redirects
    back): the twelve lines were read to their end before that PIN, so the PIN field is open
    and has the focus at once. It was closed again, the list to be read from the top."""
    from playwright.sync_api import expect

    wrong = "0000" if cardkit.PIN != "0000" else "9999"
    with _pinpad(browser, card_files, host, LONG_LINES) as (agent, page, pinpad_url):
        frame = page.frame_locator("#frame")
        pin = frame.get_by_test_id("pin")
        lines = frame.get_by_test_id("signed-lines")
        lines.wait_for(state="visible")
        expect(pin).to_be_disabled()
        for _ in range(60):
            if pin.is_enabled():
                break
            page.keyboard.press("ArrowDown")
        expect(pin).to_be_focused()
        page.keyboard.type(wrong)
        page.keyboard.press("Enter")
        expect(frame.locator(".notice.error")).to_contain_text("暗証番号が違います")
        # The same twelve lines, which still overflow their box, and yet the PIN is open.
        assert lines.evaluate("l => l.scrollHeight > l.clientHeight + 2")
        expect(frame.locator("#read-all")).to_be_hidden()
        expect(pin).to_be_enabled()
        expect(pin).to_be_focused()
        _type_the_pin(page, frame, agent, host, pinpad_url)
