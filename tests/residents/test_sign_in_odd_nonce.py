"""The resident page's sign-in over real HTTP with a challenge value that no server issued
(side doors, round 9): refused as an unknown challenge, never a server error."""

import json

import httpx
import pytest

from madoguchi.residents.models import ResidentSession


@pytest.mark.parametrize("nonce", ["\x00", "AAAA\x00AAAA", "x" * 129, "<script>", "１２３"])
def test_a_nonce_that_is_not_one_is_refused_as_unknown_not_a_server_error(live_server, nonce):
    base = live_server.url
    with httpx.Client(base_url=base, timeout=30, headers={"Origin": base}) as client:
        assert client.get("/me/").status_code == 200  # the page sets its CSRF cookie
        headers = {
            "X-CSRFToken": client.cookies.get("csrftoken") or "",
            "Content-Type": "application/json",
            "Referer": base + "/me/",
        }
        assert client.post("/me/challenge", headers=headers).status_code == 200
        body = json.dumps({"token": "\x00" * 200, "nonce": nonce})
        r = client.post("/me/sign-in", content=body, headers=headers)
    assert r.status_code == 403, r.text
    assert r.json()["code"] == "challenge_unknown"
    assert not ResidentSession.objects.exists()
