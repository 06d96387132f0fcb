"""The sandboxed template language of golden paths: Backstage's Nunjucks dialect on Jinja2.

Backstage templates write `${{ expr }}` for values and `{% ... %}` for blocks; the filters real
templates use (`dump`, `parseRepoUrl`, `parseEntityRef`, the common string filters) are provided.
Templates run in Jinja2's `SandboxedEnvironment` with `StrictUndefined`: a template cannot reach
Python internals and a misspelt value is an error, not an empty string. Parameter values are only
ever *data* in the render context, never template source, so `{{ 7*7 }}` typed into a form comes
out literally.
"""

from __future__ import annotations

import json
import re
from functools import cache
from typing import Any
from urllib.parse import parse_qs, urlparse

from jinja2 import StrictUndefined, TemplateError, Undefined
from jinja2.sandbox import SandboxedEnvironment

from roadbed.domain.errors import PermanentError

_WHOLE_EXPRESSION = re.compile(r"^\s*\$\{\{(?P<expr>.*)\}\}\s*$", re.DOTALL)


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


def _configure(env: SandboxedEnvironment) -> SandboxedEnvironment:
    _install_filters(env)
    return env


@cache
def text_environment() -> SandboxedEnvironment:
    return _configure(
        SandboxedEnvironment(
            variable_start_string="${{",
            variable_end_string="}}",
            undefined=StrictUndefined,
            keep_trailing_newline=True,
            autoescape=False,
        )
    )


def render_text(source: str, context: dict[str, Any], *, where: str) -> str:
    """Render template source (a skeleton file or a file name) in the sandbox."""
    try:
        return text_environment().from_string(source).render(context)
    except TemplateError as exc:
        raise TemplateRenderError(f"{where}: {exc}") from exc


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
            except TemplateError as exc:
                raise TemplateRenderError(f"{where}: {exc}") from exc
        return render_text(value, context, where=where)
    if isinstance(value, list):
        return [render_value(item, context, where=f"{where}[{i}]") for i, item in enumerate(value)]
    if isinstance(value, dict):
        return {key: render_value(item, context, where=f"{where}.{key}") for key, item in value.items()}
    return value
