"""README.md's Backstage compatibility tables say what the code does: every action and expression listed as
supported is supported, every one listed as unsupported is not, and everything the code supports is listed."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from roadbed.golden_paths import SUPPORTED_ACTION_PREFIXES, SUPPORTED_ACTIONS, action_supported
from roadbed.rendering.javascript import JS_ARRAY_MEMBERS, JS_STRING_MEMBERS
from roadbed.rendering.templating import TemplateRenderError, render_text, text_environment

README = Path(__file__).resolve().parents[2] / "README.md"
BACKSTAGE_FILTERS = {"parseRepoUrl", "parseEntityRef", "pick", "projectSlug"}
"""Backstage's own built-in filters (backstage.io/docs/features/software-templates/templating-extensions)."""


def section() -> str:
    text = README.read_text()
    start = text.index("### Backstage compatibility\n")
    end = text.index("\n#", start + 1)
    return text[start:end]


def table(header: str) -> dict[str, bool]:
    """Each name (in backticks, in the first cell) of the table whose first column is `header`, and whether its row says supported."""
    body = section()
    rows = body[body.index(f"| {header} |") :].split("\n\n", 1)[0].splitlines()[2:]
    found: dict[str, bool] = {}
    for row in rows:
        first, claim = (cell.strip() for cell in row.strip("|").split("|", 2)[:2])
        assert claim.startswith(("supported", "unsupported")), row
        for name in re.findall(r"`([^`]+)`", first):
            assert name not in found, f"{name} is listed twice"
            found[name] = claim.startswith("supported")
    assert found, f"no rows under {header!r}"
    return found


ACTIONS = table("Backstage action")
EXPRESSIONS = table("Backstage expression")


@pytest.mark.parametrize("action", sorted(ACTIONS))
def test_each_listed_action_is_as_supported_as_the_table_says(action: str) -> None:
    assert action_supported(action) is ACTIONS[action]


def test_every_action_the_code_supports_is_listed_as_supported() -> None:
    assert {name for name, supported in ACTIONS.items() if supported} >= SUPPORTED_ACTIONS
    for prefix in SUPPORTED_ACTION_PREFIXES:
        assert any(name.startswith(prefix) and supported for name, supported in ACTIONS.items()), prefix


def _member(name: str) -> str | None:
    match = re.fullmatch(r"\.(\w+)(?:\(\))?", name)
    return match.group(1) if match else None


@pytest.mark.parametrize("name", sorted(EXPRESSIONS))
def test_each_listed_expression_is_as_supported_as_the_table_says(name: str) -> None:
    environment = text_environment()
    member = _member(name)
    if member is not None:
        supported = member == "length" or member in JS_STRING_MEMBERS or member in JS_ARRAY_MEMBERS
    elif re.fullmatch(r"[A-Za-z]\w*", name):
        supported = name in environment.filters or name in environment.globals
    else:  # an operator: it renders
        supported = render_text(f"${{{{ 1 {name} 1 }}}}", {}, where="readme") in {"true", "false", "2", "11"}
    assert supported is EXPRESSIONS[name]


def test_an_unsupported_filter_or_member_fails_the_render_naming_it() -> None:
    for name, supported in EXPRESSIONS.items():
        if supported or not re.fullmatch(r"[A-Za-z]\w*|\.\w+\(\)", name):
            continue
        source = f'${{{{ "x" | {name} }}}}' if _member(name) is None else f'${{{{ "x"{name[:-1]}0) }}}}'
        with pytest.raises(TemplateRenderError):
            render_text(source, {}, where="readme")


def test_everything_roadbed_adds_for_backstage_is_listed_as_supported() -> None:
    listed = {name for name, supported in EXPRESSIONS.items() if supported}
    assert BACKSTAGE_FILTERS | {"dump", "title", "null", "undefined"} <= listed
    assert {f".{m}()" for m in (JS_STRING_MEMBERS.keys() | JS_ARRAY_MEMBERS.keys())} <= listed
    assert ".length" in listed
