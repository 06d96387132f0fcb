"""The worker: composition root that wires adapters into activities and runs them with the workflows.

Two task queues by resource profile (workflows/queues.py, docs/operations.md): the general queue (workflows, fast
steps) and the Terraform queue (applies and destroys). `build_worker` runs one `temporalio` Worker per queue polled.
"""

from __future__ import annotations

import asyncio
import contextlib
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from enum import StrEnum

from temporalio.client import Client
from temporalio.worker import Worker

from roadbed.activities.action import ActionActivities
from roadbed.activities.base import HEARTBEAT_THROTTLE, ProvisioningPorts
from roadbed.activities.campaign import CampaignActivities
from roadbed.activities.compensation import CompensationActivities
from roadbed.activities.deployment import DeploymentActivities
from roadbed.activities.drift import DriftActivities
from roadbed.activities.expiry import ExpiryActivities
from roadbed.activities.pipeline_access import DeliveryTarget
from roadbed.activities.provisioning import ProvisioningActivities
from roadbed.activities.recording import RecordingActivities
from roadbed.activities.upgrade import UpgradeActivities
from roadbed.activity_logs import install_activity_log_filter
from roadbed.adapters.backstage import BackstageCatalog
from roadbed.adapters.composite_monitoring import CompositeMonitoring
from roadbed.adapters.database_catalog import DatabaseCatalog
from roadbed.adapters.github_actions_config import GitHubActionsConfig
from roadbed.adapters.github_repo_host import GitHubRepoHost
from roadbed.adapters.gitops import GitOpsDeployer
from roadbed.adapters.grafana import GrafanaDashboards
from roadbed.adapters.kubernetes_cluster import KubernetesClusterDeployer
from roadbed.adapters.local_git import LocalGitRepoHost
from roadbed.adapters.prometheus_rules import PrometheusRules
from roadbed.adapters.repository_monitoring import RepositoryMonitoring
from roadbed.adapters.terraform_cli_runner import runner_for
from roadbed.domain.errors import ConfigurationError
from roadbed.failpoints import Failpoints
from roadbed.golden_paths import GoldenPathRegistry
from roadbed.ports import KubernetesDeployer, RepoHost
from roadbed.rendering.catalog_entities import CatalogPlugins
from roadbed.sealing import SecretBox, secret_key_file
from roadbed.settings import TERRAFORM_APPLIES_PER_CORE, KubernetesTarget, RepoHostTarget, Settings, usable_cores
from roadbed.storage.database import Database
from roadbed.techdocs import service as techdocs
from roadbed.techdocs.trigger import BuildDocsOnRegister
from roadbed.template_fetch import skeleton_fetcher
from roadbed.validation import RequestValidator
from roadbed.workflows.action import ServiceActionWorkflow
from roadbed.workflows.campaign import UpgradeCampaignWorkflow
from roadbed.workflows.decommission import DecommissionEnvironmentWorkflow
from roadbed.workflows.deploy import DeployServiceWorkflow
from roadbed.workflows.drift import DriftSweepWorkflow
from roadbed.workflows.expiry import EnvironmentExpiryWorkflow
from roadbed.workflows.provision import ProvisionEnvironmentWorkflow
from roadbed.workflows.upgrade import UpgradeServiceWorkflow

GENERAL_GRACEFUL_SHUTDOWN_SECONDS = 5.0


def build_ports(settings: Settings, database: Database) -> ProvisioningPorts:
    """Pick one adapter per port from the settings (DESIGN.md, "Targets")."""
    golden_paths = GoldenPathRegistry(settings.golden_path_dirs, fetcher=skeleton_fetcher(settings))
    repo_host: RepoHost
    delivery: DeliveryTarget | None = None  # GitHub only: the generated pipeline's variables and deploy token
    if settings.repo_host is RepoHostTarget.GITHUB:
        github = GitHubRepoHost(
            settings.github_url,
            settings.github_token.get_secret_value() if settings.github_token else "",
            settings.github_org or "",
            private=settings.github_private,
            branch_protection=settings.github_branch_protection,
            seconds_between_requests=settings.github_seconds_between_requests,
            seconds_between_writes=settings.github_seconds_between_writes,
        )
        repo_host = github
        delivery = DeliveryTarget(GitHubActionsConfig(github), settings.resolved_api_url, settings.image_registry, SecretBox(secret_key_file(settings.home)))
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
        delivery=delivery,
        catalog_plugins=catalog_plugins(settings),
    )


def catalog_plugins(settings: Settings) -> CatalogPlugins:
    """Which Backstage plugin annotations can point somewhere in this deployment (README, "Backstage plugins")."""
    return CatalogPlugins(
        github_org=settings.github_org if settings.repo_host is RepoHostTarget.GITHUB else None,
        argocd=settings.kubernetes_target is KubernetesTarget.GITOPS,
        grafana_url=settings.grafana_url,
        pagerduty_service_ids=settings.pagerduty_service_ids,
        sonarqube=bool(settings.sonarqube_url),
    )


class WorkerQueue(StrEnum):
    """A worker's role, named by its queue's default name (the names themselves come from the settings)."""

    GENERAL = "roadbed"  # the workflows and the fast steps
    TERRAFORM = "roadbed-terraform"  # the steps that run Terraform, and their undos


BOTH_QUEUES: frozenset[WorkerQueue] = frozenset(WorkerQueue)


class Workers:
    """One worker per task queue, run and stopped together (an async context manager, like a single `Worker`)."""

    def __init__(self, workers: list[Worker]) -> None:
        self.workers = workers
        self._running = contextlib.AsyncExitStack()

    @property
    def is_running(self) -> bool:
        return any(worker.is_running for worker in self.workers)

    async def run(self) -> None:
        """Run until shut down; a worker that fails stops the others too (`up` never runs half a worker)."""
        tasks = [asyncio.create_task(worker.run()) for worker in self.workers]
        try:
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
            for task in done:
                task.result()
            await asyncio.gather(*tasks)
        finally:
            if any(not task.done() for task in tasks):
                await self.shutdown()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def shutdown(self) -> None:
        """Stop polling, let running activities finish within each worker's graceful timeout, then return."""
        await asyncio.gather(*(worker.shutdown() for worker in self.workers if worker.is_running))

    async def __aenter__(self) -> Workers:
        async with contextlib.AsyncExitStack() as started:  # one that cannot start stops those already started
            for worker in self.workers:
                await started.enter_async_context(worker)
            self._running = started.pop_all()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        try:
            await self.shutdown()  # all drain at once, each within its own graceful timeout
        finally:
            await self._running.aclose()


def concurrency(settings: Settings, queues: frozenset[WorkerQueue], max_concurrent_activities: int | None = None) -> dict[WorkerQueue, int]:
    """Activities at once per queue: the settings' caps, or `max_concurrent_activities` for a one-queue worker."""
    caps = {WorkerQueue.GENERAL: settings.worker_max_concurrent_activities, WorkerQueue.TERRAFORM: settings.resolved_terraform_max_concurrent_activities}
    if max_concurrent_activities is not None:
        if len(queues) != 1:
            raise ConfigurationError("--max-concurrent-activities needs --queue: each queue has its own cap")
        caps = dict.fromkeys(queues, max_concurrent_activities)
    return {queue: caps[queue] for queue in queues}


def build_worker(
    client: Client,
    settings: Settings,
    ports: ProvisioningPorts,
    executor: ThreadPoolExecutor,
    queues: frozenset[WorkerQueue] = BOTH_QUEUES,
    max_concurrent_activities: int | None = None,
) -> Workers:
    """The workers polling `queues`; each registers only what runs on its queue.

    The general worker has the workflows and every activity but the Terraform ones; the Terraform worker has only
    those. A worker polling both queues (the default, as a single-worker deployment expects) also registers the
    Terraform activities on the general queue: runs scheduled before the queues were split find them there.
    """
    provisioning, compensation = ProvisioningActivities(ports), CompensationActivities(ports)
    drift = DriftActivities(ports)  # the drift sweep's checks run plans: on the Terraform queue
    terraform = [provisioning.infrastructure, compensation.infrastructure, drift.check]
    everything = [*provisioning.all(), *compensation.all(), *RecordingActivities(ports.database).all(), *DeploymentActivities(ports).all(), *UpgradeActivities(ports).all(),
                  *CampaignActivities(ports).all(), *ActionActivities(ports).all()]
    everything += ExpiryActivities(ports.database, settings.task_queue).all()
    everything += drift.all()
    general = everything if WorkerQueue.TERRAFORM in queues else [a for a in everything if a not in terraform]
    caps = concurrency(settings, queues, max_concurrent_activities)
    install_activity_log_filter()  # a permanent step failure: one log line with the reason, traceback at debug
    options = {
        "activity_executor": executor,
        "sticky_queue_schedule_to_start_timeout": timedelta(seconds=settings.sticky_queue_timeout_seconds),
        "max_heartbeat_throttle_interval": HEARTBEAT_THROTTLE,  # a cancel reaches a step with its next heartbeat
    }
    workers = []
    if WorkerQueue.GENERAL in queues:
        workers.append(Worker(
            client,
            task_queue=settings.task_queue,
            workflows=[ProvisionEnvironmentWorkflow, DecommissionEnvironmentWorkflow, DeployServiceWorkflow, UpgradeServiceWorkflow, UpgradeCampaignWorkflow, ServiceActionWorkflow,
                       EnvironmentExpiryWorkflow, DriftSweepWorkflow],
            activities=general,
            max_concurrent_activities=caps[WorkerQueue.GENERAL],
            graceful_shutdown_timeout=timedelta(seconds=GENERAL_GRACEFUL_SHUTDOWN_SECONDS),
            **options,  # type: ignore[arg-type]
        ))
    if WorkerQueue.TERRAFORM in queues:
        workers.append(Worker(
            client,
            task_queue=settings.resolved_terraform_task_queue,
            activities=terraform,
            max_concurrent_activities=caps[WorkerQueue.TERRAFORM],
            # long enough for a typical apply: a drained worker leaves no half-run apply (and no state lock) behind
            graceful_shutdown_timeout=timedelta(seconds=settings.terraform_graceful_shutdown_seconds),
            **options,  # type: ignore[arg-type]
        ))
    return Workers(workers)


def activity_executor(max_workers: int | None = None) -> ThreadPoolExecutor:
    """The threads the (synchronous) activities run in: at least the sum of the caps of the workers sharing it
    (unset: enough for both queues at their default caps)."""
    default = Settings.model_fields["worker_max_concurrent_activities"].default + TERRAFORM_APPLIES_PER_CORE * usable_cores()
    return ThreadPoolExecutor(max_workers=max_workers or default, thread_name_prefix="activity")


def executor_for(settings: Settings, queues: frozenset[WorkerQueue], max_concurrent_activities: int | None = None) -> ThreadPoolExecutor:
    return activity_executor(sum(concurrency(settings, queues, max_concurrent_activities).values()))
