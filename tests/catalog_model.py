"""Backstage's own entity validators (@backstage/catalog-model, pinned in tests/reference/catalog-model), from Python.

`backstage_problems(entities)` feeds the entities to validate.js (the entity policies the catalog backend enforces
and each built-in kind's validator) and returns `{ref: [problems]}` for those Backstage would refuse.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

REFERENCE = Path(__file__).resolve().parent / "reference" / "catalog-model"


def ensure_installed() -> None:
    """tests/run.sh runs `npm ci` there; done here when it has not been."""
    assert shutil.which("node"), "node is needed for Backstage's validators (tests/reference/catalog-model)"
    if not (REFERENCE / "node_modules" / "@backstage" / "catalog-model").is_dir():
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=REFERENCE, check=True, timeout=600)


def backstage_problems(entities: list[dict[str, Any]]) -> dict[str, list[str]]:
    ensure_installed()
    done = subprocess.run(
        ["node", str(REFERENCE / "validate.js")], input=json.dumps(entities), capture_output=True, text=True, timeout=120, check=True
    )
    results = json.loads(done.stdout)
    assert len(results) == len(entities)
    return {result["ref"]: result["errors"] for result in results if not result["ok"]}
