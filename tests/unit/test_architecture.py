"""The layering rules in pyproject.toml ([tool.importlinter]) hold: workflows stay deterministic, the domain stays pure."""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]


def lint_imports_command() -> list[str]:
    script = shutil.which("lint-imports") or str(Path(sys.executable).with_name("lint-imports"))
    if not Path(script).exists():
        pytest.fail("lint-imports is not installed: pip install -e '.[test]' (import-linter)")
    return [script, "--no-cache"]


def test_contracts_are_configured() -> None:
    config = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    names = [contract["name"] for contract in config["contracts"]]
    assert len(names) >= 5
    assert any("deterministic" in name for name in names)
    assert config["root_packages"] == ["roadbed"], "one import package: workflows, activities and api install as roadbed.*"
    sources = {module for contract in config["contracts"] for module in contract["source_modules"]}
    assert {"roadbed.workflows", "roadbed.api", "roadbed.activities.contracts"} <= sources


def installed_layout(target: Path) -> Path:
    """The import package as the wheel lays it out (pyproject's package-dir mapping), for import-linter.

    import-linter reads modules from the filesystem, so it cannot follow the mapping of the top-level `api/`,
    `workflows/` and `activities/` folders to `roadbed.*`; a copy in the installed shape lets it check everything.
    """
    setuptools = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    shutil.copytree(REPO_ROOT / "roadbed", target / "roadbed", ignore=ignore)
    for package, folder in setuptools["package-dir"].items():
        if package.startswith("roadbed.bundled.") or "." in package.removeprefix("roadbed."):
            continue  # data folders, and subpackages that come along with their parent
        shutil.copytree(REPO_ROOT / folder, target / package.replace(".", "/"), ignore=ignore)
    return target


def test_import_contracts_are_kept(tmp_path: Path) -> None:
    layout = installed_layout(tmp_path)
    env = {**os.environ, "PYTHONPATH": str(layout)}
    command = [*lint_imports_command(), "--config", str(REPO_ROOT / "pyproject.toml")]
    result = subprocess.run(command, cwd=layout, env=env, capture_output=True, text=True, timeout=120)
    output = result.stdout + result.stderr
    assert result.returncode == 0, f"import-linter found broken contracts:\n{output}"
    assert "0 broken" in output


def test_import_linter_really_detects_a_broken_contract(tmp_path: Path) -> None:
    """Guards the test above against a vacuous pass (e.g. contracts silently not loaded)."""
    config = tmp_path / "broken.toml"
    config.write_text(
        '[tool.importlinter]\nroot_packages = ["roadbed"]\n\n'
        "[[tool.importlinter.contracts]]\n"
        'name = "deliberately broken"\ntype = "forbidden"\n'
        'source_modules = ["roadbed.validation"]\nforbidden_modules = ["roadbed.domain"]\n'
    )
    result = subprocess.run([*lint_imports_command(), "--config", str(config)], cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode != 0, result.stdout
    assert "1 broken" in result.stdout


def test_bench_never_imports_tests() -> None:
    """DESIGN.md, "Layout": bench/ prints figures from what Roadbed ships and its own helpers, never from tests/."""
    offenders = []
    for path in sorted((REPO_ROOT / "bench").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            offenders += [f"{path.name}: {name}" for name in names if name == "tests" or name.startswith("tests.")]
    assert not offenders, offenders
