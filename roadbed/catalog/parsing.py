"""Request bodies into raw entities: JSON (one entity or a list) or a multi-document `catalog-info.yaml`.

YAML is loaded with a safe loader that keeps dates as strings, and both formats are held to limits:
the number of documents, the nesting depth and the number of values after alias expansion (so a
"billion laughs" body is refused before anything walks it).
"""

from __future__ import annotations

import json
import math
from typing import Any

import yaml

from roadbed.domain.errors import FieldError, InvalidRequest, PermanentError

MAX_BODY_BYTES = 1024 * 1024
MAX_DOCUMENTS = 100
MAX_DEPTH = 64
MAX_VALUES = 200_000

JSON_TYPES = ("application/json",)
YAML_TYPES = ("application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml")

_Base = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Loader(_Base):  # type: ignore[misc, valid-type]
    """Safe loading without implicit timestamps: `2024-01-01` stays the string Backstage would see."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in _Base.yaml_implicit_resolvers.items()
}


class MalformedBody(PermanentError):
    """The body is not JSON / YAML at all."""

    code = "malformed_body"


class UnsupportedMediaType(PermanentError):
    code = "unsupported_media_type"


def media_type(content_type: str | None) -> str:
    return (content_type or "").split(";", 1)[0].strip().lower()


def is_yaml(content_type: str | None) -> bool:
    return media_type(content_type) in YAML_TYPES


def _limit(message: str) -> InvalidRequest:
    return InvalidRequest([FieldError("body", message)])


def check_structure(document: Any) -> None:
    """Refuse values JSON cannot hold, nesting deeper than MAX_DEPTH and more than MAX_VALUES values (aliases counted expanded)."""
    stack: list[tuple[Any, int]] = [(document, 0)]
    count = 0
    while stack:
        value, depth = stack.pop()
        count += 1
        if count > MAX_VALUES:
            raise _limit(f"more than {MAX_VALUES} values (after expanding YAML aliases)")
        if depth > MAX_DEPTH:
            raise _limit(f"nested deeper than {MAX_DEPTH} levels")
        if isinstance(value, dict):
            for key, item in value.items():
                if not isinstance(key, str):
                    raise _limit(f"mapping keys must be strings, got {key!r} ({type(key).__name__}); quote it")
                stack.append((item, depth + 1))
        elif isinstance(value, list):
            stack.extend((item, depth + 1) for item in value)
        elif isinstance(value, float):
            if not math.isfinite(value):
                raise _limit(f"{value} is not a JSON number")
        elif not (value is None or isinstance(value, str | bool | int)):
            raise _limit(f"a {type(value).__name__} value has no JSON equivalent; quote it as a string")


def load_yaml(body: bytes | str) -> list[Any]:
    """The non-empty documents of a multi-document YAML stream, at most MAX_DOCUMENTS of them."""
    documents: list[Any] = []
    try:
        for document in yaml.load_all(body, Loader=_Loader):  # noqa: S506 - _Loader is a SafeLoader
            if document is None:
                continue
            if len(documents) == MAX_DOCUMENTS:
                raise _limit(f"more than {MAX_DOCUMENTS} YAML documents")
            check_structure(document)
            documents.append(document)
    except yaml.YAMLError as exc:
        raise MalformedBody(f"body is not valid YAML: {' '.join(str(exc).split())}") from exc
    except (RecursionError, ValueError, TypeError, OverflowError) as exc:
        raise MalformedBody(f"body is not loadable YAML: {exc}") from exc
    return documents


def load_json(body: bytes | str) -> list[Any]:
    """One entity (an object) or a list of them."""
    try:
        document = json.loads(body)
    except (ValueError, RecursionError) as exc:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise MalformedBody(f"body is not valid JSON: {exc}") from exc
    documents = document if isinstance(document, list) else [document]
    if len(documents) > MAX_DOCUMENTS:
        raise _limit(f"more than {MAX_DOCUMENTS} entities")
    check_structure(documents)
    return documents


def load_entities(body: bytes | str, content_type: str | None) -> list[Any]:
    """Raw entities from a body of the given content type (JSON when none is given)."""
    kind = media_type(content_type)
    if len(body) > MAX_BODY_BYTES:
        raise _limit(f"body larger than {MAX_BODY_BYTES} bytes")
    if kind in YAML_TYPES:
        return load_yaml(body)
    if not kind or kind in JSON_TYPES or kind.endswith("+json"):
        return load_json(body)
    raise UnsupportedMediaType(f"content type {kind!r} is not supported; send application/json or application/yaml")
