"""An installed Roadbed's skeletons hold Python byte-code: pip compiles every `.py` of the wheel, the golden paths'
skeleton modules included (`__pycache__/*.cpython-311.pyc`, naming the install's path). Found by the wheel test: the
template store had stored them. None of them is template content — not rendered into a repository, not hashed into
a version, not stored."""

from __future__ import annotations

import compileall
import shutil
from pathlib import Path

from roadbed.bundled import bundled_dir
from roadbed.golden_paths import GoldenPathRegistry, content_digest
from roadbed.rendering.skeleton import render_repository
from roadbed.upgrades.template_store import snapshot
from tests.unit.test_golden_paths_builtin import parameters_for


def copy_of_python_service(root: Path) -> Path:
    target = root / "python-service"
    shutil.copytree(bundled_dir("golden_paths") / "python-service", target, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    return target


def test_byte_code_beside_a_skeleton_is_not_template_content(tmp_path: Path) -> None:
    clean = copy_of_python_service(tmp_path / "clean")
    compiled = copy_of_python_service(tmp_path / "installed")
    compileall.compile_dir(compiled / "skeleton", quiet=2)  # as pip does on install (modules holding template syntax do not compile)
    (compiled / "skeleton" / "stray.pyc").write_bytes(b"\x00byte-code")
    assert list((compiled / "skeleton").rglob("__pycache__/*.pyc"))

    assert content_digest(compiled) == content_digest(clean)
    (clean_path,) = GoldenPathRegistry([tmp_path / "clean"]).list()
    (compiled_path,) = GoldenPathRegistry([tmp_path / "installed"]).list()
    assert compiled_path.version == clean_path.version

    parameters = parameters_for(clean_path, {"description": "Orders"})
    rendered = render_repository(compiled_path, parameters)
    assert not [name for name in rendered if "__pycache__" in name or name.endswith(".pyc")]
    assert rendered == render_repository(clean_path, parameters)

    stored = snapshot(compiled_path).files
    assert stored.keys() == snapshot(clean_path).files.keys()
    assert not [name for name in stored if "__pycache__" in name or name.endswith(".pyc")]
