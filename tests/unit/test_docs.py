"""The user's documentation stays true: docs/contract.md documents every API operation the app serves, and keeps
every line of the design repository's CONTRACT.md (when that repository is checked out beside this one)."""

from __future__ import annotations

import re
from pathlib import Path

from roadbed.api.app import create_app
from roadbed.settings import Settings
from roadbed.storage.database import Database

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs" / "contract.md"
DESIGN_CONTRACT = ROOT.parent / "shared" / "design" / "CONTRACT.md"


def normalise(path: str) -> str:
    return re.sub(r"\{[^}]*\}", "{}", path.split("?")[0].split("[")[0]).rstrip("/") or "/"


def documented_paths(text: str) -> set[str]:
    return {normalise(p) for p in re.findall(r"(?<![\w.])(/(?:v1/)?[A-Za-z0-9_{}./-]*)", text)}


def test_every_api_operation_is_in_the_contract(settings: Settings, database: Database) -> None:
    spec = create_app(settings, database).openapi()
    documented = documented_paths(DOCS.read_text())
    served = {normalise(path) for path in spec["paths"]}
    missing = sorted(path for path in served if path not in documented)
    assert missing == [], f"operations served but not in docs/contract.md: {missing}"


def test_the_contract_keeps_every_line_of_the_design_contract() -> None:
    docs = DOCS.read_text()
    assert "## REST API" in docs and "## Processes and commands" in docs
    if DESIGN_CONTRACT.is_file():  # CI and developers have the design repository beside this one; a user's clone may not
        design_lines = [line for line in DESIGN_CONTRACT.read_text().splitlines()[1:] if line.strip()]
        dropped = [line for line in design_lines if line not in docs]
        assert dropped == [], f"docs/contract.md lost lines of CONTRACT.md: {dropped[:5]}"


def test_the_readme_links_only_inside_the_repository() -> None:
    readme = (ROOT / "README.md").read_text()
    links = re.findall(r"\]\(([^)#]+)\)", readme)
    local = [link for link in links if not link.startswith(("http://", "https://"))]
    assert local, "the README should link its docs"
    for link in local:
        assert not link.startswith(".."), link
        assert (ROOT / link).exists(), link
