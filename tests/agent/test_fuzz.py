"""The agent's request parsing fed a stranger's bytes: documented refusals only, never a crash.

The agent listens on loopback, but any web page the desk's browser opens can send it requests:
its body checks (`check_challenge`, `parse_transaction`) and its HTTP layer must answer whatever
arrives with a 4xx refusal that says why (`{"error", "message"}`), never a 500 or a dropped
connection. Bounded: a hundred pure examples, a few dozen requests over HTTP.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from hypothesis import example, given, settings
from hypothesis import strategies as st

from madoguchi.agent.operations import RequestError, check_challenge, parse_transaction
from madoguchi.identity.tokens.formats import generate_nonce
from tests.fuzzing import DERANDOMIZE, bounded, examples

from .conftest import RunningAgent

Start = Callable[..., RunningAgent]

ORIGIN = "http://127.0.0.1:8000"
DEEP = base64.b64encode(b"[" * 100_000 + b"]" * 100_000).decode()
"""Canonical-looking JSON nested deeper than the parser goes (it raised RecursionError)."""

scalars = (
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=60) | st.binary()
)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=60),
    lambda c: st.lists(c, max_size=4) | st.dictionaries(st.text(max_size=10), c, max_size=4),
    max_leaves=10,
)


def _b64(value: Any) -> str:
    return base64.b64encode(
        json.dumps(value, ensure_ascii=False).encode("utf-8", "replace")
    ).decode()


@settings(max_examples=examples(60), deadline=None, derandomize=DERANDOMIZE, database=None)
@given(
    st.one_of(
        scalars,
        st.text(alphabet="ABCDEFabcdef0123456789+/=", max_size=80),
        json_values.map(_b64),
        st.dictionaries(st.sampled_from(["display", "kind", "x"]), json_values, max_size=3).map(
            _b64
        ),
    )
)
@example(DEEP)
@example(base64.b64encode(b'{"display":["\\ud800"]}').decode())
def test_a_transaction_is_parsed_or_refused_with_a_request_error(value: object) -> None:
    try:
        parsed = parse_transaction(value)
    except RequestError as exc:
        refused: RequestError | None = exc
    else:
        refused = None
        assert parsed.display
        assert all(line.strip() for line in parsed.display)
    if refused is not None:
        assert refused.code == "bad_transaction"
        assert str(refused)


@settings(max_examples=examples(60), deadline=None, derandomize=DERANDOMIZE, database=None)
@given(st.dictionaries(st.sampled_from(["origin", "nonce", "other"]), json_values, max_size=3))
@example({"origin": ORIGIN, "nonce": "\ud800" * 44})
@example({"origin": ORIGIN, "nonce": "a" * 10_000})
def test_a_challenge_is_checked_or_refused_with_a_request_error(body: dict[str, Any]) -> None:
    try:
        check_challenge(body, ORIGIN)
    except RequestError as exc:
        refused: RequestError | None = exc
    else:
        refused = None
    if refused is not None:
        assert refused.code in ("bad_request", "origin_mismatch")
        assert str(refused)


PATHS = [
    "/status",
    "/authenticate",
    "/sign-completion",
    "/read-attributes",
    "/requests/abc",
    "/requests/abc/cancel",
    "/tray",
    "/tray/insert",
    "/tray/remove",
    "/test/pin",
    "/pinpad/abc",
]


@st.composite
def requests(draw: st.DrawFn) -> tuple[str, str, dict[str, str], bytes]:
    method = draw(st.sampled_from(["GET", "POST", "PUT", "DELETE", "PATCH"]))
    path = draw(
        st.sampled_from(PATHS) | st.text(max_size=30).map(lambda t: "/" + quote(t, safe="/%"))
    )
    query = draw(st.sampled_from(["", "?wait=0", "?wait=nan", "?wait=-1e999", "?lang=%ff"]))
    body = draw(
        st.one_of(
            json_values.map(lambda v: json.dumps(v).encode()),
            st.binary(max_size=200),
            st.just(b"[" * 5000),
        )
    )
    ctype = draw(st.sampled_from(["application/json", "application/x-www-form-urlencoded"]))
    return method, path + query, {"Content-Type": ctype}, body


def _answers_with_a_reason(
    a: RunningAgent, method: str, target: str, headers: dict[str, str], body: bytes
) -> None:
    r = a.client.request(
        method, a.url + target, content=body, headers={"Origin": a.origin, **headers}
    )
    assert r.status_code < 500, (method, target, body[:200], r.text)
    if r.status_code >= 400 and r.headers.get("Content-Type", "").startswith("application/json"):
        answer = r.json()
        assert answer["error"], answer
        assert answer["message"], answer


def test_the_agent_answers_every_generated_request_with_a_reason(start_agent: Start) -> None:
    a = start_agent()
    a.insert("alice")
    challenge = {"origin": a.origin, "nonce": generate_nonce()}
    deep = {**challenge, "transaction": DEEP}

    # The crash found: a transaction nested deeper than the JSON parser goes.
    _answers_with_a_reason(a, "POST", "/sign-completion", {}, json.dumps(deep).encode())
    refused = a.post("/sign-completion", deep)
    assert refused.status_code == 400
    assert refused.json()["error"] == "bad_transaction"

    @bounded(60)
    @given(requests())
    def run(request: tuple[str, str, dict[str, str], bytes]) -> None:
        _answers_with_a_reason(a, *request)

    run()
    assert a.get("/status").status_code == 200
