"""Starts and stops a local Azurite (the Azure Storage emulator) from node_modules, on loopback.

Used by test fixtures, the demo, and by hand (`python -m devhost.azurite`: default ports, on disk
in .azurite/, for `UseDevelopmentStorage=true`)::

    with Azurite() as azurite:                      # queue only, in memory
        azurite.connection_string                   # explicit endpoints, any port
    Azurite(services=("queue", "blob", "table"))    # all three, as `func start` needs
    Azurite(location="/tmp/azurite-data")           # on disk, survives a restart

Pitfalls it avoids (docs/local-toolchain.md section 5): `npx` leaves an orphaned node process, so
the `.bin` script is started directly; azure-storage-queue 12.18 sends an API version Azurite
3.35 rejects, hence `--skipApiVersionCheck`; `--disableTelemetry` keeps it off the network.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import IO

ACCOUNT_NAME = "devstoreaccount1"
# Azurite's well-known development key (public; documented by Microsoft).
ACCOUNT_KEY = (
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)
SERVICES = ("blob", "queue", "table")
REPO_ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"


class AzuriteError(RuntimeError):
    """Azurite could not be found, did not start, or exited early; the message says which."""


def free_port(host: str = HOST) -> int:
    """A port that was free a moment ago (Azurite cannot be told to pick one and report it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def _port_answers(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.2)
        return sock.connect_ex((host, port)) == 0


class Azurite:
    """One Azurite process. `start()` returns once every requested service accepts connections."""

    def __init__(
        self,
        *,
        services: Sequence[str] = ("queue",),
        location: str | os.PathLike[str] | None = None,
        ports: dict[str, int] | None = None,
        node_modules: str | os.PathLike[str] | None = None,
        startup_timeout: float = 20.0,
    ) -> None:
        unknown = set(services) - set(SERVICES)
        if unknown or not services:
            raise ValueError(f"services must be a non-empty subset of {SERVICES}, not {services}")
        self.services = tuple(s for s in SERVICES if s in services)
        self.location = Path(location) if location is not None else None
        self.ports = dict(ports or {})
        self.node_modules = Path(node_modules) if node_modules else REPO_ROOT / "node_modules"
        self.startup_timeout = startup_timeout
        self.process: subprocess.Popen[bytes] | None = None
        self._stderr: IO[bytes] | None = None

    # ----- addresses ---------------------------------------------------------------------------

    def endpoint(self, service: str) -> str:
        return f"http://{HOST}:{self.ports[service]}/{ACCOUNT_NAME}"

    @property
    def connection_string(self) -> str:
        """Explicit endpoints: `UseDevelopmentStorage=true` only works on the default ports."""
        parts = [
            "DefaultEndpointsProtocol=http",
            f"AccountName={ACCOUNT_NAME}",
            f"AccountKey={ACCOUNT_KEY}",
        ]
        parts += [f"{s.capitalize()}Endpoint={self.endpoint(s)}" for s in self.services]
        return ";".join(parts) + ";"

    # ----- lifecycle ---------------------------------------------------------------------------

    def command(self) -> list[str]:
        # One service: its own script (smaller, faster); several: the combined `azurite` script.
        script = "azurite" if len(self.services) > 1 else f"azurite-{self.services[0]}"
        binary = self.node_modules / ".bin" / script
        if not binary.exists():
            raise AzuriteError(f"{binary} not found: run scripts/setup (npm ci) first")
        args = [str(binary)]
        for service in self._listening():
            args += [f"--{service}Host", HOST, f"--{service}Port", str(self.ports[service])]
        if self.location is None:
            args.append("--inMemoryPersistence")
        else:
            args += ["--location", str(self.location)]
        args += ["--skipApiVersionCheck", "--disableTelemetry", "--silent"]
        return args

    def _listening(self) -> tuple[str, ...]:
        """The combined script serves all three whatever is asked: each gets a port of its
        own, or two such Azurites would both claim the default ports of the unasked ones."""
        return SERVICES if len(self.services) > 1 else self.services

    def start(self) -> Azurite:
        if self.process is not None:
            raise AzuriteError("Azurite is already running")
        for service in self._listening():
            self.ports.setdefault(service, free_port())
        if self.location is not None:
            self.location.mkdir(parents=True, exist_ok=True)
        # stderr goes to a file, not a pipe: a pipe nobody reads can fill up and stall Azurite.
        self._stderr = tempfile.TemporaryFile(prefix="azurite-")  # noqa: SIM115 (closed in stop)
        self.process = subprocess.Popen(
            self.command(),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=self._stderr,
        )
        deadline = time.monotonic() + self.startup_timeout
        waiting = list(self.services)
        while waiting:
            if self.process.poll() is not None:
                err = self._read_stderr()
                self.stop()
                raise AzuriteError(f"Azurite exited during start-up: {err.strip() or 'no output'}")
            if _port_answers(HOST, self.ports[waiting[0]]):
                waiting.pop(0)
                continue
            if time.monotonic() > deadline:
                self.stop()
                raise AzuriteError(f"Azurite did not listen within {self.startup_timeout} s")
            time.sleep(0.02)  # poll interval of the readiness loop, bounded by the deadline
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Interrupt and wait; kill if it does not exit in time. Safe to call twice. SIGINT,
        not SIGTERM: the single-service scripts (`azurite-table`, `azurite-queue`) close their
        stores (and save them to disk) only on SIGINT, and a SIGTERM loses the last seconds
        of table writes (LokiJS saves every 5 s)."""
        process, self.process = self.process, None
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if self._stderr is not None:
            self._stderr.close()
            self._stderr = None

    def _read_stderr(self) -> str:
        if self._stderr is None:
            return ""
        self._stderr.seek(0)
        return self._stderr.read().decode(errors="replace")

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    @property
    def pid(self) -> int | None:
        """The Azurite process's id while started (None before start and after stop)."""
        return self.process.pid if self.process is not None else None

    def __enter__(self) -> Azurite:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


DEFAULT_PORTS = {"blob": 10000, "queue": 10001, "table": 10002}


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m devhost.azurite`: all three services on the default ports, kept on disk, so
    `UseDevelopmentStorage=true` (local.settings.json, `func start`) finds them."""
    import argparse
    import signal

    parser = argparse.ArgumentParser(prog="python -m devhost.azurite", description=main.__doc__)
    parser.add_argument("--location", default=str(REPO_ROOT / ".azurite"), help="data folder")
    parser.add_argument("--in-memory", action="store_true", help="keep nothing on disk")
    parser.add_argument(
        "--services", default="blob,queue,table", help="comma-separated subset of blob,queue,table"
    )
    args = parser.parse_args(argv)
    services = [s.strip() for s in args.services.split(",") if s.strip()]
    azurite = Azurite(
        services=services,
        location=None if args.in_memory else args.location,
        ports={s: DEFAULT_PORTS[s] for s in services if s in DEFAULT_PORTS},
    )
    try:
        azurite.start()
    except (AzuriteError, ValueError) as exc:
        print(f"azurite: {exc}", file=sys.stderr)
        return 1
    print(f"Azurite {', '.join(azurite.services)} on 127.0.0.1 (pid {azurite.pid})")
    print(f"AzureWebJobsStorage={azurite.connection_string}", flush=True)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    while not stop.is_set() and azurite.running:
        stop.wait(0.5)
    azurite.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
