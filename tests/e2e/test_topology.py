"""The team topology as processes: every request succeeds exactly once while workers are killed and drained.

docker-compose.yml's deployment on this machine (tests/e2e/topology.py): PostgreSQL as the engine database, the
Temporal dev server as the cluster, two `roadbed api` replicas, two general workers (`--queue roadbed`) and one
Terraform worker (`--queue roadbed-terraform`), all sharing ROADBED_HOME (the embedded git host and the Terraform
workspaces live there) and the database. REQUESTS provisions are spread over both APIs; during the run

- one general worker is SIGKILLed while it runs steps (those Temporal still lists as started on its identity right
  after the kill): Temporal times them out (missing heartbeat, or the record step's start-to-close) and another
  worker runs them again, adopting what the killed attempt left;
- a replacement general worker starts (as a service manager would restart one), then the other original general
  worker is SIGTERMed while it runs steps: it drains, so each step it was running finishes there, on the same
  attempt, and it exits 0.

What is asserted about the drain is exact: the steps the drained worker was running at the signal (Temporal's pending
activities with that worker's identity) each end completed by that worker on the attempt they had — a step cut short
would be retried elsewhere and end with another identity or a higher attempt. Steps retried because of the SIGKILL are
expected (attempts > 1); they are identified the same way, just after the kill, and must end completed on another
worker on a later attempt.

Exactly once is counted on every side effect: REQUESTS environments rows (all SUCCEEDED), REQUESTS catalog
Components, REQUESTS repositories in the embedded git host, one Terraform workspace per request with a resource —
each named once.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select
from temporalio.client import Client

from roadbed.storage.database import Database
from roadbed.storage.tables import CatalogEntityRow, EnvironmentRow, StepRow
from tests.e2e.topology import Part, RunningActivity, Topology, activity_end, running_on

REQUESTS = int(os.environ.get("ROADBED_TOPOLOGY_REQUESTS", "60"))  # read before conftest strips ROADBED_* in tests
RUN_SECONDS = 150.0


@pytest.fixture
def topology(tmp_path: Path, fresh_postgres_url: str) -> Iterator[Topology]:
    home = tmp_path / "home"
    home.mkdir()
    running = Topology(home, fresh_postgres_url)
    try:
        yield running
    finally:
        running.close()


def body(number: int) -> dict[str, object]:
    """python-service requests; every other one with a PostgreSQL database (a Terraform apply)."""
    resources = [{"type": "postgres", "name": "main"}] if number % 2 == 0 else []
    return {"service": f"topo-{number:03d}", "team": "payments", "golden_path": "python-service", "environment": "dev", "resources": resources}


def submit_all(urls: list[str], token: str) -> list[str]:
    """REQUESTS provisions, alternating between the API replicas, 8 at a time; each must be accepted once."""
    clients = [httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=60) for url in urls]

    def one(number: int) -> str:
        response = clients[number % len(clients)].post("/v1/environments", json=body(number))
        assert response.status_code == 202, response.text
        return response.json()["id"]

    try:
        with ThreadPoolExecutor(8) as pool:
            return list(pool.map(one, range(REQUESTS)))
    finally:
        for client in clients:
            client.close()


def statuses(database: Database) -> dict[str, tuple[str, str]]:
    """environment id → (status, workflow id)."""
    with database.transaction() as session:
        return {row.id: (row.status, row.workflow_id) for row in session.scalars(select(EnvironmentRow))}


async def catch_running(client: Client, database: Database, worker: Part, timeout: float = 60) -> list[RunningActivity]:
    """Wait until `worker` runs at least one step of a running provision; return what it runs at that moment."""
    deadline = time.monotonic() + timeout
    while True:
        running = [workflow_id for status, workflow_id in statuses(database).values() if status == "RUNNING"]
        found = await running_on(client, running, worker.identity)
        if found:
            return found
        assert running and time.monotonic() < deadline, f"{worker.name} never ran a step ({len(running)} running):\n{worker.output()}"
        await asyncio.sleep(0.05)


async def wait_finished(database: Database, parts: list[Part], timeout: float = RUN_SECONDS) -> dict[str, tuple[str, str]]:
    deadline = time.monotonic() + timeout
    while True:
        rows = statuses(database)
        if len(rows) == REQUESTS and all(status in {"SUCCEEDED", "FAILED", "COMPENSATED", "CANCELLED"} for status, _ in rows.values()):
            return rows
        if time.monotonic() > deadline:
            logs = "\n".join(f"--- {p.name}\n{p.output()[-3000:]}" for p in parts)
            raise AssertionError(f"not finished after {timeout:.0f} s: {Counter(s for s, _ in rows.values())}\n{logs}")
        await asyncio.sleep(0.5)


def failures(database: Database, rows: dict[str, tuple[str, str]]) -> list[tuple[str, str, int, str | None]]:
    """The failed steps of the runs that did not succeed: name, attempts and error."""
    failed = [environment_id for environment_id, (status, _) in rows.items() if status != "SUCCEEDED"]
    with database.transaction() as session:
        query = select(StepRow.environment_id, StepRow.name, StepRow.attempts, StepRow.error).where(
            StepRow.environment_id.in_(failed), StepRow.error.is_not(None)
        )
        return [tuple(row) for row in session.execute(query)]  # type: ignore[misc]


async def scenario(topology: Topology, urls: list[str], token: str, general: list[Part], terraform: Part) -> None:
    database = Database(topology.database_url)
    client = await Client.connect(topology.temporal_address)
    try:
        submitted = time.monotonic()
        ids = await asyncio.to_thread(submit_all, urls, token)
        assert len(set(ids)) == REQUESTS

        await catch_running(client, database, general[0])
        general[0].kill()  # SIGKILL, mid-run
        # what it ran at the kill: still started on its identity, as Temporal waits for the heartbeat or the timeout
        killed_was_running = await running_on(client, [w for s, w in statuses(database).values() if s == "RUNNING"], general[0].identity)
        assert killed_was_running, "the SIGKILL landed between steps: nothing to take over"
        replacement = await asyncio.to_thread(topology.start_worker, "general-3", "roadbed")

        drained_was_running = await catch_running(client, database, general[1])
        general[1].process.terminate()  # SIGTERM to its pid, as a service manager's stop sends it
        exit_code = await asyncio.to_thread(general[1].process.wait, 30)
        assert exit_code == 0, general[1].output()

        rows = await wait_finished(database, [*general, replacement, terraform])
        print(f"topology: {REQUESTS} provisions finished {time.monotonic() - submitted:.1f} s after the first was submitted")
        assert Counter(status for status, _ in rows.values()) == {"SUCCEEDED": REQUESTS}, failures(database, rows)
        assert replacement.alive() and terraform.alive()

        # the drain: every step the SIGTERMed worker ran at the signal completed there, on the attempt it had
        for activity in drained_was_running:
            end = await activity_end(client, activity.workflow_id, activity.activity_id)
            assert (end.identity, end.attempt, end.completed) == (general[1].identity, activity.attempt, True), activity
        # the kill: what the SIGKILLed worker ran was finished by another worker, on a later attempt
        for activity in killed_was_running:
            end = await activity_end(client, activity.workflow_id, activity.activity_id)
            assert end.completed and end.identity != general[0].identity and end.attempt > activity.attempt, (activity, end)

        with database.transaction() as session:
            steps = session.execute(select(StepRow.environment_id, StepRow.name, StepRow.status, StepRow.attempts)).all()
        workflow_of = {workflow_id: environment_id for environment_id, (_, workflow_id) in rows.items()}
        drained_steps = {(workflow_of[a.workflow_id], a.activity_type.removeprefix("provision.")) for a in drained_was_running}
        for environment_id, name, status, attempts in steps:
            assert status == "succeeded", (environment_id, name, status)
            if (environment_id, name) in drained_steps:
                assert attempts == 1 or attempts == next(a.attempt for a in drained_was_running if workflow_of[a.workflow_id] == environment_id)
        assert len(steps) == REQUESTS * 6
    finally:
        database.dispose()


def test_two_apis_and_three_workers_provision_every_request_once_through_a_kill_and_a_drain(topology: Topology) -> None:
    topology.start_temporal()
    topology.migrate()
    _, first_url = topology.start_api("api-1")
    _, second_url = topology.start_api("api-2")  # after the first: it reuses the admin token the first created
    general = [topology.start_worker(f"general-{n}", "roadbed") for n in (1, 2)]
    terraform = topology.start_worker("terraform", "roadbed-terraform")
    token = (topology.home / "admin-token").read_text().strip()

    asyncio.run(scenario(topology, [first_url, second_url], token, general, terraform))

    # exactly once, counted on every side effect
    database = Database(topology.database_url)
    try:
        with database.transaction() as session:
            rows = session.execute(select(EnvironmentRow.id, EnvironmentRow.service)).all()
            components = session.scalars(select(CatalogEntityRow.name).where(CatalogEntityRow.kind == "component")).all()
    finally:
        database.dispose()
    services = sorted(f"topo-{n:03d}" for n in range(REQUESTS))
    assert sorted(service for _, service in rows) == services
    assert sorted(components) == services
    entries = list((topology.home / "git" / "repos").iterdir())
    repositories = sorted(p.name.removesuffix(".git") for p in entries if p.name.endswith(".git"))  # as LocalGitRepoHost lists them
    assert repositories == sorted([*services, "gitops"])  # and the shared GitOps repository of the kubernetes step
    # besides them only the staging directories of repository steps the SIGKILL cut short before their atomic rename
    assert all(p.name.startswith(".topo-") for p in entries if not p.name.endswith(".git")), entries
    with_resource = {environment_id for environment_id, service in rows if int(service.removeprefix("topo-")) % 2 == 0}
    workspaces = {p.name for p in (topology.home / "terraform").iterdir() if (p / "terraform.tfstate").exists()}
    assert workspaces == with_resource
    for workspace in workspaces:
        state = json.loads((topology.home / "terraform" / workspace / "terraform.tfstate").read_text())
        assert [r["module"] for r in state["resources"]] == ["module.postgres_main"]
