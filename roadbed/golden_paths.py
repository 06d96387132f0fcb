"""Golden paths: Backstage Software Templates (`scaffolder.backstage.io/v1beta3`) plus `spec.roadbed`.

A template's multi-page `parameters` are merged into the one JSON Schema that requests are
validated against (`ui:*` keys kept for portals). Its `steps` are mapped onto Roadbed's steps:
`fetch:*` and `publish:*` to the repository step, `catalog:*` to the catalog step. A template that
uses an action Roadbed cannot run is loaded but marked invalid with the action named, so it is
listed and never half-run.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from roadbed.domain.errors import NotFound
from roadbed.rendering.monitoring import SloTarget

SUPPORTED_ACTIONS = re.compile(r"^(fetch:template|fetch:plain|fetch:plain:file|publish:.+|catalog:register|catalog:write|debug:log)$")
ROADBED_SUPPLIED_PARAMETERS = ("name", "owner", "environment", "repoUrl")
REPO_HOST_NAME = "localhost"

MAX_TEMPLATE_BYTES = 256 * 1024
_SEMVER = re.compile(r"^\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$")


class KubernetesDefaults(BaseModel):
    model_config = ConfigDict(extra="forbid")

    workload: Literal["service", "worker"] = "service"
    port: int = Field(default=8000, ge=1, le=65535)
    replicas: int = Field(default=1, ge=0, le=50)
    cpu: str = "100m"
    memory: str = "256Mi"
    health_path: str = "/healthz"


class RoadbedSpec(BaseModel):
    """Roadbed-only settings of a template, under `spec.roadbed`."""

    model_config = ConfigDict(extra="forbid")

    version: str | None = None
    resources: list[str] = Field(default_factory=list)
    kubernetes: KubernetesDefaults = Field(default_factory=KubernetesDefaults)
    slo: SloTarget = Field(default_factory=SloTarget)


class TemplateStep(BaseModel):
    model_config = ConfigDict(extra="allow")

    id: str | None = None
    name: str | None = None
    action: str
    input: dict[str, Any] = Field(default_factory=dict)


class GoldenPath(BaseModel):
    """One loaded template; `problems` non-empty means it is listed but cannot be requested."""

    name: str
    title: str
    description: str
    version: str
    tags: list[str] = Field(default_factory=list)
    type: str | None = None
    owner: str | None = None
    parameters: dict[str, Any]
    pages: list[dict[str, Any]]
    roadbed: RoadbedSpec
    steps: list[TemplateStep]
    output: dict[str, Any] = Field(default_factory=dict)
    directory: Path
    problems: list[str] = Field(default_factory=list)

    @property
    def valid(self) -> bool:
        return not self.problems

    def summary(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "title": self.title,
            "description": self.description,
            "version": self.version,
            "tags": self.tags,
            "type": self.type,
            "resource_types": self.roadbed.resources,
            "valid": self.valid,
            "problems": self.problems,
        }

    def fetch_steps(self) -> list[TemplateStep]:
        return [step for step in self.steps if step.action.startswith("fetch:")]


def merge_parameter_pages(parameters: Any) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Backstage allows one schema or a list of pages; validation needs one JSON Schema."""
    pages = parameters if isinstance(parameters, list) else [parameters] if parameters else []
    merged: dict[str, Any] = {"type": "object", "properties": {}, "required": []}
    extra: list[dict[str, Any]] = []
    for page in pages:
        if not isinstance(page, dict):
            continue
        merged["properties"].update(page.get("properties") or {})
        merged["required"].extend(r for r in page.get("required") or [] if r not in merged["required"])
        rest = {k: v for k, v in page.items() if k not in {"title", "description", "properties", "required", "type"} and not k.startswith("ui:")}
        if rest:
            extra.append(rest)
    if extra:
        merged["allOf"] = extra
    if not merged["required"]:
        del merged["required"]
    return merged, pages


def content_digest(directory: Path) -> str:
    """A short hash of a template's files: the version of a template that declares none (plain Backstage
    templates), so an environment still records exactly what it came from and outdated ones show up."""
    digest = hashlib.sha256()
    for path in sorted(p for p in directory.rglob("*") if p.is_file() and not p.is_symlink()):
        digest.update(path.relative_to(directory).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:12]


def load_golden_path(directory: Path) -> GoldenPath:
    """Load `directory/template.yaml`; structural problems become `problems`, not exceptions."""
    source = directory / "template.yaml"
    problems: list[str] = []
    raw = source.read_bytes()
    if len(raw) > MAX_TEMPLATE_BYTES:
        raise ValueError(f"{source}: larger than {MAX_TEMPLATE_BYTES} bytes")
    document = yaml.safe_load(raw) or {}
    if document.get("apiVersion") != "scaffolder.backstage.io/v1beta3" or document.get("kind") != "Template":
        problems.append("not a scaffolder.backstage.io/v1beta3 Template")
    metadata = document.get("metadata") or {}
    spec = document.get("spec") or {}
    try:
        roadbed = RoadbedSpec.model_validate(spec.get("roadbed") or {})
    except ValidationError as exc:
        problems.append(f"spec.roadbed: {exc.errors()[0]['loc']}: {exc.errors()[0]['msg']}")
        roadbed = RoadbedSpec()
    version = roadbed.version or f"0.0.0+{content_digest(directory)}"
    if not _SEMVER.match(version):
        problems.append(f"spec.roadbed.version {version!r} is not semver")
    steps = [TemplateStep.model_validate(step) for step in spec.get("steps") or []]
    for step in steps:
        if not SUPPORTED_ACTIONS.match(step.action):
            problems.append(f"unsupported action {step.action!r} in step {step.id or step.name!r}")
    if not any(step.action.startswith("fetch:") for step in steps):
        problems.append("no fetch:template or fetch:plain step")
    schema, pages = merge_parameter_pages(spec.get("parameters"))
    return GoldenPath(
        name=metadata.get("name") or directory.name,
        title=metadata.get("title") or metadata.get("name") or directory.name,
        description=metadata.get("description") or "",
        version=version,
        tags=list(metadata.get("tags") or []),
        type=spec.get("type"),
        owner=spec.get("owner"),
        parameters=schema,
        pages=pages,
        roadbed=roadbed,
        steps=steps,
        output=spec.get("output") or {},
        directory=directory,
        problems=problems,
    )


class GoldenPathRegistry:
    """Every golden path found in the configured directories; the first of a name wins."""

    def __init__(self, directories: list[Path]) -> None:
        self._paths: dict[str, GoldenPath] = {}
        for root in directories:
            if not root.is_dir():
                continue
            for template in sorted(root.glob("*/template.yaml")):
                golden_path = load_golden_path(template.parent)
                self._paths.setdefault(golden_path.name, golden_path)

    def list(self) -> list[GoldenPath]:
        return sorted(self._paths.values(), key=lambda gp: gp.name)

    def find(self, name: str) -> GoldenPath | None:
        return self._paths.get(name)

    def get(self, name: str) -> GoldenPath:
        golden_path = self._paths.get(name)
        if golden_path is None:
            raise NotFound(f"golden path {name!r} not found")
        return golden_path


def supplied_parameters(service: str, team: str, environment: str, repo_host: str = REPO_HOST_NAME) -> dict[str, str]:
    """The values Roadbed owns and hands to every template: the name, the owner, the environment and a
    `repoUrl` in Backstage's RepoUrlPicker form (`host?owner=o&repo=r`) for its repo host."""
    return {"name": service, "owner": team, "environment": environment, "repoUrl": f"{repo_host}?owner={team}&repo={service}"}


def template_parameters(golden_path: GoldenPath, parameters: dict[str, Any], service: str, team: str, environment: str) -> dict[str, Any]:
    """The parameters a template sees: the request's, the schema's defaults, and Roadbed's own values."""
    filled = dict(parameters)
    for key, prop in (golden_path.parameters.get("properties") or {}).items():
        if key not in filled and isinstance(prop, dict) and "default" in prop:
            filled[key] = prop["default"]
    return filled | supplied_parameters(service, team, environment)
