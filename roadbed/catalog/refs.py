"""Names, namespaces, kinds and entity refs (`[kind:][namespace/]name`) with Backstage's rules.

A ref compares case-insensitively; its string form here is lower-cased `kind:namespace/name`, which
is also the catalog's primary key. Missing parts are filled from defaults that depend on where the
ref appears (`owner` defaults to a Group, `system` to a System, ...) and on the referring entity's
own namespace, as in Backstage.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

DEFAULT_NAMESPACE = "default"
NAME_MAX = 63
NAME_PATTERN = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
KIND_PATTERN = re.compile(r"^[a-zA-Z][a-zA-Z0-9]*$")
# `[prefix/]name` keys of labels and annotations: the prefix is a DNS subdomain, the name like an entity name.
KEY_PREFIX_MAX = 253
KEY_PREFIX_PATTERN = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*(?:\.[a-z0-9]+(?:-[a-z0-9]+)*)*$")
TAG_PATTERN = re.compile(r"^[a-z0-9:+#]+(?:-[a-z0-9:+#]+)*$")


def name_problem(value: object, what: str = "name") -> str | None:
    """Why `value` is not a valid entity name (or namespace), or None when it is."""
    if not isinstance(value, str):
        return f"{what} must be a string"
    if not 1 <= len(value) <= NAME_MAX:
        return f"{what} must be 1-{NAME_MAX} characters long, got {len(value)}"
    if not NAME_PATTERN.match(value):
        return f"{what} {value!r} must consist of letters, digits and [-_.], starting and ending with a letter or digit"
    return None


def kind_problem(value: object) -> str | None:
    if not isinstance(value, str):
        return "kind must be a string"
    if not 1 <= len(value) <= NAME_MAX or not KIND_PATTERN.match(value):
        return f"kind {value!r} must be 1-{NAME_MAX} letters and digits, starting with a letter"
    return None


def key_problem(key: str) -> str | None:
    """Why `key` is not a valid label or annotation key (`[prefix/]name`), or None."""
    prefix, slash, name = key.rpartition("/")
    if slash:
        if not prefix:
            return f"key {key!r} has an empty prefix"
        if len(prefix) > KEY_PREFIX_MAX or not KEY_PREFIX_PATTERN.match(prefix):
            return f"key {key!r}: prefix {prefix!r} must be a lower-case DNS subdomain of at most {KEY_PREFIX_MAX} characters"
        if "/" in prefix:
            return f"key {key!r} has more than one '/'"
    problem = name_problem(name, "name part")
    return f"key {key!r}: {problem}" if problem else None


def tag_problem(tag: object) -> str | None:
    if not isinstance(tag, str):
        return "tags must be strings"
    if not 1 <= len(tag) <= NAME_MAX or not TAG_PATTERN.match(tag):
        return f"tag {tag!r} must be 1-{NAME_MAX} characters of [a-z0-9:+#] in words separated by '-'"
    return None


class InvalidRef(ValueError):
    """A string that is not an entity ref (or lacks a kind where none can be defaulted)."""


@dataclass(frozen=True, order=True)
class EntityRef:
    """A parsed ref; fields are lower-cased so that equal refs compare equal."""

    kind: str
    namespace: str
    name: str

    def __str__(self) -> str:
        return f"{self.kind}:{self.namespace}/{self.name}"


def make_ref(kind: str, namespace: str | None, name: str) -> EntityRef:
    return EntityRef(kind.lower(), (namespace or DEFAULT_NAMESPACE).lower(), name.lower())


def parse_ref(ref: object, default_kind: str | None = None, default_namespace: str = DEFAULT_NAMESPACE) -> EntityRef:
    """Parse `[kind:][namespace/]name` as Backstage does; raise InvalidRef when it is not one."""
    if not isinstance(ref, str):
        raise InvalidRef(f"an entity ref must be a string, got {type(ref).__name__}")
    colon, slash = ref.find(":"), ref.find("/")
    if slash != -1 and slash < colon:  # `ns/na:me`: everything after the slash is the name
        colon = -1
    kind = ref[:colon] if colon != -1 else None
    namespace = ref[colon + 1 : slash] if slash != -1 else None
    name = ref[max(colon + 1, slash + 1) :]
    if kind == "" or namespace == "" or name == "":
        raise InvalidRef(f"{ref!r} is not of the form [<kind>:][<namespace>/]<name>")
    kind = kind or default_kind
    if not kind:
        raise InvalidRef(f"{ref!r} needs an explicit kind (kind:namespace/name)")
    for problem in (kind_problem(kind), name_problem(namespace or default_namespace, "namespace"), name_problem(name)):
        if problem:
            raise InvalidRef(f"{ref!r}: {problem}")
    return make_ref(kind, namespace or default_namespace, name)


def ref_problem(ref: object, default_kind: str | None) -> str | None:
    try:
        parse_ref(ref, default_kind)
    except InvalidRef as exc:
        return str(exc)
    return None
