"""The layering rules in pyproject.toml ([tool.importlinter]) hold: workflows stay deterministic, the domain stays pure."""

from __future__ import annotations

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
    assert set(config["root_packages"]) >= {"roadbed", "workflows", "activities", "api"}


def test_import_contracts_are_kept() -> None:
    result = subprocess.run(lint_imports_command(), cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)
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
