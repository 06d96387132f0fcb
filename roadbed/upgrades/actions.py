"""Templates as actions on an existing service: their rendered files as one commit on a branch of its repository.

A template whose publish step is `publish:github:pull-request` or `publish:gitlab:merge-request` (Backstage's
"add CODEOWNERS", "add a README", ...) changes a repository that exists rather than making one, so Roadbed runs
it against a service: the fetch steps render with the request's parameters (validated by the template's schema)
and Roadbed's own values for that service, then the publish step's input decides what goes where: `sourcePath`
(the part of the rendered workspace to publish), `targetPath` (where it lands in the repository), `branchName`,
`title`, `description` (of the pull request). No repository and no environment are made. The API plans to
validate and to name the branch; the action workflow plans again from the recorded template version and writes.
"""

from __future__ import annotations

import posixpath
import re
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from roadbed.domain.errors import FieldError, InvalidRequest, NotFound, PermanentError
from roadbed.golden_paths import GoldenPath, GoldenPathRegistry, template_parameters
from roadbed.rendering.skeleton import render_repository, safe_repo_path
from roadbed.rendering.templating import render_input
from roadbed.storage.database import Database
from roadbed.upgrades import template_store
from roadbed.upgrades.plan import ServiceTemplate, current_template, parameter_errors
from roadbed.upgrades.tables import ActionRow

PENDING, OPEN, FAILED = "PENDING", "OPEN", "FAILED"
DEFAULT_BRANCHES = frozenset({"main", "master"})
_REF = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,199}$")


@dataclass(frozen=True)
class ActionPlan:
    service: ServiceTemplate
    template: str
    version: str
    branch: str
    title: str
    description: str
    files: dict[str, bytes]
    executable: frozenset[str] = field(default_factory=frozenset)


def action_template(registry: GoldenPathRegistry, name: str) -> GoldenPath:
    """The template `name`, if it is a valid action template (422 naming `template` otherwise)."""
    golden_path = registry.find(name)
    if golden_path is None:
        raise InvalidRequest([FieldError("template", f"no template {name!r}")])
    if not golden_path.action:
        raise InvalidRequest([FieldError("template", f"template {name!r} is not an action: its publish step does not open a pull/merge request")])
    if not golden_path.valid:
        raise InvalidRequest([FieldError("template", f"template {name!r} cannot run: {'; '.join(golden_path.problems)}")])
    return golden_path


def _text(inputs: dict[str, Any], key: str, default: str) -> str:
    value = inputs.get(key)
    if value is None or value == "":
        return default
    if not isinstance(value, str):
        raise PermanentError(f"publish step input {key} must be a string, not {type(value).__name__}")
    return value


def _place(files: dict[str, bytes], executable: frozenset[str], source: str, target: str) -> tuple[dict[str, bytes], frozenset[str]]:
    """The files under `sourcePath`, moved under `targetPath` (both relative, `.`/empty: the whole/the root)."""
    source = posixpath.normpath(source.strip("/") or ".")
    target = target.strip("/") or "."
    placed: dict[str, bytes] = {}
    modes = set()
    for path, content in files.items():
        if source != ".":
            if not path.startswith(source + "/"):
                continue
            relative = path[len(source) + 1:]
        else:
            relative = path
        out = safe_repo_path(posixpath.join(target, relative), where="publish step targetPath")
        placed[out] = content
        if path in executable:
            modes.add(out)
    return placed, frozenset(modes)


def _plan_with(golden_path: GoldenPath, template: ServiceTemplate, parameters: dict[str, Any]) -> ActionPlan:
    errors = parameter_errors(golden_path, parameters, template)
    if errors:
        raise InvalidRequest(errors)
    filled = template_parameters(golden_path, parameters, template.service, template.team, template.environment)
    rendered = render_repository(golden_path, filled)
    step = golden_path.publish_step()
    inputs = render_input(step.input if step is not None else {}, {"parameters": filled, "steps": {}}, where="publish step input") or {}
    if not isinstance(inputs, dict):
        raise PermanentError("the publish step's input must be a mapping")
    branch = _text(inputs, "branchName", f"roadbed/action-{golden_path.name}")
    if not _REF.match(branch) or ".." in branch or branch.endswith((".lock", "/")) or branch in DEFAULT_BRANCHES:
        raise InvalidRequest([FieldError("branchName", f"{branch!r} is not a branch an action may write (a new ref-safe name, never the default branch)")])
    files, executable = _place(rendered, frozenset(rendered.executable), _text(inputs, "sourcePath", "."), _text(inputs, "targetPath", "."))
    title = _text(inputs, "title", golden_path.title or golden_path.name)[:500]
    description = _text(inputs, "description", f"Roadbed action `{golden_path.name}` {golden_path.version}.")
    return ActionPlan(template, golden_path.name, golden_path.version, branch, title, description, files, executable)


def plan_action(
    database: Database, registry: GoldenPathRegistry, service: str, name: str, parameters: dict[str, Any], version: str | None = None,
) -> ActionPlan:
    """Render action template `name` (at `version`, default its current one) for `service`: InvalidRequest (422)
    for a template that is not an action or bad parameters, NotFound for a service without a repository."""
    current = action_template(registry, name) if version is None else registry.find(name)
    with database.transaction() as session:
        template = current_template(session, service)
    with template_store.golden_path_at(database, registry, name, version or (current.version if current else "")) as golden_path:
        return _plan_with(golden_path, template, parameters)


def create(database: Database, plan: ActionPlan, parameters: dict[str, Any], now: datetime) -> ActionRow:
    with database.transaction() as session:
        row = ActionRow(
            id=f"act_{uuid.uuid4().hex[:20]}", service=plan.service.service, team=plan.service.team, template=plan.template,
            template_version=plan.version, status=PENDING, branch=plan.branch, title=plan.title, description=plan.description,
            parameters=parameters, files=[], created_at=now, updated_at=now,
        )
        session.add(row)
    return row


def require(database: Database, action_id: str) -> ActionRow:
    with database.transaction() as session:
        row = session.get(ActionRow, action_id)
        if row is None:
            raise NotFound(f"action {action_id!r} not found")
        return row


def record_branch(database: Database, action_id: str, files: list[dict[str, str]], now: datetime, pull_request_url: str | None) -> None:
    with database.transaction() as session:
        row = session.get(ActionRow, action_id)
        if row is not None:
            row.status, row.files, row.error, row.updated_at = OPEN, files, None, now
            row.pull_request_url = pull_request_url or row.pull_request_url


def record_failure(database: Database, action_id: str, error: str, now: datetime) -> None:
    with database.transaction() as session:
        row = session.get(ActionRow, action_id)
        if row is not None and row.status != OPEN:
            row.status, row.error, row.updated_at = FAILED, error[:2000], now


def view(row: ActionRow) -> dict[str, Any]:
    return {
        "id": row.id, "service": row.service, "template": row.template, "template_version": row.template_version, "status": row.status,
        "branch": row.branch, "title": row.title, "pull_request_url": row.pull_request_url, "files": row.files, "error": row.error,
        "created_at": row.created_at.isoformat(), "updated_at": row.updated_at.isoformat(),
    }
