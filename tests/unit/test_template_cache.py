"""Skeleton files are compiled once and rendered many times: the cache must never change what a render gives."""

from __future__ import annotations

import pytest

from roadbed.rendering.templating import (
    COMPILED_SOURCE_MAX_CHARS,
    TemplateRenderError,
    _compiled,
    _compiled_expression,
    render_text,
    render_value,
)


def test_a_source_is_compiled_once_and_each_render_gets_its_own_values() -> None:
    source = "service ${{ values.name }} of ${{ values.team | upper }}\n{% set x = values.name %}${{ x }}"
    before = _compiled.cache_info()
    first = render_text(source, {"values": {"name": "orders", "team": "payments"}}, where="a")
    second = render_text(source, {"values": {"name": "billing", "team": "ledger"}}, where="b")
    assert first == "service orders of PAYMENTS\norders"
    assert second == "service billing of LEDGER\nbilling"
    after = _compiled.cache_info()
    assert after.misses - before.misses <= 1 and after.hits - before.hits >= 1


def test_a_broken_source_fails_every_time_and_names_where() -> None:
    for where in ("skeleton/a.txt", "skeleton/b.txt"):
        with pytest.raises(TemplateRenderError, match=where):
            render_text("${{ values.name ", {"values": {}}, where=where)


def test_a_large_source_renders_without_being_kept() -> None:
    source = "x" * COMPILED_SOURCE_MAX_CHARS + "${{ values.n }}"
    before = _compiled.cache_info()
    assert render_text(source, {"values": {"n": 1}}, where="big").endswith("x1")
    assert _compiled.cache_info().currsize == before.currsize


def test_the_output_limit_still_applies_to_a_cached_template() -> None:
    source = "{% for i in range(100) %}0123456789{% endfor %}"
    assert len(render_text(source, {}, where="ok")) == 1000
    with pytest.raises(TemplateRenderError, match="larger than 500 bytes"):
        render_text(source, {}, where="bounded", limit=500)


def test_a_whole_expression_is_compiled_once_and_keeps_its_type_per_render() -> None:
    before = _compiled_expression.cache_info()
    assert render_value("${{ parameters.count + 1 }}", {"parameters": {"count": 1}}, where="a") == 2
    assert render_value("${{ parameters.count + 1 }}", {"parameters": {"count": 41}}, where="b") == 42
    assert render_value("${{ parameters.tags }}", {"parameters": {"tags": ["x"]}}, where="c") == ["x"]
    after = _compiled_expression.cache_info()
    assert after.hits - before.hits >= 1
    with pytest.raises(TemplateRenderError, match="d"):
        render_value("${{ parameters. }}", {"parameters": {}}, where="d")
