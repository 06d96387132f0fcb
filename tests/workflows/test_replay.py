"""Replay committed workflow histories against today's workflow code: any non-determinism fails CI.

A change to workflow code that would break these must be guarded with `workflow.patched`, so that
workflows in flight during an upgrade keep running (`record_histories.py` re-records them).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer

from roadbed.workflows.decommission import DecommissionEnvironmentWorkflow
from roadbed.workflows.deploy import DeployServiceWorkflow
from roadbed.workflows.provision import ProvisionEnvironmentWorkflow

HISTORIES = sorted((Path(__file__).resolve().parent / "histories").glob("*.json"))


def test_every_scenario_has_a_history() -> None:
    names = {p.stem for p in HISTORIES}
    assert {"provision_succeeded", "provision_compensated", "provision_approved", "provision_cancelled", "provision_retried", "decommission", "deploy"} <= names


@pytest.mark.asyncio(loop_scope="session")
@pytest.mark.parametrize("path", HISTORIES, ids=[p.stem for p in HISTORIES])
async def test_history_replays_deterministically(path: Path) -> None:
    history = WorkflowHistory.from_json(path.stem, path.read_text())
    replayer = Replayer(workflows=[ProvisionEnvironmentWorkflow, DecommissionEnvironmentWorkflow, DeployServiceWorkflow], data_converter=pydantic_data_converter)
    result = await replayer.replay_workflow(history, raise_on_replay_failure=True)
    assert result.replay_failure is None
