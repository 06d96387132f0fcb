"""Payloads survive a rolling upgrade: a field added by a newer release is ignored by older code.

Workflow inputs, activity inputs and results, update and query payloads are decoded by whichever
worker picks them up — during an upgrade that may be the older release, and in a replay it is the
newer one reading an old history. So payload models ignore unknown fields. The API boundary stays
strict: an unknown top-level field of a request body is a 422 naming it (RequestValidator).
"""

from __future__ import annotations

import inspect
from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import BaseModel
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter

from roadbed.activities import contracts
from roadbed.domain import models
from roadbed.domain.errors import InvalidRequest
from roadbed.domain.models import EnvironmentRequest, EnvironmentStatus, ProvisionInput, ProvisionResult, StepName
from roadbed.domain.naming import workflow_id_for
from roadbed.settings import Settings
from roadbed.storage import environments
from roadbed.storage.database import Database
from roadbed.submission import PROVISION_WORKFLOW, new_environment_id
from roadbed.worker import build_ports
from tests.workflows.test_provision import request_body

pytestmark = pytest.mark.asyncio(loop_scope="session")
LATER = {"added_in_a_later_release": {"anything": [1, 2]}}

STRICT = {EnvironmentRequest}  # the API request body: validated strictly at submission
OPEN = {models.ResourceRequest}  # extra settings are Terraform variables, kept on purpose


def payload_models() -> list[type[BaseModel]]:
    found = {
        cls
        for module in (models, contracts)
        for _name, cls in inspect.getmembers(module, inspect.isclass)
        if issubclass(cls, BaseModel) and cls.__module__ == module.__name__
    }
    return sorted(found - STRICT - OPEN - {models.Frozen}, key=lambda cls: cls.__name__)


@pytest.mark.parametrize("model", payload_models(), ids=lambda cls: cls.__name__)
async def test_every_payload_model_ignores_unknown_fields(model: type[BaseModel]) -> None:
    assert model.model_config.get("extra", "ignore") == "ignore", f"{model.__name__} must not forbid fields a later release adds"


def accepted_input() -> ProvisionInput:
    return ProvisionInput(
        environment_id=new_environment_id(),
        request=EnvironmentRequest.model_validate(request_body()),
        golden_path_version="1.0.0",
        requested_at=datetime.now(UTC),
    )


async def test_a_later_releases_payloads_decode() -> None:
    """The converter Temporal uses decodes a workflow input, an activity result and an update with extra fields."""
    accepted = accepted_input()
    raw: dict[str, Any] = accepted.model_dump(mode="json") | LATER
    raw["request"] = raw["request"] | LATER
    step_result = {"step": "validate", "attempt": 1, "detail": "ok", "outputs": {"repository_url": None} | LATER} | LATER
    approval = {"approver": "tok_admin", "comment": None} | LATER
    converter = pydantic_data_converter.payload_converter
    decoded = converter.from_payloads(converter.to_payloads([raw, step_result, approval]), [ProvisionInput, contracts.StepResult, models.Approval])
    assert decoded[0] == accepted
    assert decoded[1].step is StepName.VALIDATE and decoded[2].approver == "tok_admin"


async def test_a_workflow_started_with_a_later_releases_input_runs(worker: None, client: Client, database: Database, settings: Settings) -> None:
    """Started with a plain JSON object carrying unknown fields (top level and nested), it decodes and succeeds."""
    accepted = accepted_input()
    workflow_id = workflow_id_for("orders", "dev", accepted.environment_id)
    with database.transaction() as session:
        environments.insert_environment(session, accepted, workflow_id, EnvironmentStatus.RUNNING)
    raw: dict[str, Any] = accepted.model_dump(mode="json") | LATER
    raw["request"] = raw["request"] | LATER
    handle = await client.start_workflow(PROVISION_WORKFLOW, raw, id=workflow_id, task_queue=settings.task_queue)
    result = await handle.result()
    assert ProvisionResult.model_validate(result).status == "SUCCEEDED"


async def test_the_api_boundary_still_rejects_unknown_fields(settings: Settings, database: Database) -> None:
    validator = build_ports(settings, database).validator
    with pytest.raises(InvalidRequest) as raised:
        validator.validate(request_body() | {"colour": "blue"})
    assert [error.field for error in raised.value.errors] == ["colour"]
