"""The outside simulators answer programs (madoguchi's clients, the demo, tests), never a web
page. They run on loopback without authentication, beside the desk's browser in the demo: a
page of any site could post a body to `http://127.0.0.1:8702/_control` (a `text/plain` body is
a simple request, sent without asking) and make every bank look-up fail, or reset what the
demo registered; a name of the attacker's resolving to 127.0.0.1 (DNS rebinding) let such a
page read the simulators' answers too. A request naming another host, or carrying an
`Origin` (every browser page's POST does), is refused, nothing done (docs/security.md, side
doors round 12)."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from madoguchi.outside.sim import RunningSim, SimKind, running


@pytest.fixture(scope="module")
def bank() -> Iterator[RunningSim]:
    with running(SimKind.BANK, random_seed=1) as sim:
        yield sim


def _port(sim: RunningSim) -> int:
    return int(sim.base_url.rsplit(":", 1)[1])


@pytest.mark.parametrize("origin", ["https://evil.example", "null", "http://127.0.0.1:8000"])
def test_a_browser_page_cannot_drive_a_simulator(bank: RunningSim, origin: str) -> None:
    before = bank.control.state()["faults"]
    r = httpx.post(
        f"{bank.base_url}/_control",
        content=b'{"fail_rate": 1.0, "reset_state": true}',
        headers={"Content-Type": "text/plain", "Origin": origin},
    )
    assert r.status_code == 403
    assert r.json()["error"]["code"] == "forbidden_origin"
    assert "Origin" in r.json()["error"]["message"]
    assert bank.control.state()["faults"] == before


@pytest.mark.parametrize("host", ["evil.example", "evil.example:{port}", "127.0.0.1.evil.example"])
def test_a_rebound_name_is_not_answered(bank: RunningSim, host: str) -> None:
    for method, path in (("GET", "/_control"), ("POST", "/v1/accounts/lookup")):
        r = httpx.request(
            method,
            f"{bank.base_url}{path}",
            json={},
            headers={"Host": host.format(port=_port(bank))},
        )
        assert r.status_code == 403, (method, path)
        assert r.json()["error"]["code"] == "forbidden_host"


@pytest.mark.parametrize("host", ["127.0.0.1:{port}", "localhost:{port}", "127.0.0.1"])
def test_the_loopback_names_are_answered(bank: RunningSim, host: str) -> None:
    r = httpx.get(f"{bank.base_url}/_control", headers={"Host": host.format(port=_port(bank))})
    assert r.status_code == 200
    assert r.json()["kind"] == "bank"
