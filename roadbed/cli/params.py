"""`--param k=v`, `--param-json k=JSON` and `--resource TYPE:NAME,k=v` turned into the request's JSON.

A command-line value is text; guessing its type from its look turned `python_version=3.11` into the number 3.11,
which the golden path's schema then refused. So a `--param` value is read by the type the golden path's JSON Schema
(`GET /v1/golden-paths/{name}`) declares for it: a string stays the text as typed; integer, number, boolean, array
(comma-separated or a JSON array) and object (JSON) are parsed. `a.b=v` sets the nested property `b` of object `a`.
A parameter the schema does not describe is sent as text, and the API names the problem. `--param-json k=JSON` is
for anything else (null, a list of objects, a string that must look like JSON).

Resource settings are read as JSON literals (`size=2` → 2, `public=true` → true, anything not valid JSON → text),
because the API does not publish the modules' variable types; quote a string that looks like a number
(`version='"14"'`).
"""

from __future__ import annotations

import json
from typing import Any


class BadParameter(ValueError):
    """A value that cannot be what the schema asks for: one line, exit 2."""


def _split(pair: str, what: str) -> tuple[str, str]:
    key, sep, value = pair.partition("=")
    if not sep or not key.strip():
        raise BadParameter(f"{what} {pair!r} must look like key=value")
    return key.strip(), value


def _property(schema: dict[str, Any], path: list[str]) -> dict[str, Any] | None:
    for key in path:
        if not isinstance(schema, dict):
            return None
        properties = schema.get("properties") or {}
        if key not in properties:
            return None
        schema = properties[key]
    return schema if isinstance(schema, dict) else None


def _types(prop: dict[str, Any]) -> list[str]:
    kind = prop.get("type")
    if isinstance(kind, list):
        return [str(k) for k in kind]
    return [str(kind)] if kind else []


def coerce(name: str, text: str, prop: dict[str, Any] | None) -> Any:
    """`text` as the type `prop` (a JSON Schema) declares; text when the schema says string or nothing."""
    if prop is None:
        return text
    if "enum" in prop and not _types(prop):
        return next((e for e in prop["enum"] if (e if isinstance(e, str) else json.dumps(e)) == text), text)
    kinds = _types(prop)
    if not kinds or "string" in kinds:
        return text
    for kind in kinds:
        try:
            return _as(name, kind, text, prop)
        except BadParameter:
            raise
        except ValueError:
            continue
    raise BadParameter(f"parameter {name} must be {' or '.join(_WORDS.get(k, k) for k in kinds)}, got {text!r}")


_WORDS = {"integer": "an integer", "number": "a number", "boolean": "true or false", "array": "a list (a,b or a JSON array)",
          "object": "a JSON object", "null": "null"}


def _as(name: str, kind: str, text: str, prop: dict[str, Any]) -> Any:
    if kind == "integer":
        return int(text.strip())
    if kind == "number":
        value = float(text.strip())
        return int(value) if value.is_integer() and "." not in text and "e" not in text.lower() else value
    if kind == "boolean":
        word = text.strip().lower()
        if word in {"true", "yes", "on", "1"}:
            return True
        if word in {"false", "no", "off", "0"}:
            return False
        raise ValueError(text)
    if kind == "array":
        if text.strip().startswith("["):
            value = json.loads(text)
            if not isinstance(value, list):
                raise ValueError(text)
            return value
        items = prop.get("items") if isinstance(prop.get("items"), dict) else None
        return [coerce(f"{name} item", part.strip(), items) for part in text.split(",") if part.strip()]
    if kind == "object":
        value = json.loads(text)
        if not isinstance(value, dict):
            raise ValueError(text)
        return value
    if kind == "null" and text.strip() == "null":
        return None
    raise ValueError(text)


def _set(target: dict[str, Any], path: list[str], value: Any, name: str) -> None:
    for key in path[:-1]:
        nested = target.setdefault(key, {})
        if not isinstance(nested, dict):
            raise BadParameter(f"parameter {name}: {key} is already set to a value, not an object")
        target = nested
    target[path[-1]] = value


def parameters(pairs: list[str], json_pairs: list[str], schema: dict[str, Any]) -> dict[str, Any]:
    """The `parameters` object of a request from `--param` and `--param-json` values."""
    result: dict[str, Any] = {}
    for pair in pairs:
        key, text = _split(pair, "--param")
        path = key.split(".")
        _set(result, path, coerce(key, text, _property(schema, path)), key)
    for pair in json_pairs:
        key, text = _split(pair, "--param-json")
        try:
            value = json.loads(text)
        except json.JSONDecodeError as exc:
            raise BadParameter(f"--param-json {key}: not valid JSON ({exc.msg} at column {exc.colno})") from exc
        _set(result, key.split("."), value, key)
    return result


def resource(spec: str) -> dict[str, Any]:
    """`TYPE:NAME[,k=v...]` → {"type", "name", settings...}, settings read as JSON literals, else text."""
    head, _, rest = spec.partition(",")
    kind, sep, name = head.partition(":")
    if not sep or not kind or not name:
        raise BadParameter(f"resource {spec!r} must look like TYPE:NAME[,key=value...]")
    settings: dict[str, Any] = {}
    for pair in (s for s in rest.split(",") if s):
        key, text = _split(pair, "resource setting")
        try:
            settings[key] = json.loads(text)
        except json.JSONDecodeError:
            settings[key] = text
    return {"type": kind, "name": name, **settings}
