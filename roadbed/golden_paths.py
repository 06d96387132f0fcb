"""Golden paths: Backstage Software Templates (`scaffolder.backstage.io/v1beta3`) plus `spec.roadbed`.

A template's multi-page `parameters` are merged into the one JSON Schema that requests are
validated against (`ui:*` keys kept for portals). Its `steps` are mapped onto Roadbed's steps:
`fetch:*` and `publish:*` to the repository step, `catalog:*` to the catalog step. A template that
uses an action Roadbed cannot run is loaded but marked invalid with the action named, so it is
listed and never half-run.
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from roadbed.domain.errors import NotFound
from roadbed.domain.specs import KubernetesDefaults, SloTarget, TemplateStep
from roadbed.domain.template_files import is_template_content
from roadbed.template_sources import RemoteSkeleton, SkeletonFetcher, fetch_remote_skeletons, shared_skeletons, skeleton_url_problems

SUPPORTED_ACTIONS = frozenset({"fetch:template", "fetch:plain", "fetch:plain:file", "catalog:register", "catalog:write", "debug:log"})
"""The Backstage actions Roadbed runs (README.md's compatibility table lists them; tests/unit/test_readme_compat.py
checks the two agree). Every `publish:*` action is also supported: Roadbed's repository step publishes instead."""
SUPPORTED_ACTION_PREFIXES = ("publish:",)
ACTION_PUBLISHERS = frozenset({"publish:github:pull-request", "publish:gitlab:merge-request"})
"""A template publishing by one of these changes an existing repository (a branch and a pull request) rather than
making one: an action on a service (`POST /v1/services/{service}/actions`), never a new environment."""


def action_supported(action: str) -> bool:
    """Whether Roadbed can run a step with this action; a template with any other is listed invalid."""
    return action in SUPPORTED_ACTIONS or any(action.startswith(prefix) and len(action) > len(prefix) for prefix in SUPPORTED_ACTION_PREFIXES)


ROADBED_SUPPLIED_PARAMETERS = ("name", "owner", "environment", "repoUrl")
REPO_HOST_NAME = "localhost"

MAX_TEMPLATE_BYTES = 256 * 1024
_SEMVER = re.compile(r"^\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$")


class RoadbedSpec(BaseModel):
    """Roadbed-only settings of a template, under `spec.roadbed`."""

    model_config = ConfigDict(extra="forbid")

    version: str | None = None
    resources: list[str] = Field(default_factory=list)
    kubernetes: KubernetesDefaults = Field(default_factory=KubernetesDefaults)
    slo: SloTarget = Field(default_factory=SloTarget)


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
    root: Path | None = None
    """The template repository it was found in (the `ROADBED_GOLDEN_PATHS_DIRS` entry): skeleton urls such as
    `../../skeletons/x` may reach anywhere inside it, never beyond. None: the template's own directory."""
    remote_skeletons: dict[str, Path] = Field(default_factory=dict)
    """The static remote urls of its `fetch:*` steps fetched at discovery (`roadbed.template_fetch`), by url: their
    cached local copies, which render exactly like a local skeleton."""
    problems: list[str] = Field(default_factory=list)
    unsupported_actions: list[str] = Field(default_factory=list)
    """The actions of its steps Roadbed cannot run, by name (sorted, each once): why it is invalid, for tools."""

    @property
    def valid(self) -> bool:
        return not self.problems

    @property
    def action(self) -> bool:
        """Whether it is an action on an existing service (its publish step opens a pull/merge request)."""
        return any(step.action in ACTION_PUBLISHERS for step in self.steps)

    def publish_step(self) -> TemplateStep | None:
        return next((step for step in self.steps if step.action.startswith("publish:")), None)

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
            "unsupported_actions": self.unsupported_actions,
            "action": self.action,
        }

    def fetch_steps(self) -> list[TemplateStep]:
        return [step for step in self.steps if step.action.startswith("fetch:")]


class TemplateError(ValueError):
    """Why a template file cannot be loaded at all; the registry lists it invalid with this one-line reason."""


def _type(value: Any) -> str:
    return type(value).__name__


def _mapping(value: Any, where: str) -> dict[str, Any]:
    """A section that must be a mapping; absent (None) is an empty one, anything else is a clear reason."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise TemplateError(f"{where} must be a mapping, not {_type(value)}")
    return value


def _text(value: Any, where: str) -> str | None:
    if value is not None and not isinstance(value, str):
        raise TemplateError(f"{where} must be a string, not {_type(value)}")
    return value


def merge_parameter_pages(parameters: Any) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Backstage allows one schema or a list of pages; validation needs one JSON Schema.

    Anything else (a number, a page that is not a mapping, `properties` that are a list) raises TemplateError
    naming the field, so the template is listed invalid rather than silently accepting every parameter.
    """
    if parameters is not None and not isinstance(parameters, dict | list):
        raise TemplateError(f"spec.parameters must be a mapping or a list of mappings, not {_type(parameters)}")
    pages = parameters if isinstance(parameters, list) else [parameters] if parameters else []
    merged: dict[str, Any] = {"type": "object", "properties": {}, "required": []}
    extra: list[dict[str, Any]] = []
    for index, page in enumerate(pages):
        where = f"spec.parameters[{index}]" if isinstance(parameters, list) else "spec.parameters"
        if not isinstance(page, dict):
            raise TemplateError(f"{where} must be a mapping, not {_type(page)}")
        merged["properties"].update(_mapping(page.get("properties"), f"{where}.properties"))
        required = page.get("required") or []
        if not isinstance(required, list):
            raise TemplateError(f"{where}.required must be a list, not {_type(required)}")
        merged["required"].extend(r for r in required if r not in merged["required"])
        rest = {k: v for k, v in page.items() if k not in {"title", "description", "properties", "required", "type"} and not k.startswith("ui:")}
        if rest:
            extra.append(rest)
    if extra:
        merged["allOf"] = extra
    if not merged["required"]:
        del merged["required"]
    return merged, pages


def content_digest(directory: Path, shared: list[Path] | None = None, remote: list[RemoteSkeleton] | None = None) -> str:
    """A short hash of a template's files: the version of a template that declares none (plain Backstage
    templates), so an environment still records exactly what it came from and outdated ones show up. `shared`:
    skeletons elsewhere in its template repository (`../../skeletons/x`), hashed too, so a change to them is a
    new version as well; a template without any keeps the hash it always had. `remote`: fetched remote skeletons,
    whose url and commit are hashed, so a ref that moves to another commit is a new version."""
    digest = hashlib.sha256()
    def content(base: Path) -> list[Path]:
        return sorted(p for p in base.rglob("*") if p.is_file() and not p.is_symlink() and is_template_content(p.relative_to(base)))

    for path in content(directory):
        digest.update(path.relative_to(directory).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    for base in shared or []:
        files = [base] if base.is_file() else content(base)
        for path in files:
            digest.update(b"shared\0" + os.path.relpath(path, directory).encode() + b"\0" + path.read_bytes() + b"\0")
    for fetched in sorted(remote or []):
        digest.update(b"remote\0" + fetched.url.encode() + b"\0" + fetched.commit.encode() + b"\0")
    return digest.hexdigest()[:12]


def read_template(source: Path) -> dict[str, Any]:
    """The YAML mapping in `source`, or TemplateError with a one-line reason (unreadable, too big, not UTF-8,
    bad YAML, not a mapping at the top)."""
    try:
        raw = source.read_bytes()
    except OSError as exc:
        reason = "has no template.yaml" if isinstance(exc, FileNotFoundError) else f"cannot read {source.name}: {exc.strerror or exc}"
        raise TemplateError(reason) from exc
    if len(raw) > MAX_TEMPLATE_BYTES:
        raise TemplateError(f"{source.name} is larger than {MAX_TEMPLATE_BYTES} bytes ({len(raw)})")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise TemplateError(f"{source.name} is not UTF-8 text (byte {exc.start})") from exc
    try:
        documents = list(yaml.safe_load_all(text))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise TemplateError(f"YAML syntax error{where}: {problem}") from exc
    templates = [d for d in documents if isinstance(d, dict) and d.get("kind") == "Template"]
    document = templates[0] if templates else documents[0] if documents else None
    if document is None:
        return {}
    if not isinstance(document, dict):
        raise TemplateError(f"top level is a {_type(document)}, not a mapping")
    return document


def unloadable(directory: Path, reason: str, *, name: str | None = None) -> GoldenPath:
    """The entry of a template that cannot be loaded: listed under its directory's name, never requestable."""
    return GoldenPath(
        name=name or directory.name, title=name or directory.name, description="", version="0.0.0", parameters={"type": "object", "properties": {}},
        pages=[], roadbed=RoadbedSpec(), steps=[], directory=directory, problems=[reason],
    )


def load_golden_path(directory: Path, *, root: Path | None = None, fetcher: SkeletonFetcher | None = None) -> GoldenPath:
    """Load `directory/template.yaml`; problems, even a file that cannot be read or parsed, become `problems`,
    not exceptions: one bad template must not stop `roadbed up` or hide the others."""
    return load_golden_path_file(directory / "template.yaml", root=root, fetcher=fetcher)


def load_golden_path_file(source: Path, *, root: Path | None = None, fetcher: SkeletonFetcher | None = None) -> GoldenPath:
    """Load one template file (`template.yaml` or any other `*.yaml` of `kind: Template`); its directory holds
    its skeletons, which may also be anywhere inside `root` (its template repository). A template that cannot
    be loaded is listed under its directory's name (or the file's stem, when it is not `template.yaml`). `fetcher`
    fetches the remote skeleton urls it handles now (GitHub ones when the repository host is GitHub)."""
    directory = source.parent
    fallback = directory.name if source.name == "template.yaml" else source.stem
    try:
        return _load(source, fallback, root, fetcher)
    except TemplateError as exc:
        return unloadable(directory, str(exc), name=fallback)
    except ValidationError as exc:
        error = exc.errors()[0]
        return unloadable(directory, f"{'.'.join(str(part) for part in error['loc'])}: {error['msg']}", name=fallback)


_SKIPPED_DIRECTORIES = frozenset({"node_modules", "skeleton", "skeletons", "content"})
_MAX_SEARCH_DEPTH = 6


_KIND_TEMPLATE_LINE = re.compile(r"""^kind:[ \t]*(["']?)Template\1[ \t]*(#.*)?$""", re.MULTILINE)


def _is_template_document(path: Path) -> bool:
    """Whether `path` holds a `kind: Template` document; also when it does not parse but has a top-level
    `kind: Template` line, so that it is listed invalid with the parser's line and column rather than ignored
    (other YAML that does not parse, such as Helm chart templates, is not a template and stays ignored)."""
    try:
        if path.stat().st_size > MAX_TEMPLATE_BYTES:
            return False
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return False
    try:
        documents = list(yaml.safe_load_all(text))
    except yaml.YAMLError:
        return _KIND_TEMPLATE_LINE.search(text) is not None
    return any(isinstance(document, dict) and document.get("kind") == "Template" for document in documents)


def find_template_files(root: Path, *, _depth: int = 0) -> list[Path]:
    """The template files under `root`: its `template.yaml` (even a broken one, so it is listed invalid) and
    every other `*.yaml`/`*.yml` whose document is `kind: Template`. A directory that holds a template is
    not searched further (its subdirectories are skeletons); nor are hidden, `_`-prefixed, `node_modules`
    and skeleton directories."""
    if not root.is_dir() or root.is_symlink():
        return []
    entries = sorted(root.iterdir())
    found = [root / "template.yaml"] if os.path.lexists(root / "template.yaml") else []
    found += [
        path for path in entries
        if path.suffix in {".yaml", ".yml"} and path.name != "template.yaml" and path.is_file() and not path.is_symlink() and _is_template_document(path)
    ]
    if found or _depth >= _MAX_SEARCH_DEPTH:
        return found
    for path in entries:
        if path.is_dir() and not path.is_symlink() and not path.name.startswith((".", "_")) and path.name not in _SKIPPED_DIRECTORIES:
            found += find_template_files(path, _depth=_depth + 1)
    return found


def _load(source: Path, fallback_name: str, root: Path | None = None, fetcher: SkeletonFetcher | None = None) -> GoldenPath:
    directory = source.parent
    document = read_template(source)
    problems: list[str] = []
    if document.get("apiVersion") != "scaffolder.backstage.io/v1beta3" or document.get("kind") != "Template":
        problems.append("not a scaffolder.backstage.io/v1beta3 Template")
    metadata = _mapping(document.get("metadata"), "metadata")
    spec = _mapping(document.get("spec"), "spec")
    name = _text(metadata.get("name"), "metadata.name") or fallback_name
    try:
        roadbed = RoadbedSpec.model_validate(_mapping(spec.get("roadbed"), "spec.roadbed"))
    except ValidationError as exc:
        problems.append(f"spec.roadbed: {exc.errors()[0]['loc']}: {exc.errors()[0]['msg']}")
        roadbed = RoadbedSpec()
    raw_steps = spec.get("steps") or []
    if not isinstance(raw_steps, list):
        raise TemplateError(f"spec.steps must be a list, not {_type(raw_steps)}")
    steps = []
    for index, step in enumerate(raw_steps):
        try:
            steps.append(TemplateStep.model_validate(step))
        except ValidationError as exc:
            error = exc.errors()[0]
            field = ".".join(str(part) for part in error["loc"]) or "step"
            raise TemplateError(f"spec.steps[{index}]: {field}: {error['msg']}") from exc
    unsupported = sorted({step.action for step in steps if not action_supported(step.action)})
    for step in steps:
        if not action_supported(step.action):
            problems.append(f"unsupported action {step.action!r} in step {step.id or step.name!r}")
        if "each" in (step.model_extra or {}):
            problems.append(f"step {step.id or step.name or step.action!r} loops with each:, which Roadbed does not support")
    if not any(step.action.startswith("fetch:") for step in steps):
        problems.append("no fetch:template or fetch:plain step")
    fetched, fetch_problems = fetch_remote_skeletons(steps, fetcher)
    problems += fetch_problems + skeleton_url_problems(steps, directory, root or directory, fetched=fetched, fetcher=fetcher)
    try:
        version = roadbed.version or f"0.0.0+{content_digest(directory, shared_skeletons(steps, directory, root or directory), list(fetched.values()))}"
    except OSError as exc:
        raise TemplateError(f"cannot read a file of the template: {exc}") from exc
    if not _SEMVER.match(version):
        problems.append(f"spec.roadbed.version {version!r} is not semver")
    schema, pages = merge_parameter_pages(spec.get("parameters"))
    tags = metadata.get("tags") or []
    if not isinstance(tags, list):
        raise TemplateError(f"metadata.tags must be a list, not {_type(tags)}")
    return GoldenPath(
        name=name,
        title=_text(metadata.get("title"), "metadata.title") or name,
        description=_text(metadata.get("description"), "metadata.description") or "",
        version=version,
        tags=[str(tag) for tag in tags],
        type=_text(spec.get("type"), "spec.type"),
        owner=_text(spec.get("owner"), "spec.owner"),
        parameters=schema,
        pages=pages,
        roadbed=roadbed,
        steps=steps,
        output=_mapping(spec.get("output"), "spec.output"),
        directory=directory,
        root=root,
        remote_skeletons={url: remote.path for url, remote in fetched.items()},
        problems=problems,
        unsupported_actions=unsupported,
    )


class GoldenPathRegistry:
    """Every golden path found in the configured directories; the first of a name wins.

    Each visible subdirectory holds templates: its `template.yaml`, or any `*.yaml` of `kind: Template` found
    in it or below (`find_template_files`), as do `*.yaml` files of that kind directly in a root. One that
    cannot be loaded (bad YAML, ...) is listed invalid with its reason, as is a subdirectory without any
    template, unless it holds skeletons (named `skeletons`, ..., or used by a template's `../` url). Hidden and
    `_`-prefixed ones (.git, __pycache__) are skipped.
    """

    def __init__(self, directories: list[Path], *, fetcher: SkeletonFetcher | None = None) -> None:
        """`fetcher`: fetches remote skeleton urls at discovery (GitHub ones when the repository host is GitHub,
        `roadbed.template_fetch`); without one every remote url is listed invalid."""
        self._paths: dict[str, GoldenPath] = {}
        for root in directories:
            if not root.is_dir():
                continue
            for source in sorted(p for p in root.iterdir() if p.suffix in {".yaml", ".yml"} and p.is_file() and _is_template_document(p)):
                golden_path = load_golden_path_file(source, root=root, fetcher=fetcher)
                self._paths.setdefault(golden_path.name, golden_path)
            without_templates = []
            for directory in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith((".", "_"))):
                sources = find_template_files(directory)
                if not sources:
                    without_templates.append(directory)
                for golden_path in [load_golden_path_file(source, root=root, fetcher=fetcher) for source in sources]:
                    self._paths.setdefault(golden_path.name, golden_path)
            skeletons = {path for gp in self._paths.values() if gp.root == root for path in shared_skeletons(gp.steps, gp.directory, root)}
            for directory in without_templates:
                if directory.name not in _SKIPPED_DIRECTORIES and not any(path.is_relative_to(directory.resolve()) for path in skeletons):
                    self._paths.setdefault(directory.name, unloadable(directory, "has no template.yaml (nor any *.yaml of kind: Template)"))

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
