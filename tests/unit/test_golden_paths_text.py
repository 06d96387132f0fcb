"""Rendering keeps text as text (issue 20): a description with an emoji, right-to-left script and quotes reaches every
generated file as those characters — never as `\\ud83d\\ude80` surrogate escapes, which TOML rejects ("Escaped
character is not a Unicode scalar value") — and every generated TOML, YAML and JSON file still parses."""

from __future__ import annotations

import json
import tomllib
from pathlib import PurePosixPath
from typing import Any

import pytest
import yaml

from roadbed.golden_paths import GoldenPath
from roadbed.rendering.skeleton import render_repository
from roadbed.rendering.templating import render_text
from tests.unit.test_golden_paths_builtin import GOLDEN_PATHS, parameters_for

DESCRIPTION = 'Rockets 🚀 for "orders" — שלום עולם, مرحبا'


def parse(name: str, content: bytes) -> Any:
    suffix = PurePosixPath(name).suffix
    if suffix == ".toml":
        return tomllib.loads(content.decode())
    if suffix in {".yaml", ".yml"}:
        return list(yaml.safe_load_all(content.decode()))
    return json.loads(content.decode())


def strings_in(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in strings_in(v)]
    if isinstance(value, list):
        return [s for v in value for s in strings_in(v)]
    return []


@pytest.mark.parametrize("golden_path", GOLDEN_PATHS, ids=lambda gp: gp.name)
def test_every_generated_data_file_parses_and_holds_the_text_as_written(golden_path: GoldenPath) -> None:
    files = render_repository(golden_path, parameters_for(golden_path, {"description": DESCRIPTION}))
    data_files = {name: content for name, content in files.items() if PurePosixPath(name).suffix in {".toml", ".yaml", ".yml", ".json"}}
    assert data_files, "a golden path without a single TOML/YAML/JSON file"
    holding = []
    for name, content in sorted(data_files.items()):
        if name.startswith(".github/workflows/"):
            continue  # copied without rendering (GitHub's own ${{ }}), parsed by the golden path's own tests
        parsed = parse(name, content)  # raises with the file's parser error when the text broke it
        assert b"\\ud83d" not in content.lower(), f"{name} holds a surrogate escape"
        if any(DESCRIPTION in s for s in strings_in(parsed)):
            holding.append(name)
    assert "catalog-info.yaml" in holding
    manifest = "package.json" if "package.json" in files else "pyproject.toml"
    assert manifest in holding, f"the description does not reach {manifest} intact (found in {holding})"


@pytest.mark.parametrize("filter_", ["dump", "tojson"])
def test_json_filters_write_non_ascii_characters_as_they_are(filter_: str) -> None:
    out = render_text("${{ values.d | " + filter_ + " }}", {"values": {"d": DESCRIPTION}}, where="test")
    assert "🚀" in out and "שלום" in out and "\\u" not in out
    assert json.loads(out.replace("\\u0022", '"').replace("\\u0027", "'")) == DESCRIPTION
