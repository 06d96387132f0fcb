"""A template that cannot be loaded is listed as invalid with its reason; it never stops the registry (or `roadbed up`).

Each case writes one broken template next to a good one in the same directory and checks that the good one
still loads and the broken one is listed, invalid, with a reason naming the problem.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from roadbed.golden_paths import MAX_TEMPLATE_BYTES, GoldenPathRegistry, load_golden_path

GOOD = """\
apiVersion: scaffolder.backstage.io/v1beta3
kind: Template
metadata: {name: good, title: Good}
spec:
  roadbed: {version: 1.0.0}
  parameters:
    - title: Page
      properties: {description: {type: string}}
  steps:
    - {id: fetch, action: fetch:template, input: {url: ./skeleton}}
"""


def _registry_with(tmp_path: Path, name: str, content: bytes | None) -> GoldenPathRegistry:
    (tmp_path / "good").mkdir()
    (tmp_path / "good" / "template.yaml").write_text(GOOD)
    broken = tmp_path / name
    broken.mkdir()
    if content is not None:
        (broken / "template.yaml").write_bytes(content)
    return GoldenPathRegistry([tmp_path])


def _problems(registry: GoldenPathRegistry, name: str) -> str:
    good = registry.get("good")
    assert good.valid, good.problems
    broken = registry.get(name)
    assert not broken.valid
    assert broken.summary()["valid"] is False
    assert all("\n" not in problem for problem in broken.problems), broken.problems
    return "; ".join(broken.problems)


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"apiVersion: scaffolder.backstage.io/v1beta3\nkind: [Template\n", "YAML syntax error at line"),
        (b"- apiVersion: scaffolder.backstage.io/v1beta3\n- kind: Template\n", "top level is a list, not a mapping"),
        (b"just a string\n", "top level is a str, not a mapping"),
        (b"42\n", "top level is a int, not a mapping"),
        (b"kind: Template\nmetadata: \xff\xfe broken\n", "not UTF-8 text"),
        (b"x: " + b"a" * (MAX_TEMPLATE_BYTES + 1), f"larger than {MAX_TEMPLATE_BYTES} bytes"),
        (GOOD.replace("name: good", "name: typed").replace("  parameters:\n    - title: Page\n      properties: {description: {type: string}}\n", "  parameters: 12\n").encode(), "spec.parameters must be a mapping or a list of mappings, not int"),
        (GOOD.replace("name: good", "name: typed").replace("properties: {description: {type: string}}", "properties: [description]").encode(), "spec.parameters[0].properties must be a mapping, not list"),
        (GOOD.replace("name: good", "name: typed").replace("  parameters:\n    - title: Page\n", "  parameters:\n    - just text\n    - title: Page\n").encode(), "spec.parameters[0] must be a mapping, not str"),
        (GOOD.replace("name: good", "name: typed").replace("  steps:\n    - {id: fetch, action: fetch:template, input: {url: ./skeleton}}\n", "  steps: {fetch: yes}\n").encode(), "spec.steps must be a list, not dict"),
        (GOOD.replace("name: good", "name: typed").replace("action: fetch:template, ", "").encode(), "spec.steps[0]: action: Field required"),
        (GOOD.replace("metadata: {name: good, title: Good}", "metadata: [good]").encode(), "metadata must be a mapping, not list"),
        (GOOD.replace("metadata: {name: good, title: Good}", "metadata: {name: 7}").encode(), "metadata.name must be a string, not int"),
    ],
    ids=["yaml-error", "top-level-list", "top-level-str", "top-level-int", "undecodable", "oversize", "parameters-int", "properties-list", "page-str", "steps-dict", "step-without-action", "metadata-list", "name-int"],
)
def test_a_broken_template_is_listed_invalid_and_the_others_load(tmp_path: Path, content: bytes, expected: str) -> None:
    registry = _registry_with(tmp_path, "broken", content)
    names = {gp.name for gp in registry.list()}
    assert "good" in names
    broken_name = "broken" if "broken" in names else "typed"
    assert expected in _problems(registry, broken_name)


def test_a_directory_without_template_yaml_is_listed_invalid(tmp_path: Path) -> None:
    registry = _registry_with(tmp_path, "empty", None)
    assert "has no template.yaml" in _problems(registry, "empty")


def test_hidden_and_private_directories_are_not_templates(tmp_path: Path) -> None:
    registry = _registry_with(tmp_path, "good2", GOOD.replace("name: good", "name: good2").encode())
    (tmp_path / ".git").mkdir()
    (tmp_path / "__pycache__").mkdir()
    assert {gp.name for gp in GoldenPathRegistry([tmp_path]).list()} == {"good", "good2"}
    assert registry.get("good2").valid


def test_an_unreadable_template_is_listed_invalid(tmp_path: Path) -> None:
    """A read that fails with an OS error — here a symlink loop, which fails for root too — is a listed reason."""
    (tmp_path / "locked").mkdir()
    (tmp_path / "locked" / "template.yaml").symlink_to("template.yaml")
    registry = _registry_with(tmp_path, "other", GOOD.replace("name: good", "name: other").encode())
    assert "cannot read" in _problems(registry, "locked")
    assert registry.get("other").valid


def test_template_yaml_that_is_a_directory_is_listed_invalid(tmp_path: Path) -> None:
    (tmp_path / "odd" / "template.yaml").mkdir(parents=True)
    golden_path = load_golden_path(tmp_path / "odd")
    assert not golden_path.valid and "cannot read" in golden_path.problems[0]
    assert golden_path.name == "odd" and golden_path.summary()["name"] == "odd"
