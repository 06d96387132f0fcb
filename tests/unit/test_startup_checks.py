"""The checks made before `roadbed up` starts anything, and the supervision that stops every part when one ends."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from roadbed.cli.processes import supervise
from roadbed.devserver import check_dev_server_can_start, dev_server_command, start_dev_server
from roadbed.settings import Settings
from roadbed.startup import StartupError, bind_api_socket, data_dir_lock, ensure_port_free


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _settings(tmp_path: Path, **overrides: object) -> Settings:
    values = {"home": tmp_path, "api_port": _free_port(), "temporal_port": _free_port(), "temporal_ui_port": _free_port()} | overrides
    return Settings(**values)  # type: ignore[arg-type]


def _value(command: list[str], flag: str) -> str:
    return command[command.index(flag) + 1]


def test_dev_server_and_its_ui_bind_to_loopback_only(tmp_path: Path) -> None:
    command = dev_server_command(_settings(tmp_path))
    assert _value(command, "--ip") == "127.0.0.1"
    assert _value(command, "--ui-ip") == "127.0.0.1"


def test_a_listening_port_is_reported_in_one_line(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(StartupError, match=rf"^cannot start the thing: 127.0.0.1:{port} is already in use$"):
            ensure_port_free("the thing", "127.0.0.1", port)
        with pytest.raises(StartupError, match=rf"^cannot start the API: 127.0.0.1:{port} is already in use$"):
            bind_api_socket(_settings(tmp_path, api_port=port))
        with pytest.raises(StartupError, match=rf"^cannot start the Temporal dev server UI: 127.0.0.1:{port} is already in use$"):
            check_dev_server_can_start(_settings(tmp_path, temporal_ui_port=port))
    ensure_port_free("the thing", "127.0.0.1", port)  # free again once closed


def test_the_api_socket_is_held_until_closed(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    held = bind_api_socket(settings)
    try:
        with pytest.raises(StartupError, match="already in use"):
            ensure_port_free("another API", "127.0.0.1", settings.api_port)
    finally:
        held.close()


def test_missing_temporal_binary_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # the environment, not a client: `temporal` is simply not on it
    with pytest.raises(StartupError, match=r"^cannot start the Temporal dev server: the `temporal` CLI is not on PATH"):
        check_dev_server_can_start(_settings(tmp_path))


def test_a_data_dir_held_by_another_process_is_refused_with_its_pid(tmp_path: Path) -> None:
    holder = subprocess.Popen(
        [sys.executable, "-c", f"import sys, time\nfrom roadbed.startup import data_dir_lock\nwith data_dir_lock(__import__('pathlib').Path({str(tmp_path)!r})):\n    print('held', flush=True)\n    time.sleep(60)\n"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        with pytest.raises(StartupError) as refused, data_dir_lock(tmp_path):
            pass
        assert str(refused.value) == f"data dir {tmp_path} is in use by roadbed up (pid {holder.pid})"
    finally:
        holder.kill()
        holder.wait()
    with data_dir_lock(tmp_path):  # a dead holder leaves no stale lock behind
        assert (tmp_path / "up.lock").read_text().strip().isdigit()
        assert (tmp_path / "up.lock").stat().st_mode & 0o777 == 0o600


async def _forever() -> None:
    await asyncio.Event().wait()


async def _run_until_shutdown(done: asyncio.Event) -> None:
    await done.wait()


async def _boom() -> None:
    await asyncio.sleep(0.01)
    raise RuntimeError("boom\nsecond line")


async def _exit() -> None:
    await asyncio.sleep(0.01)
    sys.exit(3)


async def _returns() -> None:
    await asyncio.sleep(0.01)


@pytest.mark.parametrize(
    ("failing", "message"),
    [(_boom, "the api stopped: boom"), (_exit, "the api stopped: exited with code 3 (see the log above)"), (_returns, "the api stopped unexpectedly (see the log above)")],
    ids=["exception", "sys-exit", "returns"],
)
async def test_a_part_ending_stops_the_others_and_raises_one_line(failing: object, message: str) -> None:
    worker_done = asyncio.Event()
    shutdowns: list[str] = []

    async def shutdown() -> None:
        shutdowns.append("shutdown")
        worker_done.set()

    with pytest.raises(StartupError) as stopped:
        await supervise({"worker": lambda: _run_until_shutdown(worker_done), "api": failing, "watcher": _forever}, asyncio.Event(), shutdown, frozenset({"watcher"}))  # type: ignore[dict-item]
    assert str(stopped.value) == message
    assert shutdowns == ["shutdown"]


async def test_stop_shuts_down_promptly_and_cancels_watchers() -> None:
    stop = asyncio.Event()
    worker_done = asyncio.Event()

    async def shutdown() -> None:
        worker_done.set()

    asyncio.get_running_loop().call_later(0.05, stop.set)
    started = time.monotonic()
    await supervise({"worker": lambda: _run_until_shutdown(worker_done), "watcher": _forever}, stop, shutdown, frozenset({"watcher"}))
    assert time.monotonic() - started < 5


def test_a_dev_server_that_exits_at_start_is_one_line_with_its_log_and_leaves_nothing(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    settings.temporal_db_file.mkdir()  # a directory where its SQLite file should be: the server exits at start
    log_file = tmp_path / "temporal.log"
    with pytest.raises(StartupError) as failed:
        start_dev_server(settings, log_file, timeout=30)
    message = str(failed.value)
    assert message.startswith("cannot start the Temporal dev server: Temporal dev server exited with code 1: ")
    assert "unable to open database file" in message and message.endswith(f"(log: {log_file})") and "\n" not in message
    ensure_port_free("the Temporal dev server", "127.0.0.1", settings.temporal_port)


def test_the_dev_server_starts_whatever_otel_variables_roadbed_is_given(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """OTEL_* configure Roadbed's tracing; the Temporal server would read them too and refuses to start with a
    `console` traces exporter. It is started without them."""
    from roadbed.devserver import stop_process

    monkeypatch.setenv("OTEL_TRACES_EXPORTER", "console")
    monkeypatch.setenv("OTEL_SERVICE_NAME", "roadbed-test")
    settings = _settings(tmp_path)
    process = start_dev_server(settings, tmp_path / "temporal.log", timeout=60)
    try:
        assert process.poll() is None
        environ = (Path("/proc") / str(process.pid) / "environ").read_bytes().split(b"\0")
        assert not [entry for entry in environ if entry.startswith(b"OTEL_")]
    finally:
        stop_process(process)
