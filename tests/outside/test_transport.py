"""Timeouts, bounded retries and idempotency keys, against a real simulator."""

from __future__ import annotations

import logging
import random
import socket
import threading

import httpx
import pytest

from madoguchi.outside import (
    ClientConfig,
    HttpInsurer,
    IdempotencyConflict,
    InvalidRequest,
    OutsideAccessDenied,
    OutsideProtocolError,
    OutsideTimeout,
    OutsideUnavailable,
    SecurityCodeWrong,
    System,
)
from madoguchi.outside.errors import OutsideError
from madoguchi.outside.registry import ProviderRegistry
from madoguchi.outside.sim import RunningSim
from madoguchi.outside.transport import JsonClient

from .conftest import FAST, IMPATIENT, LATE_MS

TARO = ("7010000000000001", "123")
YAMADA_INSURANCE = ("06139992", "1234", "5678", "00")
CARD_A = "a1" * 32
CARD_B = "b2" * 32


def test_two_transient_failures_are_retried_to_success(
    providers: ProviderRegistry, provider_sim: RunningSim, caplog: pytest.LogCaptureFixture
) -> None:
    provider_sim.control.set(fail_next=2)
    with caplog.at_level(logging.INFO, logger="madoguchi.outside"):
        account = providers.get("sim-pay").verify(*TARO)
    assert account.holder_name_kana == "ﾔﾏﾀﾞ ﾀﾛｳ"
    stats = provider_sim.control.stats()
    assert (stats["requests"], stats["failed"], stats["processed"]) == (3, 2, 1)
    # Both retries and the success they led to are logged where an operator looks.
    lines = [r.getMessage() for r in caplog.records if r.name == "madoguchi.outside"]
    assert [line.split(": ", 1)[1] for line in lines] == [
        f"HTTP 503 on attempt 1/{FAST.attempts}",
        f"HTTP 503 on attempt 2/{FAST.attempts}",
        f"HTTP 200 on attempt 3/{FAST.attempts}",
    ]


def test_an_ordinary_first_try_success_logs_nothing_an_operator_sees(
    providers: ProviderRegistry, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="madoguchi.outside"):
        providers.get("sim-pay").verify(*TARO)
    assert [r for r in caplog.records if r.name == "madoguchi.outside"] == []


def test_gives_up_after_the_bounded_number_of_attempts(
    providers: ProviderRegistry, provider_sim: RunningSim
) -> None:
    provider_sim.control.set(fail_next=10, fail_status=502)
    with pytest.raises(OutsideUnavailable) as exc:
        providers.get("sim-pay").verify(*TARO)
    assert type(exc.value) is OutsideUnavailable
    assert exc.value.attempts == FAST.attempts
    assert exc.value.status == 502
    assert "接続できませんでした" in exc.value.message_ja
    stats = provider_sim.control.stats()
    assert (stats["requests"], stats["processed"]) == (FAST.attempts, 0)


def test_client_errors_are_final_and_not_retried(
    providers: ProviderRegistry, provider_sim: RunningSim
) -> None:
    with pytest.raises(SecurityCodeWrong):
        providers.get("sim-pay").verify(TARO[0], "999")
    assert provider_sim.control.stats()["requests"] == 1


def test_timeout_raises_outside_timeout_without_hanging(provider_sim: RunningSim) -> None:
    provider_sim.control.set(hang_next=5, hang_ms=LATE_MS)
    provider = ProviderRegistry()  # unused; keeps the import honest for type checkers
    del provider
    client = JsonClient(
        f"{provider_sim.base_url}/providers/sim-pay",
        system=System.PAYMENT_PROVIDER,
        config=IMPATIENT,
    )
    outcome: list[BaseException] = []

    def call() -> None:
        try:
            client.post(
                "/v1/accounts/verify", {"payment_service_id": TARO[0], "security_code": TARO[1]}
            )
        except BaseException as exc:
            outcome.append(exc)

    worker = threading.Thread(target=call)
    worker.start()
    # Each of the 2 attempts waits 0.2 s; the simulator holds every answer back for 3 s.
    worker.join(timeout=LATE_MS / 1000)
    try:
        assert not worker.is_alive(), "the client waited for the late answer"
        assert len(outcome) == 1
        assert isinstance(outcome[0], OutsideTimeout)
        assert outcome[0].attempts == IMPATIENT.attempts
        assert "時間内に応答がありませんでした" in outcome[0].message_ja
    finally:
        client.close()


def test_nothing_listening_is_unavailable() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    # The port is closed now: every connect is refused.
    client = JsonClient(f"http://127.0.0.1:{port}", system=System.BANK, config=FAST)
    with pytest.raises(OutsideUnavailable) as exc:
        client.get("/v1/anything")
    assert exc.value.attempts == FAST.attempts
    assert "金融機関" in exc.value.message_ja


def test_every_post_carries_one_idempotency_key_across_attempts(
    provider_sim: RunningSim,
) -> None:
    seen: list[str | None] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers.get("Idempotency-Key"))
        if len(seen) < 3:
            return httpx.Response(503, json={"error": {"code": "unavailable"}})
        return httpx.Response(200, json={"ok": True})

    client = JsonClient(
        "http://sim.invalid",
        system=System.BANK,
        config=FAST,
        transport=httpx.MockTransport(handler),
    )
    assert client.post("/x", {"a": 1}).data == {"ok": True}
    assert len(seen) == 3
    assert seen[0]
    assert len(set(seen)) == 1
    client.post("/x", {"a": 1})
    assert seen[3] != seen[0], "a new logical request gets a new key"


def test_get_requests_carry_no_idempotency_key() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={})

    client = JsonClient(
        "http://sim.invalid",
        system=System.BANK,
        config=FAST,
        transport=httpx.MockTransport(handler),
    )
    client.get("/x")
    assert "Idempotency-Key" not in seen[0].headers


@pytest.mark.parametrize(
    "response",
    [
        httpx.Response(200, text="<html>hello</html>"),
        httpx.Response(200, json=["not", "an", "object"]),
        httpx.Response(418, json={"error": {"code": "teapot"}}),
    ],
)
def test_unexpected_answers_are_protocol_errors(response: httpx.Response) -> None:
    client = JsonClient(
        "http://sim.invalid",
        system=System.INSURER,
        config=FAST,
        transport=httpx.MockTransport(lambda r: response),
    )
    with pytest.raises(OutsideProtocolError) as exc:
        client.get("/x")
    assert "想定外の応答" in exc.value.message_ja


def test_missing_fields_in_an_answer_are_protocol_errors() -> None:
    transport = httpx.MockTransport(lambda r: httpx.Response(200, json={"status": "registered"}))
    insurer = HttpInsurer("http://sim.invalid", config=FAST, transport=transport)
    with pytest.raises(OutsideProtocolError):
        insurer.register_use(*YAMADA_INSURANCE, CARD_A)


def test_retry_under_the_same_key_replays_the_first_answer(
    insurer: HttpInsurer, insurer_sim: RunningSim
) -> None:
    first = insurer.register_use(*YAMADA_INSURANCE, CARD_A, idempotency_key="visit-1-insurance")
    again = insurer.register_use(*YAMADA_INSURANCE, CARD_A, idempotency_key="visit-1-insurance")
    assert not first.replayed
    assert again.replayed
    assert (again.registration_ref, again.status, again.registered_at) == (
        first.registration_ref,
        first.status,
        first.registered_at,
    )
    stats = insurer_sim.control.stats()
    assert (stats["processed"], stats["replayed"]) == (1, 1)


def test_same_key_with_different_parameters_is_a_conflict(
    insurer: HttpInsurer, insurer_sim: RunningSim
) -> None:
    insurer.register_use(*YAMADA_INSURANCE, CARD_A, idempotency_key="visit-2-insurance")
    with pytest.raises(IdempotencyConflict) as exc:
        insurer.register_use(
            "06139992", "2345", "100", "00", CARD_B, idempotency_key="visit-2-insurance"
        )
    assert exc.value.status == 409
    stats = insurer_sim.control.stats()
    assert (stats["processed"], stats["conflicts"]) == (1, 1)


def test_state_changing_endpoints_demand_an_idempotency_key(insurer_sim: RunningSim) -> None:
    response = httpx.post(
        f"{insurer_sim.base_url}/v1/registrations",
        json=dict(
            zip(
                (
                    "insurer_number",
                    "insured_symbol",
                    "insured_number",
                    "branch",
                    "card_cert_fingerprint",
                ),
                (*YAMADA_INSURANCE, CARD_A),
                strict=True,
            )
        ),
    )
    assert response.status_code == 400
    assert insurer_sim.control.stats()["processed"] == 0


def test_backoff_grows_is_capped_and_jittered() -> None:
    config = ClientConfig(backoff_initial=0.1, backoff_multiplier=2.0, backoff_max=0.3)
    rng = random.Random(7)
    delays = [[config.backoff(retry, rng) for retry in (1, 2, 3, 4)] for _ in range(50)]
    for d1, d2, d3, d4 in delays:
        assert 0.05 <= d1 <= 0.1
        assert 0.1 <= d2 <= 0.2
        assert 0.15 <= d3 <= 0.3
        assert 0.15 <= d4 <= 0.3
    assert len({round(d[0], 6) for d in delays}) > 1, "no jitter"


@pytest.mark.parametrize("bad", [{"attempts": 0}, {"read_timeout": 0}, {"connect_timeout": -1}])
def test_config_refuses_nonsense(bad: dict[str, float]) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - any of the three messages
        ClientConfig(**bad)  # type: ignore[arg-type]


def test_invalid_request_from_the_server_keeps_its_reason() -> None:
    transport = httpx.MockTransport(
        lambda r: httpx.Response(
            400, json={"error": {"code": "invalid_request", "message": "batch too big"}}
        )
    )
    client = JsonClient(
        "http://sim.invalid", system=System.PAYMENT_PROVIDER, config=FAST, transport=transport
    )
    with pytest.raises(InvalidRequest) as exc:
        client.post("/x", {})
    assert "batch too big" in exc.value.message_en
    assert isinstance(exc.value, OutsideError)


def test_a_misconfigured_url_is_a_clear_error_not_a_crash() -> None:
    client = JsonClient("ftp://127.0.0.1:1", system=System.BANK, config=FAST)
    with pytest.raises(OutsideProtocolError) as exc:
        client.post("/x", {})
    assert exc.value.attempts == 1


@pytest.mark.parametrize(
    "response",
    [
        httpx.Response(401, json={"error": {"code": "unauthorized", "message": "bad key"}}),
        httpx.Response(403, json={"error": {"code": "forbidden_host", "message": "no"}}),
        httpx.Response(401, text="<html>401 Authorization Required</html>"),
        httpx.Response(403, text="Forbidden"),
    ],
)
def test_credentials_or_permission_refused_are_said_so_and_not_retried(
    response: httpx.Response,
) -> None:
    """A 401/403 read as "an unexpected answer", and an outbox call was retried for ever under
    that name: an operator could not tell that the insurer refused our key or certificate."""
    seen: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(1)
        return response

    client = JsonClient(
        "http://sim.invalid",
        system=System.INSURER,
        config=FAST,
        transport=httpx.MockTransport(handler),
    )
    with pytest.raises(OutsideAccessDenied) as exc:
        client.post("/x", {})
    assert len(seen) == 1  # final at once, as any other 4xx
    assert exc.value.code == "outside_access_denied"
    assert exc.value.status == response.status_code
    assert "認証情報または権限" in exc.value.message_ja
    assert "credentials or permission" in exc.value.message_en
    assert isinstance(exc.value, OutsideProtocolError)  # the outbox goes on retrying it


@pytest.mark.parametrize("status", [501, 505, 507])
def test_a_server_error_retrying_cannot_help_is_final(status: int) -> None:
    """docs/outside.md said every 5xx was retried; only 500/502/503/504 (and 429) are."""
    seen: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(1)
        return httpx.Response(status, json={"error": {"code": "x"}})

    client = JsonClient(
        "http://sim.invalid",
        system=System.INSURER,
        config=FAST,
        transport=httpx.MockTransport(handler),
    )
    with pytest.raises(OutsideProtocolError) as exc:
        client.get("/x")
    assert len(seen) == 1
    assert not isinstance(exc.value, OutsideUnavailable)
