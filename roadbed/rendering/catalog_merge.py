"""Roadbed's additions merged into the `catalog-info.yaml` a golden path's skeleton ships.

A Backstage template registers its own entity (`catalog:register` reads `catalogInfoPath`, default
`/catalog-info.yaml`). Roadbed keeps that file and only adds what describes the environment it built:

- on the service's Component, `backstage.io/source-template` (Roadbed's value: it knows what ran), the live
  environments' facts and what derives from them (`roadbed.rendering.catalog_environments.describe`: the
  `roadbed.dev/environments` and `roadbed.dev/env.<env>.*` annotations, `roadbed.dev/environment-id`,
  `roadbed.dev/golden-path-version`, `spec.lifecycle` raised to `production` while a prod environment lives, and
  `backstage.io/kubernetes-namespace` / `argocd/app-name` when absent or holding a namespace of the service),
  `backstage.io/source-location` and the plugin annotations (only when the template set none), Roadbed's Runbook
  link (only when the repository has `docs/runbook.md` and the entity links no runbook), `spec.dependsOn` and
  `spec.providesApis` extended with Roadbed's refs (no duplicates), and `spec.system` when the request names one;
- one Resource document per provisioned resource and the API, appended (Roadbed's own documents, replaced when they
  change); the Resource documents of environments the Component no longer describes (released since the file was
  last written: a release does not rewrite the file) are taken out, and other environments' Resources are left to
  those environments (`roadbed.storage.catalog` never registers them under this one).

Everything else the template wrote (annotations, tags, title, links, description, comments,
other documents such as an API) stays as written. Edits are made in the text, so the file differs from the
template's rendering only by the added lines; when an edit cannot be made in place (a flow-style mapping, say)
the Component's document alone is rewritten.

Two values are Roadbed's, not the template's. `spec.owner` is the service's team (the template's spelling is kept
when it names that team, `payments` for `group:default/payments`; otherwise Roadbed's ref replaces it, as after a
transfer to another team). The Component must be `component:default/<service>`: the environment's catalog link and
the ownership rules hinge on that name, and renaming would break the file's other references to it, so a file whose
Component is named otherwise fails the step (non-retryable, naming the file and line). A file with no Component at
all gets Roadbed's appended. A malformed file, or an invalid entity, fails the same way.
"""

from __future__ import annotations

import copy
import posixpath
from dataclasses import dataclass
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from roadbed.catalog.model import entity_problems
from roadbed.catalog.parsing import check_structure
from roadbed.catalog.refs import DEFAULT_NAMESPACE, InvalidRef, parse_ref
from roadbed.domain.errors import PermanentError, RoadbedError
from roadbed.domain.specs import TemplateStep
from roadbed.rendering import plain_yaml
from roadbed.rendering.catalog_entities import PLUGIN_ANNOTATIONS
from roadbed.rendering.catalog_environments import describe, facts_of
from roadbed.rendering.skeleton import UnsafeTemplatePath, safe_repo_path
from roadbed.rendering.templating import render_value

DEFAULT_PATH = "catalog-info.yaml"
RUNBOOK_PATH = "docs/runbook.md"
SET_ANNOTATIONS = ("backstage.io/source-template",)
"""Roadbed's value replaces the template's (the environments' facts are `describe`'s)."""
DEFAULT_ANNOTATIONS = ("backstage.io/source-location", *PLUGIN_ANNOTATIONS)
"""Added only when the template set none."""
_WIDTH = 4096


class CatalogInfoError(PermanentError):
    """The repository's catalog file cannot be merged: malformed YAML, an invalid entity, or one that contradicts Roadbed."""

    code = "invalid_catalog_info"


class _Loader(yaml.SafeLoader):
    """Safe loading without implicit timestamps, as `roadbed.catalog.parsing` reads catalog files."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


@dataclass(frozen=True)
class CatalogInfo:
    """The merged file (`changed` False: leave the repository alone) and the entities to register, the Component first."""

    path: str
    text: str
    changed: bool
    entities: list[dict[str, Any]]


@dataclass(frozen=True)
class _Document:
    node: Node
    data: Any

    @property
    def line(self) -> int:
        return self.node.start_mark.line + 1

    def ref(self) -> str:
        metadata = self.data["metadata"]
        return f"{self.data['kind']}:{metadata.get('namespace') or DEFAULT_NAMESPACE}/{metadata['name']}".lower()


def catalog_info_path(steps: list[TemplateStep], parameters: dict[str, Any]) -> str:
    """Where the repository's catalog file is: the `catalog:register` step's `catalogInfoPath` (default
    `/catalog-info.yaml`), below a `publish:*` step's `sourcePath` (Roadbed's repository holds the whole workspace)."""
    context: dict[str, Any] = {"parameters": parameters, "steps": {}}
    source, info = ".", "/" + DEFAULT_PATH
    for step in steps:
        where = f"step {step.id or step.action}"
        if step.action.startswith("publish:") and step.input.get("sourcePath"):
            source = _rendered_path(step.input["sourcePath"], context, where=f"{where} sourcePath") or source
        elif step.action == "catalog:register" and step.input.get("catalogInfoPath"):
            info = _rendered_path(step.input["catalogInfoPath"], context, where=f"{where} catalogInfoPath") or info
    try:
        return safe_repo_path(posixpath.join(source, info.lstrip("/")), where="catalog:register")
    except UnsafeTemplatePath as exc:
        raise CatalogInfoError(str(exc)) from exc


def _rendered_path(value: Any, context: dict[str, Any], *, where: str) -> str | None:
    rendered = render_value(value, context, where=where)
    if rendered is None or rendered == "":
        return None
    if not isinstance(rendered, str):
        raise CatalogInfoError(f"{where}: must be a path, got {rendered!r}")
    return rendered


def merge_catalog_info(existing: bytes | None, rendered: list[dict[str, Any]], *, path: str, runbook: bool) -> CatalogInfo:
    """Merge Roadbed's `rendered` entities (its Component first, then Resources) into the repository's file.

    No file: Roadbed's entities are the file. `runbook`: the repository has `docs/runbook.md`."""
    component, resources = rendered[0], rendered[1:]
    if existing is None:
        return CatalogInfo(path, plain_yaml.dump_all(rendered), True, rendered)
    text = _decode(existing, path)
    documents = _parse(text, path)
    _check_entities(documents, path)
    edits: list[tuple[int, int, str]] = []
    appended: list[dict[str, Any]] = []
    ours = _service_component(documents, component, path)
    if ours is None:
        appended.append(component)
        merged_component = component
    else:
        merged_component = _merged(ours.data, component, runbook=runbook)
        edits += _component_edits(text, ours, merged_component)
    by_ref = {document.ref(): document for document in documents}
    described = {fact.environment_id for fact in facts_of(merged_component)}
    rendered_refs = {_ref_of(resource) for resource in resources}
    stale = [
        document for document in documents
        if document is not ours and _environment_id(document.data) not in (None, *described) and document.ref() not in rendered_refs
    ]
    edits += [_removal(text, document) for document in stale]
    for resource in resources:
        found = by_ref.get(_ref_of(resource))
        if found is None:
            appended.append(resource)
        elif found.data != resource:
            edits.append((found.node.start_mark.index, _content_end(found.node), _dumped(resource)))
    new_text = _applied(text, edits)
    if appended:
        new_text += ("" if new_text.endswith("\n") or not new_text else "\n") + "".join("---\n" + _dumped(doc) + "\n" for doc in appended)
    replaced = {_ref_of(resource): resource for resource in resources}
    others = [replaced.get(document.ref(), document.data) for document in documents if document is not ours and document not in stale]
    entities = [merged_component, *others, *(doc for doc in appended if doc is not component)]
    return CatalogInfo(path, new_text, new_text != text, entities)


def _decode(existing: bytes, path: str) -> str:
    try:
        return existing.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise CatalogInfoError(f"{path}: not UTF-8 text (byte {exc.start})") from exc


def _parse(text: str, path: str) -> list[_Document]:
    documents: list[_Document] = []
    loader = _Loader(text)
    try:
        while loader.check_node():
            node = loader.get_node()
            if node is None or (isinstance(node, ScalarNode) and node.tag == "tag:yaml.org,2002:null"):
                continue
            data = loader.construct_document(node)
            try:
                check_structure(data)
            except RoadbedError as exc:
                raise CatalogInfoError(f"{path}:{node.start_mark.line + 1}: {exc}") from exc
            documents.append(_Document(node, data))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"{path}:{mark.line + 1}" if mark else path
        raise CatalogInfoError(f"{where}: not valid YAML: {exc.problem or exc.context}") from exc
    except yaml.YAMLError as exc:
        raise CatalogInfoError(f"{path}: not valid YAML: {' '.join(str(exc).split())}") from exc
    finally:
        loader.dispose()
    return documents


def _check_entities(documents: list[_Document], path: str) -> None:
    seen: dict[str, int] = {}
    for document in documents:
        problems = entity_problems(document.data)
        if problems:
            listed = "; ".join(f"{field or 'entity'}: {message}" for field, message in problems)
            raise CatalogInfoError(f"{path}:{document.line}: not a valid catalog entity: {listed}")
        ref = document.ref()
        if ref in seen:
            raise CatalogInfoError(f"{path}:{document.line}: {ref} is already defined at line {seen[ref]}")
        seen[ref] = document.line


def _environment_id(entity: dict[str, Any]) -> str | None:
    """The environment of a Resource Roadbed wrote (`roadbed.dev/environment-id`); None for anything else."""
    if entity.get("kind") != "Resource":
        return None
    value = ((entity.get("metadata") or {}).get("annotations") or {}).get("roadbed.dev/environment-id")
    return str(value) if value else None


def _removal(text: str, document: _Document) -> tuple[int, int, str]:
    """The edit taking a document out, with the `---` line that opens it (a released environment's Resource)."""
    start = document.node.start_mark.index
    separator = text.rfind("\n---", 0, start)
    begin = separator + 1 if separator >= 0 and not text[separator + 4 : start].strip() else start
    end = _content_end(document.node)
    newline = text.find("\n", end)
    return (begin, len(text) if newline < 0 else newline + 1, "")


def _ref_of(entity: dict[str, Any]) -> str:
    metadata = entity["metadata"]
    return f"{entity['kind']}:{metadata.get('namespace') or DEFAULT_NAMESPACE}/{metadata['name']}".lower()


def _service_component(documents: list[_Document], component: dict[str, Any], path: str) -> _Document | None:
    """The document of the service's Component; None when the file has no Component at all (Roadbed's is appended)."""
    wanted = _ref_of(component)
    components = [document for document in documents if document.data["kind"].lower() == "component"]
    ours = next((document for document in components if document.ref() == wanted), None)
    if ours is None and components:
        raise CatalogInfoError(
            f"{path}:{components[0].line}: the Component is {components[0].ref()}, but this service registers as {wanted}; "
            "name it after the service (metadata.name: ${{ values.name }}, no other namespace)"
        )
    return ours


def _owner(owner: str, entity: dict[str, Any]) -> str:
    try:
        return str(parse_ref(owner, "group", entity["metadata"].get("namespace") or DEFAULT_NAMESPACE))
    except InvalidRef:
        return owner.lower()


def _merged(template: dict[str, Any], roadbed: dict[str, Any], *, runbook: bool) -> dict[str, Any]:
    merged = copy.deepcopy(template)
    metadata, spec = merged["metadata"], merged["spec"]
    ours = roadbed["metadata"]["annotations"]
    annotations = dict(metadata.get("annotations") or {})
    annotations |= {key: ours[key] for key in SET_ANNOTATIONS if key in ours}
    annotations |= {key: ours[key] for key in DEFAULT_ANNOTATIONS if key in ours and key not in annotations}
    if annotations != (metadata.get("annotations") or {}):
        metadata["annotations"] = annotations
    links = list(metadata.get("links") or [])
    runbook_links = [link for link in roadbed["metadata"].get("links") or [] if link.get("type") == "runbook"]
    if runbook and runbook_links and not any(str(link.get("type", "")).lower() == "runbook" for link in links):
        metadata["links"] = links + runbook_links
    if _owner(spec["owner"], template) != _owner(roadbed["spec"]["owner"], roadbed):
        spec["owner"] = roadbed["spec"]["owner"]  # the service's team, as Roadbed's ownership rules (and transfers) decide
    for field in ("dependsOn", "providesApis"):
        present = list(spec.get(field) or [])
        known = {str(ref).lower() for ref in present}
        missing = [ref for ref in roadbed["spec"].get(field) or [] if ref.lower() not in known]
        if missing:
            spec[field] = present + missing
    if roadbed["spec"].get("system") and spec.get("system") != roadbed["spec"]["system"]:
        spec["system"] = roadbed["spec"]["system"]  # the request named it
    facts = facts_of(roadbed)
    if not facts:
        return merged
    # what the file still records of environments gone since (the file is rewritten at registrations, not releases)
    gone = [fact for fact in facts_of(template) if fact not in facts]
    return describe(merged, facts, service=roadbed["metadata"]["name"], dropped=gone)


# -- edits in the text


class _NotInPlace(Exception):
    """This change cannot be made by inserting or replacing a scalar: the document is rewritten instead."""


def _component_edits(text: str, document: _Document, merged: dict[str, Any]) -> list[tuple[int, int, str]]:
    desired = {"metadata": merged["metadata"], "spec": merged["spec"]}
    try:
        edits = _mapping_edits(text, document.node, desired)
        if _parsed(_applied(text, edits), document) == merged:
            return edits
    except (_NotInPlace, yaml.YAMLError):
        pass
    return [(document.node.start_mark.index, _content_end(document.node), _dumped(merged))]


def _parsed(text: str, document: _Document) -> Any:
    """The document starting where `document` started, read back from the edited text."""
    loader = _Loader(text)
    try:
        while loader.check_node():
            node = loader.get_node()
            if node is not None and node.start_mark.index == document.node.start_mark.index:
                return loader.construct_document(node)
    finally:
        loader.dispose()
    return None


def _mapping_edits(text: str, node: Node, desired: dict[str, Any]) -> list[tuple[int, int, str]]:
    if not isinstance(node, MappingNode) or node.flow_style or not node.value:
        raise _NotInPlace
    existing = {key.value: value for key, value in node.value if isinstance(key, ScalarNode)}
    edits: list[tuple[int, int, str]] = []
    missing: dict[str, Any] = {}
    for key, value in desired.items():
        child = existing.get(key)
        if child is None:
            missing[key] = value
        elif _constructed(child) == value:
            continue
        elif isinstance(value, dict):
            edits += _mapping_edits(text, child, value)
        elif isinstance(value, list):
            edits += _sequence_edits(text, child, value)
        elif isinstance(child, ScalarNode) and child.style in (None, "'", '"') and not isinstance(value, dict | list):
            edits.append((child.start_mark.index, child.end_mark.index, _scalar(value)))
        else:
            raise _NotInPlace
    if missing:
        indent = " " * node.value[0][0].start_mark.column
        block = "".join(indent + line + "\n" for line in plain_yaml.dump(missing, width=_WIDTH).splitlines())
        edits.append(_insertion(text, _content_end(node), block))
    return edits


def _sequence_edits(text: str, node: Node, desired: list[Any]) -> list[tuple[int, int, str]]:
    if not isinstance(node, SequenceNode) or node.flow_style or not node.value:
        raise _NotInPlace
    current = _constructed(node)
    if desired[: len(current)] != current:
        raise _NotInPlace
    first = node.value[0].start_mark.index
    line_start = text.rfind("\n", 0, first) + 1
    dash = text.rfind("-", line_start, first)
    if dash < 0:
        raise _NotInPlace
    indent = " " * (dash - line_start)
    block = "".join(indent + line + "\n" for line in plain_yaml.dump(desired[len(current) :], width=_WIDTH).splitlines())
    return [_insertion(text, _content_end(node), block)]


def _insertion(text: str, content_end: int, block: str) -> tuple[int, int, str]:
    """`block` (whole lines) placed after the line the content ends on, keeping that line's trailing comment."""
    newline = text.find("\n", content_end)
    if newline < 0:
        return (len(text), len(text), "\n" + block.removesuffix("\n"))
    return (newline + 1, newline + 1, block)


def _constructed(node: Node) -> Any:
    loader = _Loader("")
    try:
        return loader.construct_object(node, deep=True)
    finally:
        loader.dispose()


def _content_end(node: Node) -> int:
    """Where a node's own text ends (before trailing comments and blank lines a block's end mark takes in)."""
    if isinstance(node, MappingNode) and not node.flow_style and node.value:
        return _content_end(node.value[-1][1])
    if isinstance(node, SequenceNode) and not node.flow_style and node.value:
        return _content_end(node.value[-1])
    end = node.end_mark.index
    if isinstance(node, ScalarNode) and node.style in ("|", ">"):  # a block scalar's end mark takes in the blank lines after it
        while end > node.start_mark.index and node.end_mark.buffer[end - 1] in " \t\r\n":
            end -= 1
    return end


def _scalar(value: Any) -> str:
    text = plain_yaml.dump(value, width=_WIDTH).removesuffix("\n...\n").removesuffix("\n")
    if "\n" in text:
        raise _NotInPlace
    return text


def _dumped(document: dict[str, Any]) -> str:
    return plain_yaml.dump(document, width=_WIDTH).removesuffix("\n")


def _applied(text: str, edits: list[tuple[int, int, str]]) -> str:
    for start, end, replacement in sorted(edits, key=lambda edit: edit[0], reverse=True):
        text = text[:start] + replacement + text[end:]
    return text
