"""`madoguchi sim ...` (and `python -m madoguchi.outside.sim ...`), without Django."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import Protocol

from madoguchi import logsafe
from madoguchi.argtypes import any_port
from madoguchi.outside.sim import runner
from madoguchi.outside.sim.seed import SeedError, load_seed, seed_table
from madoguchi.outside.sim.server import Faults, SimKind, StateFileError, is_loopback


class Output(Protocol):
    def write(self, text: str, /) -> object: ...
    def flush(self) -> object: ...


DEFAULT_PORTS = {SimKind.PROVIDER: 8701, SimKind.BANK: 8702, SimKind.INSURER: 8703}


def _rate(text: str) -> float:
    value = float(text)
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError("a rate is between 0 and 1")
    return value


def _milliseconds(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be a whole number of milliseconds, not {text!r}")
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the `serve` and `accounts` subcommands to `parser`."""
    sub = parser.add_subparsers(dest="action", required=True)
    serve = sub.add_parser("serve", help="run one simulated outside system over HTTP")
    serve.add_argument("kind", choices=[k.value for k in SimKind])
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (loopback by default)")
    serve.add_argument(
        "--port",
        type=any_port,
        default=None,
        help="provider 8701, bank 8702, insurer 8703; 0 = any",
    )
    serve.add_argument("--seed", default=None, help="seed JSON file (default: the packaged seed)")
    serve.add_argument("--latency-ms", type=_milliseconds, default=0, help="added to every request")
    serve.add_argument(
        "--fail-rate", type=_rate, default=0.0, help="share of requests answered 503"
    )
    serve.add_argument("--timeout-rate", type=_rate, default=0.0, help="share answered too late")
    serve.add_argument(
        "--hang-ms", type=_milliseconds, default=10_000, help="how late a late answer is"
    )
    serve.add_argument("--random-seed", type=int, default=None, help="makes faults repeatable")
    serve.add_argument(
        "--state",
        default=None,
        help="keep what requests change in this JSON file across restarts (read at start)",
    )
    serve.add_argument(
        "--allow-remote",
        action="store_true",
        help="allow a non-loopback address (the simulator has no authentication)",
    )
    accounts = sub.add_parser("accounts", help="print the seeded accounts")
    accounts.add_argument("kind", nargs="?", choices=[k.value for k in SimKind])
    accounts.add_argument("--seed", default=None)


def serve(options: argparse.Namespace, out: Output = sys.stdout) -> int:
    kind = SimKind(options.kind)
    if not options.allow_remote and not is_loopback(options.host):
        print(
            f"refusing to bind {options.host}: the simulator has no authentication; "
            "use a loopback address or pass --allow-remote",
            file=sys.stderr,
        )
        return 2
    port = DEFAULT_PORTS[kind] if options.port is None else options.port
    faults = Faults(
        latency_ms=options.latency_ms,
        fail_rate=options.fail_rate,
        timeout_rate=options.timeout_rate,
        hang_ms=options.hang_ms,
    )
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    logsafe.install()  # no line holds a long number (docs/security.md, round 8)
    try:
        server = runner.make_server(
            kind,
            options.seed,
            host=options.host,
            port=port,
            faults=faults,
            random_seed=options.random_seed,
            state_path=Path(options.state) if options.state else None,
        )
    except StateFileError as exc:
        print(f"{exc}; move it away to start from the seed", file=sys.stderr)
        return 2
    except SeedError as exc:
        print(
            f"{exc}; give a seed in the packaged seed's format (docs/outside.md)", file=sys.stderr
        )
        return 2
    except OSError as exc:  # the address: taken, not this machine's, or a name that is no host
        reason = exc.strerror or str(exc)
        print(
            f"cannot listen on {options.host} port {port} ({reason}); "
            "give another --port (0: any free one) or --host",
            file=sys.stderr,
        )
        return 2
    out.write(f"simulated {kind} listening on {server.base_url} (Ctrl-C stops)\n")
    out.flush()
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


def accounts(options: argparse.Namespace, out: Output = sys.stdout) -> int:
    try:
        seed = load_seed(options.seed)
    except SeedError as exc:
        print(
            f"{exc}; give a seed in the packaged seed's format (docs/outside.md)", file=sys.stderr
        )
        return 2
    kinds = [SimKind(options.kind)] if options.kind else list(SimKind)
    for kind in kinds:
        out.write(f"# {kind}\n")
        for row in seed_table(seed, kind):
            out.write("\t".join(row) + "\n")
        out.write("\n")
    return 0


def run(options: argparse.Namespace, out: Output = sys.stdout) -> int:
    if options.action == "serve":
        return serve(options, out)
    return accounts(options, out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="madoguchi sim", description="Simulated outside systems.")
    add_arguments(parser)
    return run(parser.parse_args(argv))
