"""`roadbed up` as a subprocess on its own data dir and free ports, for bench/ and the e2e tests.

bench/ never imports tests/ (DESIGN.md, "Layout"): the harness lives here and tests/e2e imports it.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

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


PORT_CLOSE_SECONDS = 10


class KillableRoadbedUp(RoadbedUp):
    """`RoadbedUp` whose `up` leads its own process group, so the whole tree can be SIGKILLed at once."""

    new_session = True

    def kill_tree(self) -> None:
        """`kill -9` of `up`'s process group (the dev server is in its own session and dies by PDEATHSIG)."""
        assert self.process is not None
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    @property
    def temporal_port(self) -> int:
        return int(self.env["ROADBED_TEMPORAL_PORT"])

    def wait_port_closed(self, port: int, timeout: float = PORT_CLOSE_SECONDS) -> float:
        """Seconds until nothing accepts connections on `port`; AssertionError after `timeout`."""
        started = time.monotonic()
        while time.monotonic() - started < timeout:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            except OSError:
                return time.monotonic() - started
            time.sleep(0.1)
        raise AssertionError(f"port {port} still open {timeout:.0f} s after `up` was killed: the dev server outlived its parent")

    def dev_servers(self) -> list[int]:
        """Pids of live dev servers on this data dir's Temporal database (Linux /proc)."""
        database = str(self.home / "temporal.db").encode()
        pids = []
        for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
            try:
                if database in cmdline.read_bytes().split(b"\0") and Path(cmdline.parent, "stat").read_text().split(") ")[-1][0] != "Z":
                    pids.append(int(cmdline.parent.name))
            except OSError:
                continue
        return pids

    def wait_dev_server_gone(self, timeout: float = PORT_CLOSE_SECONDS) -> float:
        started = time.monotonic()
        while self.dev_servers():
            if time.monotonic() - started > timeout:
                raise AssertionError(
                    f"dev server {self.dev_servers()} still running {timeout:.0f} s after `up` was killed (PR_SET_PDEATHSIG)"
                )
            time.sleep(0.1)
        return time.monotonic() - started


def request(service: str) -> dict[str, Any]:
    return {
        "service": service,
        "team": "payments",
        "golden_path": "python-service",
        "environment": "dev",
        "resources": [{"type": "postgres", "name": "main"}],
    }


def step(environment: dict[str, Any], name: str) -> dict[str, Any]:
    return next(s for s in environment["steps"] if s["name"] == name)


def wait_all(http: httpx.Client, ids: list[str], predicate: Any, timeout: float) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout
    while True:
        environments = [http.get(f"/v1/environments/{i}").json() for i in ids]
        if all(predicate(e) for e in environments):
            return environments
        if time.monotonic() > deadline:
            raise AssertionError(
                "condition not met: "
                + repr([(e["service"], e["status"], [(s["name"], s["status"], s["attempts"]) for s in e["steps"]]) for e in environments])
            )
        time.sleep(0.1)


def hanging_in_infrastructure(environment: dict[str, Any]) -> bool:
    infrastructure = step(environment, "infrastructure")
    return infrastructure["status"] == "running" and infrastructure["attempts"] == 1
