"""The three drift checks of one environment: Terraform, GitOps manifests, monitoring files. Each only reads and
returns the differences it found; any exception it raises means "could not tell" (the caller records `unknown`)."""

from __future__ import annotations

from typing import Any

import yaml

from roadbed import environment_specs
from roadbed.adapters.gitops import application_path, environment_path
from roadbed.domain.models import EnvironmentOutputs, ProvisionInput
from roadbed.domain.naming import GITOPS_REPOSITORY
from roadbed.drift.model import Difference
from roadbed.drift.sources import DriftSources
from roadbed.rendering import plain_yaml
from roadbed.rendering.manifests import render_argocd_application, render_manifests
from roadbed.rendering.monitoring import render_monitoring
from roadbed.rendering.terraform import render_root_module, sensitive_variable_names
from roadbed.sealing import is_sealed, unseal_resource

MAX_FIELDS_PER_OBJECT = 20


def terraform(sources: DriftSources, provision: ProvisionInput) -> list[Difference]:
    """Each resource a plan with refresh of the environment's workspace would change back (none: no resources)."""
    request = provision.request
    if not request.resources:
        return []
    sensitive = None
    if any(is_sealed(v) for r in request.resources for v in r.settings().values()):
        root, values = render_root_module(
            [unseal_resource(r, sources.secrets) for r in request.resources], service=request.service, environment=request.environment,
            team=request.team, modules_dir=sources.terraform_modules_dir,
        )
        sensitive = {name: values[name] for name in sensitive_variable_names(root) if name in values}
    changes = sources.runner.plan_drift(provision.environment_id, sensitive)
    return [Difference(source="terraform", object=c["address"]) for c in changes]


def gitops(sources: DriftSources, provision: ProvisionInput, outputs: EnvironmentOutputs, version: str | None) -> list[Difference]:
    """The environment's manifests rendered now (at the version it runs) against its GitOps directory."""
    request = provision.request
    spec = environment_specs.workload_spec(
        request, sources.golden_paths.get(request.golden_path), environment_id=provision.environment_id,
        golden_path_version=provision.golden_path_version, resources=outputs.resources, version=version, image_registry=sources.image_registry,
    )
    directory = environment_path(spec.namespace)
    repo = sources.repo_host
    expected: dict[str, Any] = {f"{directory}/{i:02d}-{m['kind'].lower()}.yaml": m for i, m in enumerate(render_manifests(spec))}
    expected[application_path(spec.namespace)] = render_argocd_application(spec, repo.repository_url(GITOPS_REPOSITORY), directory)
    present = set(repo.list_files(GITOPS_REPOSITORY))
    found = [Difference(source="gitops", object=path, field="(unexpected file)") for path in sorted(present)
             if path.startswith(directory + "/") and path not in expected]
    for path, desired in expected.items():
        if path not in present:
            found.append(Difference(source="gitops", object=path, field="(missing)"))
            continue
        text = repo.read_file(GITOPS_REPOSITORY, path) or b""
        try:
            actual = yaml.safe_load(text)
        except yaml.YAMLError:
            found.append(Difference(source="gitops", object=path, field="(not YAML)"))
            continue
        if actual != plain_yaml_round_trip(desired):
            fields = differing_fields(plain_yaml_round_trip(desired), actual)[:MAX_FIELDS_PER_OBJECT]
            found.extend(Difference(source="gitops", object=path, field=f) for f in fields or ["(content)"])
    return found


def monitoring(sources: DriftSources, provision: ProvisionInput) -> list[Difference]:
    """The monitoring files rendered now against the service repository's."""
    request = provision.request
    spec = environment_specs.monitoring_spec(request, sources.golden_paths.get(request.golden_path))
    found = []
    for path, desired in render_monitoring(spec).items():
        actual = sources.repo_host.read_file(request.service, path)
        if actual is None:
            found.append(Difference(source="monitoring", object=path, field="(missing)"))
        elif actual.decode("utf-8", errors="replace") != desired:
            found.append(Difference(source="monitoring", object=path, field="(content)"))
    return found


def plain_yaml_round_trip(document: Any) -> Any:
    """The manifest as the GitOps repository holds it (written with `plain_yaml`, read back as plain data)."""
    return yaml.safe_load(plain_yaml.dump(document))


def differing_fields(desired: Any, actual: Any, prefix: str = "") -> list[str]:
    """Dotted paths (list items as `[i]`) where `actual` differs from `desired`, leaves first found."""
    if isinstance(desired, dict) and isinstance(actual, dict):
        paths = []
        for key in sorted(set(desired) | set(actual), key=str):
            here = f"{prefix}.{key}" if prefix else str(key)
            if key not in desired or key not in actual:
                paths.append(here)
            elif desired[key] != actual[key]:
                paths.extend(differing_fields(desired[key], actual[key], here))
        return paths
    if isinstance(desired, list) and isinstance(actual, list) and len(desired) == len(actual):
        return [p for i, (d, a) in enumerate(zip(desired, actual, strict=True)) if d != a for p in differing_fields(d, a, f"{prefix}[{i}]")]
    return [prefix or "(document)"] if desired != actual else []
