"""The wheel is the product: one `roadbed` import package carrying its golden paths, Terraform modules and
migrations, and nothing else at the top of site-packages.

An editable install reads the checkout, so it hides a forgotten package or data file; these tests read
pyproject.toml and a real wheel built from a copy of the working tree instead.
"""

from __future__ import annotations

import shutil
import subprocess
import tomllib
import zipfile
from collections.abc import Iterator

import pytest

from tests.wheel import REPOSITORY, build_wheel, copy_sources

SETUPTOOLS = tomllib.loads((REPOSITORY / "pyproject.toml").read_text())["tool"]["setuptools"]
BUNDLED = {"golden_paths": "roadbed/bundled/golden_paths", "terraform_modules": "roadbed/bundled/terraform_modules"}
CODE = {"roadbed": "roadbed", "api": "roadbed/api", "workflows": "roadbed/workflows", "activities": "roadbed/activities"}
#: what a working tree collects and a wheel must not carry (planted into the copy the wheel is built from)
ARTEFACTS = [
    "golden_paths/python-service/skeleton/app/__pycache__/main.cpython-311.pyc",
    "golden_paths/node-service/skeleton/node_modules/left-pad/index.js",
    "golden_paths/worker/skeleton/.pytest_cache/v/cache/lastfailed",
    "terraform_modules/postgres/.terraform/modules/modules.json",
    "terraform_modules/postgres/.terraform.lock.hcl",
    "terraform_modules/postgres/terraform.tfstate",
    "terraform_modules/aws/bucket/terraform.tfstate.backup",
    "roadbed/storage/migrations/versions/__pycache__/0001_initial_schema.cpython-311.pyc",
]


def packages_on_disk() -> set[str]:
    """Every package the sources hold: folders with an `__init__.py` under `roadbed/` and under each mapped code
    folder, plus the mapped data folders (which are packages only so importlib.resources can find them)."""
    found = {".".join(p.parent.relative_to(REPOSITORY).parts) for p in (REPOSITORY / "roadbed").rglob("__init__.py")}
    for package, folder in SETUPTOOLS["package-dir"].items():
        root = REPOSITORY / folder
        if folder in BUNDLED:
            found.add(package)
        elif (root / "__init__.py").is_file():
            found |= {".".join([package, *p.parent.relative_to(root).parts]) for p in root.rglob("__init__.py")}
    return found


def test_packages_list_names_every_package_and_nothing_else() -> None:
    assert sorted(SETUPTOOLS["packages"]) == sorted(packages_on_disk())


def test_every_top_level_code_folder_is_mapped_under_roadbed() -> None:
    """A new top-level folder of Python code would otherwise install as its own top-level package (or not at all)."""
    code_folders = {p.parent.name for p in REPOSITORY.glob("*/__init__.py")} - {"roadbed", "tests"}
    mapped = {folder for package, folder in SETUPTOOLS["package-dir"].items() if "/" not in folder}
    assert code_folders <= mapped
    assert all(package.startswith("roadbed.") for package in SETUPTOOLS["package-dir"])


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Iterator[zipfile.ZipFile]:
    """One wheel for the module, built from a copy of the working tree with artefacts planted in it."""
    scratch = tmp_path_factory.mktemp("wheel")
    source = copy_sources(scratch / "source")
    for artefact in ARTEFACTS:
        (source / artefact).parent.mkdir(parents=True, exist_ok=True)
        (source / artefact).write_text("artefact\n")
    with zipfile.ZipFile(build_wheel(source, scratch / "dist")) as archive:
        yield archive
    shutil.rmtree(scratch, ignore_errors=True)


def names(wheel: zipfile.ZipFile) -> set[str]:
    return {n for n in wheel.namelist() if not n.endswith("/")}


def test_only_roadbed_and_its_dist_info_at_the_top(wheel: zipfile.ZipFile) -> None:
    top = {n.split("/", 1)[0] for n in names(wheel)}
    assert top == {"roadbed", "roadbed-0.1.0.dist-info"}
    assert not top & {"api", "workflows", "activities", "golden_paths", "terraform_modules", "tests"}
    dist_info = "roadbed-0.1.0.dist-info"
    assert wheel.read(f"{dist_info}/top_level.txt").decode().split() == ["roadbed"]
    assert "roadbed = roadbed.cli.main:app" in wheel.read(f"{dist_info}/entry_points.txt").decode()


def test_every_tracked_source_file_is_in_the_wheel(wheel: zipfile.ZipFile) -> None:
    """Each file git tracks in the shipped folders lands at its installed path: code, migrations, dashboards,
    templates, skeleton dotfiles and hidden folders, module tests and examples."""
    if not (REPOSITORY / ".git").exists() or shutil.which("git") is None:
        pytest.skip("needs a git checkout to know which files are sources")
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--", *CODE, *BUNDLED], cwd=REPOSITORY, capture_output=True, text=True, check=True
    ).stdout.split("\0")
    expected = set()
    for path in filter(None, listed):
        if not (REPOSITORY / path).is_file():
            continue  # deleted in the working tree, not yet committed
        folder, rest = path.split("/", 1)
        expected.add(f"{(CODE | BUNDLED)[folder]}/{rest}")
    assert sorted(expected - names(wheel)) == []


def test_wheel_carries_the_bundled_files_by_name(wheel: zipfile.ZipFile) -> None:
    """The files an install cannot work without, named, so the test fails even without git."""
    shipped = names(wheel)
    for golden_path in ("python-service", "node-service", "worker"):
        base = f"roadbed/bundled/golden_paths/{golden_path}"
        assert {f"{base}/template.yaml", f"{base}/skeleton/.gitignore", f"{base}/skeleton/.github/workflows/ci.yaml"} <= shipped
    assert "roadbed/bundled/golden_paths/node-service/skeleton/package-lock.json" in shipped
    for kind in ("postgres", "redis", "bucket", "queue"):
        base = f"roadbed/bundled/terraform_modules/{kind}"
        assert {f"{base}/main.tf", f"{base}/variables.tf", f"{base}/outputs.tf", f"{base}/versions.tf"} <= shipped
        assert {f"{base}/tests/basic.tftest.hcl", f"{base}/examples/basic/main.tf", f"{base}/README.md"} <= shipped
        assert f"roadbed/bundled/terraform_modules/aws/{kind}/main.tf" in shipped
    assert {"roadbed/bundled/__init__.py", "roadbed/storage/migrations/env.py", "roadbed/storage/migrations/script.py.mako"} <= shipped
    assert any(n.startswith("roadbed/storage/migrations/versions/0001_") for n in shipped)
    assert "roadbed/metrics/grafana/roadbed-platform.json" in shipped


def test_working_tree_artefacts_are_not_shipped(wheel: zipfile.ZipFile) -> None:
    shipped = names(wheel)
    bad = ("__pycache__", ".pyc", ".terraform", ".tfstate", "node_modules", ".pytest_cache", ".egg-info")
    assert [n for n in shipped if any(marker in n for marker in bad)] == []
