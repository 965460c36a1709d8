"""The card agent over real HTTP on 127.0.0.1 with virtual cards (protocol: docs/visits.md)."""

from __future__ import annotations

import base64
import io
import json
import logging
import re
import socket
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from madoguchi.agent import Agent, AgentConfig, ConfigError
from madoguchi.agent.cli import config_from_options, run
from madoguchi.agent.operations import fingerprint
from madoguchi.agent.sse import stream_events
from madoguchi.card.inputsupport import check_integrity, parse_basic_four
from madoguchi.card.testca import generate_rsa_key
from madoguchi.card.virtual import VirtualCard
from madoguchi.identity.tokens import (
    CRLRevocationChecker,
    ErrorCode,
    NonceRecord,
    TokenValidationError,
    TokenValidator,
    canonical_transaction_bytes,
    generate_nonce,
)

from .conftest import CREDENTIAL, PIN, SUPPORT_PIN, Pki, RunningAgent, StubServer, agent_config

Start = Callable[..., RunningAgent]


def validator(pki: Pki) -> TokenValidator:
    return TokenValidator(
        trust_anchors=pki.ca.certificates,
        revocation_checker=CRLRevocationChecker([pki.ca.crl()]),
    )


def nonce_record(nonce: str) -> NonceRecord:
    now = datetime.now(UTC)
    return NonceRecord(nonce, now - timedelta(seconds=5), now + timedelta(minutes=5))


def transaction() -> dict[str, Any]:
    return {
        "procedure": "kosodate-2026",
        "amount": 50000,
        "account": {"bank": "0001", "last4": "4321"},
        "display": ["子育て応援給付金 50,000円", "振込先 みずほ銀行 ****4321"],
    }


def card_fp(path: Path) -> str:
    return fingerprint(VirtualCard.load(path).auth_certificate)


# --- tokens ------------------------------------------------------------------------------------------


def test_authenticate_token_validates_for_origin_and_nonce(start_agent: Start, pki: Pki) -> None:
    a = start_agent()
    a.insert("alice")
    nonce = generate_nonce()
    request_id = a.authenticate(nonce)
    assert a.result(request_id)["status"] == "pending"
    assert a.test_pin(request_id, PIN)["status"] == "done"
    answer = a.result(request_id)
    token = answer["result"]["token"]
    validated = validator(pki).validate_authentication(
        token, origin=a.origin, nonce=nonce_record(nonce), now=datetime.now(UTC)
    )
    assert validated.fingerprint_sha256 == a.agent.status()["cert_fingerprint"]
    with pytest.raises(TokenValidationError) as wrong:
        validator(pki).validate_authentication(
            token, origin=a.origin, nonce=nonce_record(generate_nonce()), now=datetime.now(UTC)
        )
    assert wrong.value.code is ErrorCode.CHALLENGE_MISMATCH
    with pytest.raises(TokenValidationError) as other_origin:
        validator(pki).validate_authentication(
            token,
            origin="https://other.example.jp",
            nonce=nonce_record(nonce),
            now=datetime.now(UTC),
        )
    assert other_origin.value.code is ErrorCode.CHALLENGE_MISMATCH


def test_sign_completion_token_commits_to_transaction_bytes(start_agent: Start, pki: Pki) -> None:
    a = start_agent()
    a.insert("alice")
    tx_bytes = canonical_transaction_bytes(transaction())
    nonce = generate_nonce()
    r = a.post(
        "/sign-completion",
        {"nonce": nonce, "origin": a.origin, "transaction": base64.b64encode(tx_bytes).decode()},
    )
    assert r.status_code == 200, r.text
    request_id = r.json()["request_id"]
    page = a.client.get(r.json()["pinpad_url"]).text
    # Each line as it reads (its names' words and masked numbers are kept whole in spans).
    text = re.sub(r'<span class="nowrap">([^<]*)</span>', r"\1", page)
    for line in transaction()["display"]:
        assert f"<li>{line}</li>" in text
    assert a.test_pin(request_id, PIN)["status"] == "done"
    token = a.result(request_id)["result"]["token"]
    v = validator(pki)
    ok = v.validate_completion(
        token,
        origin=a.origin,
        nonce=nonce_record(nonce),
        transaction_bytes=tx_bytes,
        now=datetime.now(UTC),
    )
    assert ok.transaction_digest is not None
    changed = canonical_transaction_bytes({**transaction(), "amount": 500000})
    with pytest.raises(TokenValidationError) as exc:
        v.validate_completion(
            token,
            origin=a.origin,
            nonce=nonce_record(nonce),
            transaction_bytes=changed,
            now=datetime.now(UTC),
        )
    assert exc.value.code is ErrorCode.TRANSACTION_CHANGED


@pytest.mark.parametrize(
    ("tx", "why"),
    [
        (b'{"amount": 1, "display": ["x"]}', "not canonical"),
        (canonical_transaction_bytes({"amount": 1}), "no display"),
        (b"not json", "not JSON"),
    ],
)
def test_sign_completion_refuses_transactions_it_cannot_show(
    start_agent: Start, tx: bytes, why: str
) -> None:
    a = start_agent()
    a.insert("alice")
    r = a.post(
        "/sign-completion",
        {
            "nonce": generate_nonce(),
            "origin": a.origin,
            "transaction": base64.b64encode(tx).decode(),
        },
    )
    assert r.status_code == 400, why
    assert r.json()["error"] == "bad_transaction"
    assert a.agent.book.pending() == []


def test_read_attributes_returns_basic_four(start_agent: Start) -> None:
    a = start_agent()
    a.insert("bob")
    r = a.post("/read-attributes", {})
    request_id = r.json()["request_id"]
    assert "券面事項入力補助用の暗証番号" in a.client.get(r.json()["pinpad_url"]).text
    assert a.test_pin(request_id, PIN)["status"] == "pending"  # the auth PIN is not this PIN
    assert a.test_pin(request_id, SUPPORT_PIN)["status"] == "done"
    result = a.result(request_id)["result"]
    evidence = result.pop("evidence")
    assert result == {
        "name": "佐藤\u3000太郎",
        "address": "東京都千代田区霞が関１－２－３",
        "birth_date": "1985-04-01",
        "sex": "1",
    }
    # EF0002-EF0004 as read, for the server to verify itself (never EF0001).
    assert set(evidence) == {"ef0002", "ef0003", "ef0004"}
    files = {k: base64.b64decode(v) for k, v in evidence.items()}
    check_integrity(files["ef0002"], files["ef0003"], files["ef0004"])
    assert parse_basic_four(files["ef0002"]).birth_date.isoformat() == "1985-04-01"


# --- origin, CORS, host --------------------------------------------------------------------------------


def test_foreign_origin_is_refused(start_agent: Start) -> None:
    a = start_agent()
    a.insert("alice")
    evil = {"Origin": "https://evil.example"}
    assert a.get("/status", headers=evil).status_code == 403
    r = a.post("/authenticate", {"nonce": generate_nonce(), "origin": a.origin}, headers=evil)
    assert r.status_code == 403
    assert r.json()["error"] == "forbidden_origin"
    assert a.agent.book.pending() == []
    # without an Origin header (a local tool) and with the server's: allowed
    assert a.client.get(a.url + "/status").status_code == 200
    assert a.get("/status").headers["Access-Control-Allow-Origin"] == a.origin


def test_origin_field_must_be_the_server_origin_before_any_pin(start_agent: Start) -> None:
    a = start_agent()
    a.insert("alice")
    r = a.post("/authenticate", {"nonce": generate_nonce(), "origin": "https://evil.example"})
    assert r.status_code == 403
    assert r.json()["error"] == "origin_mismatch"
    assert a.agent.book.pending() == []


def test_cors_preflight_answers_only_the_server_origin(start_agent: Start) -> None:
    a = start_agent()
    ok = a.client.options(
        a.url + "/authenticate",
        headers={
            "Origin": a.origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type",
            "Access-Control-Request-Private-Network": "true",
        },
    )
    assert ok.status_code == 204
    assert ok.headers["Access-Control-Allow-Origin"] == a.origin
    assert "POST" in ok.headers["Access-Control-Allow-Methods"]
    assert ok.headers["Access-Control-Allow-Private-Network"] == "true"
    bad = a.client.options(
        a.url + "/authenticate",
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
    )
    assert bad.status_code == 403
    assert bad.headers.get("Access-Control-Allow-Origin") != "https://evil.example"


def test_foreign_host_header_is_refused(start_agent: Start) -> None:
    a = start_agent()
    r = a.client.get(a.url + "/status", headers={"Host": "attacker.example:47110"})
    assert r.status_code == 403
    assert r.json()["error"] == "forbidden_host"


def test_config_refuses_non_loopback_and_test_pins_with_a_reader(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="loopback"):
        AgentConfig("https://desk.example.jp", CREDENTIAL, listen_host="0.0.0.0").validate()
    with pytest.raises(ConfigError, match="loopback"):
        AgentConfig("https://desk.example.jp", CREDENTIAL, listen_host="192.168.1.5").validate()
    with pytest.raises(ConfigError, match="allow-test-pins"):
        AgentConfig(
            "https://desk.example.jp", CREDENTIAL, reader="ACS", allow_test_pins=True
        ).validate()
    with pytest.raises(ConfigError, match="credential"):
        AgentConfig("https://desk.example.jp", "").validate()
    with pytest.raises(ConfigError, match="http"):
        AgentConfig("http://desk.example.jp", CREDENTIAL).validate()
    AgentConfig("https://desk.example.jp", CREDENTIAL, listen_host="::1").validate()


def test_cli_takes_credential_from_environment(card_files: dict[str, Path]) -> None:
    options = {
        "server": "https://desk.example.jp/",
        "listen": "127.0.0.1:47999",
        "virtual": [card_files["alice"]],
        "allow_test_pins": True,
    }
    config = config_from_options(options, {"MADOGUCHI_TERMINAL_CREDENTIAL": CREDENTIAL})
    assert config.credential == CREDENTIAL
    assert config.server_origin == "https://desk.example.jp"
    assert config.events_url == "https://desk.example.jp/api/v1/agent/events"
    assert (config.listen_host, config.listen_port) == ("127.0.0.1", 47999)
    with pytest.raises(ConfigError, match="loopback"):
        config_from_options(
            {**options, "listen": "10.0.0.1:47110"}, {"MADOGUCHI_TERMINAL_CREDENTIAL": CREDENTIAL}
        )
    with pytest.raises(ConfigError, match="MADOGUCHI_TERMINAL_CREDENTIAL"):
        config_from_options(options, {})


@pytest.mark.parametrize("interval", [0.0, -1.0, 61.0, float("nan")])
def test_cli_refuses_a_presence_interval_out_of_range_naming_it(card_files, interval) -> None:
    """`--presence-interval 0` became the default (1 s) without a word."""
    options = {
        "server": "https://desk.example.jp",
        "virtual": [card_files["alice"]],
        "presence_interval": interval,
    }
    with pytest.raises(ConfigError, match=r"between 0\.05 and 60 seconds, not "):
        config_from_options(options, {"MADOGUCHI_TERMINAL_CREDENTIAL": CREDENTIAL})
    options["presence_interval"] = 0.05
    config = config_from_options(options, {"MADOGUCHI_TERMINAL_CREDENTIAL": CREDENTIAL})
    assert config.presence_interval == 0.05


def test_cli_says_which_address_is_taken_and_which_file_is_missing(
    card_files: dict[str, Path],
) -> None:
    """A second agent on a taken port (say beside `make demo`'s) and a card file that is not
    there are each one sentence naming the address or the file, not an errno."""
    environ = {"MADOGUCHI_TERMINAL_CREDENTIAL": CREDENTIAL}
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        listen = f"127.0.0.1:{taken.getsockname()[1]}"
        options = {
            "server": "https://desk.example.jp",
            "listen": listen,
            "virtual": [card_files["alice"]],
        }
        err = io.StringIO()
        assert run(options, out=io.StringIO(), err=err, environ=environ) == 2
    said = err.getvalue()
    assert said.startswith(f"error: {listen} is already in use"), said
    assert "--listen 127.0.0.1:PORT" in said, said
    assert "Errno" not in said, said

    missing = card_files["alice"].with_name("nobody.card")
    err = io.StringIO()
    options = {"server": "https://desk.example.jp", "virtual": [missing]}
    assert run(options, out=io.StringIO(), err=err, environ=environ) == 2
    assert err.getvalue() == f"error: {missing}: No such file or directory\n"


@pytest.mark.parametrize(
    ("content", "says"),
    [
        (b"desk-01\n", "it is not JSON text"),
        (b'{"format": "madoguchi-vcard/1"}', "its part 'pins' is missing"),
        (b"\x7fELF\xd0\x00", "it is not text"),
    ],
    ids=["text", "cut-short", "binary"],
)
def test_cli_says_which_file_is_not_a_virtual_card(
    card_files: dict[str, Path], tmp_path: Path, content: bytes, says: str
) -> None:
    """`agent --virtual /etc/hostname` (a file that is not a card) ended in json's
    traceback; it is one sentence naming the file, exit 2, as a missing file is."""
    bad = tmp_path / "bad.card"
    bad.write_bytes(content)
    err = io.StringIO()
    options = {"server": "https://desk.example.jp", "virtual": [card_files["alice"], bad]}
    environ = {"MADOGUCHI_TERMINAL_CREDENTIAL": CREDENTIAL}
    assert run(options, out=io.StringIO(), err=err, environ=environ) == 2
    said = err.getvalue()
    assert said.startswith(f"error: {bad}: not a virtual card file (madoguchi vcard issue"), said
    assert says in said
    assert "Error" not in said  # words, not the exception's name (UnicodeDecodeError: …)
    assert said.count("\n") == 1


def test_cli_says_once_where_it_listens(
    card_files: dict[str, Path], caplog: pytest.LogCaptureFixture
) -> None:
    """`madoguchi agent` says where it listens in one line, on standard output, where a script
    reads it; the agent's log (standard error, beside it in a terminal) said it a second time."""
    caplog.set_level(logging.DEBUG, logger="madoguchi.agent")
    out, stop = io.StringIO(), threading.Event()
    stop.set()  # stop as soon as it has started
    options = {
        "server": "https://desk.example.jp",
        "listen": "127.0.0.1:0",
        "virtual": [card_files["alice"]],
    }
    environ = {"MADOGUCHI_TERMINAL_CREDENTIAL": CREDENTIAL}
    # In a thread of its own: `run` takes SIGINT and SIGTERM only on the main thread.
    agent = threading.Thread(
        target=run, args=(options,), kwargs={"out": out, "environ": environ, "stop": stop}
    )
    agent.start()
    agent.join(timeout=30)
    said = out.getvalue()
    assert said.startswith("madoguchi card agent listening on http://127.0.0.1:"), said
    assert (said + caplog.text).count("listening on") == 1, (said, caplog.text)


def test_test_pin_unavailable_without_the_flag(start_agent: Start) -> None:
    a = start_agent(allow_test_pins=False)
    a.insert("alice")
    request_id = a.authenticate(generate_nonce())
    r = a.post("/test/pin", {"request_id": request_id, "pin": PIN})
    assert r.status_code == 404
    assert r.json()["error"] == "not_available"
    assert a.result(request_id)["status"] == "pending"


# --- PIN handling ---------------------------------------------------------------------------------------


def test_wrong_pin_then_right_pin(start_agent: Start, card_files: dict[str, Path]) -> None:
    a = start_agent()
    a.insert("alice")
    request_id = a.authenticate(generate_nonce())
    assert a.result(request_id)["tries_left"] == 3
    answer = a.test_pin(request_id, "0000")
    assert answer == {"status": "pending", "tries_left": 2}
    page = a.client.get(f"{a.url}/pinpad/{request_id}").text
    assert "暗証番号が違います。残り2回です。" in page
    assert a.test_pin(request_id, PIN)["status"] == "done"
    assert VirtualCard.load(card_files["alice"]).tries_left() == 3


def test_three_wrong_pins_block_and_stay_blocked_after_restart(
    start_agent: Start, card_files: dict[str, Path]
) -> None:
    a = start_agent()
    a.insert("alice")
    request_id = a.authenticate(generate_nonce())
    assert a.test_pin(request_id, "0000")["tries_left"] == 2
    assert a.test_pin(request_id, "1111")["tries_left"] == 1
    assert "あと1回間違えると" in a.client.get(f"{a.url}/pinpad/{request_id}").text
    final = a.test_pin(request_id, "2222")
    assert final["status"] == "failed"
    assert final["error"] == "pin_blocked"
    assert "暗証番号がロックされています" in a.client.get(f"{a.url}/pinpad/{request_id}").text
    a.agent.stop()

    b = start_agent()
    b.insert("alice")
    again = b.authenticate(generate_nonce())
    assert b.result(again)["error"] == "pin_blocked"
    assert b.test_pin(again, PIN)["status"] == "failed"  # a right PIN does not unblock it
    assert VirtualCard.load(card_files["alice"]).tries_left() == 0


def test_card_removed_during_request(start_agent: Start) -> None:
    a = start_agent()
    a.insert("alice")
    request_id = a.authenticate(generate_nonce())
    waiter: dict[str, Any] = {}
    thread = threading.Thread(target=lambda: waiter.update(a.result(request_id, wait=10)))
    thread.start()
    a.remove()
    thread.join(timeout=10)
    assert waiter["status"] == "failed"
    assert waiter["error"] == "card_removed"
    r = a.post("/authenticate", {"nonce": generate_nonce(), "origin": a.origin})
    assert (r.status_code, r.json()["error"]) == (409, "no_card")


def test_cancel_and_supersede(start_agent: Start) -> None:
    a = start_agent()
    a.insert("alice")
    first = a.authenticate(generate_nonce())
    second = a.authenticate(generate_nonce())
    assert a.result(first)["status"] == "cancelled"
    assert a.post(f"/requests/{second}/cancel").json() == {"status": "cancelled"}
    assert a.result(second)["status"] == "cancelled"
    assert a.test_pin(second, PIN)["status"] == "cancelled"


def test_swapped_card_signs_with_the_inserted_card(
    start_agent: Start, pki: Pki, card_files: dict[str, Path]
) -> None:
    a = start_agent()
    a.insert("alice")
    a.remove()
    a.insert("bob")
    nonce = generate_nonce()
    request_id = a.authenticate(nonce)
    a.test_pin(request_id, PIN)
    token = a.result(request_id)["result"]["token"]
    validated = validator(pki).validate_authentication(
        token, origin=a.origin, nonce=nonce_record(nonce), now=datetime.now(UTC)
    )
    assert validated.fingerprint_sha256 == card_fp(card_files["bob"])


# --- PIN pad page -------------------------------------------------------------------------------------


def test_pinpad_page_headers_languages_and_form_post(start_agent: Start) -> None:
    a = start_agent(allow_test_pins=False)
    a.insert("alice")
    r = a.post("/authenticate", {"nonce": generate_nonce(), "origin": a.origin})
    request_id, pinpad_url = r.json()["request_id"], r.json()["pinpad_url"]
    assert pinpad_url == f"{a.url}/pinpad/{request_id}"
    page = a.client.get(pinpad_url)
    csp = page.headers["Content-Security-Policy"]
    assert f"frame-ancestors {a.origin}" in csp
    assert "script-src 'nonce-" in csp
    assert "受付を開始します" in page.text
    assert '<html lang="ja">' in page.text
    assert "残り3回" in page.text
    english = a.client.get(pinpad_url + "?lang=en").text
    assert "start a visit" in english
    assert "3 tries left" in english

    form = {"pin": PIN, "lang": "ja"}
    own = a.url  # the page's own origin
    foreign = a.client.post(pinpad_url, data=form, headers={"Origin": a.origin})
    assert foreign.status_code == 403
    missing = a.client.post(pinpad_url, data=form)
    assert missing.status_code == 403
    assert a.result(request_id)["status"] == "pending"
    posted = a.client.post(pinpad_url, data={"pin": "9999", "lang": "en"}, headers={"Origin": own})
    assert posted.status_code == 303
    assert posted.headers["Location"] == f"/pinpad/{request_id}?lang=en"
    assert a.result(request_id)["tries_left"] == 2
    posted = a.client.post(pinpad_url, data=form, headers={"Origin": own})
    assert posted.status_code == 303
    assert a.result(request_id)["status"] == "done"
    assert "完了しました" in a.client.get(pinpad_url).text


def test_pin_never_logged(start_agent: Start, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("DEBUG")
    a = start_agent()
    a.insert("alice")
    request_id = a.authenticate(generate_nonce())
    a.test_pin(request_id, "8642")
    a.test_pin(request_id, PIN)
    assert caplog.records
    agent_records = [r for r in caplog.records if r.name.startswith("madoguchi")]
    assert agent_records
    text = "\n".join(r.getMessage() for r in agent_records)
    assert "8642" not in text
    assert request_id not in text


# --- events -------------------------------------------------------------------------------------------


def read_sse(
    url: str, origin: str, count: int, out: list[dict[str, Any]], ready: threading.Event
) -> None:
    with httpx.stream(
        "GET", url + "/events", headers={"Origin": origin}, timeout=10, trust_env=False
    ) as r:
        ready.set()
        event = None
        for line in r.iter_lines():
            if line.startswith("event: "):
                event = line[7:]
            elif line.startswith("data: ") and event == "card":
                out.append(json.loads(line[6:]))
                if len(out) >= count:
                    return


def test_tray_events_reach_sse_and_server(
    start_agent: Start, stub_server: StubServer, card_files: dict[str, Path]
) -> None:
    a = start_agent()
    fp = card_fp(card_files["alice"])
    stub_server.wait_for(
        lambda e: e["body"]["kind"] == "presence" and e["body"]["cert_fingerprint"] is None
    )
    seen: list[dict[str, Any]] = []
    ready = threading.Event()
    reader = threading.Thread(target=read_sse, args=(a.url, a.origin, 2, seen, ready))
    reader.start()
    assert ready.wait(30)
    a.insert("alice")
    assert a.get("/status").json()["cert_fingerprint"] == fp
    stub_server.wait_for(
        lambda e: e["body"]["kind"] == "presence" and e["body"]["cert_fingerprint"] == fp
    )
    a.remove()
    reader.join(timeout=30)
    assert [(e["kind"], e["cert_fingerprint"]) for e in seen] == [("inserted", fp), ("removed", fp)]
    removed = stub_server.wait_for(lambda e: e["body"]["kind"] == "removed")
    inserted = stub_server.wait_for(lambda e: e["body"]["kind"] == "inserted")
    assert inserted["body"]["cert_fingerprint"] == fp
    assert inserted["body"]["reader"] == "virtual tray"
    assert removed["path"] == "/api/v1/agent/events"
    assert {e["auth"] for e in stub_server.received} == {f"Bearer {CREDENTIAL}"}
    kinds = stub_server.kinds()
    assert kinds.index("inserted") < kinds.index("removed")
    count = len(stub_server.received)
    stub_server.wait_for(
        lambda e: (
            stub_server.received.index(e) >= count
            and e["body"]["kind"] == "presence"
            and e["body"]["cert_fingerprint"] is None
        )
    )
    tray = a.get("/tray").json()
    assert tray["inserted"] is None
    assert {c["name"] for c in tray["cards"]} == {"alice", "bob"}


class _StreamHandler:
    """What `stream_events` uses of the agent's request handler, its body kept in memory."""

    def __init__(self, agent: Agent) -> None:
        self.agent = agent
        self.wfile = io.BytesIO()
        self.close_connection = False

    def send_response(self, status: int) -> None:
        self.status = status

    def common_headers(self) -> None:
        pass

    def send_header(self, name: str, value: str) -> None:
        pass

    def end_headers(self) -> None:
        pass


def test_an_event_stream_that_starts_as_the_agent_stops_ends_at_once(start_agent: Start) -> None:
    """A stream request the agent's server accepted just before `stop()` subscribed after stop
    had told the streams to end: it sent keep-alives for as long as the page held it open, with
    the agent gone, its thread left behind in the process."""
    a = start_agent()
    a.agent.stop()
    handler = _StreamHandler(a.agent)
    streaming = threading.Thread(target=stream_events, args=(handler,), daemon=True)
    streaming.start()
    streaming.join(timeout=30)
    assert not streaming.is_alive(), handler.wfile.getvalue()
    assert handler.close_connection
    assert b"event:" not in handler.wfile.getvalue()


def test_the_tray_lists_what_each_card_prints(start_agent: Start) -> None:
    """The demo gave no way to read a virtual card's printed birth date, which the
    health-insurance form asks for: the tray now lists each card's face (name, birth, sex)."""
    a = start_agent()
    cards = {c["name"]: c for c in a.get("/tray").json()["cards"]}
    assert cards["bob"]["printed"] == {
        "name": "佐藤\u3000太郎",
        "birth_date": "1985-04-01",
        "birth_date_era": "昭和60年4月1日",
        "sex": "1",
    }
    assert cards["alice"]["printed"]["sex"] == "2"


def test_reporter_retries_after_server_failures(
    start_agent: Start, stub_server: StubServer
) -> None:
    stub_server.fail_next = 3
    a = start_agent(presence_interval=5.0)
    a.insert("alice")
    stub_server.wait_for(lambda e: e["body"]["kind"] == "inserted")
    assert a.agent.reporter.failures >= 3
    assert a.get("/status").status_code == 200


def test_reporter_survives_unreachable_server(card_files: dict[str, Path]) -> None:
    config = agent_config("http://127.0.0.1:9", [card_files["alice"]])
    with Agent(config) as agent:
        r = httpx.post(
            agent.base_url + "/tray/insert",
            json={"card": "alice"},
            headers={"Origin": config.server_origin},
        )
        assert r.status_code == 200
        assert httpx.get(agent.base_url + "/status").json()["card_present"] is True


def test_no_signature_before_the_server_has_every_card_event(
    start_agent: Start, stub_server: StubServer
) -> None:
    """A removal the server has not accepted could let a signature overtake it: the agent signs
    only once every queued insertion and removal has been delivered."""
    a = start_agent(delivery_timeout=0.5)
    with stub_server.cond:
        stub_server.fail_next = 10**6  # the server refuses everything from now on
    a.insert("alice")
    tx = base64.b64encode(canonical_transaction_bytes(transaction())).decode()
    r = a.post(
        "/sign-completion", {"nonce": generate_nonce(), "origin": a.origin, "transaction": tx}
    )
    assert r.status_code == 200, r.text
    request_id = r.json()["request_id"]
    answer = a.test_pin(request_id, PIN)
    assert answer["status"] == "failed"
    assert answer["error"] == "events_undelivered"
    with stub_server.cond:
        stub_server.fail_next = 0  # the server is back: the queued events go through
    stub_server.wait_for(lambda e: e["body"]["kind"] == "inserted")
    r = a.post(
        "/sign-completion", {"nonce": generate_nonce(), "origin": a.origin, "transaction": tx}
    )
    assert a.test_pin(r.json()["request_id"], PIN)["status"] == "done"


def test_no_read_of_the_name_before_the_server_has_every_card_event(
    start_agent: Start, stub_server: StubServer
) -> None:
    """The basic four read after a removal the server has not heard of would be taken for the
    visit's card: a read waits for the card events as a signature does (the probe's swap)."""
    a = start_agent(delivery_timeout=0.5)
    with stub_server.cond:
        stub_server.fail_next = 10**6
    a.insert("alice")
    r = a.post("/read-attributes", {})
    assert r.status_code == 200, r.text
    answer = a.test_pin(r.json()["request_id"], SUPPORT_PIN)
    assert answer["status"] == "failed"
    assert answer["error"] == "events_undelivered"
    assert "result" not in answer
    with stub_server.cond:
        stub_server.fail_next = 0
    stub_server.wait_for(lambda e: e["body"]["kind"] == "inserted")
    r = a.post("/read-attributes", {})
    assert a.test_pin(r.json()["request_id"], SUPPORT_PIN)["status"] == "done"


def test_router_answers_405_for_the_wrong_method_and_404_for_unknown_paths(
    start_agent: Start,
) -> None:
    a = start_agent()
    assert a.get("/authenticate").status_code == 405
    assert a.get("/authenticate").json()["message"] == "use POST for /authenticate"
    assert a.post("/status").status_code == 405
    assert a.client.put(a.agent.base_url + "/status").status_code == 405
    missing = a.get("/nowhere")
    assert (missing.status_code, missing.json()["error"]) == (404, "not_found")
    assert a.get("/status").status_code == 200


def test_a_page_origin_may_use_the_agent_and_only_for_its_own_origin(start_agent: Start) -> None:
    """The resident page has its own origin: the agent answers it (CORS, PIN pad framing, the
    token's origin) as it answers the server origin, and still nobody else."""
    page = "http://localhost:8000"
    a = start_agent(page_origins=(page + "/me/",))
    a.insert("alice")
    assert a.agent.allowed_origins == (a.origin, page)
    r = a.get("/status", headers={"Origin": page})
    assert r.status_code == 200
    assert r.headers["Access-Control-Allow-Origin"] == page
    assert a.get("/status").headers["Access-Control-Allow-Origin"] == a.origin
    r = a.post(
        "/authenticate", {"nonce": generate_nonce(), "origin": page}, headers={"Origin": page}
    )
    assert r.status_code == 200
    framed = a.client.get(r.json()["pinpad_url"])
    assert f"frame-ancestors {a.origin} {page}" in framed.headers["Content-Security-Policy"]
    evil = "https://evil.example"
    assert a.get("/status", headers={"Origin": evil}).status_code == 403
    r = a.post("/authenticate", {"nonce": generate_nonce(), "origin": evil})
    assert r.json()["error"] == "origin_mismatch"


def test_a_card_answering_63c0_when_blocked_gets_no_pin_pad(
    start_agent: Start, card_files: dict[str, Path]
) -> None:
    card = VirtualCard.load(card_files["alice"])
    card.blocked_answer = card.state["blocked_answer"] = "63C0"
    card.pins["auth_pin"].tries = 0
    card.save()
    a = start_agent()
    a.insert("alice")
    request_id = a.authenticate(generate_nonce())
    result = a.result(request_id)
    assert (result["status"], result["error"]) == ("failed", "pin_blocked")
    page = a.client.get(f"{a.url}/pinpad/{request_id}").text
    assert "暗証番号がロックされています" in page
    assert 'name="pin"' not in page  # no PIN field for a blocked card


def test_read_attributes_checks_ef0004_with_a_trusted_support_key(
    start_agent: Start, pki: Pki, tmp_path: Path
) -> None:
    from madoguchi.card.testca import SUPPORT_ROOT_KEY_ID

    root = tmp_path / "root.pem"
    root.write_bytes(pki.ca.support_public_key_pem())
    other = tmp_path / "other.pem"
    other.write_bytes(
        generate_rsa_key()
        .public_key()
        .public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
    )
    good = start_agent(support_keys=(f"{SUPPORT_ROOT_KEY_ID.hex()}={root}",))
    good.insert("bob")
    request_id = good.post("/read-attributes", {}).json()["request_id"]
    assert good.test_pin(request_id, SUPPORT_PIN)["status"] == "done"
    good.agent.stop()

    wrong = start_agent(support_keys=(f"{SUPPORT_ROOT_KEY_ID.hex()}={other}",))
    wrong.insert("bob")
    request_id = wrong.post("/read-attributes", {}).json()["request_id"]
    failed = wrong.test_pin(request_id, SUPPORT_PIN)
    assert (failed["status"], failed["error"]) == ("failed", "card_error")
    assert "EF0004 signature" in failed["message"]
    with pytest.raises(ConfigError, match="support-key"):
        AgentConfig(
            server_url="http://127.0.0.1:8000",
            credential=CREDENTIAL,
            support_keys=("nothex=" + str(root),),
        ).validate()


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_reporter_waits_quietly_for_a_starting_server_then_warns_on_outage(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """While the server has never answered, failed deliveries log one INFO line; once it has
    answered, a failure is a warning again (a real outage stays visible)."""
    import http.server
    import time

    from madoguchi.agent.reporter import CardEvent, EventReporter

    caplog.set_level("DEBUG", logger="madoguchi.agent")
    port = _free_port()
    url = f"http://127.0.0.1:{port}/api/v1/agent/events"
    reporter = EventReporter(
        url,
        CREDENTIAL,
        lambda: CardEvent("presence", None, "virtual tray", "2026-11-30T00:00:00Z"),
        interval=0.05,
        timeout=0.5,
    )

    def agent_records(level: str) -> list[str]:
        return [
            r.getMessage()
            for r in caplog.records
            if r.name == "madoguchi.agent" and r.levelname == level
        ]

    def until(check: Callable[[], bool]) -> None:
        deadline = time.monotonic() + 60  # a poll: returns as soon as `check` holds
        while not check():
            assert time.monotonic() < deadline
            time.sleep(0.02)

    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            self.send_response(202)
            self.send_header("Content-Length", "0")
            self.end_headers()

    reporter.start()
    try:
        until(lambda: reporter.failures >= 3)  # nobody listens on the port yet
        assert agent_records("WARNING") == []
        assert agent_records("INFO") == [f"waiting for the server at {url}"]
        server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        until(lambda: reporter.sent >= 1)  # the server came up
        assert agent_records("WARNING") == []
        server.shutdown()
        server.server_close()
        until(lambda: bool(agent_records("WARNING")))  # a real outage is a warning
        assert agent_records("WARNING")[0].startswith("card event presence not delivered: ")
        assert agent_records("INFO") == [f"waiting for the server at {url}"]
    finally:
        reporter.stop()


def test_json_nested_deeper_than_the_parser_goes_is_a_bad_request(start_agent: Start) -> None:
    """A body nested 2,000 deep raised RecursionError (not a ValueError): the agent answered
    500 "internal error" to any local process."""
    a = start_agent()
    deep = b'{"a": ' * 2000 + b"1" + b"}" * 2000
    r = a.client.post(
        a.url + "/authenticate",
        content=deep,
        headers={"Origin": a.origin, "Content-Type": "application/json"},
    )
    assert r.status_code == 400
    assert r.json()["error"] == "bad_json"


def test_the_pin_pad_tells_a_resident_on_their_own_page_what_the_pin_is_for(
    start_agent: Start,
) -> None:
    """On the resident's own page the PIN pad said 「マイナンバーカードを使って受付を開始します。」:
    no desk visit starts there; the card shows the resident their own records."""
    page = "http://localhost:8000"
    a = start_agent(page_origins=(page,))
    a.insert("alice")
    r = a.post(
        "/authenticate", {"nonce": generate_nonce(), "origin": page}, headers={"Origin": page}
    )
    pad = a.client.get(r.json()["pinpad_url"]).text
    assert "受付を開始します" not in pad
    assert "あなたについての記録を表示します" in pad
    english = a.client.get(r.json()["pinpad_url"] + "?lang=en").text
    assert "start a visit" not in english
    assert "records about you" in english
    # At the desk (the server origin) it still starts a visit.
    r = a.post("/authenticate", {"nonce": generate_nonce(), "origin": a.origin})
    assert "受付を開始します" in a.client.get(r.json()["pinpad_url"]).text
