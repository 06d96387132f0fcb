"""Response bodies of the operations that assemble their answer from reports, events and stored documents.

They exist so that `/openapi.json` describes every answer (tests/api/test_openapi.py). The handlers build
plain dicts (the metrics modules stay free of the API); these models validate and serialise them. Numbers
that may be whole or fractional are `int | float` so that a whole number is never rewritten as `3.0`, and every
model keeps keys it does not name (`extra="allow"`): a report that grows a field shows it before its model does.
Models with keys that are absent from some answers are served with `response_model_exclude_unset=True`, so no
`null` appears where the key used to be missing.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from roadbed.domain.specs import KubernetesDefaults, SloTarget

Number = int | float


class Open(BaseModel):
    model_config = ConfigDict(extra="allow")


# -- health


class Health(BaseModel):
    status: str = Field(description="`ok` while the process runs")


class Readiness(BaseModel):
    status: str = Field(description="`ready` (200) or `not ready` (503)")
    checks: dict[str, str] = Field(description="per dependency (`database`, `temporal`): `ok` or `unreachable: <error type>`")


# -- deployments through the platform


class DeploymentStarted(BaseModel):
    id: str
    service: str
    environment: str
    version: str
    status: str = Field(description="`RUNNING`")


class DeploymentState(Open):
    """A running deployment (`status` RUNNING with its `phase`) or its result (success, rolled_back, failure)."""

    id: str
    service: str
    environment: str
    workflow_id: str
    status: str
    phase: str | None = Field(default=None, description="while RUNNING: rolling out, rolling back")
    deployment_id: str | None = None
    version: str | None = None
    running_version: str | None = None
    error: dict[str, Any] | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None


# -- golden paths


class GoldenPathSummary(Open):
    name: str
    title: str
    description: str
    version: str
    tags: list[str]
    type: str | None
    resource_types: list[str]
    valid: bool = Field(description="false when the template uses something Roadbed cannot run; see `problems`")
    problems: list[str]
    unsupported_actions: list[str] = Field(description="the template's step actions Roadbed cannot run, by name (sorted, each once); empty when all are supported")
    action: bool = Field(default=False, description="an action on an existing service (publishes a pull/merge request): POST /v1/services/{service}/actions")


class GoldenPathStep(BaseModel):
    id: str | None
    name: str | None
    action: str


class GoldenPathDetail(GoldenPathSummary):
    parameters: dict[str, Any] = Field(description="the JSON Schema a request's `parameters` must satisfy")
    pages: list[dict[str, Any]] = Field(description="the template's parameter pages, `ui:*` keys kept for portals")
    kubernetes: KubernetesDefaults
    slo: SloTarget
    steps: list[GoldenPathStep]


# -- catalog


class RegisteredEntities(BaseModel):
    refs: list[str] = Field(description="refs of the stored entities, e.g. `component:default/orders`")


class CatalogEntity(Open):
    """A Backstage entity as stored (its descriptor); keys beyond these are kept as they were registered."""

    apiVersion: str | None = None  # noqa: N815 - the descriptor's own key
    kind: str | None = None
    metadata: dict[str, Any] | None = None
    spec: dict[str, Any] | None = None
    relations: list[dict[str, Any]] | None = Field(default=None, description="only on one entity: its relations, both directions")


# -- audit


class AuditEntry(BaseModel):
    at: str = Field(description="ISO 8601 time of the request")
    request_id: str
    actor: str | None = Field(description="the token id, none for anonymous calls")
    role: str | None
    method: str
    path: str
    status: int
    outcome: str


# -- events and webhooks


class DeploymentEventView(Open):
    id: str
    service: str
    environment: str
    team: str | None
    version: str | None
    commit_sha: str
    commit_time: datetime | None
    deployed_at: datetime
    status: str = Field(description="success, failure or rolled_back")
    source: str
    outcome: str = Field(description="created, updated or unchanged")


class IncidentEventView(Open):
    id: str
    service: str
    environment: str | None
    title: str | None
    opened_at: datetime
    resolved_at: datetime | None
    caused_by_deployment: str | None
    source: str
    outcome: str = Field(description="created, updated or unchanged")


class WebhookResult(Open):
    source: str
    deployments: list[DeploymentEventView]
    incidents: list[IncidentEventView]
    ignored: list[str] = Field(description="what the delivery carried that is not a deployment or incident, with why")


# -- reports


class Percentiles(Open):
    count: int
    sum_seconds: Number = Field(description="all the durations added up (a Prometheus summary's `_sum`; the mean is sum / count)")
    p50_seconds: Number | None
    p90_seconds: Number | None
    p99_seconds: Number | None


class TimeToEnvironmentGroup(Percentiles):
    failed: int
    approval_wait: Percentiles
    total: Percentiles


class TimeToEnvironment(TimeToEnvironmentGroup):
    measures: str
    window_days: int
    by_golden_path: dict[str, TimeToEnvironmentGroup]
    by_environment: dict[str, TimeToEnvironmentGroup]


class DoraReport(Open):
    """Each metric block carries its value (or median), its `tier` and the counts it was computed from."""

    deployment_frequency: dict[str, Any]
    lead_time_for_changes: dict[str, Any]
    change_failure_rate: dict[str, Any]
    time_to_restore: dict[str, Any]
    failed_deployment_recovery_time: dict[str, Any]
    deployment_rework_rate: dict[str, Any]
    overall_tier: str | None
    window: dict[str, Any]
    by_service: dict[str, Any] | None = Field(default=None, description="with `by_service=true`: one report per service")


class DoraProfiles(Open):
    active: str
    profiles: list[dict[str, Any]]


class AdoptionReport(Open):
    services: int
    on_golden_path: int
    ratio: Number | None
    by_golden_path: dict[str, Any]
    outdated_template_version: int
    outdated_services: list[Any]
    unknown_golden_path: int
    unknown_version: int
    team: str | None


class ScorecardsReport(Open):
    services: list[dict[str, Any]]
    average: Number | None
    by_team: dict[str, Number | None]
    definitions: list[dict[str, Any]]


class SloReport(Open):
    window_days: int
    generated_at: str
    slos: list[dict[str, Any]]
