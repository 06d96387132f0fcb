"""`roadbed up` either starts whole or not at all: a part that cannot start (or that dies later) ends the process
with a non-zero exit, one `error:` line and no child left behind; a data dir in use is refused; a broken
golden path is listed invalid instead of stopping startup."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import processes_mentioning
from tests.e2e.harness import RoadbedUp, free_port

pytestmark = pytest.mark.e2e


def listening(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except OSError:
        return False
    return True


def occupy(port: int) -> socket.socket:
    sock = socket.socket()
    sock.bind(("127.0.0.1", port))
    sock.listen()
    return sock


def run_up(roadbed: RoadbedUp, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "roadbed.cli", "up"], env=roadbed.env | env, capture_output=True, text=True, timeout=150, start_new_session=True
    )


def one_error_line(result: subprocess.CompletedProcess[str]) -> str:
    """The run failed with exactly one `error:` line on stderr and no traceback (log lines aside)."""
    assert result.returncode != 0, result.stdout + result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, result.stderr
    return errors[0]


def assert_nothing_left(roadbed: RoadbedUp, *ports: str) -> None:
    deadline = time.monotonic() + 10
    while processes_mentioning(roadbed.home) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert processes_mentioning(roadbed.home) == []
    for name in ports:
        assert not listening(int(roadbed.env[name])), name


def test_api_port_taken(roadbed: RoadbedUp) -> None:
    port = int(roadbed.env["ROADBED_API_PORT"])
    with occupy(port):
        result = run_up(roadbed)
        assert one_error_line(result) == f"error: cannot start the API: 127.0.0.1:{port} is already in use"
    assert_nothing_left(roadbed, "ROADBED_TEMPORAL_PORT", "ROADBED_TEMPORAL_UI_PORT")


def test_temporal_port_taken(roadbed: RoadbedUp) -> None:
    port = int(roadbed.env["ROADBED_TEMPORAL_PORT"])
    with occupy(port):
        result = run_up(roadbed)
        assert one_error_line(result) == f"error: cannot start the Temporal dev server: 127.0.0.1:{port} is already in use"
    assert_nothing_left(roadbed, "ROADBED_API_PORT", "ROADBED_TEMPORAL_UI_PORT")


def test_temporal_binary_missing(roadbed: RoadbedUp) -> None:
    result = run_up(roadbed, PATH="/usr/bin:/bin")
    line = one_error_line(result)
    assert line.startswith("error: cannot start the Temporal dev server:") and "`temporal` CLI is not on PATH" in line
    assert_nothing_left(roadbed, "ROADBED_API_PORT", "ROADBED_TEMPORAL_PORT")


def test_broken_template_is_listed_and_a_second_up_on_the_data_dir_is_refused(roadbed: RoadbedUp, tmp_path: Path) -> None:
    templates = tmp_path / "templates"
    (templates / "broken").mkdir(parents=True)
    (templates / "broken" / "template.yaml").write_text("apiVersion: scaffolder.backstage.io/v1beta3\nkind: [Template\n")
    roadbed.env["ROADBED_GOLDEN_PATHS_DIRS"] = str(templates)
    roadbed.start()
    with roadbed.http() as http:
        listed = {gp["name"]: gp for gp in http.get("/v1/golden-paths").json()}
    assert listed["python-service"]["valid"]
    assert not listed["broken"]["valid"] and "YAML syntax error" in listed["broken"]["problems"][0]

    assert roadbed.process is not None
    other_ports = {name: str(free_port()) for name in ("ROADBED_API_PORT", "ROADBED_TEMPORAL_PORT", "ROADBED_TEMPORAL_UI_PORT")}
    second = run_up(roadbed, **other_ports)
    assert one_error_line(second) == f"error: data dir {roadbed.home} is in use by roadbed up (pid {roadbed.process.pid})"
    assert httpx.get(f"{roadbed.url}/readyz", timeout=5).status_code == 200  # the first one is untouched
    assert roadbed.stop() == 0


def test_dev_server_dying_stops_everything(roadbed: RoadbedUp) -> None:
    roadbed.start()
    dev_servers = processes_mentioning(roadbed.home)
    assert len(dev_servers) == 1
    os.kill(dev_servers[0], signal.SIGKILL)
    assert roadbed.process is not None
    assert roadbed.process.wait(timeout=60) != 0
    log = roadbed.log.read_text()
    assert "Traceback" not in log, log
    errors = [line for line in log.splitlines() if line.startswith("error:")]
    assert errors == [errors[0]] and errors[0].startswith("error: the Temporal dev server stopped"), log
    assert_nothing_left(roadbed, "ROADBED_API_PORT", "ROADBED_TEMPORAL_UI_PORT")


@pytest.mark.parametrize(("command", "port_name", "what"), [("api", "ROADBED_API_PORT", "the API"), ("server", "ROADBED_TEMPORAL_PORT", "the Temporal dev server")])
def test_single_parts_refuse_a_taken_port_in_one_line(roadbed: RoadbedUp, command: str, port_name: str, what: str) -> None:
    port = int(roadbed.env[port_name])
    with occupy(port):
        result = subprocess.run([sys.executable, "-m", "roadbed.cli", command], env=roadbed.env, capture_output=True, text=True, timeout=60)
        assert one_error_line(result) == f"error: cannot start {what}: 127.0.0.1:{port} is already in use"
    assert_nothing_left(roadbed, "ROADBED_API_PORT", "ROADBED_TEMPORAL_UI_PORT")


def test_worker_without_temporal_fails_in_one_line(roadbed: RoadbedUp) -> None:
    env = roadbed.env | {"ROADBED_TEMPORAL_ADDRESS": f"127.0.0.1:{free_port()}"}
    started = time.monotonic()
    result = subprocess.run([sys.executable, "-m", "roadbed.cli", "worker"], env=env, capture_output=True, text=True, timeout=150)
    line = one_error_line(result)
    assert line.startswith("error: cannot start the worker: Temporal at 127.0.0.1:") and "is not reachable" in line
    assert time.monotonic() - started >= 59  # it waited for Temporal to come up before giving up
