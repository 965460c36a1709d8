"""The terminal enrolment page over real HTTP with a credential of the right scheme but a prefix
no server issued (side doors, round 9): the page's refusal, never a server error."""

import re

import httpx
import pytest

from madoguchi.terminals.models import TerminalBinding

_CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


@pytest.mark.parametrize(
    "credential", ["mdt_\x00_\x00", "mdt_ab\x00cd_secret", "mdt_" + "a" * 17 + "_secret", "mdt__x"]
)
def test_a_credential_whose_prefix_is_not_one_is_refused_not_a_server_error(
    live_server, credential
):
    base = live_server.url
    with httpx.Client(base_url=base, timeout=30, headers={"Origin": base}) as client:
        page = client.get("/terminal/enrol/")
        token = _CSRF.search(page.text)
        assert token is not None
        r = client.post(
            "/terminal/enrol/",
            data={"credential": credential, "csrfmiddlewaretoken": token.group(1)},
            headers={"Referer": base + "/terminal/enrol/"},
        )
    assert r.status_code == 400, r.text[:300]
    assert "<html" in r.text
    assert not TerminalBinding.objects.exists()
