"""Specs the golden paths, the ports and the renderers share: what a service promises and what it runs.

They live in the domain so that nothing points back up: golden paths and ports read them, the renderers
(`roadbed.rendering`) turn them into files, and neither side imports the other (an import-linter contract
in pyproject.toml keeps it so). Plain pydantic data; like all of `roadbed.domain`, nothing of Roadbed's
outside the domain is imported here.
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, AliasChoices, BaseModel, ConfigDict, Field, model_validator

from roadbed.domain.models import ResourceOutputs
from roadbed.domain.naming import dns_label_problem

SLO_WINDOW_DAYS_MIN = 7
SLO_WINDOW_DAYS_MAX = 90

# A small public HTTP server answering 200 on every path at $PORT (Google's GKE quickstart "hello-app").
DEFAULT_BOOTSTRAP_IMAGE = "us-docker.pkg.dev/google-samples/containers/gke/hello-app:1.0"


def _dns_label(value: str) -> str:
    problem = dns_label_problem(value)
    if problem is not None:
        raise ValueError(problem)
    return value


#: A value that ends up in PromQL label matchers, YAML and file paths: the DNS-label rule keeps all three
#: safe without any escaping of our own (quotes, braces, slashes and newlines are impossible).
DnsLabel = Annotated[str, AfterValidator(_dns_label)]


class SloTarget(BaseModel):
    """What the service promises: an availability objective and optionally a p99 latency bound.

    The objective must leave a budget (below 100 %) and be a realistic service objective (>= 90 %):
    burn-rate factors above 1/budget would make the page thresholds exceed an error ratio of 1.

    With `sli: jobs` the objective is the share of processed jobs that do not fail; there is no latency
    bound (`latency_p99_ms` is dropped from the default and refused when given), and
    `max_job_age_seconds` optionally bounds the age of the last successful job.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    sli: Literal["http", "jobs"] = Field(default="http", description="http: request success; jobs: job success.")
    availability: float = Field(default=99.9, ge=90, lt=100, allow_inf_nan=False, description="Percent of good requests (or jobs).")
    latency_p99_ms: int | None = Field(default=300, gt=0, description="p99 latency bound in ms; None = no latency SLO.")
    window_days: int = Field(default=30, ge=SLO_WINDOW_DAYS_MIN, le=SLO_WINDOW_DAYS_MAX, description="SLO period.")
    max_job_age_seconds: int | None = Field(
        default=None, gt=0, description="jobs only: alert when the last successful job is older than this; None = no alert."
    )

    @model_validator(mode="before")
    @classmethod
    def _fields_of_the_sli(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        if data.get("sli") == "jobs":
            if data.get("latency_p99_ms") is not None:
                raise ValueError("latency_p99_ms applies to sli 'http' only; a jobs SLO has no latency bound")
            return {**data, "latency_p99_ms": None}
        if data.get("max_job_age_seconds") is not None:
            raise ValueError("max_job_age_seconds applies to sli 'jobs' only")
        return data


class MonitoringSpec(BaseModel):
    """Everything the renderer needs about one service environment."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    service: DnsLabel
    environment: DnsLabel
    team: DnsLabel
    namespace: DnsLabel
    slo: SloTarget = SloTarget()


class KubernetesDefaults(BaseModel):
    model_config = ConfigDict(extra="forbid")

    workload: Literal["service", "worker"] = "service"
    port: int = Field(default=8000, ge=1, le=65535)
    replicas: int = Field(default=1, ge=0, le=50)
    cpu: str = "100m"
    memory: str = "256Mi"
    health_path: str = "/healthz"
    # What the first deploy runs: the service's own image does not exist until its CI publishes one, and a
    # cluster rollout of a missing image never becomes available. Must answer `health_path` with 200 on
    # `port` (the workload gets it as $PORT), run as a non-root user and write nothing to its root filesystem.
    bootstrap_image: str = Field(
        default=DEFAULT_BOOTSTRAP_IMAGE, min_length=1, pattern=r"^\S+$", validation_alias=AliasChoices("bootstrap_image", "bootstrapImage")
    )


class WorkloadSpec(BaseModel):
    model_config = ConfigDict(frozen=True)

    service: str
    team: str
    environment: str
    environment_id: str
    namespace: str
    image: str
    golden_path: str
    golden_path_version: str
    kubernetes: KubernetesDefaults
    resources: dict[str, ResourceOutputs]


class RepositoryMarker(BaseModel):
    """Written into every repository Roadbed creates, so a retry can tell its own repo from a stranger's.

    It records the owning team and the environments provisioned from the repository. Adoption needs the
    marker *and* the same owner (or an owner the service was transferred from): a repository of another team,
    or without Roadbed's marker, is never written to, archived or deleted. Unknown fields are ignored so a
    marker written by a newer Roadbed still reads.
    """

    model_config = ConfigDict(frozen=True, extra="ignore")

    managed_by: str = "roadbed"
    service: str
    team: str
    golden_path: str
    golden_path_version: str
    environments: tuple[str, ...] = ()

    def adopts(self, existing: RepositoryMarker | None, former_teams: frozenset[str] = frozenset()) -> bool:
        """May a request carrying this marker adopt a repository carrying `existing`?"""
        return (
            existing is not None
            and existing.managed_by == "roadbed"
            and existing.service == self.service
            and existing.team in {self.team, *former_teams}
        )

    def merged_into(self, existing: RepositoryMarker) -> RepositoryMarker:
        """The marker after adoption: this owner, and every environment either marker lists."""
        return existing.model_copy(update={"team": self.team, "environments": tuple(sorted({*existing.environments, *self.environments}))})

    def to_bytes(self) -> bytes:
        return (json.dumps(self.model_dump(mode="json"), indent=2, sort_keys=True) + "\n").encode()


class TemplateStep(BaseModel):
    """One step of a golden path's Backstage template (`spec.steps[]`); what the skeleton renderer reads."""

    model_config = ConfigDict(extra="allow")

    id: str | None = None
    name: str | None = None
    action: str
    input: dict[str, Any] = Field(default_factory=dict)
