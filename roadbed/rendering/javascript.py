"""JavaScript's value semantics for Backstage templates, in Python: how nunjucks (on JavaScript) prints, adds,
compares and calls members of values — `undefined` and `null` print empty, `"a" + undefined` is `"aundefined"`,
booleans print `true`/`false`, objects `[object Object]`, `==` is loose and `===` strict, every list and object is
truthy, and the string and array members real templates call. Never implemented by evaluating JavaScript; `roadbed.rendering.templating` wires it into the sandbox."""

from __future__ import annotations

import json
from typing import Any

from jinja2 import ChainableUndefined, Undefined


class JsUndefined(ChainableUndefined):
    """JavaScript's `undefined`: prints as nothing, `undefined.x` is undefined, calling it is an error."""

    __slots__ = ()

    def __str__(self) -> str:
        return ""

    def __eq__(self, other: Any) -> bool:
        return other is None or isinstance(other, Undefined)  # `undefined == null`, as nunjucks compares

    def __ne__(self, other: Any) -> bool:
        return not self.__eq__(other)

    __hash__ = ChainableUndefined.__hash__


def plain(value: Any) -> Any:
    """A value as JSON sees it: integral floats become integers (JavaScript has one number type)."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return int(value)
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items() if not isinstance(v, Undefined)}
    if isinstance(value, (list, tuple)):
        return [None if isinstance(v, Undefined) else plain(v) for v in value]
    return value


def _js_number(value: float) -> str:
    if value != value:
        return "NaN"
    if value in (float("inf"), float("-inf")):
        return "Infinity" if value > 0 else "-Infinity"
    if value.is_integer() and abs(value) < 1e21:
        return str(int(value))
    text = repr(value)
    if "e" in text:
        mantissa, exponent = text.split("e")
        text = f"{mantissa}e{'+' if not exponent.startswith('-') else ''}{int(exponent)}"
    return text


def js_string(value: Any, *, printing: bool = False) -> str:
    """`String(value)` in JavaScript; when `printing` (nunjucks output), null and undefined print nothing."""
    if isinstance(value, Undefined):
        return "" if printing else "undefined"
    if value is None:
        return "" if printing else "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return _js_number(value)
    if isinstance(value, dict):
        return "[object Object]"
    if isinstance(value, (list, tuple)):
        return ",".join("" if item is None or isinstance(item, Undefined) else js_string(item) for item in value)
    return str(value)


def _js_number_of(value: Any) -> float | int:
    if isinstance(value, Undefined):
        return float("nan")
    if value is None:
        return 0
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, (int, float)):
        return value
    text = str(value).strip()
    if text == "":
        return 0
    try:
        return float(text) if any(c in text for c in ".eE") or text.lower() in {"infinity", "-infinity"} else int(text)
    except ValueError:
        return float("nan")


def js_add(left: Any, right: Any) -> Any:
    """`left + right` as JavaScript computes it: strings concatenate (`"a" + undefined` is `"aundefined"`)."""
    left = js_string(left) if isinstance(left, (dict, list, tuple)) else left
    right = js_string(right) if isinstance(right, (dict, list, tuple)) else right
    if isinstance(left, str) or isinstance(right, str):
        return js_string(left) + js_string(right)
    return _js_number_of(left) + _js_number_of(right)


def dump(value: Any, indent: Any = None) -> str | Undefined:
    """`JSON.stringify(value, null, indent)`: compact, non-ASCII kept; `undefined` dumps to nothing."""
    if isinstance(value, Undefined):
        return ""
    spaces = indent if isinstance(indent, int) and not isinstance(indent, bool) and indent > 0 else None
    if isinstance(indent, str) and indent:
        spaces = indent[:10]
    elif spaces is not None:
        spaces = min(spaces, 10)
    separators = (",", ":") if spaces is None else (",", ": ")
    return json.dumps(plain(value), indent=spaces, separators=separators, ensure_ascii=False)


def title(value: Any) -> str:
    """nunjucks' `title`: each space-separated word capitalised (not after `-`, unlike Jinja's)."""
    return " ".join(word[:1].upper() + word[1:].lower() for word in js_string(value, printing=True).split(" "))


def _js_split(text: str, separator: Any = None, limit: Any = None) -> list[str]:
    if separator is None or isinstance(separator, Undefined):
        parts = [text]
    elif separator == "":
        parts = list(text)
    else:
        parts = text.split(js_string(separator))
    return parts[: int(limit)] if isinstance(limit, int) and not isinstance(limit, bool) else parts


def _js_slice(sequence: Any, start: Any = 0, end: Any = None) -> Any:
    return sequence[int(start) : None if end is None or isinstance(end, Undefined) else int(end)]


def _js_index(sequence: Any, item: Any) -> int:
    if isinstance(sequence, str):
        return sequence.find(js_string(item))
    return sequence.index(item) if item in sequence else -1


JS_STRING_MEMBERS: dict[str, Any] = {
    "trim": lambda s: lambda: s.strip(" \t\n\r\f\v\u00a0\ufeff\u2028\u2029"),
    "trimStart": lambda s: lambda: s.lstrip(" \t\n\r\f\v\u00a0\ufeff"),
    "trimEnd": lambda s: lambda: s.rstrip(" \t\n\r\f\v\u00a0\ufeff"),
    "toUpperCase": lambda s: lambda: s.upper(),
    "toLowerCase": lambda s: lambda: s.lower(),
    "split": lambda s: lambda separator=None, limit=None: _js_split(s, separator, limit),
    "replace": lambda s: lambda old, new: s.replace(js_string(old), js_string(new), 1),
    "replaceAll": lambda s: lambda old, new: s.replace(js_string(old), js_string(new)),
    "includes": lambda s: lambda part: js_string(part) in s,
    "startsWith": lambda s: lambda part: s.startswith(js_string(part)),
    "endsWith": lambda s: lambda part: s.endswith(js_string(part)),
    "indexOf": lambda s: lambda part: _js_index(s, part),
    "slice": lambda s: lambda start=0, end=None: _js_slice(s, start, end),
    "substring": lambda s: lambda start=0, end=None: _js_slice(s, max(0, int(start)), end),
    "concat": lambda s: lambda *parts: s + "".join(js_string(p) for p in parts),
    "toString": lambda s: lambda: s,
}

JS_ARRAY_MEMBERS: dict[str, Any] = {
    "join": lambda a: lambda separator=",": js_string(separator).join(js_string(item) for item in a),
    "includes": lambda a: lambda item: item in a,
    "indexOf": lambda a: lambda item: _js_index(a, item),
    "slice": lambda a: lambda start=0, end=None: _js_slice(a, start, end),
    "concat": lambda a: lambda *more: list(a) + [x for m in more for x in (m if isinstance(m, list) else [m])],
    "toString": lambda a: lambda: js_string(a),
}

DICT_METHODS = frozenset({"items", "keys", "values", "get"})
"""Jinja's dict methods kept for templates written for Roadbed, when the mapping has no such key."""


def js_bool(value: Any) -> bool:
    """`Boolean(value)`: `undefined`, `null`, `false`, `0`, `NaN` and `""` are false; every list and object is true."""
    if isinstance(value, (list, tuple, dict)):
        return True
    if isinstance(value, float) and value != value:
        return False
    return bool(value)


def _js_type(value: Any) -> str:
    if isinstance(value, Undefined):
        return "undefined"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    return "object"


def js_strict_equal(left: Any, right: Any) -> bool:
    """`left === right`: same type and value; lists and objects only when they are the same one."""
    kind = _js_type(left)
    if kind != _js_type(right):
        return False
    if kind in {"undefined", "null"}:
        return True
    if kind == "object":
        return left is right
    return bool(left == right)


def js_loose_equal(left: Any, right: Any) -> bool:
    """`left == right` (JavaScript's abstract equality): `1 == "1"`, `0 == ""`, `true == 1`, `null == undefined`."""
    left_kind, right_kind = _js_type(left), _js_type(right)
    if left_kind == right_kind:
        return js_strict_equal(left, right)
    nullish = {"undefined", "null"}
    if left_kind in nullish or right_kind in nullish:
        return left_kind in nullish and right_kind in nullish
    if left_kind == "boolean":
        return js_loose_equal(int(left), right)
    if right_kind == "boolean":
        return js_loose_equal(left, int(right))
    if left_kind == "object":
        return js_loose_equal(js_string(left), right)
    if right_kind == "object":
        return js_loose_equal(left, js_string(right))
    return bool(_js_number_of(left) == _js_number_of(right))  # a number and a string: compared as numbers


def _js_less_than(left: Any, right: Any) -> bool | None:
    """JavaScript's abstract relational comparison: strings by code point, anything else as numbers; None when
    either is NaN (every comparison with it is false)."""
    left = js_string(left) if isinstance(left, (list, tuple, dict)) else left
    right = js_string(right) if isinstance(right, (list, tuple, dict)) else right
    if isinstance(left, str) and isinstance(right, str):
        return left < right
    left_number, right_number = _js_number_of(left), _js_number_of(right)
    if left_number != left_number or right_number != right_number:
        return None
    return left_number < right_number


def js_relation(op: str, left: Any, right: Any) -> bool:
    """`<`, `<=`, `>`, `>=` as JavaScript computes them (`8080 > "80"`, `null < 1`, `"10" < "9"`), never a TypeError."""
    if op == "lt":
        return _js_less_than(left, right) is True
    if op == "gt":
        return _js_less_than(right, left) is True
    if op == "lteq":
        return _js_less_than(right, left) is False
    return _js_less_than(left, right) is False  # gteq


def js_truthy(value: Any) -> bool:
    """Whether a step's rendered `if:` lets it run: JavaScript truthiness, except that an empty list is false (Backstage's `isTruthy`)."""
    if isinstance(value, list):
        return len(value) > 0
    return js_bool(value)
