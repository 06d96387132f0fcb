"""The three-way merge of a golden-path upgrade onto a generated repository, file by file (pure, no I/O).

Three trees of `path -> bytes`: `base` (the recorded version rendered with the service's recorded values),
`theirs` (the target version rendered with the same values: upstream) and `ours` (the repository's default branch:
the team). The rules of issue 16: the team's edits survive, upstream changes land, a file deleted upstream is
deleted only if the team never changed it, a file the team deleted stays deleted (reported when upstream changed
it), a binary file is a conflict unless only one side changed it. Text is merged line by line by `merge3`; a
conflict keeps git's markers in the file, which is only ever committed to the upgrade branch. A file the template
renamed (upstream deletes one path and adds another with the same bytes) carries the team's edits to its new path.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from merge3 import Merge3

from roadbed.rendering.skeleton import is_text  # binary as the renderer decides it


class FileResult(StrEnum):
    CLEAN = "clean"  # upstream changed it, the team did not: upstream's file
    MERGED = "merged"  # both changed it, apart: both changes
    CONFLICT = "conflict"  # both changed it at the same place (markers), or in a binary file, or the team edited a file upstream deleted
    DELETED = "deleted"  # upstream deleted a file the team never changed
    KEPT_DELETED = "kept-deleted"  # the team deleted a file upstream changed: it stays deleted
    ADDED = "added"  # a new file upstream


@dataclass(frozen=True)
class FileMerge:
    """What an upgrade does to one path: `content` is the file on the upgrade branch, None when it is absent there."""

    path: str
    result: FileResult
    content: bytes | None

    def summary(self) -> dict[str, str]:
        return {"path": self.path, "result": str(self.result)}


def _merge_text(base: bytes, ours: bytes, theirs: bytes, upstream: str) -> tuple[bytes, bool]:
    """merge3 over lines; returns the merged bytes and whether any region conflicted."""
    merger = Merge3(base.decode().splitlines(keepends=True), ours.decode().splitlines(keepends=True), theirs.decode().splitlines(keepends=True))
    conflicted = any(region[0] == "conflict" for region in merger.merge_regions())
    lines = list(merger.merge_lines(name_a="default branch", name_b=upstream))
    fixed = [line if line.endswith("\n") or index == len(lines) - 1 else line + "\n" for index, line in enumerate(lines)]  # a last line without newline before a marker
    return "".join(fixed).encode(), conflicted


def merge_file(path: str, base: bytes | None, ours: bytes | None, theirs: bytes | None, *, upstream: str = "upstream") -> FileMerge | None:
    """The upgrade of one path, or None when the branch keeps the default branch's file as it is."""
    if base == theirs or ours == theirs:
        return None  # upstream did not change it, or the team already has upstream's file
    if theirs is None:  # deleted upstream
        if ours is None:
            return None
        if ours == base:
            return FileMerge(path, FileResult.DELETED, None)
        return FileMerge(path, FileResult.CONFLICT, ours)  # the team changed what upstream deleted: kept, for a human
    if ours is None:
        if base is None:
            return FileMerge(path, FileResult.ADDED, theirs)
        return FileMerge(path, FileResult.KEPT_DELETED, None)  # the team deleted it; upstream changed it: reported
    if ours == base:
        return FileMerge(path, FileResult.CLEAN, theirs)
    if not (is_text(ours) and is_text(theirs) and (base is None or is_text(base))):
        return FileMerge(path, FileResult.CONFLICT, ours)  # both sides changed a binary file: the team's stays
    merged, conflicted = _merge_text(base or b"", ours, theirs, upstream)
    return FileMerge(path, FileResult.CONFLICT if conflicted else FileResult.MERGED, merged)


def _renames(base: Mapping[str, bytes], theirs: Mapping[str, bytes]) -> dict[str, str]:
    """Upstream renames: a path gone upstream whose exact bytes appear at exactly one new path (old -> new)."""
    gone = {path: content for path, content in base.items() if path not in theirs}
    added: dict[bytes, list[str]] = {}
    for path, content in theirs.items():
        if path not in base:
            added.setdefault(content, []).append(path)
    return {old: added[content][0] for old, content in gone.items() if len(added.get(content, [])) == 1}


def merge_trees(base: Mapping[str, bytes], ours: Mapping[str, bytes], theirs: Mapping[str, bytes], *, upstream: str = "upstream") -> list[FileMerge]:
    """Every path the upgrade changes (sorted). Paths only the team has (its own files, Roadbed's marker) are
    never touched: neither base nor upstream has them."""
    results: dict[str, FileMerge] = {}
    for old, new in _renames(base, theirs).items():
        if old in ours and ours[old] != base[old] and new not in ours:  # the team edited a file upstream renamed
            merged = merge_file(new, base[old], ours[old], theirs[new], upstream=upstream)
            results[new] = FileMerge(new, merged.result if merged else FileResult.MERGED, merged.content if merged else ours[old])
            results[old] = FileMerge(old, FileResult.DELETED, None)
    for path in sorted(set(base) | set(theirs)):
        if path not in results:
            merged = merge_file(path, base.get(path), ours.get(path), theirs.get(path), upstream=upstream)
            if merged is not None:
                results[path] = merged
    return [results[path] for path in sorted(results)]
