"""TechDocs rows: one per entity with docs (its last build) and one per built page (the search index).

Declared on the engine database's `Base`; the schema comes from migrations 0010 and 0013 (`attempted_commit`)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from roadbed.storage.tables import Base


class TechDocsSiteRow(Base):
    """`ref` is the lower-cased `kind:namespace/name`. `built_at`, `commit` and `pages` describe the published site,
    which a failed rebuild leaves in place (then `error` says why the newer build failed). `attempted_commit` is the
    commit the last build started from, whatever its outcome: docs follow their repository by comparing it with the
    repository's head, so a commit whose build failed is not rebuilt on every push or refresh pass."""

    __tablename__ = "techdocs_sites"

    ref: Mapped[str] = mapped_column(String(300), primary_key=True)
    namespace: Mapped[str] = mapped_column(String(63))
    kind: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(63))
    site_name: Mapped[str | None] = mapped_column(String(200))
    state: Mapped[str] = mapped_column(String(16))  # queued | building | built | failed
    commit: Mapped[str | None] = mapped_column(String(64))
    attempted_commit: Mapped[str | None] = mapped_column(String(64))
    built_at: Mapped[datetime | None]
    pages: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)
    requested_at: Mapped[datetime | None]
    seconds: Mapped[float | None]


class TechDocsPageRow(Base):
    __tablename__ = "techdocs_pages"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    site_ref: Mapped[str] = mapped_column(ForeignKey("techdocs_sites.ref", ondelete="CASCADE"), index=True)
    path: Mapped[str] = mapped_column(String(500))
    title: Mapped[str] = mapped_column(String(300))
    text: Mapped[str] = mapped_column(Text)
