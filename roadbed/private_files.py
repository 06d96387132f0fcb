"""The data dir is private: 0700 directories, 0600 files, from the moment they are created.

It holds the engine database (requests, tokens' hashes), the admin token, the key that seals sensitive
settings (`roadbed.sealing`), the Temporal dev server's histories and Terraform state (which holds sensitive
values by Terraform's design). Modes are set at creation, not fixed afterwards, so no window exists in which
another local user could open a file. An existing directory is left as its owner set it (it may be shared,
like `/tmp`); only what Roadbed creates is closed.
"""

from __future__ import annotations

import os
from pathlib import Path


def private_dir(path: Path) -> Path:
    """Create `path` (and missing parents) as 0700; an existing directory is left as its owner set it."""
    if not path.is_dir():
        path.mkdir(parents=True, exist_ok=True, mode=0o700)
        path.chmod(0o700)  # mkdir's mode is masked by the umask; a fresh data dir is ours to close
    return path


def create_private_file(path: Path) -> bool:
    """Create an empty 0600 file if it does not exist yet (True when this call created it).

    Made before any library opens the path, so the library's own default mode (0644) never applies.
    """
    try:
        descriptor = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    except FileExistsError:
        return False
    os.close(descriptor)
    path.chmod(0o600)
    return True


def write_private(path: Path, content: str) -> None:
    """Write `content` to a new or replaced file that is 0600 from its first byte."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    descriptor = os.open(temporary, os.O_CREAT | os.O_TRUNC | os.O_WRONLY, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(content)
    temporary.replace(path)
