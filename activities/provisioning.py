"""The provisioning activities: one per step, each a thin layer over rendering and a port.

Every step records its own progress (running, attempt number, finished, detail) in the engine
database, because only the activity knows which attempt it is; the workflow records the outcome.
Errors leave here as Temporal `ApplicationError`s: `PermanentError` → non-retryable, anything
else → retried under the step's policy.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.contracts import RECORD_OUTCOME, STEP_ACTIVITIES, OutcomeInput, StepInput, StepResult
from roadbed.domain.errors import PermanentError
from roadbed.domain.models import (
    EnvironmentOutputs,
    ProvisionInput,
    ResourceOutputs,
    StepName,
    StepProgress,
    StepStatus,
)
from roadbed.domain.naming import namespace_for
from roadbed.failpoints import Failpoints
from roadbed.golden_paths import GoldenPath, GoldenPathRegistry
from roadbed.ports import CatalogRegistry, InfrastructureRunner, KubernetesDeployer, MonitoringPublisher, RepoHost, RepositoryMarker
from roadbed.rendering.catalog_entities import ServiceDescription, render_entities
from roadbed.rendering.manifests import WorkloadSpec, render_manifests
from roadbed.rendering.monitoring import MonitoringSpec, render_monitoring
from roadbed.rendering.skeleton import render_output_links, render_repository
from roadbed.rendering.terraform import module_key, render_root_module
from roadbed.storage import environments
from roadbed.storage.database import Database
from roadbed.validation import RequestValidator, apply_parameter_defaults


@dataclass(frozen=True)
class ProvisioningPorts:
    """Everything the provisioning steps talk to, injected by `roadbed.wiring`."""

    database: Database
    golden_paths: GoldenPathRegistry
    validator: RequestValidator
    repo_host: RepoHost
    infrastructure: InfrastructureRunner
    kubernetes: KubernetesDeployer
    monitoring: MonitoringPublisher
    catalog: CatalogRegistry
    terraform_modules_dir: Path
    failpoints: Failpoints = field(default_factory=Failpoints)
    image_registry: str = "registry.local"


def _now() -> datetime:
    return datetime.now(UTC)


def template_parameters(provision: ProvisionInput, golden_path: GoldenPath, repo_host_name: str = "localhost") -> dict[str, Any]:
    """The parameters a template sees: the request's, its defaults, and the values Roadbed owns."""
    request = provision.request
    return apply_parameter_defaults(golden_path.parameters, request.parameters) | {
        "name": request.service,
        "owner": request.team,
        "environment": request.environment,
        "repoUrl": f"{repo_host_name}?owner={request.team}&repo={request.service}",
    }


def _heartbeat(detail: str) -> None:
    activity.heartbeat(detail)


def _timeout_seconds() -> float:
    timeout = activity.info().start_to_close_timeout
    return timeout.total_seconds() if timeout else 60.0


def _cancelled() -> bool:
    """Heartbeat-less check used by a hanging failpoint: it must time out, so it does not heartbeat."""
    return activity.is_cancelled() or activity.is_worker_shutdown()


class ProvisioningActivities:
    def __init__(self, ports: ProvisioningPorts) -> None:
        self.ports = ports

    # -- bookkeeping shared by every step
    def _record(self, environment_id: str, progress: StepProgress) -> None:
        with self.ports.database.transaction() as session:
            environments.record_step(session, environment_id, progress)

    def _tracked(self, step: StepName, data: StepInput, work: Callable[[EnvironmentOutputs], tuple[EnvironmentOutputs, str]]) -> StepResult:
        attempt = activity.info().attempt
        env_id = data.provision.environment_id
        started = _now()
        self._record(env_id, StepProgress(name=step, status=StepStatus.RUNNING, attempts=attempt, started_at=started, detail=f"attempt {attempt}"))
        try:
            self.ports.failpoints.trigger(step.value, attempt, hang_for=_timeout_seconds(), heartbeat=_cancelled)
            outputs, detail = work(data.outputs.model_copy(deep=True))
        except Exception as exc:
            permanent = isinstance(exc, PermanentError)
            status = StepStatus.FAILED if permanent else StepStatus.RUNNING
            note = f"attempt {attempt} failed: {exc}" + ("" if permanent else " (retrying)")
            self._record(env_id, StepProgress(name=step, status=status, attempts=attempt, started_at=started, detail=note))
            raise ApplicationError(str(exc), type=type(exc).__name__, non_retryable=permanent) from exc
        self._record(env_id, StepProgress(name=step, status=StepStatus.SUCCEEDED, attempts=attempt, started_at=started, finished_at=_now(), detail=detail))
        return StepResult(step=step, attempt=attempt, detail=detail, outputs=outputs)

    # -- the six steps
    @activity.defn(name=STEP_ACTIVITIES[StepName.VALIDATE])
    def validate(self, data: StepInput) -> StepResult:
        def work(outputs: EnvironmentOutputs) -> tuple[EnvironmentOutputs, str]:
            request, golden_path = self.ports.validator.validate(data.provision.request.model_dump(exclude_none=True))
            return outputs, f"golden path {golden_path.name}@{golden_path.version}, {len(request.resources)} resource(s)"

        return self._tracked(StepName.VALIDATE, data, work)

    @activity.defn(name=STEP_ACTIVITIES[StepName.REPOSITORY])
    def repository(self, data: StepInput) -> StepResult:
        def work(outputs: EnvironmentOutputs) -> tuple[EnvironmentOutputs, str]:
            request = data.provision.request
            golden_path = self.ports.golden_paths.get(request.golden_path)
            parameters = template_parameters(data.provision, golden_path)
            files = render_repository(golden_path, parameters)
            marker = RepositoryMarker(service=request.service, team=request.team, golden_path=golden_path.name, golden_path_version=data.provision.golden_path_version)
            ref = self.ports.repo_host.ensure_repository(request.service, marker, files, f"Create {request.service} from {golden_path.name}@{golden_path.version}")
            outputs.repository_url = ref.url
            outputs.links = render_output_links(golden_path, parameters, {"remoteUrl": ref.url, "repoContentsUrl": f"{ref.url}#main"})
            verb = "created" if ref.created else "adopted"
            return outputs, f"{verb} {ref.url} ({len(files)} files, head {ref.head[:12]})"

        return self._tracked(StepName.REPOSITORY, data, work)

    @activity.defn(name=STEP_ACTIVITIES[StepName.INFRASTRUCTURE])
    def infrastructure(self, data: StepInput) -> StepResult:
        def work(outputs: EnvironmentOutputs) -> tuple[EnvironmentOutputs, str]:
            request = data.provision.request
            if not request.resources:
                return outputs, "no resources requested"
            root, values = render_root_module(
                list(request.resources), service=request.service, environment=request.environment, team=request.team, modules_dir=self.ports.terraform_modules_dir
            )
            applied = self.ports.infrastructure.apply(data.provision.environment_id, root, values, _heartbeat)
            outputs.resources = {
                r.name: ResourceOutputs(type=r.type, name=r.name, outputs=applied.get(module_key(r), {})) for r in request.resources
            }
            return outputs, f"applied {len(request.resources)} resource(s): " + ", ".join(f"{r.type}:{r.name}" for r in request.resources)

        return self._tracked(StepName.INFRASTRUCTURE, data, work)

    @activity.defn(name=STEP_ACTIVITIES[StepName.KUBERNETES])
    def kubernetes(self, data: StepInput) -> StepResult:
        def work(outputs: EnvironmentOutputs) -> tuple[EnvironmentOutputs, str]:
            spec = self._workload(data.provision, outputs)
            manifests = render_manifests(spec)
            outputs.gitops_path = self.ports.kubernetes.deploy(spec, manifests)
            outputs.kubernetes_namespace = spec.namespace
            return outputs, f"{len(manifests)} manifests for namespace {spec.namespace}"

        return self._tracked(StepName.KUBERNETES, data, work)

    @activity.defn(name=STEP_ACTIVITIES[StepName.MONITORING])
    def monitoring(self, data: StepInput) -> StepResult:
        def work(outputs: EnvironmentOutputs) -> tuple[EnvironmentOutputs, str]:
            request = data.provision.request
            golden_path = self.ports.golden_paths.get(request.golden_path)
            spec = MonitoringSpec(
                service=request.service, environment=request.environment, team=request.team,
                namespace=namespace_for(request.service, request.environment), slo=golden_path.roadbed.slo,
            )
            outputs.monitoring_files = self.ports.monitoring.publish(request.service, render_monitoring(spec))
            return outputs, f"SLO {golden_path.roadbed.slo.availability}% with burn-rate alerts, dashboard"

        return self._tracked(StepName.MONITORING, data, work)

    @activity.defn(name=STEP_ACTIVITIES[StepName.CATALOG])
    def catalog(self, data: StepInput) -> StepResult:
        def work(outputs: EnvironmentOutputs) -> tuple[EnvironmentOutputs, str]:
            request = data.provision.request
            golden_path = self.ports.golden_paths.get(request.golden_path)
            entities = render_entities(
                ServiceDescription(
                    service=request.service, team=request.team, environment=request.environment,
                    environment_id=data.provision.environment_id,
                    description=str(template_parameters(data.provision, golden_path).get("description") or golden_path.description),
                    golden_path=golden_path.name, golden_path_version=data.provision.golden_path_version,
                    component_type=golden_path.type or "service", repository_url=outputs.repository_url or "",
                    namespace=outputs.kubernetes_namespace or namespace_for(request.service, request.environment),
                    resources=outputs.resources,
                )
            )
            document = yaml.safe_dump_all(entities, sort_keys=False).encode()
            self.ports.repo_host.commit_files(request.service, {"catalog-info.yaml": document}, "Register in the software catalog")
            refs = self.ports.catalog.register(entities, data.provision.environment_id)
            outputs.catalog_ref = refs[0]
            return outputs, f"registered {len(refs)} entities"

        return self._tracked(StepName.CATALOG, data, work)

    # -- the always-run record step
    @activity.defn(name=RECORD_OUTCOME)
    def record(self, data: OutcomeInput) -> None:
        with self.ports.database.transaction() as session:
            if data.error and data.error.step:
                step = StepName(data.error.step)
                row = next(s for s in environments.steps_of(session, data.environment_id) if s.name == step.value)
                if row.status != StepStatus.SUCCEEDED.value:
                    environments.record_step(
                        session, data.environment_id,
                        StepProgress(name=step, status=StepStatus.FAILED, attempts=row.attempts, started_at=row.started_at,
                                     finished_at=data.finished_at, detail=f"{data.error.error_class}: {data.error.message}"),
                    )
            environments.record_status(
                session, data.environment_id, data.status,
                outputs=data.outputs.model_dump(mode="json"),
                error=data.error.model_dump(mode="json") if data.error else None,
                finished_at=data.finished_at,
            )

    def _workload(self, provision: ProvisionInput, outputs: EnvironmentOutputs) -> WorkloadSpec:
        request = provision.request
        golden_path = self.ports.golden_paths.get(request.golden_path)
        return WorkloadSpec(
            service=request.service, team=request.team, environment=request.environment,
            environment_id=provision.environment_id, namespace=namespace_for(request.service, request.environment),
            image=f"{self.ports.image_registry}/{request.service}:latest", golden_path=golden_path.name,
            golden_path_version=provision.golden_path_version, kubernetes=golden_path.roadbed.kubernetes,
            resources=outputs.resources,
        )

    def all(self) -> list[Callable[..., Any]]:
        return [self.validate, self.repository, self.infrastructure, self.kubernetes, self.monitoring, self.catalog, self.record]

