"""Every golden-path version Roadbed has used, stored content-addressed in the engine database.

Why: an environment records the version it was made from, but the template directory moves on. A retry of the
repository step, or an upgrade's base rendering, must see the files of the recorded version, byte for byte. So a
loaded template's files (its folder plus the shared skeletons it names elsewhere in its template repository) are
stored once per `(golden path, version)`: blobs by sha256 (deduplicated across versions), a version row listing
them. Writes are insert-or-ignore on unique keys, so API replicas and workers storing the same version at once
all succeed and one row wins. Rendering a past version materialises it into a temporary folder and loads it from
there with the ordinary loader, so it renders exactly as it did.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from roadbed.domain.errors import PermanentError
from roadbed.domain.template_files import is_template_content
from roadbed.golden_paths import GoldenPath, GoldenPathRegistry, load_golden_path_file
from roadbed.storage.database import Database
from roadbed.template_sources import shared_skeletons
from roadbed.upgrades.tables import TemplateBlobRow, TemplateVersionRow

log = logging.getLogger("roadbed.upgrades")

MAX_SNAPSHOT_BYTES = 50 * 1024 * 1024
"""A template (with its shared skeletons) larger than this is not stored: a scaffold, not a dataset."""


@dataclass(frozen=True)
class Snapshot:
    """A template's files relative to its template repository, and the hash that names this content."""

    template_file: str
    files: dict[str, tuple[bytes, int]] = field(default_factory=dict)

    @property
    def manifest(self) -> list[dict[str, Any]]:
        return [{"path": path, "sha256": hashlib.sha256(data).hexdigest(), "mode": mode} for path, (data, mode) in sorted(self.files.items())]

    @property
    def content_sha256(self) -> str:
        canonical = json.dumps({"template_file": self.template_file, "files": self.manifest}, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()


def _files_under(base: Path) -> list[Path]:
    if base.is_file():
        return [base]
    return sorted(p for p in base.rglob("*") if p.is_file() and not p.is_symlink() and is_template_content(p.relative_to(base)))


def snapshot(golden_path: GoldenPath) -> Snapshot:
    """The files a golden path renders from: its folder and the shared skeletons its static urls name."""
    directory = golden_path.directory.resolve()
    root = (golden_path.root or golden_path.directory).resolve()
    source = _template_source(golden_path)
    files: dict[str, tuple[bytes, int]] = {}
    total = 0
    for base in [directory, *shared_skeletons(golden_path.steps, directory, root)]:
        for path in _files_under(base):
            relative = path.resolve().relative_to(root).as_posix()
            if relative in files:
                continue
            data = path.read_bytes()
            total += len(data)
            if total > MAX_SNAPSHOT_BYTES:
                raise PermanentError(f"golden path {golden_path.name!r} is larger than {MAX_SNAPSHOT_BYTES} bytes; not stored")
            files[relative] = (data, 0o755 if path.stat().st_mode & 0o100 else 0o644)
    return Snapshot(template_file=source.resolve().relative_to(root).as_posix(), files=files)


def _template_source(golden_path: GoldenPath) -> Path:
    """The template document of a golden path: `template.yaml`, or the `*.yaml` whose template has its name."""
    default = golden_path.directory / "template.yaml"
    if default.is_file():
        return default
    for candidate in sorted(golden_path.directory.glob("*.y*ml")):
        if load_golden_path_file(candidate, root=golden_path.root).name == golden_path.name:
            return candidate
    raise PermanentError(f"golden path {golden_path.name!r}: its template file is gone from {golden_path.directory}")


def _insert(session: Session, table: Any) -> Any:
    dialect = session.get_bind().dialect.name
    return postgresql.insert(table) if dialect == "postgresql" else sqlite.insert(table)


def store(database: Database, golden_path: GoldenPath, now: datetime | None = None, *, snap: Snapshot | None = None) -> str:
    """Store the version (idempotent; a version already stored keeps its first content). Returns the content hash
    of the version as stored, which differs from the folder's when someone changed files without a new version."""
    snap = snap or snapshot(golden_path)
    with database.transaction() as session:
        stored = session.scalar(select(TemplateVersionRow.content_sha256).where(
            TemplateVersionRow.golden_path == golden_path.name, TemplateVersionRow.version == golden_path.version))
    if stored is not None:  # written once: its blobs were committed with it
        if stored != snap.content_sha256:
            log.warning("golden path %s@%s changed without a new version; the version keeps the content first stored", golden_path.name, golden_path.version)
        return stored
    with database.transaction() as session:
        for _path, (data, _mode) in sorted(snap.files.items()):
            digest = hashlib.sha256(data).hexdigest()
            session.execute(_insert(session, TemplateBlobRow).values(sha256=digest, content=data).on_conflict_do_nothing(index_elements=["sha256"]))
        session.execute(
            _insert(session, TemplateVersionRow)
            .values(
                golden_path=golden_path.name, version=golden_path.version, content_sha256=snap.content_sha256, template_file=snap.template_file,
                files=snap.manifest, stored_at=now or datetime.now(UTC),
            )
            .on_conflict_do_nothing(index_elements=["golden_path", "version"])
        )
        stored = session.scalar(select(TemplateVersionRow.content_sha256).where(
            TemplateVersionRow.golden_path == golden_path.name, TemplateVersionRow.version == golden_path.version))
    if stored != snap.content_sha256:
        log.warning("golden path %s@%s changed without a new version; the version keeps the content first stored", golden_path.name, golden_path.version)
    return stored or snap.content_sha256


def store_all(database: Database, registry: GoldenPathRegistry) -> int:
    """Store every valid golden path of the registry (at API and worker start); one that cannot be read is logged
    and skipped, never stopping the start. Returns how many were stored (or already were)."""
    stored = 0
    for golden_path in registry.list():
        if not golden_path.valid:
            continue
        try:
            store(database, golden_path)
            stored += 1
        except (OSError, PermanentError) as exc:
            log.warning("golden path %s@%s not stored: %s", golden_path.name, golden_path.version, exc)
    return stored


def stored_versions(database: Database, name: str) -> list[str]:
    with database.transaction() as session:
        return list(session.scalars(select(TemplateVersionRow.version).where(TemplateVersionRow.golden_path == name).order_by(TemplateVersionRow.id)))


def _stored_row(session: Session, name: str, version: str) -> TemplateVersionRow | None:
    return session.scalar(select(TemplateVersionRow).where(TemplateVersionRow.golden_path == name, TemplateVersionRow.version == version))


@contextmanager
def materialised(database: Database, name: str, version: str) -> Iterator[GoldenPath]:
    """The stored version loaded from a temporary copy of its files (removed afterwards)."""
    with database.transaction() as session:
        row = _stored_row(session, name, version)
        if row is None:
            raise PermanentError(f"golden path {name!r} version {version!r} is not stored; it cannot be rendered again")
        digests = {entry["sha256"] for entry in row.files}
        blobs = {blob.sha256: blob.content for blob in session.scalars(select(TemplateBlobRow).where(TemplateBlobRow.sha256.in_(digests)))}
        entries, template_file = list(row.files), row.template_file
    folder = Path(tempfile.mkdtemp(prefix=f"roadbed-template-{name[:40]}-"))
    try:
        root = folder / "root"
        for entry in entries:
            target = root / entry["path"]
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(blobs[entry["sha256"]])
            os.chmod(target, entry["mode"])
        golden_path = load_golden_path_file(root / template_file, root=root)
        if golden_path.name != name or golden_path.version != version:
            raise PermanentError(f"stored golden path {name}@{version} loads as {golden_path.name}@{golden_path.version}")
        yield golden_path
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@contextmanager
def golden_path_at(database: Database, registry: GoldenPathRegistry, name: str, version: str) -> Iterator[GoldenPath]:
    """The golden path `name` exactly as `version` was. Fast path: the folder holds that version with the stored
    content (or the version was never stored: it is stored now, from the folder). Otherwise the stored files."""
    current = registry.find(name)
    if current is not None and current.version == version:
        snap = snapshot(current)
        if store(database, current, snap=snap) == snap.content_sha256:
            yield current
            return
    with materialised(database, name, version) as golden_path:
        yield golden_path
