"""Command line of the card agent (`madoguchi agent ...` and `python -m madoguchi.agent ...`)."""

from __future__ import annotations

import argparse
import errno
import logging
import os
import signal
import sys
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

from madoguchi import logsafe
from madoguchi.agent.config import (
    CREDENTIAL_ENV,
    DEFAULT_LISTEN,
    DEFAULT_PRESENCE_INTERVAL,
    AgentConfig,
    ConfigError,
    parse_listen,
)
from madoguchi.agent.core import Agent
from madoguchi.card.errors import CardError


class Writer(Protocol):
    def write(self, s: str, /) -> Any: ...


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--server", required=True, help="server URL, e.g. https://desk.city.example.jp"
    )
    parser.add_argument(
        "--terminal-credential",
        default=None,
        help=f"terminal credential mdt_...; prefer the environment variable {CREDENTIAL_ENV} "
        "(a command-line argument is visible in ps)",
    )
    parser.add_argument("--listen", default=DEFAULT_LISTEN, help="loopback host:port")
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--reader", default=None, help="PC/SC reader name (default: the first)")
    source.add_argument(
        "--virtual",
        nargs="+",
        type=Path,
        default=None,
        metavar="CARDFILE",
        help="virtual card files",
    )
    parser.add_argument(
        "--allow-test-pins",
        action="store_true",
        help="accept PINs on POST /test/pin (virtual cards only; for automated tests)",
    )
    parser.add_argument(
        "--presence-interval", type=float, default=DEFAULT_PRESENCE_INTERVAL, help="seconds"
    )
    parser.add_argument("--terminal-name", default=None, help="name shown by GET /status")
    parser.add_argument(
        "--page-origin",
        action="append",
        default=None,
        metavar="URL",
        help="a further origin of the server allowed to use the agent, with tokens signed over "
        "it (the resident page's own origin); repeatable",
    )
    parser.add_argument(
        "--support-key",
        action="append",
        default=None,
        metavar="KEYID=PEM",
        help="trusted J-LIS input-support key (32 hex digits of its key ID = PEM public key "
        "file; repeatable): reading the attributes then checks EF0004 and EF0003's signature",
    )


def config_from_options(options: Mapping[str, Any], environ: Mapping[str, str]) -> AgentConfig:
    credential = options.get("terminal_credential") or environ.get(CREDENTIAL_ENV, "")
    host, port = parse_listen(options.get("listen") or DEFAULT_LISTEN)
    virtual = options.get("virtual") or ()
    presence = options.get("presence_interval")
    return AgentConfig(
        server_url=options["server"],
        credential=credential,
        listen_host=host,
        listen_port=port,
        reader=options.get("reader"),
        virtual_cards=tuple(Path(p) for p in virtual),
        allow_test_pins=bool(options.get("allow_test_pins")),
        # 0 is refused by `validate`, not taken as the default (`or` made it 1 s without a word).
        presence_interval=float(DEFAULT_PRESENCE_INTERVAL if presence is None else presence),
        terminal_name=options.get("terminal_name"),
        page_origins=tuple(options.get("page_origin") or ()),
        support_keys=tuple(options.get("support_key") or ()),
    ).validate()


def os_error_sentence(exc: OSError, listen: str) -> str:
    """What a person reads for a failure of the operating system's: the address taken, or the
    file that could not be read, never `[Errno 98] Address already in use`."""
    if exc.errno == errno.EADDRINUSE:
        return (
            f"{listen} is already in use: another program listens there (another card agent? "
            "`make demo` runs one for each demo terminal, on 47110 and 47111). Stop it, or "
            "listen on another port with --listen 127.0.0.1:PORT and give the server that "
            "address (CARD_AGENT_ORIGIN, or CARD_AGENT_ORIGINS for each terminal)"
        )
    if exc.filename:
        return f"{exc.filename}: {exc.strerror or exc}"
    return exc.strerror or str(exc)


def run(
    options: Mapping[str, Any],
    out: Writer = sys.stdout,
    err: Writer = sys.stderr,
    environ: Mapping[str, str] | None = None,
    stop: threading.Event | None = None,
) -> int:
    """Start the agent and serve until SIGINT/SIGTERM (or `stop` is set). Returns an exit code."""
    env = os.environ if environ is None else environ
    try:
        config = config_from_options(options, env)
        if options.get("terminal_credential"):
            err.write(
                f"note: the credential is visible in the process list; prefer {CREDENTIAL_ENV}\n"
            )
        agent = Agent(config)
        base_url = agent.start()
    except (ConfigError, CardError) as exc:
        err.write(f"error: {exc}\n")
        return 2
    except OSError as exc:
        listen = options.get("listen") or DEFAULT_LISTEN
        err.write(f"error: {os_error_sentence(exc, listen)}\n")
        return 2
    stop = stop or threading.Event()
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: stop.set())
    source = "virtual tray" if config.virtual else f"reader {agent.source.reader!r}"
    out.write(f"madoguchi card agent listening on {base_url}\n")
    out.write(f"  server origin {config.server_origin}, {source}, terminal {config.terminal}\n")
    if hasattr(out, "flush"):
        out.flush()
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass
    finally:
        agent.stop()
    out.write("card agent stopped\n")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="madoguchi agent", description="madoguchi card agent")
    add_arguments(parser)
    options = vars(parser.parse_args(argv))
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    logsafe.install()  # no line holds a long number (docs/security.md, round 8)
    return run(options)
