"""A service whose repository the repository step made, without Temporal: its claim, its environment row (with
the accepted request, as the API stores it) and the step itself, as the worker runs it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from temporalio.testing import ActivityEnvironment

from roadbed.activities.contracts import StepInput
from roadbed.activities.provisioning import ProvisioningActivities
from roadbed.domain.models import EnvironmentOutputs, EnvironmentRequest, EnvironmentStatus, ProvisionInput
from roadbed.settings import Settings
from roadbed.storage import environments, services
from roadbed.storage.database import Database
from roadbed.worker import build_ports

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def provision_repository(
    settings: Settings, database: Database, service: str, version: str, *, team: str = "payments", parameters: dict[str, Any] | None = None,
) -> ProvisionInput:
    request = EnvironmentRequest(service=service, team=team, golden_path="svc", environment="dev", parameters=parameters or {"greeting": "hi"})
    accepted = ProvisionInput(environment_id=f"env-{service}", request=request, golden_path_version=version, requested_at=T0)
    with database.transaction() as session:
        services.claim(session, service, team, T0)
        environments.insert_environment(session, accepted, f"provision/{service}/{accepted.environment_id}", EnvironmentStatus.RUNNING)
    step = StepInput(provision=accepted, outputs=EnvironmentOutputs())
    result = ActivityEnvironment().run(ProvisioningActivities(build_ports(settings, database)).repository, step)
    with database.transaction() as session:
        row = environments.get_environment(session, accepted.environment_id)
        row.outputs = result.outputs.model_dump(mode="json")
    return accepted
