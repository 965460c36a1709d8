"""Configuration of the card agent, checked before anything listens or touches a card."""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from madoguchi.card.cvcert import KeyTable, load_key_table
from madoguchi.identity.tokens.formats import validate_origin

DEFAULT_LISTEN = "127.0.0.1:47110"
DEFAULT_PRESENCE_INTERVAL = 2.0
CREDENTIAL_ENV = "MADOGUCHI_TERMINAL_CREDENTIAL"
EVENTS_PATH = "/api/v1/agent/events"

_CREDENTIAL_RE = re.compile(r"[A-Za-z0-9_\-.~+/=]{8,512}")


class ConfigError(ValueError):
    """The agent refuses to start with this configuration; the message says why."""


def parse_listen(value: str) -> tuple[str, int]:
    """``host:port`` (or ``[v6]:port``) -> (host, port); the host must be a loopback address."""
    match = re.fullmatch(
        r"\[(?P<v6>[0-9a-fA-F:.]+)\]:(?P<p6>\d{1,5})|(?P<host>[^:\[\]]+):(?P<port>\d{1,5})", value
    )
    if match is None:
        raise ConfigError(f"--listen must be host:port (e.g. {DEFAULT_LISTEN}), got {value!r}")
    host = match.group("v6") or match.group("host")
    port = int(match.group("p6") or match.group("port"))
    if port > 65535:
        raise ConfigError(f"--listen port {port} is above 65535")
    check_loopback(host)
    return host, port


def check_loopback(host: str) -> None:
    """Raise `ConfigError` unless `host` is a loopback IP address or ``localhost``."""
    if host == "localhost":
        return
    try:
        address = ipaddress.ip_address(host)
    except ValueError as exc:
        raise ConfigError(
            f"the agent listens on a loopback IP address only; {host!r} is not an IP address"
        ) from exc
    if not address.is_loopback:
        raise ConfigError(
            f"the agent listens on loopback only (127.0.0.1 or ::1); refusing {host}: "
            "the card agent must never be reachable from the network"
        )


def server_origin_of(url: str) -> str:
    """The web origin (``scheme://host[:port]``) of the server URL, validated for signing."""
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise ConfigError(f"--server must be an https:// URL, got {url!r}")
    if parts.username or parts.password or parts.query or parts.fragment:
        raise ConfigError("--server must not carry user info, a query or a fragment")
    host = parts.hostname
    if ":" in host:
        host = f"[{host}]"
    origin = f"{parts.scheme}://{host}"
    if parts.port is not None and parts.port != {"https": 443, "http": 80}[parts.scheme]:
        origin += f":{parts.port}"
    try:
        return validate_origin(origin)
    except ValueError as exc:
        raise ConfigError(f"--server {url!r}: {exc}") from exc


@dataclass(frozen=True)
class AgentConfig:
    """Everything `madoguchi agent` needs. Build it, then call `validate()` (the agent does)."""

    server_url: str
    credential: str = field(repr=False)
    listen_host: str = "127.0.0.1"
    listen_port: int = 47110
    reader: str | None = None
    """PC/SC reader name (or part of it); None: the first reader. Ignored with virtual cards."""
    virtual_cards: tuple[Path, ...] = ()
    """Virtual card files: the agent then serves a virtual tray instead of a PC/SC reader."""
    allow_test_pins: bool = False
    presence_interval: float = DEFAULT_PRESENCE_INTERVAL
    terminal_name: str | None = None
    request_timeout: float = 180.0
    """Seconds a PIN request stays pending before it fails with ``timeout``."""
    report_timeout: float = 3.0
    """httpx timeout (seconds) of each event POST to the server."""
    max_backoff: float = 30.0
    delivery_timeout: float = 5.0
    """Seconds a signature waits for the server to accept every queued card event."""
    card_poll_interval: float = 0.5
    """How long one PC/SC status wait lasts before the watcher checks whether to stop."""
    page_origins: tuple[str, ...] = ()
    """Further web origins of the server allowed to use the agent, each with tokens signed over
    its own origin (the resident page's, docs/resident.md)."""
    support_keys: tuple[str, ...] = ()
    """Trusted J-LIS input-support keys, `KEYID=PEM` (docs/card.md): with any, reading the
    attributes also checks EF0004 and the signature of EF0003; without, only the SHA-256."""

    @property
    def support_trust(self) -> KeyTable | None:
        return load_key_table(self.support_keys) if self.support_keys else None

    @property
    def virtual(self) -> bool:
        return bool(self.virtual_cards)

    @property
    def server_origin(self) -> str:
        return server_origin_of(self.server_url)

    @property
    def allowed_origins(self) -> tuple[str, ...]:
        """The server origin first, then the further page origins: the only origins a request
        may come from and a token may be signed for."""
        extra = [server_origin_of(u) for u in self.page_origins]
        return tuple(dict.fromkeys([self.server_origin, *extra]))

    @property
    def events_url(self) -> str:
        return self.server_url.rstrip("/") + EVENTS_PATH

    @property
    def terminal(self) -> str:
        """What /status calls this terminal: the name given, else the credential's public part."""
        if self.terminal_name:
            return self.terminal_name
        parts = self.credential.split("_")
        return "_".join(parts[:2]) if len(parts) >= 3 else "terminal"

    def validate(self) -> AgentConfig:
        self.server_origin  # noqa: B018 - raises ConfigError when the URL is unusable
        self.allowed_origins  # noqa: B018 - and when a page origin is
        if not self.credential:
            raise ConfigError(
                f"no terminal credential: set {CREDENTIAL_ENV} (preferred) or --terminal-credential"
            )
        if not _CREDENTIAL_RE.fullmatch(self.credential):
            raise ConfigError("the terminal credential has unexpected characters or length")
        check_loopback(self.listen_host)
        if not 0 <= self.listen_port <= 65535:
            raise ConfigError(f"listen port {self.listen_port} is out of range")
        if self.allow_test_pins and not self.virtual:
            raise ConfigError(
                "--allow-test-pins is allowed only when every card source is virtual "
                "(--virtual CARDFILE ...); a real reader never accepts PINs from the API"
            )
        if self.virtual and self.reader is not None:
            raise ConfigError("give either --reader or --virtual, not both")
        names = [p.stem for p in self.virtual_cards]
        if len(set(names)) != len(names):
            raise ConfigError("two virtual card files have the same name (file stem)")
        if not 0.05 <= self.presence_interval <= 60:
            raise ConfigError(
                "--presence-interval must be between 0.05 and 60 seconds, not "
                f"{self.presence_interval:g}"
            )
        if self.request_timeout <= 0 or self.report_timeout <= 0:
            raise ConfigError("timeouts must be positive")
        try:
            self.support_trust  # noqa: B018 - loads the keys once to check them
        except (ValueError, OSError) as exc:
            raise ConfigError(f"--support-key: {exc}") from exc
        return self
