"""The agent's endpoints and the table that routes a method and path to them.

Every endpoint is a function `(handler, match, query)`. The PIN pad's form post must come from the
PIN pad page itself (the agent's own origin); every other request may carry only the server
origin. Protocol: docs/visits.md ("Agent local API").
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import parse_qs

from madoguchi.agent import pinpad
from madoguchi.agent.errors import ApiError
from madoguchi.agent.requests import CANCELLED, Kind
from madoguchi.agent.sources import VirtualTray
from madoguchi.agent.sse import stream_events
from madoguchi.era import format_era

if TYPE_CHECKING:
    from madoguchi.agent.http import Handler

Query = dict[str, list[str]]
Endpoint = Callable[["Handler", re.Match[str], Query], None]

_ID = r"(?P<id>[A-Za-z0-9_-]{1,64})"
_KINDS = {
    "/authenticate": Kind.AUTHENTICATE,
    "/sign-completion": Kind.SIGN_COMPLETION,
    "/read-attributes": Kind.READ_ATTRIBUTES,
}


@dataclass(frozen=True)
class Route:
    method: str
    pattern: re.Pattern[str]
    endpoint: Endpoint
    own_origin: bool = False  # only the PIN pad page's own form post


# --- dispatch ----------------------------------------------------------------------------------


def dispatch(handler: Handler, method: str, path: str, query: Query) -> None:
    if method == "OPTIONS":
        preflight(handler)
        return
    if method not in ("GET", "POST"):
        raise ApiError(405, "method_not_allowed", f"{method} is not supported")
    for route in ROUTES:
        if route.method == method and (m := route.pattern.fullmatch(path)) is not None:
            handler.check_origin(own=route.own_origin)
            route.endpoint(handler, m, query)
            return
    handler.check_origin()
    others = sorted({r.method for r in ROUTES if r.pattern.fullmatch(path)})
    if others:
        raise ApiError(405, "method_not_allowed", f"use {' or '.join(others)} for {path}")
    raise ApiError(404, "not_found", f"no endpoint {path}")


def preflight(handler: Handler) -> None:
    origin = handler.headers.get("Origin")
    if origin not in handler.agent.allowed_origins:
        raise ApiError(403, "forbidden_origin", "CORS is answered only for the server origin")
    handler.send_response(204)
    handler.common_headers()
    handler.send_header("Access-Control-Allow-Methods", "GET, POST, OPTIONS")
    handler.send_header("Access-Control-Allow-Headers", "Content-Type")
    handler.send_header("Access-Control-Max-Age", "600")
    if handler.headers.get("Access-Control-Request-Private-Network") == "true":
        handler.send_header("Access-Control-Allow-Private-Network", "true")
    handler.send_header("Content-Length", "0")
    handler.end_headers()


# --- status, requests ----------------------------------------------------------------------------


def status(handler: Handler, m: re.Match[str], query: Query) -> None:
    handler.json(200, handler.agent.status())


def events(handler: Handler, m: re.Match[str], query: Query) -> None:
    stream_events(handler)


def create_request(handler: Handler, m: re.Match[str], query: Query) -> None:
    agent = handler.agent
    request = agent.create_request(_KINDS[m.group(0)], handler.read_json())
    handler.json(
        200, {"request_id": request.id, "pinpad_url": f"{agent.base_url}/pinpad/{request.id}"}
    )


def get_request(handler: Handler, m: re.Match[str], query: Query) -> None:
    try:
        wait = float((query.get("wait") or ["0"])[0])
    except ValueError as exc:
        raise ApiError(400, "bad_request", "wait must be a number of seconds") from exc
    request = handler.agent.book.wait(m.group("id"), wait)
    if request is None:
        raise ApiError(404, "not_found", "no such request (unknown or expired)")
    handler.json(200, request.as_json())


def cancel_request(handler: Handler, m: re.Match[str], query: Query) -> None:
    found = handler.agent.book.get(m.group("id"))
    if found is None:
        raise ApiError(404, "not_found", "no such request (unknown or expired)")
    handler.agent.cancel(found)
    if found.status != CANCELLED:
        raise ApiError(409, "not_pending", f"the request is already {found.status}")
    handler.json(200, {"status": CANCELLED})


# --- the virtual tray and test PINs (virtual cards only) -----------------------------------------


def _tray(handler: Handler) -> VirtualTray:
    source = handler.agent.source
    if not isinstance(source, VirtualTray):
        raise ApiError(404, "not_available", "the tray exists only with --virtual card files")
    return source


def tray_list(handler: Handler, m: re.Match[str], query: Query) -> None:
    tray = _tray(handler)
    cards = [
        {
            "name": name,
            "cert_fingerprint": tray.fingerprints[name],
            "inserted": name == tray.inserted_name,
            "printed": {
                "name": tray.printed[name].name,
                "birth_date": tray.printed[name].birth_date.isoformat(),
                # The card prints the birth date in the era (昭和55年4月1日), as the
                # health-insurance form asks it: the tray's Japanese text shows this one.
                "birth_date_era": format_era(tray.printed[name].birth_date, weekday=False),
                "sex": tray.printed[name].sex,
            },
        }
        for name in tray.paths
    ]
    handler.json(200, {"cards": cards, "inserted": tray.inserted_name})


def tray_insert(handler: Handler, m: re.Match[str], query: Query) -> None:
    tray = _tray(handler)
    name = handler.read_json().get("card")
    if not isinstance(name, str):
        raise ApiError(400, "bad_request", "'card' must be the name of a tray card")
    tray.insert(name)
    handler.json(200, {"inserted": name, "cert_fingerprint": handler.agent.cert_fingerprint})


def tray_remove(handler: Handler, m: re.Match[str], query: Query) -> None:
    handler.json(200, {"removed": _tray(handler).remove()})


def test_pin(handler: Handler, m: re.Match[str], query: Query) -> None:
    agent = handler.agent
    if not agent.config.allow_test_pins or not agent.source.virtual:
        raise ApiError(404, "not_available", "/test/pin needs virtual cards and --allow-test-pins")
    body = handler.read_json()
    request_id, pin = body.get("request_id"), body.get("pin")
    if not isinstance(request_id, str) or not isinstance(pin, str):
        raise ApiError(400, "bad_request", "'request_id' and 'pin' must be strings")
    target = agent.book.get(request_id)
    if target is None:
        raise ApiError(404, "not_found", "no such request (unknown or expired)")
    agent.submit_pin(target, pin)
    handler.json(200, target.as_json())


# --- the PIN pad ---------------------------------------------------------------------------------


def pinpad_page(handler: Handler, m: re.Match[str], query: Query) -> None:
    lang = pinpad.pick_lang((query.get("lang") or ["ja"])[0])
    request = handler.agent.book.get(m.group("id"))
    nonce = secrets.token_urlsafe(16)
    html = pinpad.render(request, lang, nonce, handler.agent.server_origin).encode("utf-8")
    handler.send_response(200 if request is not None else 404)
    # Not no-referrer: under it a browser sends `Origin: null` with the PIN form's POST, and
    # the agent accepts that POST only with its own origin.
    handler.common_headers(referrer_policy="same-origin")
    handler.send_header("Content-Type", "text/html; charset=utf-8")
    handler.send_header(
        "Content-Security-Policy",
        f"default-src 'none'; script-src 'nonce-{nonce}'; style-src 'nonce-{nonce}'; "
        f"form-action 'self'; base-uri 'none'; frame-ancestors {' '.join(handler.agent.allowed_origins)}",
    )
    handler.send_header("Content-Length", str(len(html)))
    handler.end_headers()
    handler.wfile.write(html)


def pinpad_post(handler: Handler, m: re.Match[str], query: Query) -> None:
    """The PIN pad's form. It is shown in the desk's frame, where a JSON answer may not be
    framed: whatever becomes of the PIN, the answer sends the frame back to the pad, which
    says it in the resident's words (an unknown request, a PIN being checked already)."""
    request = handler.agent.book.get(m.group("id"))
    ctype = handler.headers.get("Content-Type", "").split(";")[0].strip()
    if ctype != "application/x-www-form-urlencoded":
        raise ApiError(415, "bad_request", "the PIN pad posts a form")
    try:
        form = parse_qs(handler.read_body().decode("utf-8", "replace"), max_num_fields=4)
    except ValueError as exc:  # more fields than the pad's form has
        raise ApiError(400, "bad_request", "the PIN pad's form has a pin and a lang") from exc
    lang = pinpad.pick_lang((form.get("lang") or ["ja"])[0])
    pin = (form.get("pin") or [""])[0]
    form.clear()
    if request is not None:
        try:
            handler.agent.submit_pin(request, pin)
        except ApiError as exc:
            if exc.code != "busy":
                raise
            # A second press while the first PIN is checked: the pad shows the outcome
            # of the first.
    del pin
    handler.send_response(303)
    handler.common_headers()
    handler.send_header("Location", f"/pinpad/{m.group('id')}?lang={lang}")
    handler.send_header("Content-Length", "0")
    handler.end_headers()


def _route(method: str, pattern: str, endpoint: Endpoint, *, own_origin: bool = False) -> Route:
    return Route(method, re.compile(pattern), endpoint, own_origin)


ROUTES: tuple[Route, ...] = (
    _route("GET", "/pinpad/" + _ID, pinpad_page),
    _route("POST", "/pinpad/" + _ID, pinpad_post, own_origin=True),
    _route("GET", "/status", status),
    _route("GET", "/events", events),
    _route("GET", "/requests/" + _ID, get_request),
    _route("POST", "/requests/" + _ID + "/cancel", cancel_request),
    _route("POST", "|".join(re.escape(path) for path in _KINDS), create_request),
    _route("GET", "/tray", tray_list),
    _route("POST", "/tray/insert", tray_insert),
    _route("POST", "/tray/remove", tray_remove),
    _route("POST", "/test/pin", test_pin),
)
