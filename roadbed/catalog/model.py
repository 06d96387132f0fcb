"""The Backstage entity model (`backstage.io/v1alpha1`): envelope, metadata and one spec model per kind.

`validate_entities` checks a batch of raw entities and either returns every one normalised with its
ref, or raises `CatalogValidationError` naming each bad entity (index and ref) and field: all or nothing.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, ValidationError, model_validator

from roadbed.catalog.refs import DEFAULT_NAMESPACE, EntityRef, key_problem, make_ref, name_problem, ref_problem, tag_problem
from roadbed.domain.errors import FieldError, InvalidRequest

API_VERSIONS = ("backstage.io/v1alpha1", "backstage.io/v1beta1")
ENVELOPE_FIELDS = ("apiVersion", "kind", "metadata", "spec", "relations", "status")


def _check(problem: str | None, value: Any) -> Any:
    if problem:
        raise ValueError(problem)
    return value


def _non_empty(value: str) -> str:
    return _check(None if value.strip() else "must not be empty", value)


def _ref(default_kind: str | None) -> Any:
    return AfterValidator(lambda value: _check(ref_problem(value, default_kind), value))


NonEmpty = Annotated[str, AfterValidator(_non_empty)]
Name = Annotated[str, AfterValidator(lambda value: _check(name_problem(value), value))]
Namespace = Annotated[str, AfterValidator(lambda value: _check(name_problem(value, "namespace"), value))]
Tag = Annotated[str, AfterValidator(lambda value: _check(tag_problem(value), value))]
GroupRef = Annotated[str, _ref("group")]
UserRef = Annotated[str, _ref("user")]
SystemRef = Annotated[str, _ref("system")]
DomainRef = Annotated[str, _ref("domain")]
ApiRef = Annotated[str, _ref("api")]
ComponentRef = Annotated[str, _ref("component")]
DependencyRef = Annotated[str, _ref("component")]  # should carry its kind; defaults to a Component


def _keys(what: str, values: dict[str, str], check_value: bool) -> dict[str, str]:
    problems = [f"{what} {p}" for key in values if (p := key_problem(key))]
    if check_value:
        problems += [f"{what} value {v!r} of {k!r} must be empty or a valid name (1-63 characters)" for k, v in values.items() if v and name_problem(v)]
    if problems:
        raise ValueError("; ".join(problems))
    return values


class _Model(BaseModel):
    model_config = ConfigDict(extra="allow", strict=True)


class Link(_Model):
    url: NonEmpty
    title: str | None = None
    icon: str | None = None
    type: str | None = None


class Metadata(_Model):
    name: Name
    namespace: Namespace | None = None
    title: str | None = None
    description: str | None = None
    labels: Annotated[dict[str, str], AfterValidator(lambda v: _keys("label", v, check_value=True))] | None = None
    annotations: Annotated[dict[str, str], AfterValidator(lambda v: _keys("annotation", v, check_value=False))] | None = None
    tags: list[Tag] | None = None
    links: list[Link] | None = None


class Profile(_Model):
    displayName: str | None = None  # noqa: N815 - Backstage's field names
    email: str | None = None
    picture: str | None = None


class ComponentSpec(_Model):
    type: NonEmpty
    lifecycle: NonEmpty
    owner: GroupRef
    system: SystemRef | None = None
    subcomponentOf: ComponentRef | None = None  # noqa: N815
    providesApis: list[ApiRef] | None = None  # noqa: N815
    consumesApis: list[ApiRef] | None = None  # noqa: N815
    dependsOn: list[DependencyRef] | None = None  # noqa: N815
    dependencyOf: list[DependencyRef] | None = None  # noqa: N815


def _definition(value: Any) -> Any:
    """The API's definition text, or an unresolved `$text`/`$json`/`$yaml` placeholder as Backstage allows."""
    if isinstance(value, str):
        return _non_empty(value)
    if isinstance(value, dict) and len(value) == 1:
        (key, target), = value.items()
        if key in ("$text", "$json", "$yaml") and isinstance(target, str) and target.strip():
            return value
    raise ValueError("must be the definition text, or a {$text|$json|$yaml: location} placeholder")


class ApiSpec(_Model):
    type: NonEmpty
    lifecycle: NonEmpty
    owner: GroupRef
    definition: Annotated[Any, AfterValidator(_definition)]
    system: SystemRef | None = None


class ResourceSpec(_Model):
    type: NonEmpty
    owner: GroupRef
    system: SystemRef | None = None
    dependsOn: list[DependencyRef] | None = None  # noqa: N815
    dependencyOf: list[DependencyRef] | None = None  # noqa: N815


class SystemSpec(_Model):
    owner: GroupRef
    domain: DomainRef | None = None
    type: NonEmpty | None = None


class DomainSpec(_Model):
    owner: GroupRef
    subdomainOf: DomainRef | None = None  # noqa: N815
    type: NonEmpty | None = None


class GroupSpec(_Model):
    type: NonEmpty
    children: list[GroupRef]
    parent: GroupRef | None = None
    members: list[UserRef] | None = None
    profile: Profile | None = None


class UserSpec(_Model):
    memberOf: list[GroupRef] | None = None  # noqa: N815
    profile: Profile | None = None


class LocationSpec(_Model):
    type: NonEmpty | None = None
    target: NonEmpty | None = None
    targets: list[NonEmpty] | None = None
    presence: str | None = None

    @model_validator(mode="after")
    def _has_a_target(self) -> LocationSpec:
        if self.target is None and not self.targets:
            raise ValueError("a Location needs `target` or a non-empty `targets`")
        if self.presence not in (None, "required", "optional"):
            raise ValueError("presence must be 'required' or 'optional'")
        return self


SPECS: dict[str, type[_Model]] = {
    "Component": ComponentSpec,
    "API": ApiSpec,
    "Resource": ResourceSpec,
    "System": SystemSpec,
    "Domain": DomainSpec,
    "Group": GroupSpec,
    "User": UserSpec,
    "Location": LocationSpec,
}
KINDS = {kind.lower(): kind for kind in SPECS}


# -- validation


@dataclass(frozen=True)
class EntityProblem:
    """One fault of one entity of a batch: its position, its ref when it has one, the field and what is wrong."""

    index: int
    ref: str | None
    field: str
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {"field": f"entities[{self.index}]" + (f".{self.field}" if self.field else ""), "message": self.message, "index": self.index, "ref": self.ref}


class CatalogValidationError(InvalidRequest):
    """Some entities of a batch are invalid; nothing of the batch may be stored."""

    def __init__(self, problems: list[EntityProblem]) -> None:
        self.problems = list(problems)
        errors = [FieldError(p.as_dict()["field"], p.message) for p in self.problems]
        summary = "; ".join(f"entity #{p.index}" + (f" ({p.ref})" if p.ref else "") + f" {p.field or 'entity'}: {p.message}" for p in self.problems)
        super().__init__(errors, f"invalid entities: {summary}")


@dataclass(frozen=True)
class ValidEntity:
    ref: EntityRef
    body: dict[str, Any]


def _path(loc: tuple[Any, ...]) -> str:
    path = ""
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path


def _pydantic_problems(prefix: str, exc: ValidationError) -> list[tuple[str, str]]:
    problems = []
    for error in exc.errors(include_url=False):
        message = error["msg"].removeprefix("Value error, ")
        problems.append((_path((prefix, *error["loc"])), message))
    return problems


def _raw_ref(raw: dict[str, Any]) -> str | None:
    """The ref a possibly invalid entity claims, to name it in errors."""
    kind, metadata = raw.get("kind"), raw.get("metadata")
    if not isinstance(kind, str) or not isinstance(metadata, dict) or not isinstance(metadata.get("name"), str):
        return None
    namespace = metadata.get("namespace")
    return f"{kind}:{namespace if isinstance(namespace, str) else DEFAULT_NAMESPACE}/{metadata['name']}".lower()


def entity_problems(raw: Any) -> list[tuple[str, str]]:
    """Every (field, message) wrong with one raw entity; empty when it is valid."""
    if not isinstance(raw, dict):
        return [("", f"an entity must be an object, got {type(raw).__name__}")]
    problems = [(key, "unknown field; an entity has apiVersion, kind, metadata and spec") for key in raw if key not in ENVELOPE_FIELDS]
    api_version = raw.get("apiVersion")
    if api_version is None:
        problems.append(("apiVersion", "Field required"))
    elif api_version not in API_VERSIONS:
        problems.append(("apiVersion", f"must be one of {', '.join(API_VERSIONS)}, got {api_version!r}"))
    kind = raw.get("kind")
    if kind is None:
        problems.append(("kind", "Field required"))
    elif not isinstance(kind, str) or kind.lower() not in KINDS:
        problems.append(("kind", f"must be one of {', '.join(SPECS)}, got {kind!r}"))
    for part, model in (("metadata", Metadata), ("spec", SPECS.get(KINDS.get(str(kind).lower(), "")))):
        value = raw.get(part)
        if value is None:
            if part == "metadata" or model is not None:
                problems.append((part, "Field required"))
            continue
        if model is None:
            continue
        try:
            model.model_validate(value)
        except ValidationError as exc:
            problems += _pydantic_problems(part, exc)
    return problems


def normalise(raw: dict[str, Any]) -> ValidEntity:
    """A valid entity as stored: canonical kind, explicit namespace, no client-sent relations."""
    body = copy.deepcopy({key: value for key, value in raw.items() if key != "relations"})
    body["kind"] = KINDS[body["kind"].lower()]
    body["metadata"].setdefault("namespace", DEFAULT_NAMESPACE)
    if body["metadata"]["namespace"] is None:
        body["metadata"]["namespace"] = DEFAULT_NAMESPACE
    metadata = body["metadata"]
    return ValidEntity(make_ref(body["kind"], metadata["namespace"], metadata["name"]), body)


def validate_entity(raw: Any) -> ValidEntity:
    """One entity, normalised; raises CatalogValidationError (index 0) when invalid."""
    return validate_entities([raw])[0]


def validate_entities(raws: list[Any]) -> list[ValidEntity]:
    """Validate a batch; any fault anywhere raises CatalogValidationError naming all of them."""
    problems: list[EntityProblem] = []
    valid: list[ValidEntity] = []
    seen: dict[EntityRef, int] = {}
    if not raws:
        raise CatalogValidationError([EntityProblem(0, None, "", "no entities given")])
    for index, raw in enumerate(raws):
        ref = _raw_ref(raw) if isinstance(raw, dict) else None
        found = entity_problems(raw)
        if found:
            problems += [EntityProblem(index, ref, field, message) for field, message in found]
            continue
        entity = normalise(raw)
        if entity.ref in seen:
            problems.append(EntityProblem(index, str(entity.ref), "metadata.name", f"duplicate of entities[{seen[entity.ref]}] ({entity.ref})"))
            continue
        seen[entity.ref] = index
        valid.append(entity)
    if problems:
        raise CatalogValidationError(problems)
    return valid
