"""A private pcscd with vpcd readers, for tests and the demo.

`PcscdHarness` starts `pcscd -f -c DIR` where DIR holds reader files naming the vpcd driver, each
on its own TCP port (default from 29990 up: below Linux's ephemeral range 32768-60999, where any
outgoing connection of the machine may hold a port for a while, and away from vpcd's default
35963), waits until the readers appear and stops pcscd afterwards.

Debian's pcscd 1.9.9 always serves /run/pcscd/pcscd.comm and ignores PCSCLITE_CSOCK_NAME, so only
one pcscd can run on a machine. If another pcscd (not started by this harness) holds the socket,
`start` raises `PcscdBusy` saying so.

`shared_pcscd()` lets several processes of one test run (pytest-xdist workers) share one
harness-started pcscd: a lock file counts users, the last one stops pcscd, and each process
leases its own reader slot (`lease_slot`).
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import itertools
import json
import os
import shutil
import signal
import socket
import string
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from madoguchi.argtypes import port as port_number
from madoguchi.card.errors import CardError
from madoguchi.card.transport import PcscContext

VPCD_DRIVER = Path("/usr/lib/pcsc/drivers/serial/libifdvpcd.so")
PCSCD_SOCKET = Path("/run/pcscd/pcscd.comm")
PCSCD_PID_FILE = Path("/run/pcscd/pcscd.pid")
DEFAULT_BASE_PORT = 29990
PORT_TRIES = 32
"""`shared_pcscd` without a port takes the first free pair of DEFAULT_BASE_PORT, +2, +4, ..."""
DEFAULT_SLOTS = 2
"""One vpcd reader file gives two slots (ports base and base+1). A second reader file in the same
pcscd does not work: the vpcd driver keeps one global slot table, so the first reader's cards are
never seen (tried with vsmartcard-vpcd 0.8 / pcscd 1.9.9)."""
SHARED_ROOT = Path(tempfile.gettempdir()) / "madoguchi-pcscd"


class PcscdError(CardError):
    """pcscd could not be started or stopped."""


class PcscdBusy(PcscdError):
    """Another pcscd already serves /run/pcscd/pcscd.comm."""


@dataclass(frozen=True)
class VirtualReader:
    """One vpcd reader slot: its PC/SC name and the TCP port a virtual card connects to."""

    name: str
    port: int


def reader_for_port(port: int, base_port: int = DEFAULT_BASE_PORT) -> VirtualReader:
    first = port - (port - base_port) % 2
    return VirtualReader(f"Madoguchi VPCD {first} 00 {(port - first):02d}", port)


def pcscd_socket_alive() -> bool:
    """True when something answers on pcscd's socket."""
    if not PCSCD_SOCKET.exists():
        return False
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(1.0)
        try:
            s.connect(str(PCSCD_SOCKET))
        except OSError:
            return False
    return True


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    with contextlib.suppress(ChildProcessError):
        done, _ = os.waitpid(pid, os.WNOHANG)
        if done == pid:
            return False
    try:
        status = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    except OSError:
        return False
    return status != "Z"


def _cmdline(pid: int) -> list[str]:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return []
    return [a.decode(errors="replace") for a in raw.split(b"\0") if a]


def is_harness_pcscd(pid: int, config_dir: Path) -> bool:
    """True when `pid` is a live pcscd started by a harness with this reader folder (its command
    line is `pcscd -f -c CONFIG_DIR`). A pid recorded by an earlier run may since have been
    given to an unrelated process: that one must never be signalled."""
    argv = _cmdline(pid)
    if not argv or Path(argv[0]).name != "pcscd" or not _pid_alive(pid):
        return False
    return any(a == "-c" and b == str(config_dir) for a, b in itertools.pairwise(argv))


def harness_pcscds(config_dir: Path) -> list[int]:
    """The live pcscd processes started by a harness with this reader folder (e.g. one left by
    a test run that was killed before it could stop it or record it)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and is_harness_pcscd(int(entry.name), config_dir):
            found.append(int(entry.name))
    return sorted(found)


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("0.0.0.0", port))  # noqa: S104 - probing the port vpcd will bind
        except OSError:
            return False
    return True


def free_port_pair(start: int, tries: int = PORT_TRIES) -> int:
    """The first `port` of start, start+2, ... with `port` and `port+1` both free to bind."""
    for base in range(start, start + 2 * tries, 2):
        if _port_free(base) and _port_free(base + 1):
            return base
    raise PcscdError(
        f"no two free TCP ports for the vpcd readers in {start}-{start + 2 * tries - 1}"
    )


@dataclass
class PcscdHarness:
    workdir: Path
    base_port: int = DEFAULT_BASE_PORT
    slots: int = DEFAULT_SLOTS
    """Number of reader slots (vpcd gives 2 per reader file): ports base_port..+slots-1."""
    pcscd: str = "pcscd"
    process: subprocess.Popen[bytes] | None = field(default=None, init=False)
    pid: int | None = field(default=None, init=False)
    _log: IO[bytes] | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        self.workdir = Path(self.workdir)
        if self.slots not in (1, 2):
            raise ValueError("one vpcd reader serves 1 or 2 slots (see DEFAULT_SLOTS)")

    @property
    def config_dir(self) -> Path:
        return self.workdir / "reader.conf.d"

    @property
    def log_path(self) -> Path:
        return self.workdir / "pcscd.log"

    @property
    def readers(self) -> list[VirtualReader]:
        return [
            reader_for_port(p, self.base_port) for p in range(self.base_port, self.base_port + 2)
        ]

    def write_config(self) -> None:
        if self.config_dir.exists():
            shutil.rmtree(self.config_dir)
        self.config_dir.mkdir(parents=True)
        for port in (self.base_port,):
            (self.config_dir / f"vpcd-{port}").write_text(
                f'FRIENDLYNAME "Madoguchi VPCD {port}"\n'
                f"DEVICENAME   /dev/null:{port}\n"
                f"LIBPATH      {VPCD_DRIVER}\n"
                f"CHANNELID    {port}\n"
            )

    def _log_tail(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-2000:]
        except OSError:
            return ""

    def start(self, timeout: float = 15.0) -> None:
        if not VPCD_DRIVER.exists():
            raise PcscdError(f"the vpcd driver {VPCD_DRIVER} is missing (Debian: vsmartcard-vpcd)")
        if shutil.which(self.pcscd) is None:
            raise PcscdError(f"{self.pcscd} not found (Debian: pcscd)")
        if pcscd_socket_alive():
            holder = ""
            with contextlib.suppress(OSError):
                holder = f" (pid {PCSCD_PID_FILE.read_text().strip(chr(0) + string.whitespace)})"
            raise PcscdBusy(
                f"another pcscd{holder} already serves {PCSCD_SOCKET}. Debian's pcscd 1.9.9 "
                "always uses that socket and ignores PCSCLITE_CSOCK_NAME, so a private pcscd "
                "cannot run beside it: stop the other pcscd (e.g. `systemctl stop pcscd.socket "
                "pcscd`) and retry."
            )
        busy = [p for p in range(self.base_port, self.base_port + 2) if not _port_free(p)]
        if busy:
            raise PcscdError(f"TCP ports {busy} for the vpcd readers are already in use")
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.write_config()
        self._log = self.log_path.open("wb")
        self.process = subprocess.Popen(  # noqa: S603 - fixed argv, no shell
            [self.pcscd, "-f", "-c", str(self.config_dir)],
            stdout=self._log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        self.pid = self.process.pid
        try:
            self._wait_ready(timeout)
        except BaseException:
            self.stop()
            raise

    def _wait_ready(self, timeout: float) -> None:
        wanted = {r.name for r in self.readers}
        deadline = time.monotonic() + timeout
        last = ""
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise PcscdError(
                    f"pcscd exited with {self.process.returncode}:\n{self._log_tail()}"
                )
            try:
                with PcscContext() as ctx:
                    names = set(ctx.readers())
                if wanted <= names:
                    return
                last = f"readers so far: {sorted(names)}"
            except CardError as exc:
                last = str(exc)
            time.sleep(0.1)
        raise PcscdError(f"pcscd readers did not appear within {timeout} s ({last})")

    def stop(self, timeout: float = 10.0) -> None:
        pid = self.pid
        if pid is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while _pid_alive(pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        if _pid_alive(pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            time.sleep(0.2)
        if self.process is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=1)
        if self._log is not None:
            self._log.close()
            self._log = None
        self.process = None
        self.pid = None

    def __enter__(self) -> PcscdHarness:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


# --- sharing one pcscd between processes of a test run ---------------------------------------------


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a+") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


@dataclass
class SharedPcscd:
    harness: PcscdHarness
    root: Path

    @property
    def readers(self) -> list[VirtualReader]:
        return self.harness.readers[: self.harness.slots]

    @contextlib.contextmanager
    def lease(self, timeout: float = 120.0) -> Iterator[VirtualReader]:
        """Hold one reader slot exclusively (across processes) for the block."""
        deadline = time.monotonic() + timeout
        while True:
            for reader in self.readers:
                fh = (self.root / f"slot-{reader.port}.lock").open("a+")
                try:
                    fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    fh.close()
                    continue
                try:
                    yield reader
                finally:
                    fcntl.flock(fh, fcntl.LOCK_UN)
                    fh.close()
                return
            if time.monotonic() >= deadline:
                raise PcscdError(f"no vpcd reader slot became free within {timeout} s")
            time.sleep(0.05)


@contextlib.contextmanager
def shared_pcscd(
    root: Path = SHARED_ROOT,
    base_port: int | None = None,
    slots: int = DEFAULT_SLOTS,
    timeout: float = 15.0,
) -> Iterator[SharedPcscd]:
    """Use the pcscd this harness runs for the current test run (start it if nobody has); the
    last user stops it. Take a reader with `SharedPcscd.lease()` for each use. Without `base_port`
    the starter takes the first free pair of ports from DEFAULT_BASE_PORT and the others read it
    from the shared state."""
    harness = PcscdHarness(root / "pcscd", base_port or DEFAULT_BASE_PORT, slots)
    state_path = root / "state.json"
    me = os.getpid()
    with _locked(root / "lock"):
        state: dict[str, object] = {}
        with contextlib.suppress(OSError, ValueError):
            state = json.loads(state_path.read_text())
        raw_users = state.get("users", [])
        users = (
            [int(u) for u in raw_users if _pid_alive(int(u))] if isinstance(raw_users, list) else []
        )
        pid = state.get("pid")
        started_port = state.get("base_port")
        if (
            isinstance(pid, int)
            and _pid_alive(pid)
            and users
            and pcscd_socket_alive()
            and isinstance(started_port, int)
        ):
            harness.pid = pid
            harness.base_port = started_port
        else:
            # Nobody of this run uses it: stop what an earlier, killed run left behind (the
            # recorded pid only if it still is that pcscd), so its socket and ports are free.
            for leftover in harness_pcscds(harness.config_dir):
                harness.pid = leftover
                harness.stop()
            users = []
            if base_port is None:
                harness.base_port = free_port_pair(DEFAULT_BASE_PORT)
            harness.start(timeout)
        users.append(me)
        state_path.write_text(
            json.dumps({"pid": harness.pid, "base_port": harness.base_port, "users": users})
        )
    try:
        yield SharedPcscd(harness, root)
    finally:
        with _locked(root / "lock"):
            state = {}
            with contextlib.suppress(OSError, ValueError):
                state = json.loads(state_path.read_text())
            raw_users = state.get("users", [])
            users = (
                [int(u) for u in raw_users if int(u) != me and _pid_alive(int(u))]
                if isinstance(raw_users, list)
                else []
            )
            if users:
                state_path.write_text(
                    json.dumps({"pid": harness.pid, "base_port": harness.base_port, "users": users})
                )
            else:
                harness.stop()
                state_path.unlink(missing_ok=True)


def main(argv: list[str] | None = None) -> int:
    """`python -m madoguchi.card.pcscd [--port P] [--dir DIR]`: run a private pcscd with a vpcd
    reader in the foreground until Ctrl-C (for trying virtual cards by hand)."""
    parser = argparse.ArgumentParser(prog="python -m madoguchi.card.pcscd")
    parser.add_argument(
        "--port", type=port_number, default=DEFAULT_BASE_PORT, help="vpcd slot 0 port"
    )
    parser.add_argument("--dir", type=Path, default=SHARED_ROOT / "manual")
    args = parser.parse_args(argv)

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupt)
    signal.signal(signal.SIGINT, interrupt)
    harness = PcscdHarness(args.dir, args.port)
    try:
        harness.start()
    except PcscdError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    for r in harness.readers:
        print(f"reader {r.name!r}: plug a card with --port {r.port}", flush=True)
    try:
        while harness.process is not None and harness.process.poll() is None:
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        harness.stop()
    print("pcscd stopped")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
