"""An attempt's whole exchange ends by its deadline, and a 409 "key in use" is no refusal (side
doors, round 22).

httpx's read timeout bounds each read of the socket: an answer trickled a byte at a time (its
headers or its body) was waited for as long as the other side liked. Now every attempt ends
within connect + read timeout however the bytes arrive, and a call within
`ClientConfig.call_seconds()`. A 409 saying that the key's first request is still being
processed (another worker's, whose lease ran out) was `IdempotencyConflict`, a final refusal:
the resident read "not registered" while the first request registered. It is retried now, and
is `IdempotencyInProgress` (transient) if it lasts through every attempt.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest

from madoguchi.outside import (
    ClientConfig,
    HttpInsurer,
    IdempotencyConflict,
    IdempotencyInProgress,
    OutsideTimeout,
    OutsideUnavailable,
    RegisteredToAnotherCard,
    System,
)
from madoguchi.outside.sim import RunningSim
from madoguchi.outside.transport import JsonClient

BODY = b'{"registrations": []}' + b" " * 100
HEAD = (
    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
    + f"Content-Length: {len(BODY)}\r\n\r\n".encode()
)


@contextmanager
def trickling(*, head_step: float, body_step: float) -> Iterator[tuple[int, list[float]]]:
    """A loopback server answering every request a byte at a time: its headers one byte every
    `head_step` seconds, then its body one every `body_step`. Yields the port and the times
    (monotonic) at which it saw each request."""
    stop = threading.Event()
    seen: list[float] = []
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    listener.settimeout(0.1)

    def answer(conn: socket.socket) -> None:
        with conn:
            conn.recv(65536)
            for data, step in ((HEAD, head_step), (BODY, body_step)):
                for i in range(len(data)):
                    if step and stop.wait(step):
                        return
                    try:
                        conn.sendall(data[i : i + 1])
                    except OSError:
                        return

    def serve() -> None:
        with listener:
            while not stop.is_set():
                try:
                    conn, _ = listener.accept()
                except TimeoutError:
                    continue
                seen.append(time.monotonic())
                threading.Thread(target=answer, args=(conn,), daemon=True).start()

    threading.Thread(target=serve, daemon=True).start()
    try:
        yield listener.getsockname()[1], seen
    finally:
        stop.set()


def _timed(client: JsonClient, method: str = "GET") -> tuple[object, float]:
    started = time.monotonic()
    try:
        if method == "GET":
            outcome: object = client.get("/v1/registrations")
        else:
            outcome = client.post("/v1/registrations", {"a": 1}, idempotency_key="k-1")
    except Exception as exc:
        outcome = exc
    return outcome, time.monotonic() - started


def test_headers_trickled_a_byte_at_a_time_are_cut_at_the_attempts_deadline() -> None:
    config = ClientConfig(connect_timeout=0.3, read_timeout=0.5, attempts=1)
    with trickling(head_step=0.05, body_step=0) as (port, _seen):  # headers alone: some 4 s
        client = JsonClient(f"http://127.0.0.1:{port}", system=System.BANK, config=config)
        with client:
            outcome, took = _timed(client, "POST")
    assert isinstance(outcome, OutsideTimeout), outcome
    assert outcome.attempts == 1
    assert "時間内に応答がありませんでした" in outcome.message_ja
    assert took < config.attempt_seconds + 0.5, took


def test_every_attempt_has_its_deadline_and_the_call_ends_within_its_budget() -> None:
    config = ClientConfig(
        connect_timeout=0.2, read_timeout=0.4, attempts=3, backoff_initial=0.05, backoff_max=0.1
    )
    # Each answer would take 12 s in all, a byte every 0.1 s: well inside any read timeout.
    with trickling(head_step=0, body_step=0.1) as (port, seen):
        client = JsonClient(f"http://127.0.0.1:{port}", system=System.INSURER, config=config)
        with client:
            outcome, took = _timed(client, "POST")
    assert isinstance(outcome, OutsideTimeout), outcome
    assert outcome.attempts == 3
    assert len(seen) == 3  # each attempt tried again, under its own deadline
    assert took <= config.call_seconds() + 0.5, (took, config.call_seconds())
    # No attempt was cut before its own deadline: the three ran for most of theirs.
    assert took >= 3 * config.read_timeout, took


def test_a_slow_but_whole_answer_within_the_deadline_is_read() -> None:
    config = ClientConfig(connect_timeout=0.5, read_timeout=2.0, attempts=1)
    with trickling(head_step=0, body_step=0.005) as (port, _seen):  # ~0.6 s in all
        client = JsonClient(f"http://127.0.0.1:{port}", system=System.INSURER, config=config)
        with client:
            outcome, _took = _timed(client)
    assert not isinstance(outcome, Exception), outcome
    assert outcome.data == {"registrations": []}  # type: ignore[attr-defined]


def test_the_call_budget_adds_every_attempts_deadline_and_the_longest_backoffs() -> None:
    assert ClientConfig().call_seconds() == pytest.approx(3 * (2.0 + 5.0) + 0.2 + 0.4)
    config = ClientConfig(
        connect_timeout=1, read_timeout=60, attempts=5, backoff_initial=1, backoff_max=3
    )
    assert config.attempt_seconds == 61
    assert config.call_seconds() == pytest.approx(5 * 61 + 1 + 2 + 3 + 3)
    assert ClientConfig(attempts=1).call_seconds() == pytest.approx(7.0)


# --- 409: the key's first request still in progress ----------------------------------------

IN_PROGRESS = {"error": {"code": "idempotency_in_progress", "message": "still processing"}}
KEY_IN_USE = {"error": {"code": "idempotency_key_in_use", "message": "another request"}}
REGISTERED = {
    "registration_ref": "ins-reg-1",
    "status": "registered",
    "insured_name_kana": "ﾔﾏﾀﾞ ﾀﾛｳ",
    "registered_at": "2026-01-05T10:00:00+09:00",
}
FAST_RETRIES = ClientConfig(attempts=3, backoff_initial=0.001, backoff_max=0.002)


def _client(answers: list[tuple[int, object]], seen: list[httpx.Request]) -> JsonClient:
    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        status, body = answers[min(len(seen), len(answers)) - 1]
        return httpx.Response(status, json=body)

    return JsonClient(
        "http://insurer.test",
        system=System.INSURER,
        config=FAST_RETRIES,
        transport=httpx.MockTransport(handler),
    )


@pytest.mark.parametrize("body", [IN_PROGRESS, KEY_IN_USE, {"error": {"code": "busy"}}, {}])
def test_a_key_still_in_progress_is_retried_under_the_same_key(body: object) -> None:
    seen: list[httpx.Request] = []
    with _client([(409, body), (409, body), (200, REGISTERED)], seen) as client:
        answer = client.post("/v1/registrations", {"a": 1}, idempotency_key="madoguchi-hi:1")
    assert answer.data == REGISTERED
    assert answer.attempts == 3
    assert {r.headers["Idempotency-Key"] for r in seen} == {"madoguchi-hi:1"}


def test_a_key_in_progress_through_every_attempt_is_transient_never_a_refusal() -> None:
    seen: list[httpx.Request] = []
    with _client([(409, IN_PROGRESS)], seen) as client, pytest.raises(IdempotencyInProgress) as exc:
        client.post("/v1/registrations", {"a": 1}, idempotency_key="madoguchi-hi:2")
    assert len(seen) == FAST_RETRIES.attempts
    error = exc.value
    assert isinstance(error, OutsideUnavailable)
    assert (error.retryable, error.refusal, error.status) == (True, False, 409)
    assert "まだ処理しています" in error.message_ja
    assert "still processing" in error.message_en


@pytest.mark.parametrize(
    ("code", "cls"),
    [
        ("idempotency_conflict", IdempotencyConflict),  # another request under the key
        ("registered_to_another_card", RegisteredToAnotherCard),
    ],
)
def test_a_409_that_names_a_refusal_stays_final(code: str, cls: type[Exception]) -> None:
    seen: list[httpx.Request] = []
    answers = [(409, {"error": {"code": code, "message": "no"}})]
    with _client(answers, seen) as client, pytest.raises(cls):
        client.post("/v1/registrations", {"a": 1}, idempotency_key="madoguchi-hi:3")
    assert len(seen) == 1


def test_the_simulator_answers_a_key_in_use_while_its_first_request_is_processed(
    insurer: HttpInsurer, insurer_sim: RunningSim
) -> None:
    """Two workers sending one call at once: the second is told to retry, then replayed."""
    insurer_sim.control.set(latency_ms=1000)
    done: list[object] = []

    def first() -> None:
        done.append(
            insurer.register_use(
                "06139992", "1234", "5678", "00", "a1" * 32, idempotency_key="busy-key"
            )
        )

    thread = threading.Thread(target=first)
    thread.start()
    # Until the first request is at the simulator, waiting out its latency with its key in flight.
    until = time.monotonic() + 5
    while insurer_sim.control.stats()["requests"] < 1 and time.monotonic() < until:
        time.sleep(0.02)
    raw = httpx.post(
        f"{insurer_sim.base_url}/v1/registrations",
        json={
            "insurer_number": "06139992",
            "insured_symbol": "1234",
            "insured_number": "5678",
            "branch": "00",
            "card_cert_fingerprint": "a1" * 32,
        },
        headers={"Idempotency-Key": "busy-key"},
    )
    thread.join(10)
    assert raw.status_code == 409
    assert raw.json()["error"]["code"] == "idempotency_in_progress"
    assert len(done) == 1, done
    assert not isinstance(done[0], Exception), done
    insurer_sim.control.set(latency_ms=0)
    again = insurer.register_use(
        "06139992", "1234", "5678", "00", "a1" * 32, idempotency_key="busy-key"
    )
    assert again.replayed
    stats = insurer_sim.control.stats()
    assert (stats["processed"], stats["in_progress"], stats["conflicts"]) == (1, 1, 0)
