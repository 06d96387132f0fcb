"""A Terraform module's `variable` blocks, read with python-hcl2, and resource settings checked against them.

Why here and not at apply time: a setting Terraform would refuse (`storage_gb = -5`, `num_nodes = "abc"`)
used to be accepted with a 202, a repository was created, and only then did Terraform fail and everything
got undone. The module's own declarations are the single source of the rules: its `type`, `nullable`,
`default` and every `validation { condition, error_message }` — evaluated by `roadbed.hcl_expressions`.

Types, deliberately stricter than Terraform's automatic conversion so the API stays typed:
- `number` takes a JSON number only. Terraform would turn the string `"5"` into 5; Roadbed refuses it, so a
  value's JSON type always says what it is (and `"abc"` never gets as far as Terraform).
- `bool` takes `true`/`false` only (Terraform would also take the strings `"true"`/`"false"`).
- `string` takes a JSON string, and — as Terraform does — a number or bool, converted to Terraform's string
  form (`16` → `"16"`, `7.0` → `"7"`): `roadbed create --resource postgres:main,engine_version=16` sends a
  number, and the converted string is what is stored and what Terraform gets.
- `list`/`set`/`tuple` take a JSON array, `map`/`object` a JSON object (an object refuses attributes it does
  not declare; `optional(T, default)` attributes may be left out), `any` takes anything.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import hcl2
from lark import Tree

from roadbed.hcl_expressions import OPAQUE, EvaluationError, Unevaluable, evaluate, object_element, operands, to_string


class TypeMismatch(Exception):
    """A value does not have (and cannot be converted to) a variable's declared type."""


@dataclass(frozen=True)
class TypeConstraint:
    """A Terraform type constraint: a primitive, `any`, or a collection/structural type of others."""

    kind: str  # string | number | bool | any | list | set | map | tuple | object | unknown
    element: TypeConstraint | None = None
    elements: tuple[TypeConstraint, ...] = ()
    attributes: tuple[tuple[str, TypeConstraint, bool, Any], ...] = ()  # (name, type, optional, default)

    def describe(self) -> str:
        if self.element is not None:
            return f"{self.kind}({self.element.describe()})"
        if self.kind == "object":
            return "object({" + ", ".join(f"{n} = {t.describe()}" for n, t, _, _ in self.attributes) + "})"
        if self.kind == "tuple":
            return "tuple([" + ", ".join(t.describe() for t in self.elements) + "])"
        return self.kind


ANY = TypeConstraint("any")


@dataclass(frozen=True)
class Validation:
    condition: Tree
    error_message: Tree


@dataclass(frozen=True)
class Variable:
    name: str
    type: TypeConstraint = ANY
    has_default: bool = False
    default: Any = None
    nullable: bool = True
    sensitive: bool = False
    validations: tuple[Validation, ...] = field(default=())


@dataclass(frozen=True)
class SettingProblem:
    setting: str
    message: str


@dataclass(frozen=True)
class _Block:
    kind: str
    label: str | None
    attributes: dict[str, Tree]
    blocks: tuple[_Block, ...]


def _read_block(node: Tree) -> _Block:
    parts = operands(node)
    body = parts[-1]
    kind = str(parts[0].children[0])
    label = evaluate(parts[1], {}) if len(parts) > 2 and parts[1].data == "string" else None
    attributes: dict[str, Tree] = {}
    nested: list[_Block] = []
    for item in operands(body):
        if item.data == "attribute":
            name, value = operands(item)
            attributes[str(name.children[0])] = value
        elif item.data == "block":
            nested.append(_read_block(item))
    return _Block(kind, label, attributes, tuple(nested))


@cache
def module_blocks(module_dir: Path, kind: str) -> tuple[_Block, ...]:
    """A module's top-level blocks of `kind` (`variable`, `output`), in file and declaration order."""
    found: list[_Block] = []
    for tf in sorted(module_dir.glob("*.tf")):
        tree = hcl2.parses_to_tree(tf.read_text())
        found += [b for b in (_read_block(n) for n in operands(operands(tree)[0]) if n.data == "block") if b.kind == kind]
    return tuple(found)


def block_flag(block: _Block, name: str, default: bool) -> bool:
    return bool(evaluate(block.attributes[name], {})) if name in block.attributes else default


@cache
def module_variables(module_dir: Path) -> dict[str, Variable]:
    """{name: Variable} of a module's inputs, with their types and validation rules."""
    variables: dict[str, Variable] = {}
    for block in module_blocks(module_dir, "variable"):
        assert block.label is not None
        default: Any = None
        if "default" in block.attributes:
            try:
                default = evaluate(block.attributes["default"], {})
            except (Unevaluable, EvaluationError):
                default = OPAQUE
        rules = tuple(
            Validation(rule.attributes["condition"], rule.attributes["error_message"])
            for rule in block.blocks
            if rule.kind == "validation" and {"condition", "error_message"} <= rule.attributes.keys()
        )
        variables[block.label] = Variable(
            name=block.label,
            type=parse_type(block.attributes["type"]) if "type" in block.attributes else ANY,
            has_default="default" in block.attributes,
            default=default,
            nullable=block_flag(block, "nullable", True),
            sensitive=block_flag(block, "sensitive", False),
            validations=rules,
        )
    return variables


def parse_type(node: Tree) -> TypeConstraint:
    """The type constraint an HCL type expression declares; `unknown` (accepts anything) when not understood."""
    inner = operands(node)
    if node.data == "expr_term" and len(inner) == 1:
        return parse_type(inner[0])
    if node.data == "identifier":
        name = str(node.children[0])
        return TypeConstraint(name) if name in {"string", "number", "bool", "any"} else TypeConstraint("unknown")
    if node.data != "function_call":
        return TypeConstraint("unknown")
    name = str(inner[0].children[0])
    arguments = operands(inner[1]) if len(inner) > 1 else []
    if name in {"list", "set", "map"} and len(arguments) == 1:
        return TypeConstraint(name, element=parse_type(arguments[0]))
    body = operands(arguments[0])[0] if len(arguments) == 1 and operands(arguments[0]) else None
    if name == "tuple" and body is not None and body.data == "tuple":
        return TypeConstraint("tuple", elements=tuple(parse_type(item) for item in operands(body)))
    if name == "object" and body is not None and body.data == "object":
        return TypeConstraint("object", attributes=tuple(_attribute(element) for element in operands(body)))
    return TypeConstraint("unknown")


def _attribute(element: Tree) -> tuple[str, TypeConstraint, bool, Any]:
    name, value = object_element(element, {})
    inner = operands(value)
    call = inner[0] if value.data == "expr_term" and len(inner) == 1 else value
    if call.data == "function_call" and str(operands(call)[0].children[0]) == "optional":
        arguments = operands(operands(call)[1])
        default = evaluate(arguments[1], {}) if len(arguments) > 1 else None
        return name, parse_type(arguments[0]), True, default
    return name, parse_type(value), False, None


def type_is_understood(constraint: TypeConstraint) -> bool:
    nested = [constraint.element] if constraint.element else [*constraint.elements, *(t for _, t, _, _ in constraint.attributes)]
    return constraint.kind != "unknown" and all(type_is_understood(t) for t in nested if t is not None)


def convert(value: Any, constraint: TypeConstraint) -> Any:
    """`value` as `constraint` accepts it (see the module docstring), or TypeMismatch saying why not."""
    kind = constraint.kind
    if value is None or kind in {"any", "unknown"}:
        return value  # nullability is the variable's concern, not the type's
    if kind == "number":
        if isinstance(value, str):
            if _numeric(value):
                raise TypeMismatch(f"must be a number, not a string (send {value}, not \"{value}\")")
            raise TypeMismatch(f"must be a number (got the string {value!r})")
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise TypeMismatch("must be a number")
        return value
    if kind == "bool":
        if not isinstance(value, bool):
            raise TypeMismatch("must be true or false")
        return value
    if kind == "string":
        if isinstance(value, list | dict):
            raise TypeMismatch("must be a string")
        return to_string(value)
    if kind in {"list", "set", "tuple"}:
        if not isinstance(value, list):
            raise TypeMismatch(f"must be a list ({constraint.describe()})")
        types = constraint.elements if kind == "tuple" else (constraint.element or ANY,) * len(value)
        if len(types) != len(value):
            raise TypeMismatch(f"must be a list of exactly {len(types)} items ({constraint.describe()})")
        return [_nested(f"item {i}", item, t) for i, (item, t) in enumerate(zip(value, types, strict=True))]
    if not isinstance(value, dict):
        raise TypeMismatch(f"must be an object ({constraint.describe()})")
    if kind == "map":
        return {key: _nested(f"key {key!r}", item, constraint.element or ANY) for key, item in value.items()}
    declared = {name: (t, optional, default) for name, t, optional, default in constraint.attributes}
    if unknown := sorted(set(value) - set(declared)):
        raise TypeMismatch(f"unknown attribute(s) {', '.join(unknown)}; expected {', '.join(declared) or 'none'}")
    result: dict[str, Any] = {}
    for name, (t, optional, default) in declared.items():
        if name not in value and not optional:
            raise TypeMismatch(f"attribute {name!r} is required ({constraint.describe()})")
        result[name] = _nested(f"attribute {name!r}", value[name], t) if name in value else default
    return result


def _nested(where: str, value: Any, constraint: TypeConstraint) -> Any:
    try:
        return convert(value, constraint)
    except TypeMismatch as exc:
        raise TypeMismatch(f"{where}: {exc}") from None


def _numeric(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def check_settings(
    variables: Mapping[str, Variable],
    settings: Mapping[str, Any],
    supplied: Mapping[str, Any],
    opaque: frozenset[str] = frozenset(),
) -> tuple[dict[str, Any], list[SettingProblem]]:
    """(`settings` converted to their declared types, what is wrong with them), as Terraform would judge.

    `supplied` holds the values Roadbed sets itself (name, service, ...): they take part in the rules of other
    variables (`var.environment` in bucket's `public`), but their own rules are Roadbed's naming rule's job.
    `opaque` names settings whose value must not be looked at (sealed: checked in clear at submission);
    a rule reading one cannot be checked here and is skipped. Settings a module does not declare are
    the caller's to refuse; they are ignored here.
    """
    values: dict[str, Any] = {}
    converted: dict[str, Any] = {}
    problems: list[SettingProblem] = []
    given = {**settings, **supplied}
    for name, variable in variables.items():
        if name in opaque or given.get(name) is OPAQUE:
            values[name] = OPAQUE
        elif name in given and given[name] is not None:
            try:
                values[name] = convert(given[name], variable.type)
            except TypeMismatch as exc:
                problems.append(SettingProblem(name, str(exc)))
                values[name] = OPAQUE  # reported once: its rules are not evaluated on a mistyped value
        elif variable.has_default and (name not in given or not variable.nullable):
            values[name] = variable.default  # Terraform uses the default for a null non-nullable input
        elif name in given and variable.nullable:
            values[name] = None
        else:
            problems.append(SettingProblem(name, "must not be null" if name in given else "is required"))
            values[name] = OPAQUE
        if name in settings and name not in opaque and values[name] is not OPAQUE:
            converted[name] = values[name] if settings[name] is not None else None
    reported = {problem.setting for problem in problems}
    for name, variable in variables.items():
        if name in supplied or name in reported:
            continue
        if (message := _first_failure(variable, values)) is not None:
            problems.append(SettingProblem(name, message))
    return converted | {k: v for k, v in settings.items() if k in opaque or k not in variables}, problems


def _first_failure(variable: Variable, values: Mapping[str, Any]) -> str | None:
    """The error_message of the first rule the values break; None when all hold or cannot be checked here."""
    for rule in variable.validations:
        try:
            holds = evaluate(rule.condition, values)
        except Unevaluable:
            continue
        except EvaluationError:
            holds = False
        if holds is not True:
            try:
                return str(evaluate(rule.error_message, values))
            except (Unevaluable, EvaluationError):
                return f"{variable.name} is invalid (its module's validation rule fails)"
    return None


def unevaluable_rules(variables: Mapping[str, Variable], values: Mapping[str, Any]) -> list[str]:
    """`<variable>: <why>` for every rule that cannot be checked with `values` (a test keeps this empty)."""
    found: list[str] = []
    for variable in variables.values():
        if not type_is_understood(variable.type):
            found.append(f"{variable.name}: type not understood")
        for rule in variable.validations:
            for expression in (rule.condition, rule.error_message):
                try:
                    evaluate(expression, values)
                except Unevaluable as exc:
                    found.append(f"{variable.name}: {exc}")
                except EvaluationError:
                    pass
    return found
