"""Request validation: every offending field named at once, before anything is started or written.

Used twice with the same rules: by the API (to answer 422 fast) and by the workflow's `validate`
step (the golden path or the modules may have changed since the request was accepted).

Nothing a later step would refuse gets past here (issue 11): resource settings are checked against their
module's own `variable` blocks — declared type and every `validation` rule (`roadbed.terraform_variables`) —
settings and template parameters nobody declared are refused, and names must fit every step that derives
a name from them (`roadbed.domain.naming`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jsonschema import Draft7Validator
from pydantic import ValidationError

from roadbed.domain.errors import FieldError, InvalidRequest
from roadbed.domain.models import EnvironmentName, EnvironmentRequest
from roadbed.domain.naming import dns_label_problem, reserved_name_problem, resource_name_problem, service_name_problem
from roadbed.golden_paths import ROADBED_SUPPLIED_PARAMETERS, GoldenPath, GoldenPathRegistry, template_parameters
from roadbed.hcl_expressions import OPAQUE
from roadbed.rendering.terraform import COMMON_VARIABLES, available_resource_types
from roadbed.sealing import is_sealed
from roadbed.terraform_variables import check_settings, module_variables

MAX_RESOURCES = 20


def _pydantic_errors(raw: dict[str, Any]) -> list[FieldError]:
    try:
        EnvironmentRequest.model_validate(raw)
    except ValidationError as exc:
        return [FieldError(".".join(str(p) for p in err["loc"]) or "body", err["msg"]) for err in exc.errors()]
    return []


def _label_error(field: str, value: Any) -> list[FieldError]:
    if not isinstance(value, str):
        return []
    problem = dns_label_problem(value)
    return [FieldError(field, problem)] if problem else []


class RequestValidator:
    """Checks a raw request body against the rules, the golden paths and the Terraform modules."""

    def __init__(self, registry: GoldenPathRegistry, modules_dir: Path) -> None:
        self.registry = registry
        self.modules_dir = modules_dir
        self.resource_types = available_resource_types(modules_dir)

    def validate(self, raw: Any, *, sealed_settings: bool = False) -> tuple[EnvironmentRequest, GoldenPath]:
        """The request, its settings converted to their declared types, and its golden path; or InvalidRequest.

        `sealed_settings`: the request is one Roadbed stored, whose sensitive settings hold sealed references
        (their clear values were checked at submission): those are not looked at. A request from outside
        may not carry a sealed reference at all.
        """
        if not isinstance(raw, dict):
            raise InvalidRequest([FieldError("body", "must be a JSON object")])
        errors = _pydantic_errors(raw)
        reported = {e.field.split(".")[0] for e in errors}
        converted: list[Any] = []
        semantic = self._semantic_errors(raw, sealed_settings, converted)
        errors += [e for e in semantic if e.field.split(".")[0] not in reported or e.field.startswith(("resources.", "parameters."))]
        golden_path = self.registry.find(raw.get("golden_path")) if isinstance(raw.get("golden_path"), str) else None
        if errors or golden_path is None:
            raise InvalidRequest(_unique(errors) or [FieldError("golden_path", "unknown golden path")])
        return EnvironmentRequest.model_validate(raw | {"resources": converted}), golden_path

    def _semantic_errors(self, raw: dict[str, Any], sealed_settings: bool, converted: list[Any]) -> list[FieldError]:
        service = raw.get("service")
        errors = [FieldError("service", problem)] if isinstance(service, str) and (problem := service_name_problem(service)) else []
        errors += _label_error("team", raw.get("team"))
        reserved = reserved_name_problem(raw["service"]) if isinstance(raw.get("service"), str) else None
        if reserved and not errors:
            errors.append(FieldError("service", reserved))
        environment = raw.get("environment")
        if isinstance(environment, str) and environment not in {e.value for e in EnvironmentName}:
            allowed = ", ".join(e.value for e in EnvironmentName)
            errors.append(FieldError("environment", f"unknown environment {environment!r}; expected one of {allowed}"))
        golden_path = None
        name = raw.get("golden_path")
        if isinstance(name, str):
            golden_path = self.registry.find(name)
            if golden_path is None:
                known = ", ".join(gp.name for gp in self.registry.list() if gp.valid)
                errors.append(FieldError("golden_path", f"unknown golden path {name!r}; available: {known}"))
            elif not golden_path.valid:
                errors.append(FieldError("golden_path", f"golden path {name!r} is invalid: {'; '.join(golden_path.problems)}"))
                golden_path = None
        errors += self._resource_errors(raw, golden_path, sealed_settings, converted)
        if golden_path is not None and isinstance(raw.get("parameters", {}), dict):
            errors += self._parameter_errors(raw, golden_path)
        return errors

    def _resource_errors(self, raw: dict[str, Any], golden_path: GoldenPath | None, sealed_settings: bool, converted: list[Any]) -> list[FieldError]:
        """Type, name and settings of each resource; `converted` gets the resources as Terraform will get them."""
        resources = raw.get("resources")
        if not isinstance(resources, list):
            return []
        errors: list[FieldError] = []
        if len(resources) > MAX_RESOURCES:
            errors.append(FieldError("resources", f"at most {MAX_RESOURCES} resources per environment"))
        seen: set[str] = set()
        for i, resource in enumerate(resources):
            converted.append(resource)
            if not isinstance(resource, dict):
                continue
            kind, name = resource.get("type"), resource.get("name")
            if isinstance(kind, str):
                if kind not in self.resource_types:
                    known = ", ".join(sorted(self.resource_types))
                    errors.append(FieldError(f"resources.{i}.type", f"unknown resource type {kind!r}; known: {known}"))
                elif golden_path is not None and golden_path.roadbed.resources and kind not in golden_path.roadbed.resources:
                    errors.append(FieldError(f"resources.{i}.type", f"golden path {golden_path.name!r} does not offer {kind!r}"))
            label = _label_error(f"resources.{i}.name", name)
            errors += label
            if isinstance(name, str):
                service = raw.get("service")
                if not label and isinstance(service, str) and not service_name_problem(service) and (problem := resource_name_problem(service, name)):
                    errors.append(FieldError(f"resources.{i}.name", problem))
                if name in seen:
                    errors.append(FieldError(f"resources.{i}.name", f"duplicate resource name {name!r}"))
                seen.add(name)
            if isinstance(kind, str) and kind in self.resource_types:
                checked, problems = self._setting_errors(i, kind, resource, raw, sealed_settings)
                errors += problems
                converted[i] = {**resource, **checked}
        return errors

    def _setting_errors(self, i: int, kind: str, resource: dict[str, Any], raw: dict[str, Any], sealed_settings: bool) -> tuple[dict[str, Any], list[FieldError]]:
        """(the settings converted to their declared types, what is wrong with them) for resource `i`."""
        variables = module_variables(self.modules_dir / kind)
        allowed = set(variables) - set(COMMON_VARIABLES)
        settings = {key: value for key, value in resource.items() if key not in {"type", "name"}}
        errors = [
            FieldError(f"resources.{i}.{key}", f"unknown setting for {kind}; known: {', '.join(sorted(allowed)) or 'none'}")
            for key in settings
            if key not in allowed
        ]
        sealed = frozenset(key for key in allowed & settings.keys() if variables[key].sensitive and is_sealed(settings[key]))
        if not sealed_settings:
            errors += [FieldError(f"resources.{i}.{key}", "must be the value itself, not a sealed reference") for key in sorted(sealed)]
        supplied = {key: raw.get(key) if isinstance(raw.get(key), str) else OPAQUE for key in ("service", "environment", "team")}
        supplied["name"] = resource.get("name") if isinstance(resource.get("name"), str) else OPAQUE
        known = {key: value for key, value in settings.items() if key in allowed}
        checked, problems = check_settings(variables, known, supplied, opaque=sealed)
        errors += [FieldError(f"resources.{i}.{p.setting}", p.message) for p in problems if p.setting not in sealed]
        return checked, errors

    def _parameter_errors(self, raw: dict[str, Any], golden_path: GoldenPath) -> list[FieldError]:
        """The template's JSON Schema over what the template will see (request values, defaults, Roadbed's own)."""
        parameters = raw.get("parameters") or {}
        errors = [
            FieldError(f"parameters.{key}", "is supplied by Roadbed and cannot be set")
            for key in ROADBED_SUPPLIED_PARAMETERS
            if key in parameters
        ]
        errors += _unknown_parameters(parameters, golden_path)
        owned = {key: str(raw.get(field) or "") for key, field in (("service", "service"), ("team", "team"), ("environment", "environment"))}
        filled = template_parameters(golden_path, parameters, owned["service"], owned["team"], owned["environment"])
        for error in sorted(Draft7Validator(golden_path.parameters).iter_errors(filled), key=lambda e: list(e.path)):
            path = ".".join(str(p) for p in error.path)
            if error.validator == "required":
                missing = error.message.split("'")[1] if "'" in error.message else ""
                path = ".".join(filter(None, [path, missing]))
            errors.append(FieldError("parameters" + (f".{path}" if path else ""), error.message))
        return errors


def _unknown_parameters(parameters: dict[str, Any], golden_path: GoldenPath) -> list[FieldError]:
    """Keys the golden path's schema does not declare: a typo would otherwise be silently ignored.

    A schema that says `additionalProperties` itself (true, or a schema) is obeyed by the JSON Schema check."""
    schema = golden_path.parameters
    if not isinstance(schema, dict) or schema.get("additionalProperties", False) is not False:
        return []
    declared = set(schema.get("properties") or {})
    known = ", ".join(sorted(declared - set(ROADBED_SUPPLIED_PARAMETERS))) or "none"
    return [
        FieldError(f"parameters.{key}", f"unknown parameter for golden path {golden_path.name!r}; known: {known}")
        for key in parameters
        if key not in declared and key not in ROADBED_SUPPLIED_PARAMETERS
    ]


def _unique(errors: list[FieldError]) -> list[FieldError]:
    return list(dict.fromkeys(errors))
