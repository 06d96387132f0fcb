"""End to end: `kill -9` of the whole `roadbed up` tree with six runs in flight, then a restart on the same data dir.

Every run is stopped inside its infrastructure step (`infrastructure:hang:1` blocks attempt 1 without
heartbeating), the process group of `up` gets SIGKILL, and the dev server — in its own session, so not
in that group — must follow its parent through PR_SET_PDEATHSIG. The second `up` (no failpoints) resumes
all six from Temporal's SQLite file: the step times out on its heartbeat, attempt 2 succeeds, and every
target holds each thing exactly once.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.harness import RoadbedUp

pytestmark = pytest.mark.e2e

SERVICES = [f"crash-{i}" for i in range(6)]
STEPS = ["validate", "repository", "infrastructure", "kubernetes", "monitoring", "catalog"]
FINAL = {"SUCCEEDED", "FAILED", "COMPENSATED", "CANCELLED"}
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


def git(*args: str) -> str:
    return subprocess.run(["git", *args], check=True, capture_output=True, text=True).stdout.strip()


@pytest.fixture
def roadbed(tmp_path: Path) -> Iterator[KillableRoadbedUp]:
    instance = KillableRoadbedUp(tmp_path / "home")
    yield instance
    if instance.process is not None and instance.process.poll() is None:
        os.killpg(instance.process.pid, signal.SIGKILL)
        instance.process.wait()


def test_kill_9_of_up_with_six_runs_in_flight_then_restart(roadbed: KillableRoadbedUp, capsys: pytest.CaptureFixture[str]) -> None:
    roadbed.start(ROADBED_FAILPOINTS="infrastructure:hang:1")
    with roadbed.http() as http:
        ids = []
        for service in SERVICES:
            response = http.post("/v1/environments", json=request(service))
            assert response.status_code == 202, response.text
            ids.append(response.json()["id"])
        wait_all(http, ids, hanging_in_infrastructure, timeout=30)

    assert roadbed.dev_servers(), "the dev server of `up` should be running before the kill"
    roadbed.kill_tree()
    port_closed = roadbed.wait_port_closed(roadbed.temporal_port)
    server_gone = roadbed.wait_dev_server_gone()
    roadbed.wait_port_closed(int(roadbed.env["ROADBED_API_PORT"]), timeout=2)

    restarted = time.monotonic()
    roadbed.start()
    ready = time.monotonic() - restarted
    with roadbed.http() as http:
        done = wait_all(http, ids, lambda e: e["status"] in FINAL, timeout=60)
        recovered = time.monotonic() - restarted
        with capsys.disabled():
            print(
                f"\n[kill -9 of up] dev server port closed {port_closed:.1f} s, process gone {server_gone:.1f} s after the kill; "
                f"restart -> ready {ready:.1f} s, -> all {len(ids)} SUCCEEDED {recovered:.1f} s"
            )
        assert [e["status"] for e in done] == ["SUCCEEDED"] * len(ids), [(e["service"], e["status"], e["error"]) for e in done]
        for environment in done:
            assert [(s["name"], s["status"], s["attempts"]) for s in environment["steps"]] == [
                (name, "succeeded", 2 if name == "infrastructure" else 1) for name in STEPS
            ], environment["steps"]
        components = http.get("/v1/catalog/entities", params={"kind": "component"}).json()
        resources = http.get("/v1/catalog/entities", params={"kind": "resource"}).json()

    # Exactly once, everywhere: six repositories (no staging leftovers), a clean run's three commits each,
    assert sorted(p.name for p in (roadbed.home / "git/repos").iterdir()) == sorted([f"{s}.git" for s in SERVICES] + ["gitops.git"])
    for service in SERVICES:
        assert git("-C", str(roadbed.home / f"git/repos/{service}.git"), "rev-list", "--count", "main") == "3", service
    # one GitOps directory and deploy commit per environment,
    gitops = str(roadbed.home / "git/repos/gitops.git")
    assert git("-C", gitops, "ls-tree", "--name-only", "main", "clusters/local/").splitlines() == [
        f"clusters/local/{s}-dev" for s in SERVICES
    ]
    assert git("-C", gitops, "rev-list", "--count", "main") == str(1 + len(SERVICES))
    # six Components (and their Resources), six Terraform workspaces,
    assert sorted(c["metadata"]["name"] for c in components) == SERVICES
    assert sorted(r["metadata"]["name"] for r in resources) == [f"{s}-dev-main" for s in SERVICES]
    assert sorted(p.name for p in (roadbed.home / "terraform").iterdir()) == sorted(ids)
    # and nothing orphaned or missing.
    doctor = roadbed.cli("doctor")
    assert doctor.returncode == 0, doctor.stdout + doctor.stderr
    assert roadbed.stop() == 0
