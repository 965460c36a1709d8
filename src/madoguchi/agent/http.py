"""The agent's HTTP layer: the loopback server, the request checks and the response writers.

Security rules enforced here (docs/agent.md):

- the server listens on loopback only and answers only requests whose Host is its own loopback
  address (no DNS rebinding);
- a request with an ``Origin`` header must carry exactly the server origin (403 otherwise), except
  the PIN pad's own form post, which must carry the agent's own origin; CORS answers the server
  origin only.

Which endpoint answers which path is `madoguchi.agent.routes`.
"""

from __future__ import annotations

import contextlib
import json
import logging
import socket
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

from madoguchi.agent import routes
from madoguchi.agent.errors import ApiError
from madoguchi.agent.operations import RequestError
from madoguchi.agent.sources import TrayError

if TYPE_CHECKING:
    from madoguchi.agent.core import Agent

log = logging.getLogger("madoguchi.agent")

MAX_BODY = 1 << 20


class AgentHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    agent: Agent


class _AgentHTTPServer6(AgentHTTPServer):
    address_family = socket.AF_INET6


def bind(agent: Agent, host: str, port: int) -> tuple[AgentHTTPServer, str, frozenset[str]]:
    """Bind the server for `agent`; returns it, its base URL and the Host values it answers."""
    bind_host = "127.0.0.1" if host == "localhost" else host
    server_class = _AgentHTTPServer6 if ":" in bind_host else AgentHTTPServer
    httpd = server_class((bind_host, port), Handler)
    httpd.agent = agent
    bound_port = httpd.server_address[1]
    url_host = f"[{bind_host}]" if ":" in bind_host else bind_host
    hosts = {f"{url_host}:{bound_port}"}
    if bind_host == "127.0.0.1":
        hosts.add(f"localhost:{bound_port}")
    return httpd, f"http://{url_host}:{bound_port}", frozenset(hosts)


class Handler(BaseHTTPRequestHandler):
    server: AgentHTTPServer
    server_version = "madoguchi-agent"
    sys_version = ""
    protocol_version = "HTTP/1.0"

    @property
    def agent(self) -> Agent:
        return self.server.agent

    def log_message(self, format: str, *args: Any) -> None:
        # Paths carry request ids (capabilities); bodies may carry PINs: log neither.
        log.debug("http %s", self.command)

    # --- dispatch ----------------------------------------------------------------------------

    def do_OPTIONS(self) -> None:
        self._handle()

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS

    def _handle(self) -> None:
        parts = urlsplit(self.path)
        try:
            self.check_host()
            routes.dispatch(self, self.command, parts.path, parse_qs(parts.query))
        except ApiError as exc:
            self.json(exc.status, {"error": exc.code, "message": str(exc)})
        except RequestError as exc:
            status = 403 if exc.code == "origin_mismatch" else 400
            self.json(status, {"error": exc.code, "message": str(exc)})
        except TrayError as exc:
            self.json(
                404 if exc.code == "unknown_card" else 409, {"error": exc.code, "message": str(exc)}
            )
        except (BrokenPipeError, ConnectionResetError):
            pass
        except Exception:
            log.exception("agent request failed")
            with contextlib.suppress(OSError):
                self.json(500, {"error": "internal", "message": "internal error in the agent"})

    # --- checks -----------------------------------------------------------------------------------

    def check_host(self) -> None:
        host = self.headers.get("Host", "")
        if host not in self.agent.allowed_hosts:
            raise ApiError(
                403, "forbidden_host", "the Host header must name the agent's loopback address"
            )

    @property
    def own_origin(self) -> str:
        return "http://" + self.headers.get("Host", "")

    def check_origin(self, *, own: bool = False) -> None:
        origin = self.headers.get("Origin")
        if own:
            if origin != self.own_origin:
                raise ApiError(
                    403,
                    "forbidden_origin",
                    "the PIN form is accepted only from the PIN pad page itself",
                )
            return
        if origin is not None and origin not in self.agent.allowed_origins:
            raise ApiError(403, "forbidden_origin", f"origin {origin[:100]!r} is not allowed")

    # --- requests and responses ---------------------------------------------------------------

    def common_headers(self, referrer_policy: str = "no-referrer") -> None:
        origin = self.headers.get("Origin")
        allowed = origin if origin in self.agent.allowed_origins else self.agent.server_origin
        self.send_header("Access-Control-Allow-Origin", allowed)
        self.send_header("Vary", "Origin")
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Referrer-Policy", referrer_policy)

    def json(self, status: int, payload: dict[str, Any]) -> None:
        data = json.dumps(payload, ensure_ascii=False).encode("utf-8")
        self.send_response(status)
        self.common_headers()
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def read_body(self) -> bytes:
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError as exc:
            raise ApiError(400, "bad_request", "bad Content-Length") from exc
        if length > MAX_BODY:
            raise ApiError(413, "too_large", f"the body is limited to {MAX_BODY} bytes")
        return self.rfile.read(length) if length > 0 else b""

    def read_json(self) -> dict[str, Any]:
        raw = self.read_body()
        if not raw:
            return {}
        try:
            body = json.loads(raw)
        except (UnicodeDecodeError, ValueError, RecursionError) as exc:  # too deep to parse
            raise ApiError(400, "bad_json", "the body is not JSON") from exc
        if not isinstance(body, dict):
            raise ApiError(400, "bad_json", "the body must be a JSON object")
        return body
