"""`python -m devhost` as a child process, for tests and scripts that need a host they can kill
outright (SIGKILL, as a crashed worker dies) and start again on the same port, as the platform
restarts a Functions host: the in-process DevHost cannot die that way.

    worker = DevHostProcess(host_json="tests/devhost/host.json", env=settings).start()
    worker.url("notifications")       # http://127.0.0.1:PORT/api/notifications
    worker.kill(); worker.start()     # same port, fresh process
    worker.stop()
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Mapping
from pathlib import Path

from devhost.azurite import HOST, free_port
from devhost.config import HostOptions
from devhost.queues import LEASE_SECONDS

LISTENING = "devhost listening on "
REPO_ROOT = Path(__file__).resolve().parent.parent


class DevHostProcess:
    """One devhost child at a time; its console output (stdout and stderr) is kept in `lines`."""

    def __init__(
        self,
        *,
        host_json: str | os.PathLike[str],
        env: Mapping[str, str],
        port: int = 0,
        settings: str | os.PathLike[str] | None = None,
        lease_seconds: int = LEASE_SECONDS,
        app_dir: str | os.PathLike[str] = REPO_ROOT,
        startup_timeout: float = 60.0,
    ) -> None:
        self.host_json = Path(host_json)
        self.env = dict(env)
        # A fixed port from the start: a restarted host must answer on the URL Graph knows.
        self.port = port or free_port()
        # No local.settings.json unless asked: the settings come from `env`.
        self.settings = Path(settings) if settings else self.host_json.with_suffix(".absent.json")
        self.lease_seconds = lease_seconds
        self.app_dir = Path(app_dir)
        self.startup_timeout = startup_timeout
        self.route_prefix = HostOptions.load(self.host_json).route_prefix
        self.lines: list[str] = []
        self.starts = 0
        self.process: subprocess.Popen[str] | None = None
        self._reader: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def url(self, route: str) -> str:
        prefix = f"/{self.route_prefix}" if self.route_prefix else ""
        return f"{self.base_url}{prefix}/{route}"

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def start(self) -> DevHostProcess:
        """Returns once the host listens; raises RuntimeError with its output if it exits."""
        if self.running:
            raise RuntimeError("this devhost process is already running")
        listening = threading.Event()
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "devhost",
                "--port",
                str(self.port),
                "--settings",
                str(self.settings),
                "--host-json",
                str(self.host_json),
                "--queue-lease-seconds",
                str(self.lease_seconds),
            ],
            cwd=self.app_dir,
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.process = process
        self.starts += 1
        self._reader = threading.Thread(
            target=self._read, args=(process, listening), name="devhost-output", daemon=True
        )
        self._reader.start()
        # The reader sets the event on the listening line and at end of output, so this wait
        # ends at start-up or at the process's exit, whichever comes first.
        listening.wait(self.startup_timeout)
        if not self.running or not any(line.startswith(LISTENING) for line in self.lines):
            self.kill()
            raise RuntimeError(f"devhost did not start:\n{self.output()[-3000:]}")
        return self

    def _read(self, process: subprocess.Popen[str], listening: threading.Event) -> None:
        """Keeps the pipe drained (a full pipe would stall the host) and the output readable."""
        assert process.stdout is not None
        for line in process.stdout:
            self.lines.append(line)
            if line.startswith(LISTENING):
                listening.set()
        listening.set()

    def output(self) -> str:
        return "".join(self.lines)

    def kill(self) -> None:
        """SIGKILL: no graceful drain, no lease handed back; what a crash looks like."""
        self._end(lambda process: process.send_signal(signal.SIGKILL))

    def stop(self, timeout: float = 30.0) -> None:
        """SIGTERM (the host drains the invocations in flight), SIGKILL after `timeout`."""

        def terminate(process: subprocess.Popen[str]) -> None:
            process.terminate()
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                process.kill()

        self._end(terminate)

    def _end(self, how: Callable[[subprocess.Popen[str]], None]) -> None:
        process, self.process = self.process, None
        if process is None:
            return
        if process.poll() is None:
            how(process)
        process.wait()
        if self._reader is not None:
            self._reader.join(timeout=10)
            self._reader = None

    def __enter__(self) -> DevHostProcess:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
