"""End to end from the wheel: build it, install it into a fresh venv, run `roadbed up` from an unrelated folder.

Every other test imports Roadbed from the checkout (an editable install), where the golden paths and Terraform
modules are found beside the code whatever the wheel holds. This one has no checkout on its path: the wheel is
built from a copy of the working tree that is deleted before the install runs, the venv is new (no system site
packages), and the commands run in an empty folder. The install takes about a minute and a half, mostly
downloading the dependencies (pip's cache makes repeated runs faster).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.harness import RoadbedUp
from tests.wheel import REPOSITORY, build_wheel, copy_sources

# The first test also pays for the install (about a minute with pip's cache warm, longer on a cold one).
pytestmark = [pytest.mark.e2e, pytest.mark.timeout(900)]

BUILT_IN = {"python-service", "node-service", "worker"}


def clean_environment(venv: Path) -> dict[str, str]:
    """The test process's environment minus everything that would let the venv see this checkout's install."""
    own_bin = str(Path(sys.prefix) / "bin")
    path = [str(venv / "bin"), *(p for p in os.environ.get("PATH", "").split(os.pathsep) if p and p != own_bin)]
    drop = {"VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP"}
    return {k: v for k, v in os.environ.items() if k not in drop} | {"PATH": os.pathsep.join(path), "VIRTUAL_ENV": str(venv)}


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A fresh venv with the wheel (and its dependencies, from the package index) installed."""
    scratch = tmp_path_factory.mktemp("wheel-install")
    source = copy_sources(scratch / "source")
    wheel = build_wheel(source, scratch / "dist")
    shutil.rmtree(source)
    venv = scratch / "venv"
    started = time.monotonic()
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    installed = subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "--disable-pip-version-check", str(wheel)],
        env=clean_environment(venv),
        capture_output=True,
        text=True,
        timeout=1800,
    )
    assert installed.returncode == 0, installed.stdout + installed.stderr
    print(f"\nfresh venv + pip install of {wheel.name}: {time.monotonic() - started:.0f}s")
    yield venv
    shutil.rmtree(scratch, ignore_errors=True)


@pytest.fixture
def roadbed(venv: Path, tmp_path: Path) -> Iterator[RoadbedUp]:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    instance = RoadbedUp(tmp_path / "home", command=[str(venv / "bin" / "roadbed")], cwd=elsewhere)
    instance.env |= {k: v for k, v in clean_environment(venv).items() if not k.startswith("ROADBED_")}
    for name in ("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP"):
        instance.env.pop(name, None)
    yield instance
    if instance.process is not None and instance.process.poll() is None:
        instance.process.kill()
        instance.process.wait()


def test_installed_package_is_one_roadbed_with_its_files_inside_the_venv(venv: Path, tmp_path: Path) -> None:
    probe = (
        "import importlib.util, json, roadbed\n"
        "from roadbed.bundled import bundled_dir\n"
        "print(json.dumps({'roadbed': roadbed.__file__, 'golden_paths': str(bundled_dir('golden_paths')),\n"
        "  'terraform_modules': str(bundled_dir('terraform_modules')),\n"
        "  'top_level': [n for n in ('api', 'workflows', 'activities', 'golden_paths', 'terraform_modules') if importlib.util.find_spec(n)]}))\n"
    )
    result = subprocess.run(
        [str(venv / "bin" / "python"), "-c", probe], cwd=tmp_path, env=clean_environment(venv), capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    found = json.loads(result.stdout)
    assert found["top_level"] == []
    for name in ("roadbed", "golden_paths", "terraform_modules"):
        assert Path(found[name]).resolve().is_relative_to(venv.resolve()), found
        assert not Path(found[name]).resolve().is_relative_to(REPOSITORY)
    assert {p.name for p in Path(found["golden_paths"]).iterdir() if (p / "template.yaml").is_file()} >= BUILT_IN


def test_up_from_another_folder_provisions_and_stores_nothing_pointing_into_the_install(roadbed: RoadbedUp, venv: Path) -> None:
    roadbed.start()
    with roadbed.http() as http:
        listed = {gp["name"]: gp for gp in http.get("/v1/golden-paths").json()}
        assert set(listed) >= BUILT_IN
        assert all(listed[name]["valid"] for name in BUILT_IN), {name: listed[name]["problems"] for name in BUILT_IN}

        created = roadbed.cli(
            "create",
            "orders",
            "--team",
            "payments",
            "--golden-path",
            "python-service",
            "--env",
            "dev",
            "--resource",
            "postgres:main",
            "--wait",
        )
        assert created.returncode == 0, created.stdout + created.stderr
        [environment] = http.get("/v1/environments").json()
        environment = http.get(f"/v1/environments/{environment['id']}").json()
        assert environment["status"] == "SUCCEEDED", environment
        assert environment["outputs"]["resources"]["main"]["outputs"]["host"] == "orders-main.orders-dev.svc.cluster.local"

    workspace = roadbed.home / "terraform" / environment["id"]
    root = json.loads((workspace / "main.tf.json").read_text())
    assert [call["source"] for call in root["module"].values()] == ["./modules/postgres"]
    assert (workspace / "modules" / "postgres" / "main.tf").is_file()
    # DESIGN: nothing stored in the data dir (workspaces, repositories, databases, workflow histories) points
    # into the installed package.
    install = str(venv.resolve()).encode()
    pointing = [
        str(p.relative_to(roadbed.home))
        for p in roadbed.home.rglob("*")
        if p.is_file() and not p.is_symlink() and install in p.read_bytes()
    ]
    assert pointing == []
    assert roadbed.stop() == 0
