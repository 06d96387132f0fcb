"""Request validation: every offending field named at once, before anything is started or written.

Used twice with the same rules: by the API (to answer 422 fast) and by the workflow's `validate`
step (the golden path or the modules may have changed since the request was accepted).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jsonschema import Draft7Validator
from pydantic import ValidationError

from roadbed.domain.errors import FieldError, InvalidRequest
from roadbed.domain.models import EnvironmentName, EnvironmentRequest
from roadbed.domain.naming import dns_label_problem, reserved_name_problem
from roadbed.golden_paths import ROADBED_SUPPLIED_PARAMETERS, GoldenPath, GoldenPathRegistry, template_parameters
from roadbed.rendering.terraform import COMMON_VARIABLES, available_resource_types, module_variables

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

    def validate(self, raw: Any) -> tuple[EnvironmentRequest, GoldenPath]:
        if not isinstance(raw, dict):
            raise InvalidRequest([FieldError("body", "must be a JSON object")])
        errors = _pydantic_errors(raw)
        reported = {e.field.split(".")[0] for e in errors}
        errors += [e for e in self._semantic_errors(raw) if e.field.split(".")[0] not in reported or e.field.startswith(("resources.", "parameters."))]
        golden_path = self.registry.find(raw.get("golden_path")) if isinstance(raw.get("golden_path"), str) else None
        if errors or golden_path is None:
            raise InvalidRequest(_unique(errors) or [FieldError("golden_path", "unknown golden path")])
        return EnvironmentRequest.model_validate(raw), golden_path

    def _semantic_errors(self, raw: dict[str, Any]) -> list[FieldError]:
        errors = _label_error("service", raw.get("service")) + _label_error("team", raw.get("team"))
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
        errors += self._resource_errors(raw.get("resources"), golden_path)
        if golden_path is not None and isinstance(raw.get("parameters", {}), dict):
            errors += self._parameter_errors(raw, golden_path)
        return errors

    def _resource_errors(self, resources: Any, golden_path: GoldenPath | None) -> list[FieldError]:
        if not isinstance(resources, list):
            return []
        errors: list[FieldError] = []
        if len(resources) > MAX_RESOURCES:
            errors.append(FieldError("resources", f"at most {MAX_RESOURCES} resources per environment"))
        seen: set[str] = set()
        for i, resource in enumerate(resources):
            if not isinstance(resource, dict):
                continue
            kind, name = resource.get("type"), resource.get("name")
            if isinstance(kind, str):
                if kind not in self.resource_types:
                    known = ", ".join(sorted(self.resource_types))
                    errors.append(FieldError(f"resources.{i}.type", f"unknown resource type {kind!r}; known: {known}"))
                elif golden_path is not None and golden_path.roadbed.resources and kind not in golden_path.roadbed.resources:
                    errors.append(FieldError(f"resources.{i}.type", f"golden path {golden_path.name!r} does not offer {kind!r}"))
            errors += _label_error(f"resources.{i}.name", name)
            if isinstance(name, str):
                if name in seen:
                    errors.append(FieldError(f"resources.{i}.name", f"duplicate resource name {name!r}"))
                seen.add(name)
            if isinstance(kind, str) and kind in self.resource_types:
                allowed = module_variables(self.modules_dir / kind) - set(COMMON_VARIABLES)
                for key in resource:
                    if key not in {"type", "name"} and key not in allowed:
                        known = ", ".join(sorted(allowed)) or "none"
                        errors.append(FieldError(f"resources.{i}.{key}", f"unknown setting for {kind}; known: {known}"))
        return errors

    def _parameter_errors(self, raw: dict[str, Any], golden_path: GoldenPath) -> list[FieldError]:
        """The template's JSON Schema over what the template will see (request values, defaults, Roadbed's own)."""
        parameters = raw.get("parameters") or {}
        errors = [
            FieldError(f"parameters.{key}", "is supplied by Roadbed and cannot be set")
            for key in ROADBED_SUPPLIED_PARAMETERS
            if key in parameters
        ]
        owned = {key: str(raw.get(field) or "") for key, field in (("service", "service"), ("team", "team"), ("environment", "environment"))}
        filled = template_parameters(golden_path, parameters, owned["service"], owned["team"], owned["environment"])
        for error in sorted(Draft7Validator(golden_path.parameters).iter_errors(filled), key=lambda e: list(e.path)):
            path = ".".join(str(p) for p in error.path)
            if error.validator == "required":
                missing = error.message.split("'")[1] if "'" in error.message else ""
                path = ".".join(filter(None, [path, missing]))
            errors.append(FieldError("parameters" + (f".{path}" if path else ""), error.message))
        return errors


def _unique(errors: list[FieldError]) -> list[FieldError]:
    return list(dict.fromkeys(errors))
