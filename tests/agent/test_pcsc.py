"""The agent on a PC/SC reader: real pcscd + vsmartcard-vpcd with a virtual card plugged in."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from madoguchi.agent import Agent
from madoguchi.card.pcscd import SharedPcscd
from madoguchi.card.virtual import VirtualCard
from madoguchi.card.vpcd import VpcdBridge
from madoguchi.identity.tokens import generate_nonce

from .conftest import PIN, Pki, StubServer, agent_config
from .test_agent import card_fp, nonce_record, validator

pytestmark = pytest.mark.pcsc


def test_agent_with_a_pcsc_reader(
    pki: Pki, card_files: dict[str, Path], stub_server: StubServer
) -> None:
    from madoguchi.card.pcscd import PcscdBusy, shared_pcscd

    fp = card_fp(card_files["alice"])
    try:
        harness = shared_pcscd()
        shared = harness.__enter__()
    except PcscdBusy as exc:  # a pcscd this harness did not start holds the only socket
        pytest.fail(str(exc))  # never a silent skip: say that another pcscd is in the way
    try:
        _run(shared, pki, card_files, stub_server, fp)
    finally:
        harness.__exit__(None, None, None)


def _run(
    shared: SharedPcscd, pki: Pki, card_files: dict[str, Path], stub_server: StubServer, fp: str
) -> None:
    with shared.lease() as slot:
        config = agent_config(
            stub_server.url, [], reader=slot.name, allow_test_pins=False, card_poll_interval=0.2
        )
        with Agent(config) as agent, httpx.Client(timeout=15, trust_env=False) as client:
            origin = config.server_origin
            assert agent.status()["reader"] == slot.name
            stub_server.wait_for(
                lambda e: e["body"]["kind"] == "presence" and e["body"]["reader"] == slot.name
            )
            bridge = VpcdBridge(VirtualCard.load(card_files["alice"]), slot.port)
            bridge.connect(timeout=10)
            try:
                stub_server.wait_for(
                    lambda e: (
                        e["body"]["kind"] == "inserted" and e["body"]["cert_fingerprint"] == fp
                    )
                )
                nonce = generate_nonce()
                r = client.post(
                    agent.base_url + "/authenticate",
                    json={"nonce": nonce, "origin": origin},
                    headers={"Origin": origin},
                )
                assert r.status_code == 200, r.text
                request_id, pinpad_url = r.json()["request_id"], r.json()["pinpad_url"]
                # no test PINs with a reader: the PIN goes through the PIN pad form, as a person's
                refused = client.post(
                    agent.base_url + "/test/pin",
                    json={"request_id": request_id, "pin": PIN},
                    headers={"Origin": origin},
                )
                assert refused.status_code == 404
                posted = client.post(
                    pinpad_url, data={"pin": PIN, "lang": "ja"}, headers={"Origin": agent.base_url}
                )
                assert posted.status_code == 303
                answer = client.get(f"{agent.base_url}/requests/{request_id}").json()
                assert answer["status"] == "done", answer
                validated = validator(pki).validate_authentication(
                    answer["result"]["token"],
                    origin=origin,
                    nonce=nonce_record(nonce),
                    now=datetime.now(UTC),
                )
                assert validated.fingerprint_sha256 == fp
            finally:
                bridge.remove()
            removed = stub_server.wait_for(lambda e: e["body"]["kind"] == "removed")
            assert removed["body"]["reader"] == slot.name
            assert agent.status()["card_present"] is False
