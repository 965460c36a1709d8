"""The simulators themselves: logging, determinism, control, seed, command line."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from django.core.management import call_command

from madoguchi.outside.sim import SimKind, load_seed, run_in_thread, running, running_all
from madoguchi.outside.sim.cli import main
from madoguchi.outside.transport import shared_ssl_context

TARO = {"payment_service_id": "7010000000000001", "security_code": "123"}


@pytest.fixture(scope="module")
def http() -> Iterator[httpx.Client]:
    with httpx.Client(verify=shared_ssl_context()) as client:
        yield client


def test_security_codes_never_reach_the_log(
    http: httpx.Client, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="madoguchi.outside.sim"), running("provider") as sim:
        url = f"{sim.base_url}/providers/sim-pay/v1/accounts/verify"
        assert http.post(url, json=TARO).status_code == 200
        assert http.post(url, json={**TARO, "security_code": "987"}).status_code == 422
    lines = [r.getMessage() for r in caplog.records if r.name == "madoguchi.outside.sim"]
    assert len(lines) == 2
    assert all("/v1/accounts/verify" in line for line in lines)
    text = "\n".join(lines)
    assert "7010000000000001" not in text
    assert '"************0001"' in text
    assert "security_code" not in text
    for code in ("123", "987"):
        assert f'"{code}"' not in text


def _failure_pattern(http: httpx.Client, random_seed: int) -> list[int]:
    with running("bank", random_seed=random_seed) as sim:
        sim.control.set(fail_rate=0.5)
        return [http.get(f"{sim.base_url}/v1/none").status_code for _ in range(16)]


def test_faults_are_repeatable_under_a_random_seed(http: httpx.Client) -> None:
    first, again, other = (_failure_pattern(http, s) for s in (42, 42, 43))
    assert first == again
    assert set(first) == {503, 404}, "both failures and answers under a 50% rate"
    assert first != other


def test_latency_is_added_to_every_request(http: httpx.Client) -> None:
    with running("bank") as sim:
        sim.control.set(latency_ms=150)
        elapsed = http.get(f"{sim.base_url}/v1/none").elapsed.total_seconds()
    assert elapsed >= 0.15


def test_control_refuses_unknown_and_out_of_range_settings(http: httpx.Client) -> None:
    with running("insurer") as sim:
        url = f"{sim.base_url}/_control"
        assert http.post(url, json={"explode": 1}).status_code == 400
        assert http.post(url, json={"fail_rate": 2}).status_code == 400
        assert http.post(url, json={"fail_status": 404}).status_code == 400
        state = http.post(url, json={"fail_next": 2}).json()
        assert state["faults"]["fail_next"] == 2
        assert state["kind"] == "insurer"


def test_reset_state_restores_the_seed(http: httpx.Client) -> None:
    with running("provider") as sim:
        base = f"{sim.base_url}/providers/sim-pay/v1/accounts/simpay-acct-0001"
        http.post(f"{base}/suspend", json={}, headers={"Idempotency-Key": "k1"})
        assert http.get(base).json()["status"] == "suspended"
        sim.control.reset()
        assert http.get(base).json()["status"] == "active"


def test_run_in_thread_serves_on_loopback_until_stopped(http: httpx.Client) -> None:
    base_url, stop = run_in_thread(SimKind.BANK)
    assert base_url.startswith("http://127.0.0.1:")
    assert http.get(f"{base_url}/_health").json() == {"ok": True, "kind": "bank"}
    stop()
    with pytest.raises(httpx.ConnectError):
        http.get(f"{base_url}/_health")


def test_a_custom_seed_file(http: httpx.Client, tmp_path: Path) -> None:
    seed = {
        "bank": {
            "banks": [],
            "accounts": [
                {
                    "bank_code": "0001",
                    "branch_code": "100",
                    "account_type": "ordinary",
                    "account_number": "0000001",
                    "holder_name_kana": "ﾃｽﾄ ﾀﾛｳ",
                    "status": "active",
                }
            ],
        }
    }
    path = tmp_path / "seed.json"
    path.write_text(json.dumps(seed, ensure_ascii=False), "utf-8")
    with running("bank", path) as sim:
        answer = http.post(
            f"{sim.base_url}/v1/accounts/lookup",
            json={
                "bank_code": "0001",
                "branch_code": "100",
                "account_type": "ordinary",
                "account_number": "0000001",
            },
        ).json()
    assert answer["holder_name_kana"] == "ﾃｽﾄ ﾀﾛｳ"


def test_running_all_wires_every_adapter() -> None:
    with running_all() as sims:
        outside = sims.outside()
        try:
            assert (
                outside.providers.get("sim-pay").verify("7010000000000002", "4567").holder_name_kana
                == "ｻﾄｳ ﾊﾅｺ"
            )
            assert (
                outside.bank.lookup_account("0991", "101", "ordinary", "5678901").holder_name_kana
                == "ｺﾊﾞﾔｼ ｼﾖｳｺ"
            )
            registration = outside.insurer.register_use("06139992", "2345", "100", "00", "c3" * 32)
            assert registration.insured_name_kana == "ｻﾄｳ ﾊﾅｺ"
        finally:
            outside.close()


def test_default_seed_has_the_documented_accounts() -> None:
    seed = load_seed()
    accounts = {
        a["payment_service_id"]: a for p in seed["provider"]["providers"] for a in p["accounts"]
    }
    assert accounts["7010000000000001"]["holder_name_kana"] == "ﾔﾏﾀﾞ ﾀﾛｳ"
    assert accounts["7010000000000003"]["holder_name_kana"] == "ｽｽﾞｷ ｲﾁﾛｳ"
    assert {a["status"] for a in accounts.values()} == {"active", "suspended", "closed"}
    assert all(len(psid) == 16 and psid.isdigit() for psid in accounts)
    assert all(3 <= len(a["security_code"]) <= 4 for a in accounts.values())


def test_serve_refuses_a_public_address(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["serve", "bank", "--host", "0.0.0.0"]) == 2
    assert "--allow-remote" in capsys.readouterr().err


def test_sim_accounts_command_prints_the_seed() -> None:
    from io import StringIO

    out = StringIO()
    call_command("sim", "accounts", "provider", stdout=out)
    text = out.getvalue()
    assert "7010000000000001\t123\tsimpay-acct-0001\tﾔﾏﾀﾞ ﾀﾛｳ" in text
    assert "sim-pay-noname\t7020000000000001\t321\tnonamepay-acct-0001\t(unavailable)" in text
    assert "# bank" not in text


def test_the_package_imports_no_django() -> None:
    code = (
        "import sys, madoguchi.outside, madoguchi.outside.sim, madoguchi.outside.sim.cli;"
        "print(sorted(m for m in sys.modules if m == 'django' or m.startswith('django.')))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"


def test_serve_runs_as_a_process_on_an_ephemeral_port(http: httpx.Client) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "madoguchi.outside.sim", "serve", "insurer", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert "listening on http://127.0.0.1:" in line
        url = line.split("listening on ")[1].split()[0]
        assert http.get(f"{url}/_health").json()["kind"] == "insurer"
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_a_simulator_with_a_state_file_remembers_across_a_restart(
    http: httpx.Client, tmp_path: Path
) -> None:
    """`madoguchi demo` restarted its simulators from their seed while its database remembered:
    the insurer forgot every registration (reconcile then reported each as missing), the
    provider its suspensions and payouts. With --state they come back as they were."""
    state = tmp_path / "sim-insurer.json"
    registration = {
        "insurer_number": "06139992",
        "insured_symbol": "1234",
        "insured_number": "5678",
        "branch": "00",
        "card_cert_fingerprint": "ab" * 32,
        "request_ref": "madoguchi-hi:1",
    }
    with running("insurer", state_path=state) as sim:
        first = http.post(
            f"{sim.base_url}/v1/registrations",
            json=registration,
            headers={"Idempotency-Key": "k1"},
        )
        assert first.json()["status"] == "registered"
    with running("insurer", state_path=state) as sim:
        held = http.get(f"{sim.base_url}/v1/registrations").json()["registrations"]
        assert [r["request_ref"] for r in held if r["request_ref"]] == ["madoguchi-hi:1"]
        replay = http.post(
            f"{sim.base_url}/v1/registrations",
            json=registration,
            headers={"Idempotency-Key": "k1"},
        )
        assert replay.json() == first.json()  # the stored answer, not a second registration
    provider_state = tmp_path / "sim-provider.json"
    suspend = "/providers/sim-pay/v1/accounts/simpay-acct-0001/suspend"
    with running("provider", state_path=provider_state) as sim:
        http.post(f"{sim.base_url}{suspend}", headers={"Idempotency-Key": "s1"})
    with running("provider", state_path=provider_state) as sim:
        verified = http.post(f"{sim.base_url}/providers/sim-pay/v1/accounts/verify", json=TARO)
        assert verified.json()["status"] == "suspended"
    # Without a state file a restart is the seed again (tests, `sim serve` alone).
    with running("insurer") as sim:
        fresh = http.get(f"{sim.base_url}/v1/registrations").json()["registrations"]
        assert not [r for r in fresh if r["request_ref"]]


@pytest.mark.parametrize(
    "content",
    ["{not json", '{"kind": "provider", "app": {}}', '{"kind": "insurer", "app": {"records": 3}}'],
    ids=["cut-short", "another-kind", "edited"],
)
def test_sim_serve_refuses_a_state_file_it_did_not_write(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str
) -> None:
    """A state file cut short, another simulator's (the provider's given to the insurer) or
    edited was a traceback at start (or a silent half restore)."""
    state = tmp_path / "sim-insurer.json"
    state.write_text(content, encoding="utf-8")
    assert main(["serve", "insurer", "--port", "0", "--state", str(state)]) == 2
    err = capsys.readouterr().err
    assert f"the state file {state}" in err
    assert "move it away to start from the seed" in err


def test_a_body_nested_deeper_than_the_parser_goes_is_a_bad_request(http: httpx.Client) -> None:
    """RecursionError is not a ValueError: such a body was an error in the handler."""
    deep = b'{"a": ' * 2000 + b"1" + b"}" * 2000
    with running("insurer") as sim:
        r = http.post(f"{sim.base_url}/v1/registrations", content=deep)
    assert r.status_code == 400
    assert r.json()["error"]["code"] == "invalid_request"


BAD_SEEDS = {
    "not-json": ("{not json", "is not JSON"),
    "not-an-object": ("[1, 2]", "a seed file holds one JSON object"),
    "section-a-list": ('{"bank": [1]}', "section 'bank' must be an object"),
    "provider-without-code": (
        '{"provider": {"providers": [{"accounts": []}]}}',
        "provider.providers[0] has no 'code' (text)",
    ),
    "account-without-ref": (
        '{"provider": {"providers": [{"code": "p", "accounts": [{"payment_service_id": "1",'
        ' "security_code": "1", "status": "active"}]}]}}',
        "provider.providers[0].accounts[0] has no 'account_ref' (text)",
    ),
    "records-not-a-list": ('{"insurer": {"records": {}}}', "insurer.records must be a list"),
    "unknown-status": (
        '{"provider": {"providers": [{"code": "p", "accounts": [{"payment_service_id": "1",'
        ' "security_code": "1", "account_ref": "r", "status": "weird"}]}]}}',
        "has status 'weird', which is none of active, closed, suspended",
    ),
}


@pytest.mark.parametrize("name", sorted(BAD_SEEDS))
@pytest.mark.parametrize("action", ["serve", "accounts"])
def test_a_seed_file_not_in_the_seeds_format_is_refused_in_one_sentence(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str, action: str
) -> None:
    """A seed cut short, missing a key the simulators index by or with an unknown status was a
    traceback (JSONDecodeError, KeyError: 'code') from `sim serve` and `sim accounts`."""
    content, reason = BAD_SEEDS[name]
    seed = tmp_path / "seed.json"
    seed.write_text(content, encoding="utf-8")
    kind = "insurer" if "records" in name else "provider" if action == "serve" else "bank"
    args = ["serve", kind, "--port", "0"] if action == "serve" else ["accounts"]
    if action == "accounts" and name == "unknown-status":
        args = ["serve", "provider", "--port", "0"]  # statuses are the simulator's to know
    assert main([*args, "--seed", str(seed)]) == 2
    err = capsys.readouterr().err
    assert reason in err, err
    assert "give a seed in the packaged seed's format" in err
    assert "Traceback" not in err


def test_a_seed_file_that_cannot_be_read_is_named(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "nowhere.json"
    assert main(["accounts", "--seed", str(missing)]) == 2
    assert f"the seed file {missing} cannot be read (No such file or directory)" in (
        capsys.readouterr().err
    )


def test_serve_on_a_port_in_use_says_so(capsys: pytest.CaptureFixture[str]) -> None:
    """Another simulator (or anything) on the port was an OSError traceback."""
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(["serve", "bank", "--port", str(port)]) == 2
    err = capsys.readouterr().err
    assert f"cannot listen on 127.0.0.1 port {port}" in err
    assert "give another --port" in err


@pytest.mark.parametrize(
    ("args", "reason"),
    [
        (["--port", "99999"], "a port is a whole number from 0 to 65535, not '99999'"),
        (["--port", "-1"], "a port is a whole number from 0 to 65535, not '-1'"),
        (["--latency-ms", "-5"], "must be a whole number of milliseconds, not '-5'"),
        (["--hang-ms", "soon"], "must be a whole number of milliseconds, not 'soon'"),
    ],
)
def test_serve_refuses_numbers_out_of_range_before_it_starts(
    capsys: pytest.CaptureFixture[str], args: list[str], reason: str
) -> None:
    """A port past 65535 was an OverflowError traceback; a negative latency was taken."""
    with pytest.raises(SystemExit) as exited:
        main(["serve", "bank", *args])
    assert exited.value.code == 2
    assert reason in capsys.readouterr().err
