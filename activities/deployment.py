"""Deployment activities: roll a version out (or back) through the Kubernetes port, and record it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from temporalio import activity
from temporalio.exceptions import ApplicationError

from roadbed.activities.base import Heartbeater, StepActivities
from roadbed.activities.contracts import DEPLOY_RECORD, DEPLOY_ROLLOUT, DeploymentRecord, RolloutInput
from roadbed.activities.provisioning import workload_spec
from roadbed.domain.errors import PermanentError
from roadbed.rendering.manifests import render_manifests
from roadbed.storage import environments, events


class DeploymentActivities(StepActivities):
    @activity.defn(name=DEPLOY_ROLLOUT)
    def rollout(self, data: RolloutInput) -> str:
        """Make the environment run `data.version` and wait for the rollout (cluster) or commit it (GitOps)."""
        spec = workload_spec(self, data.deploy.provision, data.deploy.outputs, version=data.version)
        try:
            with Heartbeater().running():
                if data.version == data.deploy.version:  # rehearse a bad rollout with the `kubernetes` failpoint; rollbacks are spared
                    self.ports.failpoints.trigger("kubernetes", activity.info().attempt, hang_for=30)
                return self.ports.kubernetes.deploy(spec, render_manifests(spec))
        except Exception as exc:
            raise ApplicationError(str(exc), type=type(exc).__name__, non_retryable=isinstance(exc, PermanentError)) from exc

    @activity.defn(name=DEPLOY_RECORD)
    def record(self, data: DeploymentRecord) -> None:
        """Store the deployment as a DORA input (idempotent on its id) and the version now running."""
        deploy, result = data.deploy, data.result
        request = deploy.provision.request
        with self.ports.database.transaction() as session:
            events.record_deployment(
                session,
                events.DeploymentEvent(
                    service=request.service, environment=request.environment, commit_sha=deploy.commit_sha, deployed_at=result.finished_at,
                    status=result.status, source="roadbed", key=deploy.deployment_id, commit_time=deploy.commit_time,
                    started_at=result.started_at, team=request.team, version=deploy.version,
                ),
                result.finished_at,
            )
            row = environments.get_environment(session, deploy.provision.environment_id)
            row.outputs = {**(row.outputs or {}), "deployed_version": result.running_version}
            session.flush()

    def all(self) -> list[Callable[..., Any]]:
        return [self.rollout, self.record]
