"""Typed values that cross boundaries: requests, statuses, steps and outputs.

Every workflow, activity, query and API body is one of these pydantic models, so the
pydantic data converter can carry them through Temporal history unchanged.

Payloads ignore fields they do not know: during a rolling upgrade an older worker may decode what
a newer release wrote (and a replay decodes old histories), so adding a field must never make an
in-flight workflow fail to decode. Only the API request body, `EnvironmentRequest`, forbids unknown
fields — a typo there is the user's to hear about (422); where it travels inside a payload
(`ProvisionInput.request`), its unknown fields are dropped before it is validated.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field


class EnvironmentName(StrEnum):
    DEV = "dev"
    STAGING = "staging"
    PROD = "prod"


class EnvironmentStatus(StrEnum):
    PENDING_APPROVAL = "PENDING_APPROVAL"
    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    COMPENSATING = "COMPENSATING"
    COMPENSATED = "COMPENSATED"
    CANCELLED = "CANCELLED"
    DECOMMISSIONED = "DECOMMISSIONED"

    @property
    def is_live(self) -> bool:
        """A live environment holds its service+environment slot: a second request is a 409."""
        return self in LIVE_STATUSES



class Role(StrEnum):
    """What a token may do: developers act for their teams, platform-admins for all, viewers only read, and a deployer
    (a generated pipeline's token) only deploys its one service."""

    DEVELOPER = "developer"
    PLATFORM_ADMIN = "platform-admin"
    VIEWER = "viewer"
    DEPLOYER = "deployer"


class DeploymentStatus(StrEnum):
    """How a deployment ended (a DORA input): rolled out, rolled back after a failed rollout, or failed outright."""

    SUCCESS = "success"
    FAILURE = "failure"
    ROLLED_BACK = "rolled_back"


#: Deployments that count as failed changes.
FAILED_DEPLOYMENT_STATUSES = (DeploymentStatus.FAILURE, DeploymentStatus.ROLLED_BACK)


LIVE_STATUSES = frozenset(
    {
        EnvironmentStatus.PENDING_APPROVAL,
        EnvironmentStatus.RUNNING,
        EnvironmentStatus.SUCCEEDED,
        EnvironmentStatus.COMPENSATING,
        EnvironmentStatus.FAILED,
    }
)


class StepName(StrEnum):
    VALIDATE = "validate"
    REPOSITORY = "repository"
    INFRASTRUCTURE = "infrastructure"
    KUBERNETES = "kubernetes"
    MONITORING = "monitoring"
    CATALOG = "catalog"


STEP_ORDER: tuple[StepName, ...] = tuple(StepName)


class StepStatus(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    COMPENSATING = "compensating"
    COMPENSATED = "compensated"


class Frozen(BaseModel):
    """Base of the immutable payloads: fields a later release adds are ignored (see the module docstring)."""

    model_config = ConfigDict(frozen=True, extra="ignore")


class ResourceRequest(Frozen):
    """One piece of infrastructure a service asks for, e.g. `postgres:main`.

    Extra settings (e.g. `storage_gb`) are passed to the Terraform module as variables; the module's
    own `validation {}` blocks are the judge of their values.
    """

    model_config = ConfigDict(frozen=True, extra="allow")

    type: str
    name: str

    def settings(self) -> dict[str, Any]:
        return dict(self.model_extra or {})


class EnvironmentRequest(Frozen):
    """What a developer asks for; the body of `POST /v1/environments` — strict: an unknown field is a 422."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    request_id: str | None = Field(default=None, max_length=128)
    service: str
    team: str
    golden_path: str
    environment: str
    parameters: dict[str, Any] = Field(default_factory=dict)
    resources: list[ResourceRequest] = Field(default_factory=list)
    # An ephemeral environment: decommissioned this long after it reached SUCCEEDED (a duration, see domain.expiry).
    ttl: str | int | None = None


def _known_request_fields(value: Any) -> Any:
    """The request as a payload: drop top-level fields this release does not know (a newer one may)."""
    if isinstance(value, dict):
        return {key: item for key, item in value.items() if key in EnvironmentRequest.model_fields}
    return value


class ProvisionInput(Frozen):
    """The input of `ProvisionEnvironmentWorkflow`: the accepted request plus its identity.

    The approval policy is decided at acceptance and carried here, so a running workflow never
    changes behaviour when settings change.
    """

    environment_id: str
    request: Annotated[EnvironmentRequest, BeforeValidator(_known_request_fields)]
    golden_path_version: str
    requested_at: datetime
    requires_approval: bool = False
    approval_timeout: timedelta = timedelta(hours=72)
    # The queue the Terraform steps run on (settings' `resolved_terraform_task_queue` at acceptance). None, as in runs
    # accepted before the queues were split: `<the workflow's task queue>-terraform` (workflows.queues).
    terraform_task_queue: str | None = None
    # The request's `ttl` as accepted (parsed, within the cap) and the warning lead time, both decided at acceptance.
    ttl_seconds: int | None = None
    ttl_warning_before: timedelta | None = None


class Approval(Frozen):
    """Who approved a production request (the `approve` update's input)."""

    approver: str
    comment: str | None = Field(default=None, max_length=500)


class CompensationRetry(Frozen):
    """Input of the `retry` update: re-run compensations that failed, after the cause was fixed."""

    requested_by: str


class StepProgress(BaseModel):
    name: StepName
    status: StepStatus = StepStatus.PENDING
    attempts: int = 0
    started_at: datetime | None = None
    finished_at: datetime | None = None
    detail: str | None = None
    #: a report of the step's undo: its times are the compensation's own, never the forward run's
    compensation: bool = False
    #: a forward run stopped by a cancel: reported `failed`, but not the step's own failure (its undo may mark it compensated)
    cancelled: bool = False


class ErrorInfo(Frozen):
    step: str | None
    error_class: str
    message: str


COMPENSABLE_STEPS: tuple[StepName, ...] = tuple(step for step in STEP_ORDER if step is not StepName.VALIDATE)


class ResourceOutputs(Frozen):
    type: str
    name: str
    outputs: dict[str, Any]


class EnvironmentOutputs(BaseModel):
    repository_url: str | None = None
    kubernetes_namespace: str | None = None
    resources: dict[str, ResourceOutputs] = Field(default_factory=dict)
    catalog_ref: str | None = None
    gitops_path: str | None = None
    monitoring_files: list[str] = Field(default_factory=list)
    links: list[dict[str, Any]] = Field(default_factory=list)


class DecommissionInput(Frozen):
    """The input of `DecommissionEnvironmentWorkflow`: what was provisioned, and whether to purge the repo."""

    provision: ProvisionInput
    outputs: EnvironmentOutputs
    purge: bool = False
    requested_by: str


class ProvisionProgress(BaseModel):
    """What the workflow's `progress` query answers: the live picture of one run."""

    environment_id: str
    status: EnvironmentStatus
    steps: list[StepProgress]
    outputs: EnvironmentOutputs = Field(default_factory=EnvironmentOutputs)
    error: ErrorInfo | None = None


class ProvisionResult(Frozen):
    environment_id: str
    status: EnvironmentStatus
    outputs: EnvironmentOutputs
    error: ErrorInfo | None = None


class DeployInput(Frozen):
    """The input of `DeployServiceWorkflow`: roll `version` of a provisioned environment out."""

    deployment_id: str
    provision: ProvisionInput
    outputs: EnvironmentOutputs
    version: str = Field(pattern=r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
    previous_version: str
    commit_sha: str = Field(pattern=r"^[0-9a-fA-F]{7,64}$")
    commit_time: datetime | None = None
    requested_at: datetime


class DeployResult(Frozen):
    deployment_id: str
    status: DeploymentStatus
    version: str
    running_version: str
    error: ErrorInfo | None = None
    started_at: datetime
    finished_at: datetime
