"""Long-running commands stop cleanly on SIGINT or SIGTERM sent to their own pid (not the process group, as a
service manager or `kill PID` does), within 5 s, taking their children with them.

Finding (issue 11): `roadbed server` died on SIGTERM and left its Temporal dev server running.
"""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from tests.e2e.harness import RoadbedUp

pytestmark = pytest.mark.e2e

STOP_WITHIN_SECONDS = 5.0


def children_of(pid: int) -> list[int]:
    """Every descendant still alive (including ones that changed session), found through /proc."""
    found: list[int] = []
    parents = {pid}
    for _ in range(5):
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            child, parent = int(stat.parent.name), int(fields[1])
            if parent in parents and child not in found:
                found.append(child)
                parents.add(child)
    return found


def alive(pids: list[int]) -> list[int]:
    return [p for p in pids if Path(f"/proc/{p}").exists() and "Z" not in (Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()[0])]


def wait_for(check, timeout: float = 60) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise AssertionError("not ready in time")


def stop_and_measure(process: subprocess.Popen[str], sig: signal.Signals) -> tuple[int, float, list[int]]:
    descendants = children_of(process.pid)
    assert descendants, "the command should have started a child (the Temporal dev server)"
    started = time.monotonic()
    process.send_signal(sig)
    code = process.wait(timeout=30)
    took = time.monotonic() - started
    deadline = time.monotonic() + 2
    while alive(descendants) and time.monotonic() < deadline:
        time.sleep(0.05)
    return code, took, alive(descendants)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_roadbed_up_stops_on_a_signal_to_its_pid(tmp_path: Path, sig: signal.Signals) -> None:
    up = RoadbedUp(tmp_path / "home")
    up.start()
    assert up.process is not None
    code, took, left = stop_and_measure(up.process, sig)
    assert code == 0, up.log.read_text()[-2000:]
    assert took < STOP_WITHIN_SECONDS, f"took {took:.1f}s"
    assert left == [], f"children still running: {left}"


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_roadbed_server_stops_on_a_signal_to_its_pid(tmp_path: Path, sig: signal.Signals) -> None:
    up = RoadbedUp(tmp_path / "home")  # for its environment: data dir and free ports
    port = int(up.env["ROADBED_TEMPORAL_PORT"])
    process = subprocess.Popen([*up.command, "server"], env=up.env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        import socket

        def listening() -> bool:
            assert process.poll() is None, process.stderr.read() if process.stderr else ""
            with socket.socket() as probe:
                return probe.connect_ex(("127.0.0.1", port)) == 0

        wait_for(listening)
        code, took, left = stop_and_measure(process, sig)
    finally:
        if process.poll() is None:
            process.kill()
    assert code == 0, process.stderr.read() if process.stderr else ""
    assert took < STOP_WITHIN_SECONDS, f"took {took:.1f}s"
    assert left == [], f"children still running: {left}"
