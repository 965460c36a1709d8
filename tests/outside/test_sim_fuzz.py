"""The outside simulators fed a stranger's requests: a documented refusal, never a crash.

Every request the demo's desks, a test or a curious operator sends a simulator is answered: a
4xx with `{"error": {"code", "message"}}` when it is refused, never a traceback and a dropped
connection. The apps' request handling is fuzzed directly (paths and bodies built from the
seeded accounts, so the generated requests reach past the lookups), the HTTP layer with odd
bytes. Bounded: a few hundred examples in all.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from madoguchi.outside.sim import RunningSim, SimKind, load_seed
from madoguchi.outside.sim.handlers import APPS
from madoguchi.outside.transport import shared_ssl_context
from tests.fuzzing import DERANDOMIZE, examples

SEED = load_seed()
PROVIDERS = SEED["provider"]["providers"]
ACCOUNTS = [a for p in PROVIDERS for a in p["accounts"]]
RECORDS = SEED["insurer"]["records"]
BANK = SEED["bank"]["accounts"]
REGISTERED = next(r for r in RECORDS if r.get("registered_card_fingerprint"))

odd_text = st.text(max_size=20) | st.sampled_from(["é", "ﾔﾏﾀﾞ ﾀﾛｳ", "\x00", "０１２３", " " * 3])
seeded = st.sampled_from(
    sorted(
        {str(v) for row in [*ACCOUNTS, *RECORDS, *BANK] for v in row.values() if v is not None}
        | {p["code"] for p in PROVIDERS}
    )
)
values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | odd_text | seeded,
    lambda c: st.lists(c, max_size=3) | st.dictionaries(odd_text | seeded, c, max_size=3),
    max_leaves=8,
)
FIELDS = sorted(
    {k for row in [*ACCOUNTS, *RECORDS, *BANK] for k in row}
    | {"card_cert_fingerprint", "request_ref", "batch_id", "items", "points", "item_id"}
)
bodies = st.dictionaries(st.sampled_from(FIELDS), values | seeded, max_size=6)
PATHS = {
    SimKind.PROVIDER: [
        ["providers"],
        ["providers", "{code}", "v1", "accounts", "verify"],
        ["providers", "{code}", "v1", "accounts", "{ref}"],
        ["providers", "{code}", "v1", "accounts", "{ref}", "suspend"],
        ["providers", "{code}", "v1", "payouts"],
    ],
    SimKind.BANK: [["v1", "accounts", "lookup"]],
    SimKind.INSURER: [
        ["v1", "insured-persons", "lookup"],
        ["v1", "registrations"],
        ["v1", "registrations", "{ref}", "cancel"],
    ],
}


@st.composite
def requests(draw: st.DrawFn, kind: SimKind) -> tuple[str, list[str], dict[str, Any]]:
    method = draw(st.sampled_from(["GET", "POST"]))
    template = draw(st.sampled_from(PATHS[kind]) | st.lists(odd_text, max_size=5))
    parts = [draw(seeded | odd_text) if p in ("{code}", "{ref}") else p for p in template]
    return method, parts, draw(bodies)


def _check(kind: SimKind, app: Any, request: tuple[str, list[str], dict[str, Any]]) -> None:
    status, answer = app.handle(*request)
    assert 200 <= status < 500, (request, status, answer)
    json.dumps(answer, ensure_ascii=False).encode("utf-8")
    if status >= 400:
        assert answer["error"]["code"], answer
        assert answer["error"]["message"], answer


SIM_SETTINGS = settings(
    max_examples=examples(100),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    derandomize=DERANDOMIZE,
    database=None,
)


@pytest.mark.parametrize("kind", list(SimKind))
def test_each_simulator_answers_every_generated_request(kind: SimKind) -> None:
    app = APPS[kind](SEED)

    @SIM_SETTINGS
    @given(requests(kind))
    def run(request: tuple[str, list[str], dict[str, Any]]) -> None:
        _check(kind, app, request)

    run()


def test_a_registered_person_with_a_fingerprint_that_is_not_ascii_is_refused_not_a_crash() -> None:
    app = APPS[SimKind.INSURER](SEED)
    key = {
        k: REGISTERED[k] for k in ("insurer_number", "insured_symbol", "insured_number", "branch")
    }
    status, answer = app.handle(
        "POST", ["v1", "registrations"], {**key, "card_cert_fingerprint": "é" * 64}
    )
    assert (status, answer["error"]["code"]) == (409, "registered_to_another_card")


# --- over HTTP: odd bytes and headers -------------------------------------------------------------


@pytest.fixture(scope="module")
def http() -> Iterator[httpx.Client]:
    with httpx.Client(verify=shared_ssl_context(), timeout=10) as client:
        yield client


TARO = ACCOUNTS[0]
ODD_BODIES = [
    # Text that is not valid Unicode (a lone surrogate), echoed or compared as bytes: the
    # simulator could not encode its answer and dropped the connection.
    b'{"payment_service_id": "%s", "security_code": "\\ud800"}'
    % TARO["payment_service_id"].encode(),
    b'{"batch_id": "\\udfff", "items": [{"item_id": "1", "account_ref": "x", "points": 1}]}',
    b"[" * 10_000,
    b"\xff\xfe{}",
    b"null",
]


@pytest.mark.parametrize(
    "raw", ODD_BODIES, ids=["surrogate-code", "surrogate-batch", "deep", "bom", "null"]
)
def test_odd_bodies_are_refused_with_a_reason(
    provider_sim: RunningSim, http: httpx.Client, raw: bytes
) -> None:
    code = PROVIDERS[0]["code"]
    for path in (f"/providers/{code}/v1/accounts/verify", f"/providers/{code}/v1/payouts"):
        r = http.post(
            provider_sim.base_url + path,
            content=raw,
            headers={"Content-Type": "application/json", "Idempotency-Key": "fuzz-" + path[-6:]},
        )
        assert r.status_code == 400, r.text
        assert r.json()["error"]["message"]


@pytest.mark.parametrize("length", ["-1", "lots", "1e3"])
def test_a_content_length_that_is_no_length_is_refused_with_a_reason(
    bank_sim: RunningSim, length: str
) -> None:
    """A raw request (httpx would not send these): answered at once, not held until a timeout."""
    import socket

    host, port = bank_sim.server.server_address[:2]
    raw = (
        f"POST /v1/accounts/lookup HTTP/1.1\r\nHost: {host}\r\nContent-Length: {length}\r\n"
        "Connection: close\r\n\r\n{}"
    ).encode()
    with socket.create_connection((host, port), timeout=10) as conn:
        conn.sendall(raw)
        conn.shutdown(socket.SHUT_WR)
        received = b""
        while chunk := conn.recv(4096):
            received += chunk
    head, _, body = received.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400"), received[:300]
    assert json.loads(body)["error"]["message"]


@settings(max_examples=examples(25), deadline=None, derandomize=DERANDOMIZE, database=None)
@given(st.binary(max_size=200) | bodies.map(lambda b: json.dumps(b).encode()))
@example(b'{"bank_code": "\\ud800"}')
def test_the_bank_answers_any_body_over_http(bank_sim_server: RunningSim, raw: bytes) -> None:
    with httpx.Client(verify=shared_ssl_context(), timeout=10) as client:
        r = client.post(bank_sim_server.base_url + "/v1/accounts/lookup", content=raw)
    assert r.status_code < 500, r.text
    if r.status_code >= 400:
        assert r.json()["error"]["message"]
