"""The worker: composition root that wires adapters into activities and runs them with the workflows."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from temporalio.client import Client
from temporalio.worker import Worker

from roadbed.activities.base import HEARTBEAT_THROTTLE, ProvisioningPorts
from roadbed.activities.compensation import CompensationActivities
from roadbed.activities.deployment import DeploymentActivities
from roadbed.activities.provisioning import ProvisioningActivities
from roadbed.activities.recording import RecordingActivities
from roadbed.activity_logs import install_activity_log_filter
from roadbed.adapters.backstage import BackstageCatalog
from roadbed.adapters.composite_monitoring import CompositeMonitoring
from roadbed.adapters.database_catalog import DatabaseCatalog
from roadbed.adapters.github_repo_host import GitHubRepoHost
from roadbed.adapters.gitops import GitOpsDeployer
from roadbed.adapters.grafana import GrafanaDashboards
from roadbed.adapters.kubernetes_cluster import KubernetesClusterDeployer
from roadbed.adapters.local_git import LocalGitRepoHost
from roadbed.adapters.prometheus_rules import PrometheusRules
from roadbed.adapters.repository_monitoring import RepositoryMonitoring
from roadbed.adapters.terraform_cli_runner import runner_for
from roadbed.failpoints import Failpoints
from roadbed.golden_paths import GoldenPathRegistry
from roadbed.ports import KubernetesDeployer, RepoHost
from roadbed.sealing import SecretBox, secret_key_file
from roadbed.settings import KubernetesTarget, RepoHostTarget, Settings
from roadbed.storage.database import Database
from roadbed.techdocs import service as techdocs
from roadbed.techdocs.trigger import BuildDocsOnRegister
from roadbed.validation import RequestValidator
from roadbed.workflows.decommission import DecommissionEnvironmentWorkflow
from roadbed.workflows.deploy import DeployServiceWorkflow
from roadbed.workflows.provision import ProvisionEnvironmentWorkflow

MAX_CONCURRENT_ACTIVITIES = 32


def build_ports(settings: Settings, database: Database) -> ProvisioningPorts:
    """Pick one adapter per port from the settings (DESIGN.md, "Targets")."""
    golden_paths = GoldenPathRegistry(settings.golden_path_dirs)
    repo_host: RepoHost
    if settings.repo_host is RepoHostTarget.GITHUB:
        repo_host = GitHubRepoHost(
            settings.github_url,
            settings.github_token.get_secret_value() if settings.github_token else "",
            settings.github_org or "",
            private=settings.github_private,
            branch_protection=settings.github_branch_protection,
            seconds_between_requests=settings.github_seconds_between_requests,
            seconds_between_writes=settings.github_seconds_between_writes,
        )
    else:
        repo_host = LocalGitRepoHost(settings.git_dir / "repos")
    kubernetes: KubernetesDeployer
    prometheus_rules: PrometheusRules | None = None
    if settings.kubernetes_target is KubernetesTarget.CLUSTER:
        cluster = KubernetesClusterDeployer.from_settings(settings)
        kubernetes = cluster
        prometheus_rules = PrometheusRules(cluster.api_client, field_manager=settings.kubernetes_field_manager, labels=settings.prometheus_rule_labels)
    else:
        kubernetes = GitOpsDeployer(repo_host)
    grafana = None
    if settings.grafana_url:  # a missing token is a ConfigurationError at start
        grafana = GrafanaDashboards(
            settings.grafana_url, settings.grafana_token.get_secret_value() if settings.grafana_token else "", timeout=settings.grafana_timeout_seconds
        )
    return ProvisioningPorts(
        database=database,
        golden_paths=golden_paths,
        validator=RequestValidator(golden_paths, settings.terraform_modules_dir),
        repo_host=repo_host,
        infrastructure=runner_for(settings),
        kubernetes=kubernetes,
        monitoring=CompositeMonitoring(RepositoryMonitoring(repo_host), grafana=grafana, prometheus_rules=prometheus_rules),
        catalog=BuildDocsOnRegister(  # the catalog step's registration also queues TechDocs builds (roadbed.techdocs.trigger)
            BackstageCatalog(database, settings.backstage_url, settings.backstage_token.get_secret_value() if settings.backstage_token else "")
            if settings.backstage_url
            else DatabaseCatalog(database),
            techdocs.for_settings(settings, database, repo_host),
        ),
        terraform_modules_dir=settings.terraform_modules_dir,
        failpoints=Failpoints(settings.failpoints),
        secrets=SecretBox(secret_key_file(settings.home)),
        image_registry=settings.image_registry,
    )


def build_worker(client: Client, settings: Settings, ports: ProvisioningPorts, executor: ThreadPoolExecutor) -> Worker:
    activities = [
        *ProvisioningActivities(ports).all(),
        *CompensationActivities(ports).all(),
        *RecordingActivities(ports.database).all(),
        *DeploymentActivities(ports).all(),
    ]
    install_activity_log_filter()  # a permanent step failure: one log line with the reason, traceback at debug
    return Worker(
        client,
        task_queue=settings.task_queue,
        workflows=[ProvisionEnvironmentWorkflow, DecommissionEnvironmentWorkflow, DeployServiceWorkflow],
        activities=activities,
        activity_executor=executor,
        max_concurrent_activities=MAX_CONCURRENT_ACTIVITIES,
        sticky_queue_schedule_to_start_timeout=timedelta(seconds=settings.sticky_queue_timeout_seconds),
        graceful_shutdown_timeout=timedelta(seconds=5),
        max_heartbeat_throttle_interval=HEARTBEAT_THROTTLE,  # a cancel reaches a step with its next heartbeat
    )


def activity_executor() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=MAX_CONCURRENT_ACTIVITIES, thread_name_prefix="activity")
