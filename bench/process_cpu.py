"""CPU seconds used by a process and all its descendants (Linux /proc), for the benches' cost per environment.

Counts each live process's user + system time plus what its reaped children used (cutime, cstime), so a
Terraform or git process that started and exited between two readings is counted through its parent. The
breakdown is by process role (the command line's module or program), to show where the time goes.
"""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path


def _stat(pid: int) -> list[str] | None:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(") ", 1)[1].split()
    except (OSError, IndexError):
        return None


def _role(pid: int) -> str:
    try:
        argv = [a.decode(errors="replace") for a in Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0") if a]
    except OSError:
        return "?"
    if len(argv) > 2 and argv[1] == "-m":
        return " ".join(argv[2:4])  # e.g. "roadbed.cli up", "roadbed.adapters.libterraform_pool"
    return " ".join(Path(a).name if i == 0 else a for i, a in enumerate(argv[:2]))


def descendants(root: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (fields := _stat(int(entry.name))):
            children.setdefault(int(fields[1]), []).append(int(entry.name))
    found, frontier = [root], [root]
    while frontier:
        frontier = [child for pid in frontier for child in children.get(pid, [])]
        found += frontier
    return found


def tree_cpu(root: int) -> Counter[str]:
    """{role: CPU seconds so far} over `root` and its descendants."""
    ticks = os.sysconf("SC_CLK_TCK")
    used: Counter[str] = Counter()
    for pid in descendants(root):
        fields = _stat(pid)
        if fields:  # fields[11:15] are utime, stime, cutime, cstime (stat fields 14-17)
            used[_role(pid)] += sum(int(value) for value in fields[11:15]) / ticks
    return used
