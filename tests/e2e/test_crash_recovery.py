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
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.harness import KillableRoadbedUp, hanging_in_infrastructure, request, wait_all

pytestmark = pytest.mark.e2e

SERVICES = [f"crash-{i}" for i in range(6)]
STEPS = ["validate", "repository", "infrastructure", "kubernetes", "monitoring", "catalog"]
FINAL = {"SUCCEEDED", "FAILED", "COMPENSATED", "CANCELLED"}


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
