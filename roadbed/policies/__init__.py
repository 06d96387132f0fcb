"""Policies as data: Rego files from `ROADBED_POLICY_DIRS`, evaluated in-process with regopy (rego-cpp).

`policy_engine(dirs)` is the process's engine for those directories; it is reloaded when a file there changes
(content hash), and a set that fails to load is logged once per version and refuses every decision.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from pathlib import Path

from roadbed.policies.caps import apply_caps
from roadbed.policies.decision import Decision, PolicyDenied, PolicyEngine, PolicyUnavailable, policy_input
from roadbed.policies.loading import PolicySet, load_policies, policy_dirs, rego_files

__all__ = [
    "Decision", "PolicyDenied", "PolicyEngine", "PolicySet", "PolicyUnavailable", "apply_caps", "load_policies",
    "policy_dirs", "policy_engine", "policy_input",
]

log = logging.getLogger("roadbed.policies")
_engines: dict[tuple[Path, ...], tuple[str, PolicyEngine]] = {}
_lock = threading.Lock()


def _stamp(dirs: tuple[Path, ...]) -> str:
    """Cheap change detector: every policy file's path, size and modification time (contents are hashed on load)."""
    digest = hashlib.sha256()
    for directory in dirs:
        digest.update(f"{directory}:{directory.exists()}\0".encode())
    for path in rego_files(list(dirs)):
        try:
            stat = path.stat()
        except OSError:
            continue
        digest.update(f"{path}\0{stat.st_size}\0{stat.st_mtime_ns}\0".encode())
    return digest.hexdigest()


def policy_engine(dirs: list[Path]) -> PolicyEngine:
    """The engine for `dirs`, loaded on first use and again whenever a policy file changes."""
    key = tuple(dirs)
    stamp = _stamp(key)
    with _lock:
        cached = _engines.get(key)
        if cached is not None and cached[0] == stamp:
            return cached[1]
        engine = PolicyEngine(load_policies(list(key)))
        _engines[key] = (stamp, engine)
    for error in engine.policies.errors:
        log.error("policy file %s failed to load: %s (every policy decision is refused until it is fixed)", error.path, error.message)
    if key and not engine.policies.broken:
        log.info("loaded %d policies (sha256 %s)", len(engine.policies.policies), engine.policies.sha256)
    return engine
