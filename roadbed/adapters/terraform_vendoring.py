"""Copies the Terraform modules a workspace calls into the workspace, so the workspace outlives the install.

The rendered root module calls each module by its folder in the install (`terraform_modules/<type>` or its
`aws/` twin inside the checkout or site-packages). A workspace lives in the data dir as long as its
environment does, across upgrades, reinstalls and moves of the install; a `main.tf.json` pointing into the
install would make `destroy` fail once that folder is gone, and would let an upgrade silently change what an
existing environment is checked against. So the runners write each module a root module needs to
`<workspace>/modules/<name>/` and store `"source": "./modules/<name>"`.

Applying again (an update) copies the modules of the install doing the apply: that is when an environment
moves to newer module versions, under Terraform's plan, like any other change. An identical copy is left
alone. `destroy` never copies: it runs on what the last apply left.
"""

from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path
from typing import Any

MODULES_DIR = "modules"
#: a module's own examples and `terraform test` files are not part of what a caller loads
_MODULE_ONLY_AT_TOP = {"examples", "tests"}
#: what a working copy of a module collects (Terraform runs, Python, editors); never copied
_ARTEFACT_PREFIXES = (".terraform", "terraform.tfstate", "__pycache__", ".DS_Store")


def vendor_modules(workspace: Path, root_module: dict[str, Any]) -> dict[str, Any]:
    """The root module with every module call on a local absolute path redirected to a copy in `workspace`.

    Copies missing or changed modules, reuses identical ones, removes copies no call uses any more. Calls of
    registry, git or relative sources are left as they are. The argument is not modified."""
    calls: dict[str, Any] = root_module.get("module") or {}
    names: dict[str, str] = {}  # absolute source -> folder under modules/
    rewritten: dict[str, Any] = {}
    kept: set[str] = set()
    for key, call in calls.items():
        source = call.get("source") if isinstance(call, dict) else None
        if not isinstance(source, str) or not Path(source).is_absolute() or not Path(source).is_dir():
            # not a folder of the install (a missing one is left for `terraform init` to report, permanently)
            rewritten[key] = call
            if isinstance(source, str) and source.startswith(f"./{MODULES_DIR}/"):
                kept.add(source.split("/")[2])  # a root module that was vendored already
            continue
        if source not in names:
            names[source] = _free_name(Path(source).name, set(names.values()) | kept)
        rewritten[key] = call | {"source": f"./{MODULES_DIR}/{names[source]}"}
    target = workspace / MODULES_DIR
    for source, name in names.items():
        _sync(Path(source), target / name)
    _prune(target, keep=set(names.values()) | kept)
    return root_module | {"module": rewritten} if calls else dict(root_module)


def _free_name(name: str, taken: set[str]) -> str:
    """`postgres`, or `postgres-2`... when two different sources share a folder name."""
    candidate, counter = name, 1
    while candidate in taken:
        counter += 1
        candidate = f"{name}-{counter}"
    return candidate


def module_files(module: Path) -> dict[str, Path]:
    """{relative path: file} of what a caller of `module` needs (not its examples, tests or artefacts)."""
    if not module.is_dir():
        raise FileNotFoundError(f"Terraform module {module} does not exist")
    found: dict[str, Path] = {}
    for directory, subdirectories, files in os.walk(module):
        relative = Path(directory).relative_to(module)
        subdirectories[:] = sorted(
            d for d in subdirectories if not d.startswith(_ARTEFACT_PREFIXES) and not (relative == Path(".") and d in _MODULE_ONLY_AT_TOP)
        )
        for name in files:
            if not name.startswith(_ARTEFACT_PREFIXES) and not name.endswith((".pyc", ".tmp")):
                found[(relative / name).as_posix()] = Path(directory) / name
    return found


def _same(source: dict[str, Path], copy: dict[str, Path]) -> bool:
    return source.keys() == copy.keys() and all(source[k].read_bytes() == copy[k].read_bytes() for k in source)


def _sync(source: Path, destination: Path) -> None:
    """Make `destination` hold exactly the module at `source`; a half-written copy never takes its place."""
    wanted = module_files(source)
    if destination.is_dir() and _same(wanted, module_files(destination)):
        return
    staging = destination.with_name(f".{destination.name}.{uuid.uuid4().hex}.tmp")
    try:
        staging.mkdir(parents=True)
        for relative, file in wanted.items():
            (staging / relative).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(file, staging / relative)
        if destination.exists():
            retired = destination.with_name(f".{destination.name}.{uuid.uuid4().hex}.old")
            destination.rename(retired)
            shutil.rmtree(retired)
        staging.rename(destination)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _prune(target: Path, keep: set[str]) -> None:
    """Remove copies (and leftovers of interrupted copies) that no module call uses."""
    if not target.is_dir():
        return
    for entry in target.iterdir():
        if entry.name in keep:
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry)
        else:
            entry.unlink()
    if not keep:
        target.rmdir()
