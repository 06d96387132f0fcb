"""Hostile golden path templates: every failure is a permanent error naming the file, never a retry.

A golden path is one author's code running in the worker every team shares, so a template that
pulls in other files, calls a filter wrongly, recurses, or tries to allocate gigabytes must fail
fast and clearly, and no rendered path may reach into `.git`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from roadbed.domain.errors import PermanentError
from roadbed.rendering.skeleton import (
    MAX_RENDERED_FILE_BYTES,
    MAX_REPOSITORY_BYTES,
    UnsafeTemplatePath,
    render_repository,
    safe_repo_path,
)
from roadbed.rendering.templating import MAX_RENDERED_BYTES, TemplateRenderError, render_text, render_value
from tests.unit.test_templating_and_skeleton import PARAMS, golden_path_with

CONTEXT: dict[str, Any] = {"parameters": {"name": "checkout", "n": 3}}


@pytest.mark.parametrize(
    ("source", "names"),
    [
        ("{% include 'other.txt' %}", ["other.txt", "include"]),
        ("{% import 'macros.njk' as m %}${{ m.x() }}", ["macros.njk", "import"]),
        ("{% extends 'base.njk' %}", ["base.njk", "extends"]),
        ("{% from 'macros.njk' import x %}", ["macros.njk"]),
        ("${{ parameters.name | nosuchfilter }}", ["nosuchfilter"]),
        ("${{ parameters.name | round('x') }}", ["TypeError"]),
        ("${{ parameters.name | pick('x') }}", ["pick", "undefined"]),
        ("${{ parameters.n / 0 }}", ["ZeroDivisionError"]),
        ("${{ parameters.name ", ["README.md"]),
        ("{% for %}", ["README.md"]),
        ("{% if x %}", ["README.md"]),
        ("{% macro f() %}${{ f() }}{% endmacro %}${{ f() }}", ["recursion"]),
    ],
)
@pytest.mark.parametrize("render", [render_text, render_value])
def test_every_template_failure_is_a_permanent_error_naming_the_file(source: str, names: list[str], render: Any) -> None:
    with pytest.raises(TemplateRenderError) as caught:
        render(source, CONTEXT, where="README.md")
    assert isinstance(caught.value, PermanentError)
    message = str(caught.value)
    assert message.startswith("README.md: ")
    for name in names:
        assert name in message


@pytest.mark.parametrize(
    "source",
    [
        "${{ 'x' * 10000000000 }}",
        "${{ 10000000000 * 'x' }}",
        "${{ [1] * 10000000000 }}",
        "${{ 10 ** 1000000000 }}",
        "${{ (10 ** 10) ** 100000000 }}",
        "${{ '%999999999s' % 'x' }}",
        "${{ '%.999999999f' % 1.5 }}",
        "${{ '{:>999999999}'.format('x') }}",
        "${{ 'x' | center(999999999) }}",
        "${{ 'x\\ny' | indent(999999999) }}",
    ],
)
def test_one_expression_memory_bombs_are_refused_before_they_run(source: str) -> None:
    with pytest.raises(TemplateRenderError, match="README.md"):
        render_text(source, CONTEXT, where="README.md")


def test_ordinary_arithmetic_and_formatting_still_work() -> None:
    source = "${{ 'ab' * 3 }} ${{ 2 ** 10 }} ${{ '%05d' % 42 }} ${{ '{:>4}'.format('x') }} ${{ 'x' | center(5) }}|"
    assert render_text(source, CONTEXT, where="t") == "ababab 1024 00042    x   x  |"


def test_output_over_the_cap_stops_while_rendering() -> None:
    loop = "{% for i in range(100000) %}{% for j in range(100000) %}xxxxxxxxxx{% endfor %}{% endfor %}"
    with pytest.raises(TemplateRenderError, match=f"big.txt: rendered output is larger than {MAX_RENDERED_BYTES}"):
        render_text(loop, CONTEXT, where="big.txt")
    exactly = "x" * 10
    assert render_text(exactly, CONTEXT, where="t", limit=10) == exactly
    with pytest.raises(TemplateRenderError):
        render_text("é" * 6, CONTEXT, where="t", limit=10)  # the cap counts UTF-8 bytes, not characters


@pytest.mark.parametrize(
    "path",
    [".git/config", ".GIT/config", "a/.Git/hooks/x", "src/.git", "a/b/.gIt/HEAD", "./x/../.git/config", "x/.GIT"],
)
def test_git_directory_in_any_component_and_case_is_refused(path: str) -> None:
    with pytest.raises(UnsafeTemplatePath, match=".git"):
        safe_repo_path(path, where="t")


@pytest.mark.parametrize("path", [".gitignore", ".github/workflows/ci.yaml", "docs/.gitkeep", "git/x", "a.git/b"])
def test_names_that_only_look_like_git_are_fine(path: str) -> None:
    assert safe_repo_path(path, where="t") == path


@pytest.mark.parametrize("evil", [".GIT", ".Git", "sub/.git"])
def test_templated_names_rendering_to_git_are_refused(tmp_path: Path, evil: str) -> None:
    golden_path = golden_path_with(tmp_path, {"${{ values.name }}/hooks/post-checkout": "#!/bin/sh\nrm -rf ~\n"})
    with pytest.raises(UnsafeTemplatePath, match="git"):
        render_repository(golden_path, {**PARAMS, "name": evil})


@pytest.mark.parametrize("evil", ["../x", "a/../../x"])
def test_templated_names_rendering_outside_are_refused(tmp_path: Path, evil: str) -> None:
    golden_path = golden_path_with(tmp_path, {"${{ values.name }}": "x"})
    with pytest.raises(UnsafeTemplatePath):
        render_repository(golden_path, {**PARAMS, "name": evil})


def test_include_in_a_skeleton_file_names_the_file(tmp_path: Path) -> None:
    golden_path = golden_path_with(tmp_path, {"docs/index.md": "{% include 'README.md' %}", "README.md": "hi"})
    with pytest.raises(TemplateRenderError, match="docs/index.md.*include"):
        render_repository(golden_path, PARAMS)


def test_a_rendered_file_over_the_per_file_cap_names_the_file(tmp_path: Path) -> None:
    over = MAX_RENDERED_FILE_BYTES // 1000 + 1
    golden_path = golden_path_with(tmp_path, {"big.txt": "{% for i in range(" + str(over) + ") %}" + "y" * 1000 + "{% endfor %}"})
    with pytest.raises(TemplateRenderError, match="big.txt"):
        render_repository(golden_path, PARAMS)


def test_a_file_just_under_the_per_file_cap_renders(tmp_path: Path) -> None:
    golden_path = golden_path_with(tmp_path, {"ok.txt": "{% for i in range(1000) %}" + "z" * 1000 + "{% endfor %}"})
    assert len(render_repository(golden_path, PARAMS)["ok.txt"]) == 1_000_000


def test_the_repository_total_is_capped_naming_the_file_that_crosses_it(tmp_path: Path) -> None:
    count = MAX_REPOSITORY_BYTES // (1000 * 1000) + 1
    files = {f"part{i:02d}.txt": "{% for i in range(1000) %}" + "z" * 1000 + "{% endfor %}" for i in range(count)}
    golden_path = golden_path_with(tmp_path, files)
    with pytest.raises(PermanentError, match=f"part{count - 1:02d}.txt.*{MAX_REPOSITORY_BYTES}"):
        render_repository(golden_path, PARAMS)
