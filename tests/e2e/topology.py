"""The team topology as processes: one Temporal dev server, API replicas and workers sharing a data dir and a database.

What docker-compose.yml runs as containers, started here as plain `roadbed` subprocesses on free ports, so a test can
send real signals to real workers. Also the Temporal-side look-ups the test asserts with: which activities a worker
(by its identity, `<pid>@<host>`, the SDK's default) is running now, and how each activity ended in the history.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from temporalio.api.enums.v1 import EventType, PendingActivityState
from temporalio.client import Client

from bench.harness import free_port

READY_SECONDS = 90.0


@dataclass
class Part:
    """One `roadbed <command>` subprocess, leading its own process group, logging to its own file."""

    name: str
    process: subprocess.Popen[bytes]
    log: Path

    @property
    def identity(self) -> str:
        """The Temporal identity the SDK gives a client (and so its workers) by default."""
        return f"{self.process.pid}@{socket.gethostname()}"

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def alive(self) -> bool:
        return self.process.poll() is None

    def kill(self) -> None:
        if self.alive():
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def wait_log(self, text: str, timeout: float = READY_SECONDS) -> None:
        deadline = time.monotonic() + timeout
        while text not in self.output():
            assert self.alive(), f"{self.name} exited with {self.process.returncode}:\n{self.output()}"
            assert time.monotonic() < deadline, f"{self.name} never logged {text!r}:\n{self.output()}"
            time.sleep(0.1)


@dataclass
class Topology:
    """Processes sharing ROADBED_HOME and the engine database; stopped (SIGKILL) by `close`."""

    home: Path
    database_url: str
    temporal_port: int = field(default_factory=free_port)
    parts: list[Part] = field(default_factory=list)

    @property
    def temporal_address(self) -> str:
        return f"127.0.0.1:{self.temporal_port}"

    def env(self, **extra: str) -> dict[str, str]:
        base = {k: v for k, v in os.environ.items() if not k.startswith(("ROADBED_", "OTEL_"))}
        return base | {
            "ROADBED_HOME": str(self.home),
            "ROADBED_DATABASE_URL": self.database_url,
            "ROADBED_TEMPORAL_PORT": str(self.temporal_port),
            "ROADBED_TEMPORAL_UI_PORT": str(free_port()),
        } | extra

    def start(self, name: str, args: list[str], **extra: str) -> Part:
        log = self.home.parent / f"{name}.log"
        with log.open("ab") as out:
            process = subprocess.Popen(
                [sys.executable, "-m", "roadbed.cli", *args], env=self.env(**extra), stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )
        part = Part(name, process, log)
        self.parts.append(part)
        return part

    def start_temporal(self) -> Part:
        """`roadbed server`: the dev server standing in for the cluster; the others reach it by ROADBED_TEMPORAL_ADDRESS."""
        part = self.start("temporal", ["server"])
        deadline = time.monotonic() + READY_SECONDS
        while True:
            assert part.alive(), part.output()
            try:
                socket.create_connection(("127.0.0.1", self.temporal_port), timeout=0.5).close()
                return part
            except OSError:
                assert time.monotonic() < deadline, f"the dev server did not listen:\n{part.output()}"
                time.sleep(0.2)

    def migrate(self) -> None:
        done = subprocess.run([sys.executable, "-m", "roadbed.cli", "migrate"], env=self.env(), capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stdout + done.stderr

    def start_api(self, name: str, **extra: str) -> tuple[Part, str]:
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        part = self.start(name, ["api"], ROADBED_TEMPORAL_ADDRESS=self.temporal_address, ROADBED_API_PORT=str(port), ROADBED_API_URL=url, **extra)
        deadline = time.monotonic() + READY_SECONDS
        while True:
            assert part.alive(), part.output()
            try:
                if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                    return part, url
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, f"{name} never became ready:\n{part.output()}"
            time.sleep(0.2)

    def start_worker(self, name: str, queue: str | None, **extra: str) -> Part:
        """A worker polling `queue` (None: both queues, as a single worker does)."""
        args = ["worker", "--queue", queue] if queue else ["worker"]
        part = self.start(name, args, ROADBED_TEMPORAL_ADDRESS=self.temporal_address, **extra)
        part.wait_log("worker polling")
        return part

    def close(self) -> None:
        for part in reversed(self.parts):
            part.kill()


@dataclass(frozen=True)
class RunningActivity:
    workflow_id: str
    activity_id: str
    activity_type: str
    attempt: int


async def running_on(client: Client, workflow_ids: Iterable[str], identity: str) -> list[RunningActivity]:
    """The activities a worker (by identity) is running right now, from each workflow's pending activities."""
    found = []
    for workflow_id in workflow_ids:
        description = await client.get_workflow_handle(workflow_id).describe()
        for pending in description.raw_description.pending_activities:
            if pending.state == PendingActivityState.PENDING_ACTIVITY_STATE_STARTED and pending.last_worker_identity == identity:
                found.append(RunningActivity(workflow_id, pending.activity_id, pending.activity_type.name, pending.attempt))
    return found


@dataclass(frozen=True)
class ActivityEnd:
    identity: str  # the worker that ran the last attempt
    attempt: int
    completed: bool


async def activity_end(client: Client, workflow_id: str, activity_id: str) -> ActivityEnd:
    """How one activity ended: its last attempt's worker and number (the started event holds the last attempt)."""
    history = await client.get_workflow_handle(workflow_id).fetch_history()
    scheduled = next(
        e.event_id for e in history.events
        if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED and e.activity_task_scheduled_event_attributes.activity_id == activity_id
    )
    started = next(
        e for e in history.events
        if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED and e.activity_task_started_event_attributes.scheduled_event_id == scheduled
    )
    completed = any(
        e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED and e.activity_task_completed_event_attributes.scheduled_event_id == scheduled
        for e in history.events
    )
    attributes = started.activity_task_started_event_attributes
    return ActivityEnd(attributes.identity, attributes.attempt, completed)
