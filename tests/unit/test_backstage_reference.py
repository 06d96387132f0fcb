"""Roadbed renders Backstage templates byte for byte as Backstage does.

Every built-in golden path and every template under tests/fixtures/backstage/ (any `*.yaml` whose
document is `kind: Template`) is rendered twice with the same parameters: by the reference renderer
(tests/reference/nunjucks/render.js: Backstage's `fetch:template` semantics on the nunjucks version
Backstage's scaffolder pins) and by Roadbed's `render_repository`. Files, contents and executable bits
must be identical; a failure lists every difference.

More template collections (e.g. checkouts of public template repositories) can be compared by naming
their directories in ROADBED_REFERENCE_TEMPLATES (os.pathsep separated); they are not committed.
"""

from __future__ import annotations

import difflib
import json
import os
import shutil
import stat
import subprocess
from pathlib import Path
from typing import Any

import pytest

from roadbed.golden_paths import find_template_files, load_golden_path_file, template_parameters
from roadbed.rendering.skeleton import render_repository
from roadbed.rendering.templating import TemplateRenderError

ROOT = Path(__file__).resolve().parents[2]
REFERENCE = ROOT / "tests" / "reference" / "nunjucks"
COLLECTIONS = [ROOT / "golden_paths", ROOT / "tests" / "fixtures" / "backstage"]
COLLECTIONS += [Path(p) for p in os.environ.get("ROADBED_REFERENCE_TEMPLATES", "").split(os.pathsep) if p]

SERVICE, TEAM, ENVIRONMENT = "checkout-api", "payments", "dev"


def discovered() -> list[Path]:
    return [path for root in COLLECTIONS for path in find_template_files(root)]


def _ident(path: Path) -> str:
    for root in COLLECTIONS:
        if root in path.parents:
            return f"{root.name}/{path.relative_to(root).as_posix()}"
    return str(path)


@pytest.fixture(scope="session")
def reference_renderer() -> Path:
    """render.js with its pinned dependencies installed (tests/run.sh runs `npm ci`; done here when it has not)."""
    node = shutil.which("node")
    assert node, "node is needed for the Backstage reference renderer (tests/reference/nunjucks)"
    if not (REFERENCE / "node_modules" / "nunjucks").is_dir():
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=REFERENCE, check=True, timeout=600)
    return REFERENCE / "render.js"


def sample_value(schema: dict[str, Any]) -> Any:
    """A plausible form answer for a required parameter that has no default."""
    if "enum" in schema and schema["enum"]:
        return schema["enum"][0]
    kind = schema.get("type")
    if kind == "boolean":
        return True
    if kind in {"integer", "number"}:
        return schema.get("minimum", 1)
    if kind == "array":
        items = schema.get("items") or {}
        return [items["enum"][0]] if isinstance(items, dict) and items.get("enum") else ["one", "two"]
    if kind == "object":
        return {}
    field = schema.get("ui:field")
    if field in {"OwnerPicker", "EntityPicker", "OwnedEntityPicker"}:
        return "group:default/payments"
    if field == "RepoUrlPicker":
        return f"github.com?owner={TEAM}&repo={SERVICE}"
    return "sample-value"


def parameters_for(golden_path: Any) -> dict[str, Any]:
    properties = golden_path.parameters.get("properties") or {}
    answers = {key: sample_value(prop) for key, prop in properties.items() if isinstance(prop, dict) and "default" not in prop}
    return template_parameters(golden_path, answers, SERVICE, TEAM, ENVIRONMENT)


def tree(root: Path) -> dict[str, tuple[bytes, bool]]:
    return {
        path.relative_to(root).as_posix(): (path.read_bytes(), bool(path.stat().st_mode & stat.S_IXUSR))
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


def differences(expected: dict[str, tuple[bytes, bool]], actual: dict[str, tuple[bytes, bool]]) -> list[str]:
    found = []
    for name in sorted(expected.keys() | actual.keys()):
        if name not in actual:
            found.append(f"{name}: missing from Roadbed's output")
        elif name not in expected:
            found.append(f"{name}: Roadbed wrote it, Backstage does not")
        else:
            (want, want_x), (got, got_x) = expected[name], actual[name]
            if want != got:
                diff = difflib.unified_diff(
                    want.decode(errors="replace").splitlines(), got.decode(errors="replace").splitlines(), "backstage", "roadbed", lineterm="", n=0
                )
                found.append(f"{name}: contents differ\n    " + "\n    ".join(list(diff)[:12]))
            if want_x != got_x:
                found.append(f"{name}: executable bit {'set' if want_x else 'clear'} in Backstage, {'set' if got_x else 'clear'} in Roadbed")
    return found


def render_both(template: Path, renderer: Path, out: Path) -> tuple[dict[str, Any] | str, dict[str, tuple[bytes, bool]] | str]:
    golden_path = load_golden_path_file(template, root=next((root for root in COLLECTIONS if root in template.parents), None))
    assert golden_path.fetch_steps(), f"Roadbed loaded no fetch step: {golden_path.problems}"
    parameters = parameters_for(golden_path)
    (out / "parameters.json").write_text(json.dumps(parameters))
    reference = subprocess.run(
        ["node", str(renderer), str(template), str(out / "parameters.json"), str(out / "backstage")], capture_output=True, text=True, timeout=120
    )
    expected: Any = tree(out / "backstage") if reference.returncode == 0 else f"error: {reference.stderr.strip()}"
    try:
        files = render_repository(golden_path, parameters)
        actual: Any = {name: (content, name in files.executable) for name, content in files.items()}
    except TemplateRenderError as exc:
        actual = f"error: {exc}"
    return expected, actual


@pytest.mark.parametrize("template", discovered(), ids=_ident)
def test_roadbed_renders_like_backstage(template: Path, reference_renderer: Path, tmp_path: Path) -> None:
    expected, actual = render_both(template, reference_renderer, tmp_path)
    if isinstance(expected, str) or isinstance(actual, str):
        assert isinstance(expected, str) == isinstance(actual, str), f"Backstage: {expected if isinstance(expected, str) else 'rendered'}; Roadbed: {actual if isinstance(actual, str) else 'rendered'}"
        return
    assert expected, "the reference rendered no file at all"
    found = differences(expected, actual)
    assert not found, f"{len(found)} difference(s) for {_ident(template)}:\n" + "\n".join(found)


def test_the_reference_pins_the_nunjucks_backstage_uses() -> None:
    package = json.loads((REFERENCE / "package.json").read_text())
    lock = json.loads((REFERENCE / "package-lock.json").read_text())
    assert package["dependencies"]["nunjucks"] == "3.2.4"
    assert lock["packages"]["node_modules/nunjucks"]["version"] == "3.2.4"


def test_every_collection_has_templates() -> None:
    names = {_ident(path) for path in discovered()}
    assert {"golden_paths/node-service/template.yaml", "golden_paths/python-service/template.yaml", "golden_paths/worker/template.yaml"} <= names
    assert sum(name.startswith("backstage/public/") for name in names) >= 3


def test_differences_are_listed_one_by_one() -> None:
    expected = {"a": (b"x\n", False), "b": (b"1", True), "c": (b"", False)}
    actual = {"a": (b"y\n", False), "b": (b"1", False), "d": (b"", False)}
    found = differences(expected, actual)
    assert [line.split(":")[0] for line in found] == ["a", "b", "c", "d"]
    assert "-x" in found[0] and "+y" in found[0]
    assert "executable bit set in Backstage, clear in Roadbed" in found[1]
