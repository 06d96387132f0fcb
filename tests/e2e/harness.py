"""`roadbed up` as a subprocess on its own data dir and free ports (used by e2e tests and bench/)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class RoadbedUp:
    """One `roadbed up` process tree on a data dir; restartable on the same dir and ports."""

    def __init__(self, home: Path, command: list[str] | None = None, cwd: Path | None = None) -> None:
        self.home = home
        #: how to run the CLI: this interpreter's `roadbed.cli` unless a test runs another install (a wheel's venv)
        self.command = command or [sys.executable, "-m", "roadbed.cli"]
        self.cwd = cwd
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("ROADBED_")} | {
            "ROADBED_HOME": str(home),
            "ROADBED_API_PORT": str(free_port()),
            "ROADBED_TEMPORAL_PORT": str(free_port()),
            "ROADBED_TEMPORAL_UI_PORT": str(free_port()),
        }
        self.env["ROADBED_API_URL"] = f"http://127.0.0.1:{self.env['ROADBED_API_PORT']}"
        self.process: subprocess.Popen[str] | None = None
        self.log = home.parent / "up.log"

    @property
    def url(self) -> str:
        return self.env["ROADBED_API_URL"]

    #: `up` leads its own process group (so a test can SIGKILL the whole tree at once)
    new_session = False

    def start(self, **extra_env: str) -> None:
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with self.log.open("a") as log:
            self.process = subprocess.Popen(
                [*self.command, "up"],
                env=self.env | extra_env,
                cwd=self.cwd,
                stdout=log,
                stderr=subprocess.STDOUT,
                text=True,
                start_new_session=self.new_session,
            )
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self.log.read_text()
            try:
                if httpx.get(f"{self.url}/readyz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise AssertionError("roadbed up did not become ready:\n" + self.log.read_text())

    def stop(self) -> int:
        assert self.process is not None
        self.process.send_signal(signal.SIGINT)
        return self.process.wait(timeout=30)

    def http(self) -> httpx.Client:
        token = (self.home / "admin-token").read_text().strip()
        return httpx.Client(base_url=self.url, headers={"Authorization": f"Bearer {token}"}, timeout=30)

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*self.command, *args], env=self.env, cwd=self.cwd, capture_output=True, text=True, timeout=120)
