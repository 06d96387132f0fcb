"""Record the workflow histories that `test_replay.py` replays (run by hand, commit the output).

Re-record only when a workflow change is *meant* to break replay of old runs — otherwise guard the
change with `workflow.patched(...)` so running workflows survive the upgrade, and keep these files.

    python -m tests.workflows.record_histories
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from pathlib import Path

from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from roadbed.deployments import Deployments
from roadbed.devserver import DYNAMIC_CONFIG
from roadbed.domain.models import Approval, CompensationRetry
from roadbed.lifecycle import EnvironmentLifecycle
from roadbed.settings import load_settings
from roadbed.storage import environments
from roadbed.storage.database import Database
from roadbed.submission import EnvironmentSubmitter
from roadbed.temporal import SEARCH_ATTRIBUTES
from roadbed.worker import activity_executor, build_ports, build_worker

HISTORIES = Path(__file__).resolve().parent / "histories"


def _body(service: str, environment: str = "dev") -> dict[str, object]:
    return {"service": service, "team": "payments", "golden_path": "python-service", "environment": environment,
            "resources": [{"type": "postgres", "name": "main"}]}


async def main() -> None:
    extra = [arg for value in DYNAMIC_CONFIG for arg in ("--dynamic-config-value", value)]
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=shutil.which("temporal"), data_converter=pydantic_data_converter,
        search_attributes=list(SEARCH_ATTRIBUTES), dev_server_extra_args=extra,
    )
    with tempfile.TemporaryDirectory() as tmp:
        settings = load_settings(home=Path(tmp), task_queue="record")
        database = Database(settings.resolved_database_url)
        database.migrate()
        lifecycle = EnvironmentLifecycle(database, env.client, settings.task_queue)
        recorded: dict[str, str] = {}

        async def run(failpoints: str, scenario):  # type: ignore[no-untyped-def]
            armed = settings.model_copy(update={"failpoints": failpoints})
            executor = activity_executor()
            async with build_worker(env.client, armed, build_ports(armed, database), executor):
                submitter = EnvironmentSubmitter(database, env.client, build_ports(armed, database).validator, armed)
                await scenario(submitter)
            executor.shutdown()

        def row(environment_id: str):  # type: ignore[no-untyped-def]
            with database.transaction() as session:
                return environments.get_environment(session, environment_id)

        async def succeeded(submitter: EnvironmentSubmitter) -> None:
            accepted, _ = await submitter.submit(_body("replay-ok"))
            await env.client.get_workflow_handle(accepted.workflow_id).result()
            recorded["provision_succeeded"] = accepted.workflow_id
            deployments = Deployments(database, env.client, settings.task_queue)
            deployment_id = await deployments.start(row(accepted.id), "1.1.0", "a1b2c3d", None)
            await env.client.get_workflow_handle(f"deploy/replay-ok/dev/{deployment_id}").result()
            recorded["deploy"] = f"deploy/replay-ok/dev/{deployment_id}"
            workflow_id = await lifecycle.decommission(row(accepted.id), requested_by="recorder", purge=False)
            await env.client.get_workflow_handle(workflow_id).result()
            recorded["decommission"] = workflow_id

        async def compensated(submitter: EnvironmentSubmitter) -> None:
            accepted, _ = await submitter.submit(_body("replay-fail"))
            await env.client.get_workflow_handle(accepted.workflow_id).result()
            recorded["provision_compensated"] = accepted.workflow_id

        async def approved(submitter: EnvironmentSubmitter) -> None:
            accepted, _ = await submitter.submit(_body("replay-prod", "prod"))
            await env.client.get_workflow_handle(accepted.workflow_id).execute_update("approve", Approval(approver="recorder"))
            await env.client.get_workflow_handle(accepted.workflow_id).result()
            recorded["provision_approved"] = accepted.workflow_id
            cancelled, _ = await submitter.submit(_body("replay-cancel", "prod"))
            await env.client.get_workflow_handle(cancelled.workflow_id).cancel()
            await env.client.get_workflow_handle(cancelled.workflow_id).result()
            recorded["provision_cancelled"] = cancelled.workflow_id

        async def stuck(submitter: EnvironmentSubmitter) -> None:
            accepted, _ = await submitter.submit(_body("replay-stuck"))
            while row(accepted.id).status != "FAILED":
                await asyncio.sleep(0.1)
            recorded["provision_retried"] = accepted.workflow_id

        await run("", succeeded)
        await run("catalog:permanent", compensated)
        await run("", approved)
        await run("catalog:permanent,repository.compensate:permanent", stuck)

        async def retried(submitter: EnvironmentSubmitter) -> None:
            handle = env.client.get_workflow_handle(recorded["provision_retried"])
            await handle.execute_update("retry", CompensationRetry(requested_by="recorder"))
            await handle.result()

        await run("", retried)
        HISTORIES.mkdir(exist_ok=True)
        for name, workflow_id in recorded.items():
            history = await env.client.get_workflow_handle(workflow_id).fetch_history()
            (HISTORIES / f"{name}.json").write_text(history.to_json())
            print(f"recorded {name}: {workflow_id}")
        database.dispose()
    await env.shutdown()


if __name__ == "__main__":
    asyncio.run(main())
