"""The sandboxed template language of golden paths: Backstage's Nunjucks dialect on Jinja2.

Backstage templates write `${{ expr }}` for values and `{% ... %}` for blocks; the filters real
templates use (`dump`, `parseRepoUrl`, `parseEntityRef`, the common string filters) are provided.
Templates run in Jinja2's `SandboxedEnvironment`: a template cannot reach Python internals.
Parameter values are only ever *data* in the render context, never template source, so `{{ 7*7 }}`
typed into a form comes out literally.

Values behave as they do in Backstage's nunjucks (tests/unit/test_backstage_reference.py renders every
template both ways and compares the bytes), implemented in Python, never by evaluating JavaScript:
an undefined value prints as an empty string and so does `null` (`"a" + undefined` is `"aundefined"`,
as in JavaScript); booleans print `true`/`false`, objects `[object Object]`, lists joined by commas;
`===`/`!==`, `null`, and the JavaScript string and array members templates use (`.length`, `.trim()`,
`.split()`, `.replace()`, `.replaceAll()`, `.toUpperCase()`, `.toLowerCase()`, `.includes()`,
`.startsWith()`, `.endsWith()`, `.indexOf()`, `.slice()`, `.join()`) work; `dump` is `JSON.stringify`.
Conditions, `and`/`or`, `==`/`===` and `~` are compiled with JavaScript's rules (`nunjucks_syntax`): an empty
list is true, `1 == "1"` but not `1 === "1"`, `"a" ~ undefined` is `"aundefined"`.

Rendering has no I/O, so every failure is deterministic: whatever a template raises (syntax error,
unknown filter, a filter given a bad argument, `{% include %}` of a file that is not there, runaway
recursion) is a `TemplateRenderError` naming the file; retrying would only fail again. A template is
also one golden-path author's code running in the shared worker, so its output is capped while it is
produced (`MAX_RENDERED_BYTES`) and the operators that could allocate gigabytes in one expression
(`'x' * 10**10`, `10 ** 10 ** 10`, `'%999999999s'`) are refused before they run.
"""

from __future__ import annotations

import re
from functools import cache, lru_cache
from typing import Any
from urllib.parse import parse_qs, urlparse

from jinja2 import BaseLoader, Template, TemplateError, TemplateNotFound, Undefined, nodes
from jinja2.environment import TemplateExpression
from jinja2.exceptions import SecurityError, TemplateSyntaxError
from jinja2.sandbox import SandboxedEnvironment

from roadbed.domain.errors import PermanentError
from roadbed.rendering.javascript import (
    DICT_METHODS,
    JS_ARRAY_MEMBERS,
    JS_STRING_MEMBERS,
    JsUndefined,
    dump,
    js_add,
    js_bool,
    js_string,
    plain,
    title,
)
from roadbed.rendering.nunjucks_syntax import (
    NunjucksCodeGenerator,
    NunjucksParser,
    StrictOperators,
    js_and,
    js_compare,
    js_concat,
    js_or,
)

_WHOLE_EXPRESSION = re.compile(r"^\s*\$\{\{(?P<expr>.*)\}\}\s*$", re.DOTALL)

MAX_RENDERED_BYTES = 1024 * 1024
"""The most UTF-8 bytes one render (one skeleton file, one name, one input) may produce.

Real skeleton files are a few KiB; a megabyte leaves room for generated lock files while keeping a
runaway loop from filling the worker's memory. The repository as a whole has its own cap in
`roadbed.rendering.skeleton`.
"""

_MAX_POWER_BITS = 4096
"""`a ** b` may produce at most this many bits: enough for any real arithmetic, not for `10**10**10`."""

# A `%`/`str.format` width or precision of 7+ digits would allocate megabytes of padding.
_HUGE_FORMAT_WIDTH = re.compile(r"(%[-#0 +]*(\d{7,}|\.\d{7,}))|(\{[^{}]*:[^{}]*\d{7,}[^{}]*\})")


class TemplateRenderError(PermanentError):
    """A golden path template could not be rendered (syntax error, unknown value, sandbox violation)."""

    code = "template_error"


def parse_repo_url(url: str) -> dict[str, str]:
    """Backstage's RepoUrlPicker form `host?owner=o&repo=r` (also `organization`, `workspace`, `project`).

    As in Backstage the result crosses a JSON boundary: absent parts are absent keys (undefined), not nulls.
    """
    if not isinstance(url, str):
        raise TemplateRenderError(f"invalid repoUrl {url!r}: not a string")
    parsed = urlparse(url if "://" in url else f"https://{url}")
    query = {k: v[0] for k, v in parse_qs(parsed.query).items()}
    if not query.get("repo"):
        raise TemplateRenderError(f"invalid repoUrl {url!r}: missing repo query parameter")
    found = {"host": parsed.netloc, **{key: query.get(key) for key in ("owner", "repo", "organization", "workspace", "project")}}
    return {key: value for key, value in found.items() if value is not None}


def parse_entity_ref(ref: str, context: Any = None, *, defaultKind: str | None = None, defaultNamespace: str | None = None) -> dict[str, str | None]:  # noqa: N803 - Backstage's keyword names
    """`[kind:][namespace/]name`; like Backstage's filter it takes `{defaultKind, defaultNamespace}` as its argument."""
    options = context if isinstance(context, dict) else {}
    kind: Any = options.get("defaultKind", defaultKind)
    namespace: Any = options.get("defaultNamespace", defaultNamespace) or "default"
    if not isinstance(ref, str):
        raise TemplateRenderError(f"entity reference must be a string, not {js_string(ref)!r}")
    rest = ref
    colon, slash = ref.find(":"), ref.find("/")
    if colon != -1 and (slash == -1 or colon < slash):
        kind, rest = ref[:colon], ref[colon + 1 :]
    if "/" in rest:
        namespace, rest = rest.split("/", 1)
    if not kind:
        raise TemplateRenderError(f'entity reference "{ref}" had missing or empty kind')
    if not rest:
        raise TemplateRenderError(f'entity reference "{ref}" had missing or empty name')
    return {"kind": kind, "namespace": namespace, "name": rest}


def _lodash_get(obj: Any, key: Any) -> Any:
    """Backstage's `pick` (lodash `get`); a path that is not there fails, as its undefined result cannot cross Backstage's JSON boundary."""
    parts = [part for part in re.sub(r"\[(\w+)\]", r".\1", js_string(key)).split(".") if part]
    for part in parts:
        if isinstance(obj, dict) and part in obj:
            obj = obj[part]
        elif isinstance(obj, list) and part.isdigit() and int(part) < len(obj):
            obj = obj[int(part)]
        else:
            raise TemplateRenderError(f"pick: {js_string(key)!r} is undefined")
    return obj


def _finalize(value: Any) -> str:
    return js_string(value, printing=True)


def _install_filters(env: SandboxedEnvironment) -> None:
    env.filters.update(
        {
            "dump": dump,
            "parseRepoUrl": parse_repo_url,
            "parseEntityRef": parse_entity_ref,
            "projectSlug": lambda url: "{owner}/{repo}".format(**{"owner": "undefined", **parse_repo_url(url)}),
            "pick": _lodash_get,
            "title": title,
        }
    )
    env.globals.update({"null": None, "undefined": JsUndefined()})


class _NoTemplateFiles(BaseLoader):
    """Golden path files are rendered one by one: there is no file another template could pull in."""

    def get_source(self, environment: Any, template: str) -> Any:
        raise TemplateNotFound(
            template,
            f"cannot load template {template!r}: {{% include %}}, {{% import %}} and {{% extends %}} are not supported in golden path files",
        )


def _size(value: Any) -> int | None:
    return len(value) if isinstance(value, (str, bytes, list, tuple)) else None


class _BoundedSandbox(SandboxedEnvironment):
    """The sandbox, plus refusals of the one-expression memory bombs its parent lets through."""

    intercepted_binops = frozenset({"+", "*", "**", "%"})
    code_generator_class = NunjucksCodeGenerator
    js_bool = staticmethod(js_bool)
    js_and = staticmethod(js_and)
    js_or = staticmethod(js_or)
    js_compare = staticmethod(js_compare)
    js_concat = staticmethod(js_concat)

    def _parse(self, source: str, name: str | None, filename: str | None) -> nodes.Template:
        return NunjucksParser(self, source, name, filename).parse()

    def compile_expression(self, source: str, undefined_to_none: bool = True) -> Any:
        """Jinja's, with the parser that knows `===`/`!==`."""
        parser = NunjucksParser(self, source, state="variable")
        try:
            expr = parser.parse_expression()
            if not parser.stream.eos:
                raise TemplateSyntaxError("chunk after expression", parser.stream.current.lineno, None, None)
            expr.set_environment(self)
        except TemplateSyntaxError:
            self.handle_exception(source=source)
        template = self.from_string(nodes.Template([nodes.Assign(nodes.Name("result", "store"), expr, lineno=1)], lineno=1))
        return TemplateExpression(template, undefined_to_none)

    def getattr(self, obj: Any, attribute: str) -> Any:
        """Member access as in JavaScript: a mapping's keys before Python's methods, `.length`, string and array members."""
        if isinstance(obj, dict) and not attribute.startswith("_"):
            if attribute in obj:
                return obj[attribute]
            if attribute == "length" or attribute not in DICT_METHODS:
                return self.undefined(obj=obj, name=attribute)
        elif isinstance(obj, (str, list, tuple)):
            if attribute == "length":
                return len(obj)
            members = JS_STRING_MEMBERS if isinstance(obj, str) else JS_ARRAY_MEMBERS
            if attribute in members:
                return members[attribute](obj)
        return super().getattr(obj, attribute)

    def unsafe_undefined(self, obj: Any, attribute: str) -> Undefined:
        """Reaching for Python internals is an error at once, not a silently empty `undefined`."""
        raise SecurityError(f"access to attribute {attribute!r} of {type(obj).__name__!r} object is unsafe.")

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        if operator == "+" and (isinstance(left, (str, Undefined, dict, list, tuple)) or isinstance(right, (str, Undefined, dict, list, tuple)) or left is None or right is None):
            result = js_add(left, right)
            if isinstance(result, str) and len(result) > MAX_RENDERED_BYTES:
                raise TemplateRenderError(f"'+' would build a value of {len(result)} characters, over {MAX_RENDERED_BYTES}")
            return result
        if operator == "*":
            for sequence, times in ((left, right), (right, left)):
                length = _size(sequence)
                if length is not None and isinstance(times, int) and length * times > MAX_RENDERED_BYTES:
                    raise TemplateRenderError(f"'*' would build a value of {length * times} items, over {MAX_RENDERED_BYTES}")
        elif operator == "**":
            if isinstance(left, int) and isinstance(right, int) and right > 0 and abs(left) > 1 and right * abs(left).bit_length() > _MAX_POWER_BITS:
                raise TemplateRenderError(f"'**' result would exceed {_MAX_POWER_BITS} bits")
        elif operator == "%" and isinstance(left, str):
            _check_format(left)
        return super().call_binop(context, operator, left, right)

    def format_string(self, s: str, args: Any, kwargs: Any, format_func: Any = None) -> str:
        _check_format(s)
        return super().format_string(s, args, kwargs, format_func)


def _check_format(spec: str) -> None:
    if _HUGE_FORMAT_WIDTH.search(spec):
        raise TemplateRenderError(f"format string {spec[:60]!r} asks for a width over {MAX_RENDERED_BYTES}")


def _bounded_width(name: str, original: Any) -> Any:
    """Wrap a padding filter (`center`, `indent`) so a width beyond the output cap is refused."""

    def bounded(value: Any, width: Any = 80, *args: Any, **kwargs: Any) -> Any:
        if isinstance(width, int) and width > MAX_RENDERED_BYTES:
            raise TemplateRenderError(f"filter {name!r}: width {width} is over {MAX_RENDERED_BYTES}")
        return original(value, width, *args, **kwargs)

    return bounded


def _configure(env: SandboxedEnvironment) -> SandboxedEnvironment:
    _install_filters(env)
    # Jinja's `tojson` keeps its HTML-safe escapes of < > & ' but writes other characters as they are, like `dump`:
    # its default ASCII escapes turn an emoji into a surrogate pair (\ud83d\ude80) that TOML rejects.
    env.policies["json.dumps_kwargs"] = {"sort_keys": True, "ensure_ascii": False}
    for name in ("center", "indent"):
        env.filters[name] = _bounded_width(name, env.filters[name])
    return env


@cache
def text_environment() -> SandboxedEnvironment:
    return _configure(
        _BoundedSandbox(
            loader=_NoTemplateFiles(),
            variable_start_string="${{",
            variable_end_string="}}",
            undefined=JsUndefined,
            finalize=_finalize,
            extensions=[StrictOperators],
            optimized=False,
            keep_trailing_newline=True,
            autoescape=False,
        )
    )


#: sources up to this size keep their compiled template (`_compiled`)
COMPILED_SOURCE_MAX_CHARS = 64 * 1024


@lru_cache(maxsize=1024)
def _compiled(source: str) -> Template:
    """A provision renders the same skeleton files as the one before it, and compiling was most of a render
    (a 30-provision burst: Jinja's compile 6 % of the worker's CPU). A template is immutable and renders in a
    fresh context every time, so one compiled template serves every render and thread; a source that fails to
    compile is not cached and fails again the same way."""
    return text_environment().from_string(source)


@lru_cache(maxsize=1024)
def _compiled_expression(source: str) -> TemplateExpression:
    """A whole `${{ expr }}` step input, compiled once like `_compiled` (and evaluated in a fresh context each time)."""
    return text_environment().compile_expression(source, undefined_to_none=False)


def _template(source: str) -> Template:
    return _compiled(source) if len(source) <= COMPILED_SOURCE_MAX_CHARS else text_environment().from_string(source)


def _failure(where: str, exc: Exception) -> TemplateRenderError:
    """One message for every way a render fails; the exception type helps when the text alone is terse."""
    if isinstance(exc, TemplateRenderError):
        return TemplateRenderError(f"{where}: {exc}")
    if isinstance(exc, TemplateError):
        return TemplateRenderError(f"{where}: {exc}")
    if isinstance(exc, RecursionError):
        return TemplateRenderError(f"{where}: template recursion too deep")
    return TemplateRenderError(f"{where}: {type(exc).__name__}: {exc}")


def render_text(source: str, context: dict[str, Any], *, where: str, limit: int = MAX_RENDERED_BYTES) -> str:
    """Render template source (a skeleton file or a file name) in the sandbox.

    The output is produced chunk by chunk and abandoned as soon as it passes `limit` UTF-8 bytes,
    so a loop that would print gigabytes fails after one megabyte instead of exhausting memory.
    """
    try:
        chunks: list[str] = []
        size = 0
        for chunk in _template(source).generate(context):
            size += len(chunk.encode("utf-8"))
            if size > limit:
                raise TemplateRenderError(f"rendered output is larger than {limit} bytes")
            chunks.append(chunk)
        return "".join(chunks)
    except Exception as exc:  # rendering does no I/O: every failure is the template's and permanent
        raise _failure(where, exc) from exc


_ABSENT = object()


def render_input(value: Any, context: dict[str, Any], *, where: str) -> Any:
    """`render_value`, and as Backstage's workflow runner does, a mapping key whose template renders to
    nothing (an empty string, or an undefined whole expression) is left out: it is undefined, not `""`."""
    if isinstance(value, dict):
        rendered = {key: _rendered_or_absent(item, context, where=f"{where}.{key}") for key, item in value.items()}
        return {key: item for key, item in rendered.items() if item is not _ABSENT}
    if isinstance(value, list):
        return [None if (item := _rendered_or_absent(element, context, where=f"{where}[{i}]")) is _ABSENT else item for i, element in enumerate(value)]
    return render_value(value, context, where=where)


def _rendered_or_absent(value: Any, context: dict[str, Any], *, where: str) -> Any:
    if isinstance(value, str) and ("${{" in value or "{%" in value):
        result = _render_string(value, context, where=where)
        return _ABSENT if isinstance(result, Undefined) else result
    return render_input(value, context, where=where)


def _render_string(value: str, context: dict[str, Any], *, where: str) -> Any:
    """A template string's value; `Undefined` where Backstage's runner yields undefined: a whole expression
    that is undefined, or a mixed template that renders to an empty string. A whole expression of `""` is `""`."""
    whole = _WHOLE_EXPRESSION.match(value)
    if whole and "${{" not in whole.group("expr") and "}}" not in whole.group("expr"):
        try:
            result = _compiled_expression(whole.group("expr"))(**context)
        except Exception as exc:  # deterministic, as in render_text
            raise _failure(where, exc) from exc
        return result if isinstance(result, Undefined) else plain(result)
    text = render_text(value, context, where=where)
    return JsUndefined() if text == "" else text


def render_value(value: Any, context: dict[str, Any], *, where: str) -> Any:
    """Evaluate a step input: strings are templates, lists and mappings are walked.

    A string that is one whole `${{ expr }}` keeps the expression's type, as in Backstage.
    """
    if isinstance(value, str):
        if "${{" not in value and "{%" not in value:
            return value
        result = _render_string(value, context, where=where)
        if isinstance(result, Undefined):
            return None if _WHOLE_EXPRESSION.match(value) else ""
        return result
    if isinstance(value, list):
        return [render_value(item, context, where=f"{where}[{i}]") for i, item in enumerate(value)]
    if isinstance(value, dict):
        return {key: render_value(item, context, where=f"{where}.{key}") for key, item in value.items()}
    return value
