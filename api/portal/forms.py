"""The create form, generated server-side from a golden path's JSON Schema, and its way back to a request body.

Inputs are named by the dotted error paths of the API (`service`, `parameters.<name>`, `parameters.<a>.<b>`,
`resources.<i>.<setting>`), so an `InvalidRequest` detail lands next to the input it names. Form values are
strings; `request_body` turns them into what the schema (and each resource module's variables) declare, and
leaves anything that does not convert as typed, so the API's own validation names the problem.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

from fastapi import Request

from roadbed.api.errors import ApiError
from roadbed.golden_paths import GoldenPath
from roadbed.rendering.terraform import COMMON_VARIABLES
from roadbed.terraform_variables import module_variables

RESOURCE_ROWS = 3
ENVIRONMENTS = ("dev", "staging", "prod")
CONTROL_FIELDS = {"csrf_token", "_action", "_page", "_goto"}
MAX_FORM_BYTES = 256 * 1024

Form = dict[str, list[str]]


class FormTooLarge(ApiError):
    """A form body over its limit: a 413 page (the register page shows it next to `catalog_info`), never a CSRF 403."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, "payload_too_large", f"This form is too large: at most {limit // 1024} KiB can be sent at once.")
        self.limit = limit


async def read_form(request: Request, limit: int = MAX_FORM_BYTES) -> Form:
    """An urlencoded body as name → values (in order); no multipart, nothing else accepted. Over `limit`: FormTooLarge
    (nothing in it is read, so nothing changes; the session was checked before)."""
    body = await request.body()
    if len(body) > limit or getattr(request.state, "body_too_large", False):  # the latter: over the app's limit (api/limits.py)
        raise FormTooLarge(limit)
    form: Form = {}
    for name, value in parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True):
        form.setdefault(name, []).append(value)
    return form


def last(form: Form, name: str, default: str = "") -> str:
    values = form.get(name)
    return values[-1] if values else default


@dataclass
class Field:
    name: str
    label: str
    kind: str = "text"  # text textarea password number select radio checkbox checkboxes fieldset
    value: Any = ""
    required: bool = False
    help: str | None = None
    placeholder: str | None = None
    autofocus: bool = False
    readonly: bool = False
    options: list[tuple[str, str]] = field(default_factory=list)
    attrs: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    children: list[Field] = field(default_factory=list)

    @property
    def id(self) -> str:
        return "f-" + self.name.replace(".", "-")

    def names(self) -> list[str]:
        return [n for child in self.children for n in child.names()] if self.kind == "fieldset" else [self.name]


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def schema_field(name: str, schema: dict[str, Any], required: bool, form: Form, teams: tuple[str, ...]) -> Field:
    """One input for one property (a fieldset for an object with properties)."""
    label = str(schema.get("title") or name.rsplit(".", 1)[-1])
    kind_of = schema.get("type")
    widget = schema.get("ui:widget")
    f = Field(
        name=name, label=label, required=required, help=schema.get("ui:help") or schema.get("description"),
        placeholder=schema.get("ui:placeholder"), autofocus=bool(schema.get("ui:autofocus")), readonly=bool(schema.get("ui:readonly")),
    )
    if kind_of == "object" and isinstance(schema.get("properties"), dict):
        needed = set(schema.get("required") or [])
        f.kind = "fieldset"
        f.children = [schema_field(f"{name}.{key}", sub, key in needed, form, teams) for key, sub in schema["properties"].items() if isinstance(sub, dict)]
        return f
    default = schema.get("default")
    if kind_of == "array" and isinstance(schema.get("items"), dict) and "enum" in schema["items"]:
        f.kind = "checkboxes"
        f.options = [(_text(v), _text(v)) for v in schema["items"]["enum"]]
        f.value = [v for v in form[name] if v] if name in form else [_text(v) for v in (default or [])]
        return f
    f.value = last(form, name) if name in form else _text(default)
    if kind_of == "boolean":
        f.kind = "checkbox"
        f.value = f.value == "true"
        return f
    if schema.get("ui:field") == "OwnerPicker":
        f.kind = "select"
        f.options = [("", "Choose a team")] + [(t, t) for t in teams]
        return f
    if "enum" in schema:
        f.kind = "radio" if widget == "radio" else "select"
        names = schema.get("enumNames") or schema.get("ui:enumNames") or []
        f.options = [(_text(v), str(names[i]) if i < len(names) else _text(v)) for i, v in enumerate(schema["enum"])]
        if f.kind == "select" and not required:
            f.options.insert(0, ("", "—"))
        return f
    if kind_of in ("integer", "number"):
        f.kind = "number"
        f.attrs = {"min": schema.get("minimum"), "max": schema.get("maximum"), "step": 1 if kind_of == "integer" else "any"}
    elif widget in ("textarea", "password"):
        f.kind = widget
    f.attrs |= {"pattern": schema.get("pattern"), "minlength": schema.get("minLength"), "maxlength": schema.get("maxLength")}
    return f


@dataclass
class FormPage:
    title: str
    fields: list[Field]
    resources: list[list[Field]] = field(default_factory=list)

    def names(self) -> set[str]:
        names = {n for f in self.fields for n in f.names()}
        return names | {f.name for row in self.resources for f in row}


def resource_settings(golden_path: GoldenPath, modules_dir: Path) -> dict[str, tuple[str, set[str], bool]]:
    """Setting name → (Terraform type kind, resource types that take it, sensitive) over the types offered."""
    settings: dict[str, tuple[str, set[str], bool]] = {}
    for kind in golden_path.roadbed.resources:
        if not (modules_dir / kind).is_dir():
            continue
        for name, variable in module_variables(modules_dir / kind).items():
            if name in COMMON_VARIABLES:
                continue
            current = settings.get(name, (variable.type.kind, set(), False))
            settings[name] = (current[0], current[1] | {kind}, current[2] or variable.sensitive)
    return settings


def _resource_rows(golden_path: GoldenPath, modules_dir: Path, form: Form) -> list[list[Field]]:
    offered = [("", "None")] + [(t, t) for t in golden_path.roadbed.resources]
    settings = resource_settings(golden_path, modules_dir)
    rows = []
    for i in range(RESOURCE_ROWS):
        p = f"resources.{i}"
        row = [Field(f"{p}.type", f"Resource {i + 1} type", "select", last(form, f"{p}.type"), options=offered),
               Field(f"{p}.name", f"Resource {i + 1} name", "text", last(form, f"{p}.name"), help="lowercase letters, digits and hyphens")]
        for name, (kind, types, sensitive) in sorted(settings.items()):
            f = Field(f"{p}.{name}", f"{name} (resource {i + 1})", "text", last(form, f"{p}.{name}"), help="for " + ", ".join(sorted(types)) + "; leave blank for the module's default")
            if kind == "bool":
                f.kind, f.options = "select", [("", "default"), ("true", "true"), ("false", "false")]
            elif kind == "number":
                f.kind, f.attrs = "number", {"step": "any"}
            elif sensitive:
                f.kind = "password"
            row.append(f)
        rows.append(row)
    return rows


def form_pages(golden_path: GoldenPath, modules_dir: Path, form: Form, teams: tuple[str, ...], admin: bool) -> list[FormPage]:
    """The template's own pages; the first also asks service, team and environment, the last the resources."""
    service = Field("service", "Service name", "text", last(form, "service"), required=True, autofocus=True,
                    help="Lowercase letters, digits and hyphens, starting with a letter", attrs={"pattern": "[a-z][a-z0-9-]*", "maxlength": 40})
    if admin or not teams:
        team = Field("team", "Team", "text", last(form, "team"), required=True, help="The team that will own the service")
    else:
        team = Field("team", "Team", "select", last(form, "team", teams[0]), required=True, options=[(t, t) for t in teams])
    environment = Field("environment", "Environment", "select", last(form, "environment", "dev"), required=True, options=[(e, e) for e in ENVIRONMENTS],
                        help="prod waits for a platform-admin's approval")
    pages = []
    for index, page in enumerate(golden_path.pages or [{}]):
        props = page.get("properties") if isinstance(page.get("properties"), dict) else {}
        needed = set(page.get("required") or [])
        fields = [schema_field(f"parameters.{key}", schema, key in needed, form, teams) for key, schema in props.items() if isinstance(schema, dict)]
        pages.append(FormPage(str(page.get("title") or f"Step {index + 1}"), fields))
    if any(f.autofocus for f in pages[0].fields):
        service.autofocus = False
    pages[0].fields[:0] = [service, team, environment]
    pages[-1].resources = _resource_rows(golden_path, modules_dir, form)
    return pages


def attach_errors(pages: list[FormPage], errors: dict[str, str]) -> None:
    for page in pages:
        stack = list(page.fields) + [f for row in page.resources for f in row]
        while stack:
            f = stack.pop()
            stack.extend(f.children)
            if f.name in errors:
                f.error = errors[f.name]


def page_of(pages: list[FormPage], name: str) -> int | None:
    return next((i for i, page in enumerate(pages) if name in page.names()), None)


def _convert(schema: dict[str, Any], values: list[str]) -> Any:
    kind = schema.get("type")
    if kind == "array":
        items = schema.get("items") if isinstance(schema.get("items"), dict) else {}
        return [_scalar(items.get("type"), v) for v in values if v != ""]
    return _scalar(kind, values[-1])


def _scalar(kind: Any, text: str) -> Any:
    if kind == "boolean":
        return text == "true"
    if kind in ("integer", "number"):
        try:
            return int(text)
        except ValueError:
            try:
                return float(text) if kind == "number" else text
            except ValueError:
                return text
    return text


def _parameters(properties: dict[str, Any], prefix: str, form: Form) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, schema in properties.items():
        if not isinstance(schema, dict):
            continue
        name = f"{prefix}.{key}"
        if schema.get("type") == "object" and isinstance(schema.get("properties"), dict):
            nested = _parameters(schema["properties"], name, form)
            if nested:
                result[key] = nested
        elif name in form and (schema.get("type") in ("array", "boolean") or form[name][-1] != ""):
            result[key] = _convert(schema, form[name])
    return result


def request_body(golden_path: GoldenPath, modules_dir: Path, form: Form) -> tuple[dict[str, Any], list[int]]:
    """(the API request body, the form row of each resource in it) — blank rows and blank settings are left out."""
    body: dict[str, Any] = {"service": last(form, "service"), "team": last(form, "team"), "environment": last(form, "environment"),
                            "golden_path": golden_path.name}
    if request_id := last(form, "request_id"):
        body["request_id"] = request_id
    body["parameters"] = _parameters(golden_path.parameters.get("properties") or {}, "parameters", form)
    settings = resource_settings(golden_path, modules_dir)
    resources, rows = [], []
    for i in range(RESOURCE_ROWS):
        prefix = f"resources.{i}."
        given = {k[len(prefix):]: v[-1] for k, v in form.items() if k.startswith(prefix) and v and v[-1] != ""}
        if not given:
            continue
        resource: dict[str, Any] = {"type": given.pop("type", ""), "name": given.pop("name", "")}
        for key, text in given.items():
            kind = settings.get(key, ("string", set(), False))[0]
            resource[key] = text == "true" if kind == "bool" and text in ("true", "false") else _scalar("number", text) if kind == "number" else text
        resources.append(resource)
        rows.append(i)
    body["resources"] = resources
    return body, rows


def error_map(details: list[dict[str, str]], rows: list[int]) -> dict[str, str]:
    """field → first message, with resource indexes of the body mapped back to the form's rows."""
    errors: dict[str, str] = {}
    for detail in details:
        name = str(detail.get("field", ""))
        parts = name.split(".")
        if parts[0] == "resources" and len(parts) > 1 and parts[1].isdigit() and int(parts[1]) < len(rows):
            parts[1] = str(rows[int(parts[1])])
            name = ".".join(parts)
        errors.setdefault(name, str(detail.get("message", "")))
    return errors


def carried(form: Form, shown: set[str]) -> list[tuple[str, str]]:
    """Hidden (name, value) pairs for everything typed on other pages."""
    return [(name, value) for name, values in form.items() if name not in CONTROL_FIELDS and name not in shown for value in values]
