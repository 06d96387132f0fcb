"""Checks made before `roadbed up` (or `server`, `worker`, `api`) starts anything, and the one-line error they raise.

Startup is all or nothing: the data dir is locked and every port is checked (the API's is bound and kept)
before any child starts, so a second `up` or a taken port fails fast with one line and leaves nothing running.
Kept free of heavy imports: `roadbed.devserver` uses it too.
"""

from __future__ import annotations

import contextlib
import errno
import os
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the CLI imports this module at start: neither pydantic-settings nor filelock may cost it time
    from roadbed.settings import Settings

LOCK_FILE = "up.lock"
API_BACKLOG = 2048  # uvicorn's default


class StartupError(Exception):
    """A part of Roadbed cannot start, or stopped on its own: one line, reported as `error: ...` with exit 1."""


@contextlib.contextmanager
def data_dir_lock(home: Path) -> Iterator[None]:
    """Hold `home/up.lock` (flock, so a crashed holder never leaves it stale) with our pid in it.

    Two `up`s on one data dir would share the Temporal database, the repositories and the Terraform state;
    the second is refused, naming the first's pid so its owner can be found.
    """
    from filelock import FileLock, Timeout

    path = home / LOCK_FILE
    lock = FileLock(path, timeout=0, mode=0o600)  # the data dir is private (roadbed.private_files)
    try:
        lock.acquire()
    except Timeout:
        raise StartupError(f"data dir {home} is in use by roadbed up (pid {_holder(path)})") from None
    try:
        path.write_text(f"{os.getpid()}\n")
        yield
    finally:
        lock.release()


def _holder(path: Path) -> str:
    try:
        return path.read_text().strip() or "unknown"
    except OSError:
        return "unknown"


def _in_use(what: str, host: str, port: int, exc: OSError) -> StartupError:
    reason = "is already in use" if exc.errno == errno.EADDRINUSE else f"cannot be bound: {exc.strerror or exc}"
    return StartupError(f"cannot start {what}: {host}:{port} {reason}")


def bind_api_socket(settings: Settings) -> socket.socket:
    """Bind (and listen on) the API's address now, before any child starts, and keep it: no window for another
    process to take it. Connections made before the API is ready wait in the backlog."""
    family = socket.AF_INET6 if ":" in settings.api_host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((settings.api_host, settings.api_port))
        sock.listen(API_BACKLOG)  # bound alone, another SO_REUSEADDR socket could still take the port
    except OSError as exc:
        sock.close()
        raise _in_use("the API", settings.api_host, settings.api_port, exc) from exc
    sock.set_inheritable(False)
    return sock


def ensure_port_free(what: str, host: str, port: int) -> None:
    """Fail with one line if `host:port` cannot be bound (someone listens there), before starting `what`."""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            raise _in_use(what, host, port, exc) from exc


