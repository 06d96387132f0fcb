"""A worker killed by SIGKILL in the middle of a step: another worker finishes the run, and everything exists exactly once.

The first worker is a real `roadbed worker` subprocess whose infrastructure step hangs on attempt 1
(`infrastructure:hang:1`: blocked, heartbeating until the kill stops them), so the test can kill it at a known
point. The step's heartbeat timeout (10 s) lets Temporal retry it on the in-process worker started afterwards, and the
sticky-queue timeout hands the workflow task over too. Steps are idempotent, so the second attempt adopts
what the first one may have left behind: one repository, one workspace, one namespace, one Component.
A second variant arms no failpoint and kills the worker while Terraform works (a half-initialised workspace).
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractAsyncContextManager
from pathlib import Path

import pytest
from temporalio.client import Client

from roadbed.domain.models import ProvisionResult
from roadbed.settings import Settings
from roadbed.storage import catalog
from roadbed.storage.database import Database
from roadbed.submission import EnvironmentSubmitter
from tests.workflows.test_provision import request_body
from tests.workflows.test_saga import doctor, snapshot

pytestmark = pytest.mark.asyncio(loop_scope="session")
StartWorker = Callable[..., AbstractAsyncContextManager[None]]

STEPS = ["validate", "repository", "infrastructure", "kubernetes", "monitoring", "catalog"]
RECOVERY_BOUND_SECONDS = 60


@pytest.fixture
def worker_process(
    client: Client, settings: Settings, database: Database, tmp_path: Path
) -> Iterator[Callable[..., subprocess.Popen[bytes]]]:
    """A factory for `roadbed worker` subprocesses on the test's task queue, in their own process group."""
    started: list[subprocess.Popen[bytes]] = []
    log = tmp_path / "worker.log"

    def start(failpoints: str = "infrastructure:hang:1") -> subprocess.Popen[bytes]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("ROADBED_")} | {
            "ROADBED_HOME": str(settings.home),
            "ROADBED_TEMPORAL_ADDRESS": client.service_client.config.target_host,
            "ROADBED_TEMPORAL_NAMESPACE": client.namespace,
            "ROADBED_TASK_QUEUE": settings.task_queue,
            "ROADBED_DATABASE_URL": settings.resolved_database_url,
            "ROADBED_FAILPOINTS": failpoints,
        }
        with log.open("ab") as out:
            process = subprocess.Popen(
                [sys.executable, "-m", "roadbed.cli", "worker"], env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )
        started.append(process)
        return process

    yield start
    for process in started:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def git(*args: str) -> str:
    return subprocess.run(["git", *args], check=True, capture_output=True, text=True).stdout.strip()


async def wait_for_attempt(
    database: Database, environment_id: str, process: subprocess.Popen[bytes], log: Path, timeout: float = 60
) -> None:
    """Until the infrastructure step is running its first attempt (on the subprocess worker)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, f"the worker subprocess exited with {process.returncode}:\n{log.read_text()}"
        steps = {s.name: s for s in snapshot(database, environment_id)[1]}
        if steps["infrastructure"].status == "running" and steps["infrastructure"].attempts == 1:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(
        f"infrastructure never ran attempt 1: {[(s.name, s.status, s.attempts, s.detail) for s in steps.values()]}\n{log.read_text()}"
    )


async def recover_on_another_worker(
    process: subprocess.Popen[bytes],
    start_worker: StartWorker,
    client: Client,
    workflow_id: str,
    label: str,
    capsys: pytest.CaptureFixture[str],
) -> ProvisionResult:
    """SIGKILL the worker's process group, run an in-process worker until the run ends; prints the recovery time."""
    os.killpg(process.pid, signal.SIGKILL)
    assert process.wait(timeout=10) == -signal.SIGKILL
    killed = time.monotonic()
    async with start_worker():
        handle = client.get_workflow_handle(workflow_id, result_type=ProvisionResult)
        result = await asyncio.wait_for(handle.result(), timeout=RECOVERY_BOUND_SECONDS + 30)
    recovery = time.monotonic() - killed
    with capsys.disabled():
        print(f"\n[worker crash, {label}] recovery after SIGKILL: {recovery:.1f} s (kill -> run SUCCEEDED on the other worker)")
    assert recovery < RECOVERY_BOUND_SECONDS
    return result


def assert_provisioned_exactly_once(result: ProvisionResult, environment_id: str, database: Database, settings: Settings) -> None:
    # The run succeeded, the killed attempt counts, nothing else was retried.
    assert result.status == "SUCCEEDED", result.error
    stored, steps = snapshot(database, environment_id)
    assert stored.status == "SUCCEEDED" and stored.live_key == "orders/dev"
    assert [(s.name, s.status, s.attempts) for s in steps] == [(name, "succeeded", 2 if name == "infrastructure" else 1) for name in STEPS]

    # Exactly one repository for the service (no staging leftovers), with a clean run's three commits.
    repos = settings.git_dir / "repos"
    assert sorted(p.name for p in repos.iterdir()) == ["gitops.git", "orders.git"]
    assert git("-C", str(repos / "orders.git"), "rev-list", "--count", "main") == "3"  # initial + monitoring + catalog
    assert git("-C", str(repos / "gitops.git"), "rev-list", "--count", "main") == "2"  # initialise + deploy

    # One GitOps namespace directory with its Argo CD Application, one Terraform workspace with the resource once.
    gitops = str(repos / "gitops.git")
    assert git("-C", gitops, "ls-tree", "--name-only", "main", "clusters/local/").splitlines() == ["clusters/local/orders-dev"]
    assert git("-C", gitops, "ls-tree", "--name-only", "main", "argocd/").splitlines() == ["argocd/orders-dev.yaml"]
    assert sorted(p.name for p in settings.terraform_dir.iterdir()) == [environment_id]
    state = json.loads((settings.terraform_dir / environment_id / "terraform.tfstate").read_text())
    assert sorted(r["module"] for r in state["resources"]) == ["module.postgres_main"]

    # Exactly one Component and the expected Resource in the catalog, owned by this environment.
    with database.transaction() as session:
        entities = {(e.kind, e.name, e.environment_id) for e in catalog.list_entities(session)}
    assert entities == {("component", "orders", environment_id), ("api", "orders", environment_id), ("resource", "orders-dev-main", environment_id)}

    assert doctor(settings, database) == []


async def test_sigkilled_worker_mid_step_is_recovered_exactly_once(
    worker_process: Callable[..., subprocess.Popen[bytes]],
    start_worker: StartWorker,
    submitter: EnvironmentSubmitter,
    client: Client,
    database: Database,
    settings: Settings,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    process = worker_process("infrastructure:hang:1")
    row, _ = await submitter.submit(request_body())
    await wait_for_attempt(database, row.id, process, tmp_path / "worker.log")
    result = await recover_on_another_worker(process, start_worker, client, row.workflow_id, "hung step", capsys)
    assert_provisioned_exactly_once(result, row.id, database, settings)


async def test_sigkilled_worker_during_terraform_is_recovered_exactly_once(
    worker_process: Callable[..., subprocess.Popen[bytes]],
    start_worker: StartWorker,
    submitter: EnvironmentSubmitter,
    client: Client,
    database: Database,
    settings: Settings,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """No failpoint: the kill lands while Terraform works (init has begun), leaving a half-used workspace behind."""
    process = worker_process("")
    row, _ = await submitter.submit(request_body())
    await wait_for_attempt(database, row.id, process, tmp_path / "worker.log")
    workspace = settings.terraform_dir / row.id
    deadline = time.monotonic() + 30
    while not (workspace / ".terraform").exists():
        assert time.monotonic() < deadline, "terraform init never started"
        await asyncio.sleep(0.002)
    os.killpg(process.pid, signal.SIGKILL)
    infrastructure = next(s for s in snapshot(database, row.id)[1] if s.name == "infrastructure")
    assert infrastructure.status == "running", f"the step finished before the kill landed: {infrastructure.detail}"
    left = sorted(p.name for p in workspace.iterdir())
    result = await recover_on_another_worker(process, start_worker, client, row.workflow_id, f"during terraform, left {left}", capsys)
    assert_provisioned_exactly_once(result, row.id, database, settings)
