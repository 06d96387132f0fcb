"""Tables of stored template versions and of upgrades (migration 0017), campaigns and actions (0018).

A version's files are blobs keyed by their sha256, shared by every version that has the same bytes; a version row
lists them. `(golden_path, version)` is unique: a version is written once, by whichever API replica or worker gets
there first, and never changes afterwards (a later, different content under the same version is not stored).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from roadbed.storage.tables import Base


class TemplateBlobRow(Base):
    __tablename__ = "template_blobs"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    content: Mapped[bytes] = mapped_column(LargeBinary)


class TemplateVersionRow(Base):
    """One golden-path version as it was first loaded: `files` is `[{"path", "sha256", "mode"}]` relative to the
    template repository, `template_file` the template document among them."""

    __tablename__ = "template_versions"
    __table_args__ = (UniqueConstraint("golden_path", "version", name="uq_template_versions_golden_path_version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    golden_path: Mapped[str] = mapped_column(String(128))
    version: Mapped[str] = mapped_column(String(64))
    content_sha256: Mapped[str] = mapped_column(String(64), index=True)
    template_file: Mapped[str] = mapped_column(String(500))
    files: Mapped[list[Any]] = mapped_column(default=list)
    stored_at: Mapped[datetime]


class UpgradeRow(Base):
    """One upgrade of a service's repository to a golden-path version. `open_key` is `service/to_version` while the
    upgrade is neither MERGED nor CLOSED (NULL afterwards): its unique index makes asking again hand back the same
    upgrade, even from two replicas at once."""

    __tablename__ = "upgrades"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    open_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    service: Mapped[str] = mapped_column(String(63), index=True)
    team: Mapped[str] = mapped_column(String(63))
    golden_path: Mapped[str] = mapped_column(String(128))
    from_version: Mapped[str] = mapped_column(String(64))
    to_version: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))
    branch: Mapped[str] = mapped_column(String(255))
    parameters: Mapped[dict[str, Any]] = mapped_column(default=dict)
    files: Mapped[list[Any]] = mapped_column(default=list)
    pull_request_url: Mapped[str | None] = mapped_column(String(500), nullable=True)
    error: Mapped[str | None] = mapped_column(String(2000), nullable=True)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class CampaignRow(Base):
    """One campaign (migration 0018): every service of a golden path upgraded to `to_version`, `max_concurrent` at a
    time. `services` is `[{"service", "status", "upgrade_id"?, "error"?}]`, written by the campaign workflow's
    activities as each service moves; `max_in_flight` the most upgrades it ever had running at once."""

    __tablename__ = "upgrade_campaigns"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    golden_path: Mapped[str] = mapped_column(String(128))
    to_version: Mapped[str] = mapped_column(String(64))
    max_concurrent: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16))
    services: Mapped[list[Any]] = mapped_column(default=list)
    max_in_flight: Mapped[int] = mapped_column(Integer, default=0)
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class ActionRow(Base):
    """One action template run on an existing service (migration 0018): its rendered files as one commit on
    `branch` (a pull request on GitHub), never on the default branch."""

    __tablename__ = "service_actions"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    service: Mapped[str] = mapped_column(String(63), index=True)
    team: Mapped[str] = mapped_column(String(63))
    template: Mapped[str] = mapped_column(String(128))
    template_version: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))
    branch: Mapped[str] = mapped_column(String(255))
    title: Mapped[str] = mapped_column(String(500))
    description: Mapped[str] = mapped_column(Text)
    parameters: Mapped[dict[str, Any]] = mapped_column(default=dict)
    files: Mapped[list[Any]] = mapped_column(default=list)
    pull_request_url: Mapped[str | None] = mapped_column(String(500), nullable=True)
    error: Mapped[str | None] = mapped_column(String(2000), nullable=True)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
