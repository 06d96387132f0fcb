"""Nunjucks' expression semantics compiled into Jinja2: where the two languages read the same text differently.

Jinja2 parses `${{ }}` templates almost as nunjucks does, but compiles the expressions to Python operators,
and Python's differ from JavaScript's (tests/unit/test_backstage_reference.py compares with nunjucks):

- truthiness: an empty list or object is *true* in JavaScript (`{% if parameters.tags %}` with `[]` takes the
  `if` branch) and NaN false; `if`/`elif`, `x if c else y`, `not`, `and` and `or` follow it, and `and`/`or`
  still short-circuit and yield an operand, as `&&`/`||` do;
- `===`/`!==` compare strictly (`1 === "1"` is false) and `==`/`!=` loosely (`1 == "1"` is true,
  `null == undefined`), `<`/`>`/`<=`/`>=` as JavaScript does (`8080 > "80"`), chained left to right;
- `~` joins values as JavaScript prints them (`"a" ~ undefined` is `"aundefined"`, `true` is `true`).

Only the generated Python changes: it calls the pure functions of `roadbed.rendering.javascript` through the
environment (`environment.js_bool(...)`), inside the same sandbox; nothing evaluates JavaScript. Constant
folding is off in the environments that use this (`optimized=False`), since it would fold with Python's rules.
(Jinja forbids new node types, so the code generator, not the tree, carries the difference.)
"""

from __future__ import annotations

from typing import Any

from jinja2 import nodes
from jinja2.compiler import CodeGenerator, Frame
from jinja2.ext import Extension
from jinja2.lexer import Token, TokenStream
from jinja2.parser import Parser

from roadbed.rendering.javascript import js_bool, js_loose_equal, js_relation, js_strict_equal, js_string

STRICT_OPERATORS = {"steq": "===", "stne": "!=="}
_COMPARE_TOKENS = frozenset({"eq", "ne", "lt", "lteq", "gt", "gteq", *STRICT_OPERATORS})


def fold_strict_operators(stream: TokenStream) -> Any:
    """`===` and `!==` lex as `==`/`!=` followed by `=`: fold each pair into one `steq`/`stne` token."""
    pending: Token | None = None
    for token in stream:
        if pending is not None:
            if token.type == "assign":
                yield Token(pending.lineno, "steq" if pending.type == "eq" else "stne", pending.value + "=")
                pending = None
                continue
            yield pending
            pending = None
        if token.type in {"eq", "ne"}:
            pending = token
            continue
        yield token
    if pending is not None:
        yield pending


class StrictOperators(Extension):
    """Lexes `===` and `!==` (see `fold_strict_operators`); `NunjucksParser` parses them."""

    def filter_stream(self, stream: TokenStream) -> Any:
        return fold_strict_operators(stream)


class NunjucksParser(Parser):
    """Jinja's parser, which also knows the strict comparison tokens."""

    def parse_compare(self) -> nodes.Expr:
        lineno = self.stream.current.lineno
        expr = self.parse_math1()
        ops = []
        while True:
            token_type = self.stream.current.type
            if token_type in _COMPARE_TOKENS:
                next(self.stream)
                ops.append(nodes.Operand(token_type, self.parse_math1()))
            elif self.stream.skip_if("name:in"):
                ops.append(nodes.Operand("in", self.parse_math1()))
            elif self.stream.current.test("name:not") and self.stream.look().test("name:in"):
                self.stream.skip(2)
                ops.append(nodes.Operand("notin", self.parse_math1()))
            else:
                break
            lineno = self.stream.current.lineno
        if not ops:
            return expr
        return nodes.Compare(expr, ops, lineno=lineno)


def js_and(left: Any, right: Any) -> Any:
    """`left && right`: `right()` is only evaluated when `left` is truthy."""
    return right() if js_bool(left) else left


def js_or(left: Any, right: Any) -> Any:
    """`left || right`: `right()` is only evaluated when `left` is falsy."""
    return left if js_bool(left) else right()


_RELATIONS = frozenset({"lt", "lteq", "gt", "gteq"})


def js_compare(op: str, left: Any, right: Any) -> Any:
    """One comparison; nunjucks chains them left to right (`a == b == c` is `(a == b) == c`)."""
    if op == "eq":
        return js_loose_equal(left, right)
    if op == "ne":
        return not js_loose_equal(left, right)
    if op == "steq":
        return js_strict_equal(left, right)
    if op == "stne":
        return not js_strict_equal(left, right)
    if op in _RELATIONS:
        return js_relation(op, left, right)
    return (left in right) if op == "in" else (left not in right)


def js_concat(values: tuple[Any, ...]) -> str:
    """`a ~ b`: each operand as JavaScript's `String()` prints it (`undefined`, `null`, `true`, `1,2`)."""
    return "".join(js_string(value) for value in values)


class NunjucksCodeGenerator(CodeGenerator):
    """Jinja's code generator with JavaScript's conditions, `&&`/`||`, comparisons and `~`."""

    def _output_child_to_const(self, node: nodes.Expr, frame: Frame, finalize: Any) -> str:
        """Only literal text is printed at compile time: folding `${{ 2.0 ~ "x" }}` would use Python's rules."""
        if not isinstance(node, nodes.TemplateData):
            raise nodes.Impossible()
        return super()._output_child_to_const(node, frame, finalize)

    def _condition(self, test: nodes.Expr, frame: Frame) -> None:
        self.write("environment.js_bool(")
        self.visit(test, frame)
        self.write(")")

    def visit_If(self, node: nodes.If, frame: Frame) -> None:  # noqa: N802 - Jinja's visitor naming
        """Jinja's `visit_If`, testing each condition with `js_bool`."""
        if_frame = frame.soft()
        for keyword, branch in [("if ", node), *(("elif ", elif_) for elif_ in node.elif_)]:
            self.writeline(keyword, branch)
            self._condition(branch.test, if_frame)
            self.write(":")
            self.indent()
            self.blockvisit(branch.body, if_frame)
            self.outdent()
        if node.else_:
            self.writeline("else:")
            self.indent()
            self.blockvisit(node.else_, if_frame)
            self.outdent()

    def visit_CondExpr(self, node: nodes.CondExpr, frame: Frame) -> None:  # noqa: N802
        """`a if test else b`; without `else`, an undefined value as in Jinja."""
        frame = frame.soft()
        self.write("(")
        self.visit(node.expr1, frame)
        self.write(" if ")
        self._condition(node.test, frame)
        self.write(" else ")
        if node.expr2 is not None:
            self.visit(node.expr2, frame)
        else:
            self.write(f'cond_expr_undefined("the inline if-expression on {self.position(node)} evaluated to false and no else section was defined.")')
        self.write(")")

    def visit_Not(self, node: nodes.Not, frame: Frame) -> None:  # noqa: N802
        self.write("(not ")
        self._condition(node.node, frame)
        self.write(")")

    def _short_circuit(self, function: str, node: nodes.BinExpr, frame: Frame) -> None:
        self.write(f"environment.{function}(")
        self.visit(node.left, frame)
        self.write(", lambda: ")
        self.visit(node.right, frame)
        self.write(")")

    def visit_And(self, node: nodes.And, frame: Frame) -> None:  # noqa: N802
        self._short_circuit("js_and", node, frame)

    def visit_Or(self, node: nodes.Or, frame: Frame) -> None:  # noqa: N802
        self._short_circuit("js_or", node, frame)

    def visit_Compare(self, node: nodes.Compare, frame: Frame) -> None:  # noqa: N802
        for op in reversed(node.ops):
            self.write(f"environment.js_compare({op.op!r}, ")
        self.visit(node.expr, frame)
        for op in node.ops:
            self.write(", ")
            self.visit(op.expr, frame)
            self.write(")")

    def visit_Concat(self, node: nodes.Concat, frame: Frame) -> None:  # noqa: N802
        self.write("environment.js_concat((")
        for argument in node.nodes:
            self.visit(argument, frame)
            self.write(", ")
        self.write("))")
