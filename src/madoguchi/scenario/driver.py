"""A desk page, driven from Python: signs in on a terminal, talks to the card agent and the
server exactly as the page's script does (no Django import: it only speaks HTTP)."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from typing import Any

import httpx

_CSRF_INPUT = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
_CHECKLIST = re.compile(r'data-testid="checklist-before_completion">(.*?)</fieldset>', re.DOTALL)
_CHECK_ITEM = re.compile(r'name="item" value="([^"]+)"')
# The visit a desk page's form was shown for: the server refuses a form without it.
_VISIT_INPUT = re.compile(r'name="visit" value="([^"]+)"')
# The summary and the completion round the confirmation page's checklist form was shown for.
_SUMMARY_INPUT = re.compile(r'name="summary" value="([^"]*)"')
_ROUND_INPUT = re.compile(r'name="round" value="([^"]*)"')


class DriverError(Exception):
    """A step failed for a reason the scenario did not expect (server down, bad credentials)."""


@dataclass
class Refusal:
    """A refusal from the server or the agent: stable code and messages."""

    status: int
    code: str
    message: str
    message_ja: str = ""


class DeskDriver:
    def __init__(self, server: str, agent: str, *, timeout: float = 30.0) -> None:
        self.server = server.rstrip("/")
        self.agent_url = agent.rstrip("/")
        self.http = httpx.Client(base_url=self.server, timeout=timeout, follow_redirects=False)
        self.agent = httpx.Client(
            base_url=self.agent_url, timeout=timeout, headers={"Origin": self.server}
        )

    def close(self) -> None:
        self.http.close()
        self.agent.close()

    # --- pages ------------------------------------------------------------------------------

    def _form_post(self, path: str, data: dict[str, str]) -> httpx.Response:
        page = self.http.get(path)
        match = _CSRF_INPUT.search(page.text)
        if match is None:
            raise DriverError(f"no CSRF token on {path} (HTTP {page.status_code})")
        return self.http.post(
            path,
            data={**data, "csrfmiddlewaretoken": match.group(1)},
            headers={"Referer": self.server + path, "Origin": self.server},
        )

    def enrol(self, credential: str) -> None:
        response = self._form_post("/terminal/enrol/", {"credential": credential})
        if response.status_code != 200:
            raise DriverError(f"terminal enrolment refused (HTTP {response.status_code})")

    def sign_in(self, username: str, password: str) -> None:
        response = self._form_post(
            "/accounts/sign-in/", {"username": username, "password": password, "otp_token": ""}
        )
        if response.status_code != 302:
            raise DriverError(f"sign-in as {username} refused (HTTP {response.status_code})")

    # --- server API -------------------------------------------------------------------------

    def api(self, method: str, path: str, body: dict[str, Any] | None = None) -> httpx.Response:
        headers = {
            "X-CSRFToken": self.http.cookies.get("csrftoken") or "",
            "Referer": self.server + "/",
            "Origin": self.server,
        }
        return self.http.request(method, "/api/v1" + path, json=body, headers=headers)

    @staticmethod
    def refusal(response: httpx.Response) -> Refusal:
        try:
            data = response.json()
        except ValueError:
            data = {}
        return Refusal(
            response.status_code,
            str(data.get("code") or data.get("error") or "http_error"),
            str(data.get("message") or response.reason_phrase),
            str(data.get("message_ja", "")),
        )

    # --- agent ------------------------------------------------------------------------------

    def tray_insert(self, card: str) -> None:
        r = self.agent.post("/tray/insert", json={"card": card})
        if r.status_code != 200:
            raise DriverError(f"tray insert {card}: {self.refusal(r)}")

    def tray_remove(self) -> None:
        r = self.agent.post("/tray/remove", json={})
        if r.status_code != 200:
            raise DriverError(f"tray remove: {self.refusal(r)}")

    def agent_status(self) -> dict[str, Any]:
        status: dict[str, Any] = self.agent.get("/status").json()
        return status

    def _card_request(self, path: str, body: dict[str, Any], pin: str) -> dict[str, Any] | Refusal:
        """Ask the agent for a signature and type the PIN into its PIN pad, as the resident does:
        the PIN pad's own form post, from the agent's origin. The server never sees the PIN."""
        r = self.agent.post(path, json=body)
        if r.status_code != 200:
            return self.refusal(r)
        request_id = r.json()["request_id"]
        t = self.agent.post(
            f"/pinpad/{request_id}",
            data={"pin": pin, "lang": "ja"},
            headers={"Origin": self.agent_url},
        )
        if t.status_code not in (200, 303):
            return self.refusal(t)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            state = self.agent.get(f"/requests/{request_id}", params={"wait": 10}).json()
            if state["status"] == "done":
                result: dict[str, Any] = state["result"]
                return result
            if state["status"] in ("failed", "cancelled"):
                return Refusal(200, state.get("error", state["status"]), state.get("message", ""))
        return Refusal(0, "timeout", "the agent did not answer")

    # --- the desk flow ----------------------------------------------------------------------

    def start_visit(self, pin: str) -> dict[str, Any] | Refusal:
        ch = self.api("POST", "/visits/auth-challenge")
        if ch.status_code != 200:
            return self.refusal(ch)
        c = ch.json()
        signed = self._card_request(
            "/authenticate", {"nonce": c["nonce"], "origin": c["origin"]}, pin
        )
        if isinstance(signed, Refusal):
            return signed
        r = self.api("POST", "/visits/start", {"token": signed["token"], "nonce": c["nonce"]})
        if r.status_code != 200:
            return self.refusal(r)
        visit: dict[str, Any] = r.json()
        return visit

    def prepare(self, kind: str, fields: dict[str, Any]) -> dict[str, Any] | Refusal:
        r = self.api("POST", "/visits/current/procedures", {"kind": kind, "fields": fields})
        if r.status_code != 200:
            return self.refusal(r)
        procedure: dict[str, Any] = r.json()
        return procedure

    def tick_checklist(self) -> None:
        """Tick every item of the checklist before completion, as the staff member does on the
        confirmation page (the server refuses a completion while a required item is unticked)."""
        page = self.http.get("/desk/visit/confirm/")
        found = _CHECKLIST.search(page.text)
        if page.status_code != 200 or found is None:
            return  # no open visit, or no checklist in force: the server will say so
        items = _CHECK_ITEM.findall(found.group(1))
        csrf = _CSRF_INPUT.search(page.text)
        shown_for = _VISIT_INPUT.search(page.text)
        summary = _SUMMARY_INPUT.search(page.text)
        shown_round = _ROUND_INPUT.search(page.text)
        self.http.post(
            "/desk/visit/checklist/",
            data={
                "visit": shown_for.group(1) if shown_for else "",
                "stage": "before_completion",
                "summary": summary.group(1) if summary else "",
                "round": shown_round.group(1) if shown_round else "",
                "item": items,
                "csrfmiddlewaretoken": csrf.group(1) if csrf else "",
            },
            headers={"Referer": self.server + "/desk/visit/confirm/", "Origin": self.server},
        )

    def completion_challenge(self) -> dict[str, Any] | Refusal:
        r = self.api("POST", "/visits/current/completion-challenge")
        if r.status_code != 200:
            return self.refusal(r)
        challenge: dict[str, Any] = r.json()
        return challenge

    def sign_completion(self, challenge: dict[str, Any], pin: str) -> dict[str, Any] | Refusal:
        return self._card_request(
            "/sign-completion",
            {
                "nonce": challenge["nonce"],
                "origin": challenge["origin"],
                "transaction": challenge["transaction"],
            },
            pin,
        )

    def submit_completion(self, token: str, nonce: str) -> dict[str, Any] | Refusal:
        r = self.api("POST", "/visits/current/complete", {"token": token, "nonce": nonce})
        if r.status_code != 200:
            return self.refusal(r)
        done: dict[str, Any] = r.json()
        return done

    def complete(self, pin: str) -> dict[str, Any] | Refusal:
        self.tick_checklist()
        challenge = self.completion_challenge()
        if isinstance(challenge, Refusal):
            return challenge
        signed = self.sign_completion(challenge, pin)
        if isinstance(signed, Refusal):
            return signed
        return self.submit_completion(signed["token"], challenge["nonce"])

    def current(self) -> dict[str, Any] | Refusal:
        r = self.api("GET", "/visits/current")
        if r.status_code != 200:
            return self.refusal(r)
        visit: dict[str, Any] = r.json()
        return visit

    def end_visit(self) -> None:
        self.api("POST", "/visits/current/end", {"reason": "next_resident"})
