"""The six provisioning steps: each a thin layer over rendering and one port."""

from __future__ import annotations

import posixpath
from collections.abc import Callable
from typing import Any

from temporalio import activity

from roadbed import environment_specs
from roadbed.activities.base import StepActivities, template_parameters
from roadbed.activities.contracts import STEP_ACTIVITIES, StepInput, StepResult
from roadbed.activities.pipeline_access import configure_pipeline
from roadbed.domain.models import EnvironmentOutputs, ProvisionInput, ResourceOutputs, StepName
from roadbed.domain.specs import MonitoringSpec, RepositoryMarker, WorkloadSpec
from roadbed.rendering.catalog_entities import inline_definitions, render_entities, render_system
from roadbed.rendering.catalog_merge import RUNBOOK_PATH, catalog_info_path, merge_catalog_info
from roadbed.rendering.manifests import render_manifests
from roadbed.rendering.monitoring import render_monitoring
from roadbed.rendering.skeleton import render_output_links, render_repository
from roadbed.rendering.terraform import module_key, render_root_module
from roadbed.sealing import unseal_resource
from roadbed.storage import catalog as catalog_rows
from roadbed.storage import services
from roadbed.upgrades import template_store


def workload_spec(activities: StepActivities, provision: ProvisionInput, outputs: EnvironmentOutputs, version: str | None = None) -> WorkloadSpec:
    request = provision.request
    return environment_specs.workload_spec(
        request, activities.ports.golden_paths.get(request.golden_path), environment_id=provision.environment_id,
        golden_path_version=provision.golden_path_version, resources=outputs.resources, version=version,
        image_registry=activities.ports.image_registry,
    )


def monitoring_spec(activities: StepActivities, provision: ProvisionInput) -> MonitoringSpec:
    request = provision.request
    return environment_specs.monitoring_spec(request, activities.ports.golden_paths.get(request.golden_path))


class ProvisioningActivities(StepActivities):
    @activity.defn(name=STEP_ACTIVITIES[StepName.VALIDATE])
    def validate(self, data: StepInput) -> StepResult:
        def work() -> tuple[EnvironmentOutputs, str]:
            request, golden_path = self.ports.validator.validate(data.provision.request.model_dump(exclude_none=True), sealed_settings=True)
            return data.outputs, f"golden path {golden_path.name}@{golden_path.version}, {len(request.resources)} resource{'' if len(request.resources) == 1 else 's'}"

        return self._tracked(StepName.VALIDATE, data.provision, work)

    @activity.defn(name=STEP_ACTIVITIES[StepName.REPOSITORY])
    def repository(self, data: StepInput) -> StepResult:
        def work() -> tuple[EnvironmentOutputs, str]:
            request = data.provision.request
            # the version recorded at submission, from the template store when the folder has moved on (issue 16)
            with template_store.golden_path_at(self.ports.database, self.ports.golden_paths, request.golden_path, data.provision.golden_path_version) as golden_path:
                parameters = template_parameters(data.provision, golden_path)
                files = render_repository(golden_path, parameters)
            marker = RepositoryMarker(
                service=request.service, team=request.team, golden_path=golden_path.name, golden_path_version=data.provision.golden_path_version,
                environments=(request.environment,),
            )
            with self.ports.database.transaction() as session:
                adoptable = services.teams_allowed_to_adopt(session, request.service, request.team)
            ref = self.ports.repo_host.ensure_repository(
                request.service, marker, files, f"Create {request.service} from {golden_path.name}@{golden_path.version}", former_teams=adoptable,
                executable=frozenset(files.executable),
            )
            links = render_output_links(
                golden_path, parameters, {"remoteUrl": ref.url, "repoContentsUrl": f"{ref.url}#main"}, f"component:default/{request.service}"
            )
            verb = "created" if ref.created else "adopted"
            pipeline = configure_pipeline(self.ports.database, self.ports.delivery, request.service)  # variables + deploy token
            return data.outputs.model_copy(update={"repository_url": ref.url, "links": links}), f"{verb} {ref.url} ({len(files)} files, head {ref.head[:12]}); {pipeline}"

        return self._tracked(StepName.REPOSITORY, data.provision, work)

    @activity.defn(name=STEP_ACTIVITIES[StepName.INFRASTRUCTURE])
    def infrastructure(self, data: StepInput) -> StepResult:
        def work() -> tuple[EnvironmentOutputs, str]:
            request = data.provision.request
            if not request.resources:
                return data.outputs, "no resources requested"
            root, values = render_root_module(  # sealed settings opened only here, for Terraform's run
                [unseal_resource(r, self.ports.secrets) for r in request.resources], service=request.service, environment=request.environment, team=request.team,
                modules_dir=self.ports.terraform_modules_dir,
            )
            applied = self.ports.infrastructure.apply(data.provision.environment_id, root, values)
            resources = {r.name: ResourceOutputs(type=r.type, name=r.name, outputs=applied.get(module_key(r), {})) for r in request.resources}
            names = ", ".join(f"{r.type}:{r.name}" for r in request.resources)
            return data.outputs.model_copy(update={"resources": resources}), f"applied {len(resources)} resource{'' if len(resources) == 1 else 's'}: {names}"

        return self._tracked(StepName.INFRASTRUCTURE, data.provision, work)

    @activity.defn(name=STEP_ACTIVITIES[StepName.KUBERNETES])
    def kubernetes(self, data: StepInput) -> StepResult:
        def work() -> tuple[EnvironmentOutputs, str]:
            spec = workload_spec(self, data.provision, data.outputs)
            manifests = render_manifests(spec)
            location = self.ports.kubernetes.deploy(spec, manifests)
            outputs = data.outputs.model_copy(update={"gitops_path": location, "kubernetes_namespace": spec.namespace})
            return outputs, f"{len(manifests)} manifests for namespace {spec.namespace}"

        return self._tracked(StepName.KUBERNETES, data.provision, work)

    @activity.defn(name=STEP_ACTIVITIES[StepName.MONITORING])
    def monitoring(self, data: StepInput) -> StepResult:
        def work() -> tuple[EnvironmentOutputs, str]:
            spec = monitoring_spec(self, data.provision)
            files = self.ports.monitoring.publish(spec, render_monitoring(spec))
            return data.outputs.model_copy(update={"monitoring_files": files}), f"SLO {spec.slo.availability}% with burn-rate alerts, dashboard"

        return self._tracked(StepName.MONITORING, data.provision, work)

    @activity.defn(name=STEP_ACTIVITIES[StepName.CATALOG])
    def catalog(self, data: StepInput) -> StepResult:
        def work() -> tuple[EnvironmentOutputs, str]:
            provision, outputs = data.provision, data.outputs
            request = provision.request
            golden_path = self.ports.golden_paths.get(request.golden_path)
            path = catalog_info_path(golden_path.steps, template_parameters(provision, golden_path))
            with self.ports.database.transaction() as session:  # the Component describes every live environment
                others = catalog_rows.described_environments(session, request.service, provision.environment_id)
            description = environment_specs.service_description(
                request, golden_path, environment_id=provision.environment_id, golden_path_version=provision.golden_path_version,
                repository_url=outputs.repository_url or "", resources=outputs.resources, others=others, plugins=self.ports.catalog_plugins,
                catalog_path=path,
            )
            entities = render_entities(description)
            existing = self.ports.repo_host.read_file(request.service, path)
            runbook = existing is not None and self.ports.repo_host.read_file(request.service, RUNBOOK_PATH) is not None
            merged = merge_catalog_info(existing, entities, path=path, runbook=runbook)
            if merged.changed:  # a retry finds its own additions there and leaves the file (and the history) alone
                self.ports.repo_host.commit_files(request.service, {path: merged.text.encode()}, "Register in the software catalog")
            registered = inline_definitions(merged.entities, lambda ref: self._repository_text(request.service, path, ref))
            system = render_system(description)
            refs = self.ports.catalog.register(registered + ([system] if system else []), provision.environment_id)
            return outputs.model_copy(update={"catalog_ref": refs[0]}), f"registered {len(refs)} {'entity' if len(refs) == 1 else 'entities'} from {path}"

        return self._tracked(StepName.CATALOG, data.provision, work)

    def _repository_text(self, service: str, catalog_path: str, ref: str) -> str | None:
        """A `$text` placeholder's file, relative to the catalog file (None: not in the repository)."""
        target = posixpath.normpath(posixpath.join(posixpath.dirname(catalog_path), ref)).lstrip("/")
        if target.startswith("..") or "://" in ref:
            return None
        content = self.ports.repo_host.read_file(service, target)
        return content.decode("utf-8", errors="replace") if content is not None else None

    def all(self) -> list[Callable[..., Any]]:
        return [self.validate, self.repository, self.infrastructure, self.kubernetes, self.monitoring, self.catalog]
