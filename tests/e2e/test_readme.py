"""The README, followed top to bottom on a fresh data dir, works: every `bash` block runs, in order, in one shell
against a real `roadbed up`. A block may opt out only with `<!-- readme-test: skip (why) -->` right above it (the
quickstart, which installs and starts Roadbed itself, and a reference of commands on ids of the reader's own).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.harness import RoadbedUp

pytestmark = pytest.mark.e2e

README = Path(__file__).resolve().parents[2] / "README.md"
BLOCK = re.compile(r"(?P<marker><!-- readme-test: skip \((?P<why>[^)]+)\) -->\n)?```bash\n(?P<body>.*?)```", re.S)
MAX_SKIPPED = 3  # the install, a reference of commands, and `docker compose` (needs a Docker engine)


def bash_blocks(text: str) -> list[tuple[str, str | None]]:
    """(body, reason it is skipped or None) for every ```bash block, in order."""
    return [(m["body"], m["why"]) for m in BLOCK.finditer(text)]


def test_the_readme_marks_what_it_does_not_run() -> None:
    blocks = bash_blocks(README.read_text())
    skipped = [why for _body, why in blocks if why]
    assert len(blocks) - len(skipped) >= 8, "the walkthrough should be runnable, not skipped"
    assert len(skipped) <= MAX_SKIPPED, skipped


def test_the_readme_walkthrough_runs_top_to_bottom(tmp_path: Path) -> None:
    blocks = [body for body, why in bash_blocks(README.read_text()) if why is None]
    script = "set -euo pipefail\n" + "".join(f'echo "::block {i}" >&2\n{body}' for i, body in enumerate(blocks))
    up = RoadbedUp(tmp_path / "home")
    up.start()
    try:
        env = up.env | {"PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}", "NO_COLOR": "1"}
        work = tmp_path / "work"
        work.mkdir()
        result = subprocess.run(["bash", "-c", script], env=env, cwd=work, capture_output=True, text=True, timeout=600)
    finally:
        up.stop()
    reached = re.findall(r"::block (\d+)", result.stderr)
    failed_block = blocks[int(reached[-1])] if reached else script
    assert result.returncode == 0, f"README block failed:\n{failed_block}\n--- stdout\n{result.stdout[-3000:]}\n--- stderr\n{result.stderr[-3000:]}"
    assert reached == [str(i) for i in range(len(blocks))]
    # what the walkthrough promises happened
    assert "SUCCEEDED" in result.stdout and "treasury" in result.stdout
