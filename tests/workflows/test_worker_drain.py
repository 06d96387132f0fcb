"""SIGTERM drains a Terraform worker: the apply it is running finishes, on its first attempt, and leaves no lock.

A real `roadbed worker --queue roadbed-terraform` subprocess runs the infrastructure step with the Terraform CLI
(`ROADBED_TERRAFORM_BINARY`) through a wrapper that makes `apply` take APPLY_SECONDS — longer than the general
worker's 5 s drain, well within the Terraform worker's 60 s — as a real cloud apply would. SIGTERM lands while
the apply runs (a service manager's stop, or `docker compose stop`, sends it to the pid): the worker stops
polling, lets the apply finish, reports it and exits 0. The general worker (in-process) finishes the run.
"""

from __future__ import annotations

import asyncio
import fcntl
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import pytest_asyncio
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client

from roadbed.domain.models import ProvisionResult
from roadbed.settings import Settings
from roadbed.storage.database import Database
from roadbed.submission import EnvironmentSubmitter
from roadbed.worker import WorkerQueue, build_ports, build_worker, executor_for
from tests.unit.test_terraform_cli_runner import terraform_1_15_binary
from tests.workflows.test_provision import request_body
from tests.workflows.test_saga import snapshot

pytestmark = pytest.mark.asyncio(loop_scope="session")
APPLY_SECONDS = 8.0
STEPS = ["validate", "repository", "infrastructure", "kubernetes", "monitoring", "catalog"]


@pytest.fixture
def slow_terraform(tmp_path: Path) -> tuple[Path, Path]:
    """A `terraform` whose `apply` takes APPLY_SECONDS longer (touching a marker file when it starts)."""
    real = terraform_1_15_binary(tmp_path / "real")  # a modern Terraform (the modules use preconditions)
    marker = tmp_path / "apply-started"
    wrapper = tmp_path / "bin" / "terraform"
    wrapper.parent.mkdir()
    wrapper.write_text(f'#!/bin/sh\nif [ "$1" = apply ]; then touch "{marker}"; sleep {APPLY_SECONDS}; fi\nexec "{real}" "$@"\n')
    wrapper.chmod(0o755)
    return wrapper, marker


@pytest.fixture
def terraform_worker(client: Client, settings: Settings, slow_terraform: tuple[Path, Path], tmp_path: Path) -> Iterator[subprocess.Popen[bytes]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ROADBED_")} | {
        "ROADBED_HOME": str(settings.home),
        "ROADBED_TEMPORAL_ADDRESS": client.service_client.config.target_host,
        "ROADBED_TEMPORAL_NAMESPACE": client.namespace,
        "ROADBED_TASK_QUEUE": settings.task_queue,
        "ROADBED_DATABASE_URL": settings.resolved_database_url,
        "ROADBED_TERRAFORM_BINARY": str(slow_terraform[0]),
    }
    with (tmp_path / "worker.log").open("ab") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "roadbed.cli", "worker", "--queue", "roadbed-terraform", "--max-concurrent-activities", "2"],
            env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )
    yield process
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


@pytest_asyncio.fixture(loop_scope="session")
async def general_worker(client: Client, settings: Settings, database: Database) -> AsyncIterator[None]:
    queues = frozenset({WorkerQueue.GENERAL})
    executor = executor_for(settings, queues)
    async with build_worker(client, settings, build_ports(settings, database), executor, queues):
        yield
    executor.shutdown(wait=True)


def workspace_lock_is_free(settings: Settings, workspace: str) -> bool:
    """Roadbed's own per-workspace lock (TerraformCliRunner) can be taken: nobody holds it any more."""
    with open(settings.terraform_dir / ".locks" / f"{workspace}.lock", "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        fcntl.flock(handle, fcntl.LOCK_UN)
        return True


async def test_sigterm_lets_a_running_apply_finish_without_a_retry_or_a_lock_left_behind(
    terraform_worker: subprocess.Popen[bytes],
    general_worker: None,
    slow_terraform: tuple[Path, Path],
    submitter: EnvironmentSubmitter,
    client: Client,
    database: Database,
    settings: Settings,
    tmp_path: Path,
) -> None:
    log = tmp_path / "worker.log"
    row, _ = await submitter.submit(request_body())
    deadline = time.monotonic() + 60
    while not slow_terraform[1].exists():
        assert terraform_worker.poll() is None, f"the Terraform worker exited with {terraform_worker.returncode}:\n{log.read_text()}"
        assert time.monotonic() < deadline, f"the apply never started:\n{log.read_text()}"
        await asyncio.sleep(0.02)

    terraform_worker.send_signal(signal.SIGTERM)  # to its pid, as a service manager does
    signalled = time.monotonic()
    while terraform_worker.poll() is None:
        assert time.monotonic() < signalled + 60, f"the worker did not drain within 60 s:\n{log.read_text()}"
        await asyncio.sleep(0.05)
    drained = time.monotonic() - signalled
    infrastructure = next(s for s in snapshot(database, row.id)[1] if s.name == "infrastructure")
    assert terraform_worker.returncode == 0, log.read_text()
    assert (infrastructure.status, infrastructure.attempts) == ("succeeded", 1), f"{infrastructure.detail}\n{log.read_text()}"
    assert drained > 5.0, f"exited after {drained:.1f} s: sooner than the apply could have finished"

    handle = client.get_workflow_handle(row.workflow_id, result_type=ProvisionResult)
    result = await asyncio.wait_for(handle.result(), timeout=60)
    assert result.status == "SUCCEEDED", result.error
    assert [(s.name, s.status, s.attempts) for s in snapshot(database, row.id)[1]] == [(name, "succeeded", 1) for name in STEPS]
    history = await handle.fetch_history()
    scheduled = {
        e.event_id: e.activity_task_scheduled_event_attributes.activity_type.name
        for e in history.events if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
    }
    started = [
        (scheduled[e.activity_task_started_event_attributes.scheduled_event_id], e.activity_task_started_event_attributes.attempt)
        for e in history.events if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED
    ]
    assert [attempt for name, attempt in started if name == "provision.infrastructure"] == [1]  # started once: no retried attempt
    assert {attempt for _name, attempt in started} == {1}

    workspace = settings.terraform_dir / row.id
    assert not (workspace / ".terraform.tfstate.lock.info").exists(), "Terraform's state lock was left behind"
    assert workspace_lock_is_free(settings, row.id)
    state = json.loads((workspace / "terraform.tfstate").read_text())
    assert [r["module"] for r in state["resources"]] == ["module.postgres_main"]
