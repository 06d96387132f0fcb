"""The `roadbed` fixture every e2e module shares: a `roadbed up` on its own data dir, killed (with anything still
running on that data dir) however the test ends."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.harness import RoadbedUp


def processes_mentioning(home: Path) -> list[int]:
    """Pids of live processes whose command line names the data dir (the dev server's --db-filename does)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
            state = next((line for line in (entry / "status").read_text().splitlines() if line.startswith("State:")), "")
        except OSError:
            continue
        if str(home).encode() in cmdline and "zombie" not in state:
            found.append(int(entry.name))
    return found


@pytest.fixture
def roadbed(tmp_path: Path) -> Iterator[RoadbedUp]:
    instance = RoadbedUp(tmp_path / "home")
    yield instance
    if instance.process is not None and instance.process.poll() is None:
        instance.process.kill()
        instance.process.wait()
    for pid in processes_mentioning(instance.home):
        os.kill(pid, signal.SIGKILL)
