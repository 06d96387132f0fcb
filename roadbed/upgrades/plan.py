"""What an upgrade of one service would do: render the base and the target, read the default branch, merge.

The base is the version the service is on with the values it was made with: the last merged upgrade's, or else
the request of the environment that rendered its repository (the first one with a repository). The target is the
requested version (default: the golden path's current one) with the same values plus the request's new
`parameters`, checked against the target's own schema, so a newly required parameter is a 422 that names it.
Nothing is written here: the dry run answers with it, the upgrade workflow commits it to a branch.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from jsonschema import Draft7Validator
from sqlalchemy import select
from sqlalchemy.orm import Session

from roadbed.domain.errors import FieldError, InvalidRequest, NotFound
from roadbed.domain.models import ProvisionInput
from roadbed.golden_paths import ROADBED_SUPPLIED_PARAMETERS, GoldenPath, GoldenPathRegistry, template_parameters
from roadbed.ports import RepoHost
from roadbed.rendering.skeleton import RenderedFiles, render_repository
from roadbed.storage import services
from roadbed.storage.database import Database
from roadbed.storage.tables import EnvironmentRow
from roadbed.upgrades import template_store
from roadbed.upgrades.merge import FileMerge, merge_trees
from roadbed.upgrades.tables import UpgradeRow

MERGED = "MERGED"


@dataclass(frozen=True)
class ServiceTemplate:
    """The golden-path version a service's repository is on, and the values it was rendered with."""

    service: str
    team: str
    golden_path: str
    version: str
    environment: str
    parameters: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class UpgradePlan:
    service: ServiceTemplate
    to_version: str
    parameters: dict[str, Any]
    """The target's request values (recorded plus new): what the service is on once the upgrade is merged."""
    merges: list[FileMerge]
    executable: frozenset[str] = frozenset()
    """Paths the target renders executable (mode 100755), for the files the upgrade adds."""

    @property
    def branch(self) -> str:
        return upgrade_branch(self.service.golden_path, self.to_version)

    def files(self) -> list[dict[str, str]]:
        return [merge.summary() for merge in self.merges]


def upgrade_branch(golden_path: str, version: str) -> str:
    """`roadbed/upgrade-<golden path>-<version>` (CONTRACT.md); `+` of a content-hash version is not a ref-safe character."""
    return f"roadbed/upgrade-{golden_path}-{version.replace('+', '_')}"


def current_template(session: Session, service: str) -> ServiceTemplate:
    """The version and values of the service's repository now (NotFound: no such service, or no environment)."""
    owner = services.require_service(session, service)
    rows = list(session.scalars(select(EnvironmentRow).where(EnvironmentRow.service == service).order_by(EnvironmentRow.created_at, EnvironmentRow.id)))
    if not rows:
        raise NotFound(f"service {service!r} has no environment, so no repository to upgrade")
    maker = next((row for row in rows if (row.outputs or {}).get("repository_url")), rows[0])
    request = ProvisionInput.model_validate(maker.provision_input).request
    merged = session.scalar(
        select(UpgradeRow).where(UpgradeRow.service == service, UpgradeRow.status == MERGED).order_by(UpgradeRow.updated_at.desc()).limit(1)
    )
    if merged is not None:
        return ServiceTemplate(service, owner.team, merged.golden_path, merged.to_version, request.environment, dict(merged.parameters))
    return ServiceTemplate(service, owner.team, maker.golden_path, maker.golden_path_version, request.environment, dict(request.parameters))


def parameter_errors(golden_path: GoldenPath, parameters: dict[str, Any], template: ServiceTemplate) -> list[FieldError]:
    """The target version's JSON Schema over the values it will see; a missing required one is named."""
    errors = [FieldError(f"parameters.{key}", "is supplied by Roadbed and cannot be set") for key in ROADBED_SUPPLIED_PARAMETERS if key in parameters]
    filled = template_parameters(golden_path, parameters, template.service, template.team, template.environment)
    for error in sorted(Draft7Validator(golden_path.parameters).iter_errors(filled), key=lambda e: list(e.path)):
        path = ".".join(str(p) for p in error.path)
        if error.validator == "required" and "'" in error.message:
            path = ".".join(filter(None, [path, error.message.split("'")[1]]))
        errors.append(FieldError("parameters" + (f".{path}" if path else ""), error.message))
    return errors


def _render(golden_path: GoldenPath, values: dict[str, Any], template: ServiceTemplate) -> RenderedFiles:
    return render_repository(golden_path, template_parameters(golden_path, values, template.service, template.team, template.environment))


def plan_upgrade(
    database: Database, registry: GoldenPathRegistry, repo_host: RepoHost, service: str, to_version: str | None = None,
    parameters: dict[str, Any] | None = None,
) -> UpgradePlan:
    """Render base and target, read the default branch, merge three ways. Raises NotFound/InvalidRequest."""
    with database.transaction() as session:
        template = current_template(session, service)
    current = registry.find(template.golden_path)
    target_version = to_version or (current.version if current is not None else template.version)
    known = set(template_store.stored_versions(database, template.golden_path)) | ({current.version} if current is not None else set())
    if target_version not in known:
        raise InvalidRequest([FieldError("to_version", f"golden path {template.golden_path!r} has no version {target_version!r}; known: {', '.join(sorted(known))}")])
    values = template.parameters | (parameters or {})
    with template_store.golden_path_at(database, registry, template.golden_path, template.version) as base_path:
        base = _render(base_path, template.parameters, template)
    with template_store.golden_path_at(database, registry, template.golden_path, target_version) as target_path:
        errors = parameter_errors(target_path, values, template)
        if errors:
            raise InvalidRequest(errors)
        target = _render(target_path, values, template)
    ours = {path: content for path in repo_host.list_files(service) if (content := repo_host.read_file(service, path)) is not None}
    merges = merge_trees(base, ours, target, upstream=f"{template.golden_path} {target_version}")
    return UpgradePlan(template, target_version, values, merges, frozenset(target.executable))
