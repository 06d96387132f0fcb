"""Wiring: which adapter each source uses (from the settings), and which environment a request is about.

`build_aggregator` picks the adapters like `roadbed.worker.build_ports` picks the provisioning ones: the
Kubernetes cluster when `kubernetes_target = cluster` (else the gitops repository's desired state), GitHub when
it is the repo host, Argo CD, Prometheus and SonarQube when their URL is set, Grafana when the dashboards are
pushed to one. `resolve_target` reads the environment's record once; its answer is what every source is given.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from roadbed.domain.errors import FieldError, InvalidRequest, NotFound
from roadbed.domain.models import LIVE_STATUSES, EnvironmentName
from roadbed.domain.naming import namespace_for
from roadbed.golden_paths import GoldenPathRegistry
from roadbed.health.aggregator import HealthAggregator
from roadbed.health.argocd import ArgoCdHealth
from roadbed.health.github import GitHubHealth
from roadbed.health.grafana import GrafanaHealth
from roadbed.health.incidents import IncidentsHealth
from roadbed.health.kubernetes import ClusterHealth, DesiredStateHealth
from roadbed.health.port import HealthTarget, ServiceHealth
from roadbed.health.prometheus import PrometheusHealth
from roadbed.health.sonarqube import SonarQubeHealth
from roadbed.ports import RepoHost
from roadbed.settings import KubernetesTarget, RepoHostTarget, Settings
from roadbed.storage.database import Database
from roadbed.storage.tables import EnvironmentRow

#: Without `?environment=`: the first live one in this order.
DEFAULT_ORDER = (EnvironmentName.PROD, EnvironmentName.STAGING, EnvironmentName.DEV)


def _secret(value: object) -> str | None:
    return value.get_secret_value() if value is not None else None  # type: ignore[attr-defined]


def repo_host_for(settings: Settings) -> RepoHost:
    """The repo host the worker writes to (for the gitops repository's desired state), built on demand."""
    if settings.repo_host is RepoHostTarget.GITHUB:
        from roadbed.adapters.github_repo_host import GitHubRepoHost

        return GitHubRepoHost(
            settings.github_url, _secret(settings.github_token) or "", settings.github_org or "", private=settings.github_private,
            branch_protection=settings.github_branch_protection, seconds_between_requests=settings.github_seconds_between_requests,
            seconds_between_writes=settings.github_seconds_between_writes,
        )
    from roadbed.adapters.local_git import LocalGitRepoHost

    return LocalGitRepoHost(settings.git_dir / "repos")


def build_sources(settings: Settings, database: Database) -> list[ServiceHealth]:
    timeout = settings.health_timeout_seconds
    kubernetes: ServiceHealth
    if settings.kubernetes_target is KubernetesTarget.CLUSTER:
        kubeconfig = str(settings.kubernetes_kubeconfig) if settings.kubernetes_kubeconfig else None
        kubernetes = ClusterHealth(timeout=timeout, kubeconfig=kubeconfig, context=settings.kubernetes_context)
    else:
        kubernetes = DesiredStateHealth(repo_host_for(settings))
    return [
        kubernetes,
        ArgoCdHealth(settings.argocd_url, _secret(settings.argocd_token), timeout=timeout),
        GitHubHealth(
            settings.github_url, _secret(settings.github_token), settings.github_org, timeout=timeout,
            enabled=settings.repo_host is RepoHostTarget.GITHUB,
        ),
        IncidentsHealth(database),
        PrometheusHealth(settings.prometheus_url, timeout=timeout),
        GrafanaHealth(settings.grafana_url, _secret(settings.grafana_token), timeout=timeout),
        SonarQubeHealth(settings.sonarqube_url, _secret(settings.sonarqube_token), timeout=timeout),
    ]


def build_aggregator(settings: Settings, database: Database) -> HealthAggregator:
    return HealthAggregator(build_sources(settings, database), timeout=settings.health_timeout_seconds)


def resolve_target(session: Session, registry: GoldenPathRegistry, service: str, environment: str | None) -> HealthTarget:
    """The live environment asked for (or the first live of prod, staging, dev); `NotFound` when there is none."""
    if environment is not None and environment not in {e.value for e in EnvironmentName}:
        raise InvalidRequest([FieldError("environment", f"must be one of {', '.join(e.value for e in EnvironmentName)}")])
    wanted = [environment] if environment else [e.value for e in DEFAULT_ORDER]
    rows = session.scalars(
        select(EnvironmentRow)
        .where(EnvironmentRow.service == service)
        .where(EnvironmentRow.environment.in_(wanted))
        .where(EnvironmentRow.status.in_([s.value for s in LIVE_STATUSES]))
    ).all()
    by_name = {row.environment: row for row in rows}
    row = next((by_name[name] for name in wanted if name in by_name), None)
    if row is None:
        where = f"live {environment!r} environment" if environment else "live environment"
        raise NotFound(f"service {service!r} has no {where}")
    golden_path = registry.find(row.golden_path)
    outputs = row.outputs or {}
    return HealthTarget(
        service=row.service, environment=row.environment, team=row.team,
        namespace=str(outputs.get("kubernetes_namespace") or namespace_for(row.service, row.environment)),
        environment_id=row.id, repository_url=outputs.get("repository_url"),
        slo=golden_path.roadbed.slo if golden_path is not None else None,
    )
