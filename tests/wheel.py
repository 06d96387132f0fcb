"""Build Roadbed's wheel the way a user or CI would, from a copy of the working tree.

The copy matters: setuptools builds in the source folder and leaves `build/` and `*.egg-info` there, and a
stale `build/lib` from an earlier build would end up in the next wheel. Building a fresh copy per test keeps
the repository untouched (other builds and editors may share it) and tests only what the sources declare.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parent.parent

#: top-level names of the repository that are the machine's, not the project's (venvs, VCS, build output)
_NOT_SOURCES = {".git", "build", "dist", ".pytest_cache", ".ruff_cache", ".benchmarks"}


def _ignore_top_level(directory: str, names: list[str]) -> set[str]:
    if Path(directory) != REPOSITORY:
        return set()
    return {n for n in names if n in _NOT_SOURCES or n.endswith(".egg-info") or n.startswith((".venv", "venv"))}


def copy_sources(destination: Path) -> Path:
    """The working tree (uncommitted edits included) without venvs, `.git` and build output.

    Everything below the top level is copied as it is, `__pycache__` and all, so the wheel's own exclusions
    are what keeps artefacts out."""
    shutil.copytree(REPOSITORY, destination, ignore=_ignore_top_level, symlinks=True)
    return destination


def build_wheel(source: Path, output: Path) -> Path:
    """`pip wheel` of `source` (with build isolation, as pip does for users) into `output`; the wheel's path."""
    result = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--disable-pip-version-check", "-q", "-w", str(output), str(source)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    [wheel] = output.glob("roadbed-*.whl")
    return wheel
