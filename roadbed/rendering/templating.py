"""The sandboxed template language of golden paths: Backstage's Nunjucks dialect on Jinja2.

Backstage templates write `${{ expr }}` for values and `{% ... %}` for blocks; the filters real
templates use (`dump`, `parseRepoUrl`, `parseEntityRef`, the common string filters) are provided.
Templates run in Jinja2's `SandboxedEnvironment` with `StrictUndefined`: a template cannot reach
Python internals and a misspelt value is an error, not an empty string. Parameter values are only
ever *data* in the render context, never template source, so `{{ 7*7 }}` typed into a form comes
out literally.

Rendering has no I/O, so every failure is deterministic: whatever a template raises (syntax error,
unknown filter, a filter given a bad argument, `{% include %}` of a file that is not there, runaway
recursion) is a `TemplateRenderError` naming the file; retrying would only fail again. A template is
also one golden-path author's code running in the shared worker, so its output is capped while it is
produced (`MAX_RENDERED_BYTES`) and the operators that could allocate gigabytes in one expression
(`'x' * 10**10`, `10 ** 10 ** 10`, `'%999999999s'`) are refused before they run.
"""

from __future__ import annotations

import json
import re
from functools import cache
from typing import Any
from urllib.parse import parse_qs, urlparse

from jinja2 import BaseLoader, StrictUndefined, TemplateError, TemplateNotFound, Undefined
from jinja2.sandbox import SandboxedEnvironment

from roadbed.domain.errors import PermanentError

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


def parse_repo_url(url: str) -> dict[str, str | None]:
    """Backstage's RepoUrlPicker form `host?owner=o&repo=r` (also `organization`, `workspace`, `project`)."""
    parsed = urlparse(url if "://" in url else f"https://{url}")
    query = {k: v[0] for k, v in parse_qs(parsed.query).items()}
    if not query.get("repo"):
        raise TemplateRenderError(f"invalid repoUrl {url!r}: missing repo query parameter")
    return {
        "host": parsed.hostname,
        "owner": query.get("owner"),
        "repo": query["repo"],
        "organization": query.get("organization"),
        "workspace": query.get("workspace"),
        "project": query.get("project"),
    }


def parse_entity_ref(ref: str, defaultKind: str | None = None, defaultNamespace: str = "default") -> dict[str, str | None]:  # noqa: N803 - Backstage's keyword names
    kind, _, rest = ref.rpartition(":")
    namespace, _, name = rest.rpartition("/")
    return {"kind": kind or defaultKind, "namespace": namespace or defaultNamespace, "name": name}


def _dump(value: Any, indent: int | None = None) -> str:
    return json.dumps(value, indent=indent)


def _install_filters(env: SandboxedEnvironment) -> None:
    env.filters.update(
        {
            "dump": _dump,
            "parseRepoUrl": parse_repo_url,
            "parseEntityRef": parse_entity_ref,
            "projectSlug": lambda url: "{owner}/{repo}".format(**parse_repo_url(url)),
            "pick": lambda obj, key: (obj or {}).get(key),
        }
    )


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

    intercepted_binops = frozenset({"*", "**", "%"})

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
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
            undefined=StrictUndefined,
            keep_trailing_newline=True,
            autoescape=False,
        )
    )


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
        for chunk in text_environment().from_string(source).generate(context):
            size += len(chunk.encode("utf-8"))
            if size > limit:
                raise TemplateRenderError(f"rendered output is larger than {limit} bytes")
            chunks.append(chunk)
        return "".join(chunks)
    except Exception as exc:  # rendering does no I/O: every failure is the template's and permanent
        raise _failure(where, exc) from exc


def render_value(value: Any, context: dict[str, Any], *, where: str) -> Any:
    """Evaluate a step input: strings are templates, lists and mappings are walked.

    A string that is one whole `${{ expr }}` keeps the expression's type, as in Backstage.
    """
    if isinstance(value, str):
        if "${{" not in value and "{%" not in value:
            return value
        whole = _WHOLE_EXPRESSION.match(value)
        if whole and "${{" not in whole.group("expr") and "}}" not in whole.group("expr"):
            try:
                result = text_environment().compile_expression(whole.group("expr"), undefined_to_none=False)(**context)
                if isinstance(result, Undefined):
                    result._fail_with_undefined_error()
                return result
            except Exception as exc:  # deterministic, as in render_text
                raise _failure(where, exc) from exc
        return render_text(value, context, where=where)
    if isinstance(value, list):
        return [render_value(item, context, where=f"{where}[{i}]") for i, item in enumerate(value)]
    if isinstance(value, dict):
        return {key: render_value(item, context, where=f"{where}.{key}") for key, item in value.items()}
    return value
