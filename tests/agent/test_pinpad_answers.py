"""What the PIN pad, inside the desk's frame, tells the resident when its form is refused or the
request fails for a reason other than the card: a page in their language, never a JSON answer
the frame may not show, and never "the card could not be read" for a card that was read."""

from __future__ import annotations

from collections.abc import Callable

import httpx

from madoguchi.identity.tokens import generate_nonce

from .conftest import PIN, RunningAgent, StubServer

Start = Callable[..., RunningAgent]


def _pin_form(running: RunningAgent, request_id: str, body: str) -> httpx.Response:
    return running.client.post(
        f"{running.url}/pinpad/{request_id}",
        content=body,
        headers={"Origin": running.url, "Content-Type": "application/x-www-form-urlencoded"},
    )


def test_a_server_the_agent_cannot_reach_is_said_so_not_an_unreadable_card(
    start_agent: Start, stub_server: StubServer
) -> None:
    with stub_server.cond:
        stub_server.fail_next = 10**6
    running = start_agent(delivery_timeout=0.5)
    running.insert("alice")
    request_id = running.authenticate(generate_nonce())
    assert _pin_form(running, request_id, f"pin={PIN}&lang=ja").status_code == 303
    assert running.result(request_id, wait=5)["error"] == "events_undelivered"
    page = running.client.get(f"{running.url}/pinpad/{request_id}?lang=ja").text
    assert "カードを読み取れませんでした" not in page
    assert "サーバーと通信できないため" in page
    english = running.client.get(f"{running.url}/pinpad/{request_id}?lang=en").text
    assert "cannot reach the server" in english


def test_a_request_replaced_by_a_newer_one_says_so(start_agent: Start) -> None:
    running = start_agent()
    running.insert("alice")
    first = running.authenticate(generate_nonce())
    running.authenticate(generate_nonce())
    page = running.client.get(f"{running.url}/pinpad/{first}?lang=ja").text
    assert "新しい操作が始まったため" in page


def test_a_pin_for_a_request_the_agent_no_longer_knows_goes_back_to_the_pad(
    start_agent: Start,
) -> None:
    """The agent restarted while the pad was shown: the frame gets the pad's own page (which
    says the request is unknown), not a JSON answer it may not frame."""
    running = start_agent()
    posted = _pin_form(running, "A" * 22, f"pin={PIN}&lang=ja")
    assert posted.status_code == 303
    assert posted.headers["Location"] == f"/pinpad/{'A' * 22}?lang=ja"
    page = running.client.get(running.url + posted.headers["Location"])
    assert page.status_code == 404
    assert "text/html" in page.headers["content-type"]
    assert "この操作は見つかりません" in page.text


def test_a_form_with_more_fields_than_the_pad_has_is_refused_not_an_internal_error(
    start_agent: Start,
) -> None:
    running = start_agent()
    running.insert("alice")
    request_id = running.authenticate(generate_nonce())
    r = _pin_form(running, request_id, f"pin={PIN}&lang=ja&a=1&b=2&c=3")
    assert r.status_code == 400, r.text
    assert r.json()["error"] == "bad_request"
    assert running.result(request_id)["status"] == "pending"  # the PIN was not tried
