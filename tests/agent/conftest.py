"""Agent test fixtures: a test CA and virtual cards issued once per session (RSA keys are slow),
copied per test so PIN counters never leak between tests; a stub server receiving card events."""

from __future__ import annotations

import json
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from madoguchi.agent import Agent, AgentConfig
from madoguchi.card.testca import TestCA
from madoguchi.card.virtual import issue_card

CREDENTIAL = "mdt_0123456789ab_s3cr3t-terminal-credential"
PIN = "1234"
SUPPORT_PIN = "5678"


@dataclass(frozen=True)
class Pki:
    ca: TestCA
    cards: dict[str, Path]


@pytest.fixture(scope="session")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    root = tmp_path_factory.mktemp("agent-pki")
    ca = TestCA.load_or_create(root / "ca")
    cards = {}
    for name, person, sex in (
        ("alice", "山田\u3000花子", "2"),
        ("bob", "佐藤\u3000太郎", "1"),
    ):
        path = root / f"{name}.card"
        issue_card(
            ca,
            name=person,
            address="東京都千代田区霞が関１－２－３",
            birth=date(1985, 4, 1),
            sex=sex,
            pin=PIN,
            support_pin=SUPPORT_PIN,
            path=path,
        )
        cards[name] = path
    return Pki(ca, cards)


@pytest.fixture
def card_files(pki: Pki, tmp_path: Path) -> dict[str, Path]:
    """Fresh copies of the session's cards (full PIN counters) in this test's directory."""
    out = {}
    for name, path in pki.cards.items():
        copy = tmp_path / path.name
        shutil.copy(path, copy)
        out[name] = copy
    return out


# --- stub server receiving POST /api/v1/agent/events -------------------------------------------------


@dataclass
class StubServer:
    url: str = ""
    received: list[dict[str, Any]] = field(default_factory=list)
    authorizations: list[str | None] = field(default_factory=list)
    fail_next: int = 0
    cond: threading.Condition = field(default_factory=threading.Condition)

    def wait_for(
        self, predicate: Callable[[dict[str, Any]], bool], timeout: float = 30.0
    ) -> dict[str, Any]:
        """The first event received that `predicate` holds for, as soon as there is one. The
        bound only says how long a loaded machine may take (the agent's threads share this
        process with the stub server and the test)."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                for event in self.received:
                    if predicate(event):
                        return event
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(f"no matching event; received {self.received}")
                self.cond.wait(remaining)

    def kinds(self) -> list[str]:
        with self.cond:
            return [e["body"]["kind"] for e in self.received]


@pytest.fixture
def stub_server() -> Iterator[StubServer]:
    stub = StubServer()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            with stub.cond:
                if stub.fail_next > 0:
                    stub.fail_next -= 1
                    status = 503
                else:
                    status = 204
                    stub.received.append(
                        {"path": self.path, "body": body, "auth": self.headers.get("Authorization")}
                    )
                stub.cond.notify_all()
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    stub.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(
        target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    yield stub
    httpd.shutdown()
    httpd.server_close()


# --- a running agent ---------------------------------------------------------------------------------


@dataclass
class RunningAgent:
    """An agent whose server is the stub: its origin (http://127.0.0.1:<port>) is the one the
    agent enforces, and the events go there."""

    agent: Agent
    client: httpx.Client
    origin: str

    @property
    def url(self) -> str:
        return self.agent.base_url

    def post(self, path: str, body: dict[str, Any] | None = None, **kw: Any) -> httpx.Response:
        headers = {"Origin": self.origin, **kw.pop("headers", {})}
        return self.client.post(self.url + path, json=body or {}, headers=headers, **kw)

    def get(self, path: str, **kw: Any) -> httpx.Response:
        headers = {"Origin": self.origin, **kw.pop("headers", {})}
        return self.client.get(self.url + path, headers=headers, **kw)

    def insert(self, name: str) -> None:
        r = self.post("/tray/insert", {"card": name})
        assert r.status_code == 200, r.text

    def remove(self) -> None:
        r = self.post("/tray/remove")
        assert r.status_code == 200, r.text

    def test_pin(self, request_id: str, pin: str) -> dict[str, Any]:
        r = self.post("/test/pin", {"request_id": request_id, "pin": pin})
        assert r.status_code == 200, r.text
        return r.json()

    def authenticate(self, nonce: str) -> str:
        r = self.post("/authenticate", {"nonce": nonce, "origin": self.origin})
        assert r.status_code == 200, r.text
        return r.json()["request_id"]

    def result(self, request_id: str, wait: float = 0) -> dict[str, Any]:
        r = self.get(f"/requests/{request_id}?wait={wait}")
        assert r.status_code == 200, r.text
        return r.json()


def agent_config(server_url: str, cards: list[Path], **overrides: Any) -> AgentConfig:
    settings: dict[str, Any] = {
        "server_url": server_url,
        "credential": CREDENTIAL,
        "listen_port": 0,
        "virtual_cards": tuple(cards),
        "allow_test_pins": True,
        "presence_interval": 0.2,
        "max_backoff": 0.5,
    }
    settings.update(overrides)
    return AgentConfig(**settings)


@pytest.fixture
def start_agent(
    stub_server: StubServer, card_files: dict[str, Path]
) -> Iterator[Callable[..., RunningAgent]]:
    """Start an agent with a virtual tray of alice and bob; the stub is its server."""
    started: list[RunningAgent] = []

    def start(**overrides: Any) -> RunningAgent:
        config = agent_config(stub_server.url, list(card_files.values()), **overrides)
        agent = Agent(config)
        agent.start()
        running = RunningAgent(
            agent, httpx.Client(timeout=10, trust_env=False), config.server_origin
        )
        started.append(running)
        return running

    yield start
    for running in started:
        running.client.close()
        running.agent.stop()
