"""A small, safe evaluator for the HCL expressions Terraform modules write in `validation` blocks.

Why: a resource setting Terraform would refuse must be refused at submission (422), not after a
repository was created and Terraform failed at apply time. The modules' own `condition`s are the rule,
so Roadbed evaluates them rather than restating them.

python-hcl2 parses the expression (its grammar has HCL's operator precedence); this module walks the
parse tree. It knows literals, `var.<name>` (and indexing into it), tuples and objects, the unary,
arithmetic, comparison and logical operators, the conditional `a ? b : c`, string interpolation, and the
functions in `FUNCTIONS` plus `can()` / `try()`. Nothing is executed, imported or looked up outside the
given variables. Two outcomes besides a value:

- `Unevaluable`: the expression uses something this evaluator does not know (a `for` expression, a
  splat, `local.*`, an unknown function, a sealed value): the rule *cannot be checked here*, and
  Terraform stays its judge. A unit test asserts no rule of a shipped module ends up here.
- `EvaluationError`: the expression fails for these values, as it would in Terraform (a null or a
  string where a number is needed, a regex that does not match, ...). `can()` turns it into false;
  anywhere else the value is refused.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from functools import cache
from typing import Any

import hcl2
from lark import Token, Tree


class Unevaluable(Exception):
    """The expression uses something this evaluator does not know: the rule cannot be checked here."""


class EvaluationError(Exception):
    """The expression fails for these values, as it would in Terraform."""


class Opaque:
    """A value that must not be looked at (a sealed secret): any expression reading it is `Unevaluable`."""


OPAQUE = Opaque()
_SKIPPED = {"new_line_or_comment"}


@cache
def parse_expression(text: str) -> Tree:
    """The parse tree of one HCL expression (cached: modules are parsed once per process)."""
    tree = hcl2.parses_to_tree(f"expression = {text}\n")
    attribute = tree.children[0].children[0]
    return operands(attribute)[-1]


def evaluate(node: Tree | Token, variables: Mapping[str, Any]) -> Any:
    """The value of `node` with `var.<name>` bound to `variables[name]`."""
    if isinstance(node, Token):
        raise Unevaluable(f"unexpected token {node!s}")
    handler = _HANDLERS.get(node.data)
    if handler is None:
        raise Unevaluable(f"{node.data} expressions are not supported")
    return handler(node, variables)


def operands(node: Tree) -> list[Tree]:
    """A node's sub-expressions, without punctuation tokens and comments."""
    return [child for child in node.children if isinstance(child, Tree) and child.data not in _SKIPPED]


def _term(node: Tree, variables: Mapping[str, Any]) -> Any:
    (inner,) = operands(node)
    return evaluate(inner, variables)


def _literal(node: Tree, _: Mapping[str, Any]) -> Any:
    return {"true": True, "false": False, "null": None}[str(node.children[0])]


def _number(node: Tree, _: Mapping[str, Any]) -> Any:
    text = str(node.children[0])
    return int(text) if node.data == "int_lit" else float(text)


_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", '"': '"', "\\": "\\"}
_ESCAPE = re.compile(r"\\(u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8}|.)")


def _unescape(text: str) -> str:
    def one(match: re.Match[str]) -> str:
        code = match.group(1)
        if code[0] in "uU":
            return chr(int(code[1:], 16))
        if code not in _ESCAPES:
            raise Unevaluable(f"unknown escape \\{code}")
        return _ESCAPES[code]

    return _ESCAPE.sub(one, text)


def _string(node: Tree, variables: Mapping[str, Any]) -> str:
    parts: list[str] = []
    for part in operands(node):
        (piece,) = part.children
        if isinstance(piece, Token) and piece.type == "STRING_CHARS":
            parts.append(_unescape(str(piece)))
        elif isinstance(piece, Token) and piece.type in {"ESCAPED_INTERPOLATION", "ESCAPED_DIRECTIVE"}:
            parts.append(str(piece)[1:])  # $${ and %%{ stand for a literal ${ and %{
        elif isinstance(piece, Tree) and piece.data == "interpolation":
            parts.append(to_string(_term(piece, variables)))
        else:
            raise Unevaluable("template directives are not supported")
    return "".join(parts)


def _tuple(node: Tree, variables: Mapping[str, Any]) -> list[Any]:
    return [evaluate(item, variables) for item in operands(node)]


def _object(node: Tree, variables: Mapping[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for element in operands(node):
        key, value_node = object_element(element, variables)
        result[key] = evaluate(value_node, variables)
    return result


def object_element(element: Tree, variables: Mapping[str, Any]) -> tuple[str, Tree]:
    """(key, value expression) of an object element: `name = ...` (a bare key) or `"name" = ...`."""
    key_node, value_node = operands(element)
    (key,) = operands(key_node)
    bare = _bare_identifier(key)
    return (bare if bare is not None else to_string(evaluate(key, variables))), value_node


def _bare_identifier(node: Tree) -> str | None:
    """`name` when `node` is a plain identifier (an object key written without quotes)."""
    if node.data == "expr_term":
        inner = operands(node)
        return _bare_identifier(inner[0]) if len(inner) == 1 else None
    return str(node.children[0]) if node.data == "identifier" else None


def _get_attr(node: Tree, variables: Mapping[str, Any]) -> Any:
    base, attribute = operands(node)
    name = str(operands(attribute)[0].children[0])
    if _bare_identifier(base) == "var":
        if name not in variables:
            raise Unevaluable(f"var.{name} is not known here")
        return _seen(variables[name])
    if _bare_identifier(base) is not None:
        raise Unevaluable(f"{_bare_identifier(base)}.{name} is not known here (only var.* is)")
    value = evaluate(base, variables)
    if not isinstance(value, dict) or name not in value:
        raise EvaluationError(f"no attribute {name!r}")
    return _seen(value[name])


def _index(node: Tree, variables: Mapping[str, Any]) -> Any:
    base, index = operands(node)
    value = evaluate(base, variables)
    key: Any = int(str(index.children[1])) if index.data == "short_index" else _term(index, variables)
    if isinstance(value, list) and _is_number(key) and float(key).is_integer() and 0 <= int(key) < len(value):
        return _seen(value[int(key)])
    if isinstance(value, dict) and isinstance(key, str) and key in value:
        return _seen(value[key])
    raise EvaluationError(f"invalid index {key!r}")


def _seen(value: Any) -> Any:
    if value is OPAQUE:
        raise Unevaluable("the value is sealed")
    return value


def _unary(node: Tree, variables: Mapping[str, Any]) -> Any:
    operator = str(node.children[0])
    value = evaluate(operands(node)[0], variables)
    if operator == "!":
        return not _bool(value)
    return -_num(value)


def _binary(node: Tree, variables: Mapping[str, Any]) -> Any:
    left_node, term = operands(node)
    operator_node, right_node = operands(term)
    operator = str(operator_node.children[0])
    # Both sides are evaluated, as Terraform does: an error on either side fails the condition.
    left, right = evaluate(left_node, variables), evaluate(right_node, variables)
    if operator in _LOGICAL:
        return _LOGICAL[operator](_bool(left), _bool(right))
    if operator == "==":
        return equal(left, right)
    if operator == "!=":
        return not equal(left, right)
    return _ARITHMETIC[operator](_num(left), _num(right))


def _conditional(node: Tree, variables: Mapping[str, Any]) -> Any:
    condition, when_true, when_false = operands(node)
    return evaluate(when_true if _bool(evaluate(condition, variables)) else when_false, variables)


def _function(node: Tree, variables: Mapping[str, Any]) -> Any:
    parts = operands(node)
    identifiers = [child for child in parts if child.data == "identifier"]
    if len(identifiers) != 1:
        raise Unevaluable("provider-defined functions are not supported")
    name = str(identifiers[0].children[0])
    arguments = [o for o in parts if o.data == "arguments"]
    argument_nodes = operands(arguments[0]) if arguments else []
    if arguments and any(isinstance(c, Token) and c.type == "ELLIPSIS" for c in arguments[0].children):
        raise Unevaluable("expanding arguments (...) is not supported")
    if name in {"can", "try"}:
        return _can_or_try(name, argument_nodes, variables)
    function = FUNCTIONS.get(name)
    if function is None:
        raise Unevaluable(f"function {name}() is not supported")
    values = [evaluate(argument, variables) for argument in argument_nodes]
    try:
        return function(*values)
    except EvaluationError:
        raise
    except (TypeError, ValueError, IndexError, re.error) as exc:
        raise EvaluationError(f"{name}(): {exc}") from None


def _can_or_try(name: str, argument_nodes: list[Tree], variables: Mapping[str, Any]) -> Any:
    for argument in argument_nodes:
        try:
            value = evaluate(argument, variables)
        except EvaluationError:
            continue
        return True if name == "can" else value
    if name == "can":
        return False
    raise EvaluationError("try(): every argument failed")


# -- values, as Terraform sees them


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _num(value: Any) -> int | float:
    if not _is_number(value):
        raise EvaluationError(f"a number is required, got {to_string_or_type(value)}")
    return value


def _bool(value: Any) -> bool:
    if not isinstance(value, bool):
        raise EvaluationError(f"a bool is required, got {to_string_or_type(value)}")
    return value


def equal(left: Any, right: Any) -> bool:
    """Terraform's `==`: values of different types are never equal (`"5" != 5`, `true != 1`)."""
    if _is_number(left) and _is_number(right):
        return left == right
    if isinstance(left, list) and isinstance(right, list):
        return len(left) == len(right) and all(equal(a, b) for a, b in zip(left, right, strict=True))
    if isinstance(left, dict) and isinstance(right, dict):
        return left.keys() == right.keys() and all(equal(left[k], right[k]) for k in left)
    return type(left) is type(right) and left == right


def to_string(value: Any) -> str:
    """Terraform's conversion of a primitive to a string (`5.0` → `"5"`, `true` → `"true"`)."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if _is_number(value):
        if isinstance(value, float) and not math.isfinite(value):
            raise EvaluationError("a finite number is required")
        return str(int(value)) if float(value).is_integer() else repr(value)
    raise EvaluationError(f"a string is required, got {to_string_or_type(value)}")


def to_string_or_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, list | dict):
        return "a list" if isinstance(value, list) else "an object"
    return repr(value)


def _string_arg(value: Any) -> str:
    if value is None:
        raise EvaluationError("a string is required, got null")
    return to_string(value)


def _length(value: Any) -> int:
    if isinstance(value, str | list | dict):
        return len(value)
    raise EvaluationError(f"length() needs a string, list or map, got {to_string_or_type(value)}")


def _contains(collection: Any, value: Any) -> bool:
    if not isinstance(collection, list):
        raise EvaluationError("contains() needs a list")
    return any(equal(item, value) for item in collection)


def _regex(pattern: Any, text: Any) -> Any:
    """Terraform's regex(): the match (or its capture groups); no match is an error, which `can()` catches."""
    match = re.search(_string_arg(pattern), _string_arg(text))
    if match is None:
        raise EvaluationError("regex(): no match")
    if match.re.groupindex:
        return match.groupdict()
    return list(match.groups()) if match.groups() else match.group(0)


def _regexall(pattern: Any, text: Any) -> list[Any]:
    compiled = re.compile(_string_arg(pattern))
    return [m.groups() if m.groups() else m.group(0) for m in compiled.finditer(_string_arg(text))]


def _coalesce(*values: Any) -> Any:
    for value in values:
        if value is not None and value != "":
            return value
    raise EvaluationError("coalesce(): no non-null, non-empty argument")


def _all_bools(values: Any) -> list[bool]:
    if not isinstance(values, list):
        raise EvaluationError("a list of bools is required")
    return [_bool(v) for v in values]


_LOGICAL: dict[str, Callable[[bool, bool], bool]] = {"&&": lambda a, b: a and b, "||": lambda a, b: a or b}
_ARITHMETIC: dict[str, Callable[[Any, Any], Any]] = {
    "+": lambda a, b: a + b,
    "-": lambda a, b: a - b,
    "*": lambda a, b: a * b,
    "/": lambda a, b: a / b,
    "%": lambda a, b: math.fmod(a, b),
    "<": lambda a, b: a < b,
    ">": lambda a, b: a > b,
    "<=": lambda a, b: a <= b,
    ">=": lambda a, b: a >= b,
}

#: The Terraform functions the evaluator knows: pure, and cheap on the values a request can carry.
FUNCTIONS: dict[str, Callable[..., Any]] = {
    "length": _length,
    "contains": _contains,
    "regex": _regex,
    "regexall": _regexall,
    "coalesce": _coalesce,
    "floor": lambda x: math.floor(_num(x)),
    "ceil": lambda x: math.ceil(_num(x)),
    "abs": lambda x: abs(_num(x)),
    "min": lambda *xs: min(_num(x) for x in xs),
    "max": lambda *xs: max(_num(x) for x in xs),
    "lower": lambda s: _string_arg(s).lower(),
    "upper": lambda s: _string_arg(s).upper(),
    "trimspace": lambda s: _string_arg(s).strip(),
    "startswith": lambda s, p: _string_arg(s).startswith(_string_arg(p)),
    "endswith": lambda s, p: _string_arg(s).endswith(_string_arg(p)),
    "strcontains": lambda s, p: _string_arg(p) in _string_arg(s),
    "tostring": lambda v: None if v is None else to_string(v),
    "alltrue": lambda xs: all(_all_bools(xs)),
    "anytrue": lambda xs: any(_all_bools(xs)),
    "keys": lambda m: sorted(m) if isinstance(m, dict) else _fail("keys() needs a map"),
    "values": lambda m: [m[k] for k in sorted(m)] if isinstance(m, dict) else _fail("values() needs a map"),
}


def _fail(message: str) -> Any:
    raise EvaluationError(message)


_HANDLERS: dict[str, Callable[[Tree, Mapping[str, Any]], Any]] = {
    "expr_term": _term,
    "literal_value": _literal,
    "int_lit": _number,
    "float_lit": _number,
    "string": _string,
    "tuple": _tuple,
    "object": _object,
    "get_attr_expr_term": _get_attr,
    "index_expr_term": _index,
    "unary_op": _unary,
    "binary_op": _binary,
    "conditional": _conditional,
    "function_call": _function,
}
