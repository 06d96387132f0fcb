"""Table definitions of the engine database (SQLite and PostgreSQL alike)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, DateTime, ForeignKey, Index, Integer, String, Text, TypeDecorator, UniqueConstraint, text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class UtcDateTime(TypeDecorator[datetime]):
    """Timestamps are stored and returned as aware UTC datetimes (SQLite forgets the zone otherwise)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: object) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("naive datetime given to the engine database")
        return value.astimezone(UTC) if value is not None else None

    def process_result_value(self, value: datetime | None, dialect: object) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON, datetime: UtcDateTime}


class EnvironmentRow(Base):
    """One provisioning request and the environment it became.

    `live_key` is `service/environment` while the environment holds its slot and NULL afterwards;
    its unique index makes "one live environment per service+environment" a database fact, so two
    racing requests cannot both win.
    """

    __tablename__ = "environments"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    request_id: Mapped[str | None] = mapped_column(String(128), unique=True)
    live_key: Mapped[str | None] = mapped_column(String(140), unique=True)
    service: Mapped[str] = mapped_column(String(63), index=True)
    team: Mapped[str] = mapped_column(String(63), index=True)
    golden_path: Mapped[str] = mapped_column(String(128))
    golden_path_version: Mapped[str] = mapped_column(String(64))
    environment: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(24), index=True)
    workflow_id: Mapped[str] = mapped_column(String(255), unique=True)
    parameters: Mapped[dict[str, Any]] = mapped_column(default=dict)
    resources: Mapped[list[Any]] = mapped_column(default=list)
    outputs: Mapped[dict[str, Any]] = mapped_column(default=dict)
    provision_input: Mapped[dict[str, Any]] = mapped_column(default=dict)
    error: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    created_at: Mapped[datetime]
    ready_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    approved_at: Mapped[datetime | None]  # left PENDING_APPROVAL for RUNNING: splits approval wait from provisioning time
    expires_at: Mapped[datetime | None]  # a request with a `ttl`: decommissioned then (roadbed.storage.expiry)


class ServiceRow(Base):
    """Who owns a service: the team that first provisioned it, until it is transferred.

    The primary key on `name` makes the first claim a database fact, so two teams racing for a new
    service name cannot both win. `former_teams` lets a repository marker written for an earlier owner
    be recognised (and rewritten) after a transfer; nobody else's marker is ever adopted.
    """

    __tablename__ = "services"

    name: Mapped[str] = mapped_column(String(63), primary_key=True)
    team: Mapped[str] = mapped_column(String(63), index=True)
    former_teams: Mapped[list[Any]] = mapped_column(default=list)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class StepRow(Base):
    __tablename__ = "steps"
    __table_args__ = (UniqueConstraint("environment_id", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    environment_id: Mapped[str] = mapped_column(ForeignKey("environments.id", ondelete="CASCADE"))
    position: Mapped[int]
    name: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(24))
    attempts: Mapped[int] = mapped_column(default=0)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    #: an undo's own times: the forward run's `started_at`/`finished_at` stay as they were
    compensation_started_at: Mapped[datetime | None]
    compensation_finished_at: Mapped[datetime | None]
    detail: Mapped[str | None] = mapped_column(Text)
    #: the step's own (forward) failure: while its partial work is undone it keeps status `failed` and this reason
    error: Mapped[str | None] = mapped_column(Text)


class CatalogEntityRow(Base):
    """A Backstage entity. `ref` is the lower-cased `kind:namespace/name`, unique like in Backstage."""

    __tablename__ = "catalog_entities"

    ref: Mapped[str] = mapped_column(String(300), primary_key=True)
    kind: Mapped[str] = mapped_column(String(32), index=True)
    namespace: Mapped[str] = mapped_column(String(63))
    name: Mapped[str] = mapped_column(String(63))
    owner: Mapped[str | None] = mapped_column(String(300), index=True)
    body: Mapped[dict[str, Any]]
    environment_id: Mapped[str | None] = mapped_column(String(40), index=True)
    updated_at: Mapped[datetime]
    #: `roadbed.search.search_text(body)`: lower-cased name, title, description and tags between delimiters, written
    #: with the body (`storage.catalog`); the full-text index (migration 0012: FTS5 triggers / a generated tsvector)
    #: is built from it, so search ranks in the database without decoding bodies
    search_text: Mapped[str | None] = mapped_column(Text)


class ApiTokenRow(Base):
    """An API token, stored as a SHA-256 hash; the token itself is shown once at creation."""

    __tablename__ = "api_tokens"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(32))
    teams: Mapped[list[Any]] = mapped_column(default=list)
    description: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
    service: Mapped[str | None] = mapped_column(String(63), index=True)  # a deployer token's one service (migration 0014)
    sealed_token: Mapped[str | None] = mapped_column(Text)  # a pipeline's deployer token, sealed (roadbed.sealing) to set it again


Index("ix_environments_finished", EnvironmentRow.status, EnvironmentRow.finished_at)
_LIVE_PIPELINE_TOKEN = text("role = 'deployer' AND sealed_token IS NOT NULL AND revoked_at IS NULL")
Index("uq_api_tokens_live_pipeline_token", ApiTokenRow.service, unique=True, sqlite_where=_LIVE_PIPELINE_TOKEN, postgresql_where=_LIVE_PIPELINE_TOKEN)


class DeploymentRow(Base):
    """One deployment of a service to an environment (a DORA input).

    `key` is the event's identity (the `id` given by the sender, or a source-qualified id such as
    `github:<repo>:<deployment id>`, or a hash of the event's fields); its unique constraint makes
    replays and re-deliveries no-ops. `status` is `success`, `failure` or `rolled_back`.
    """

    __tablename__ = "deployments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(255), unique=True)
    source: Mapped[str] = mapped_column(String(32))
    service: Mapped[str] = mapped_column(String(255))
    environment: Mapped[str] = mapped_column(String(63))
    team: Mapped[str | None] = mapped_column(String(63), index=True)
    version: Mapped[str | None] = mapped_column(String(128))
    commit_sha: Mapped[str] = mapped_column(String(100))
    commit_time: Mapped[datetime | None]
    started_at: Mapped[datetime | None]
    deployed_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(16))
    received_at: Mapped[datetime]


class IncidentRow(Base):
    """One production incident (a DORA input); open while `resolved_at` is NULL.

    `caused_by_deployment` is the `key` of the deployment the sender blamed (not a foreign key: an
    incident may name a deployment that is reported later). `environment` NULL means "whichever
    environment is being reported" (most incident tools know the service only).
    """

    __tablename__ = "incidents"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(255), unique=True)
    source: Mapped[str] = mapped_column(String(32))
    service: Mapped[str] = mapped_column(String(255))
    environment: Mapped[str | None] = mapped_column(String(63))
    title: Mapped[str | None] = mapped_column(String(500))
    opened_at: Mapped[datetime]
    resolved_at: Mapped[datetime | None]
    caused_by_deployment: Mapped[str | None] = mapped_column(String(255), index=True)
    received_at: Mapped[datetime]
    updated_at: Mapped[datetime]


# DORA queries: a window of one environment (organisation), one service's history in order, and
# "has this commit been deployed before?" are each one index range.
Index("ix_deployments_environment_time", DeploymentRow.environment, DeploymentRow.deployed_at)
Index("ix_deployments_service_time", DeploymentRow.service, DeploymentRow.environment, DeploymentRow.deployed_at, DeploymentRow.id)
Index("ix_deployments_commit", DeploymentRow.service, DeploymentRow.environment, DeploymentRow.commit_sha, DeploymentRow.deployed_at)
# migration 0015: covering indexes for the DORA window scan and the "deployed before?" probe (see its docstring)
Index("ix_deployments_window", DeploymentRow.environment, DeploymentRow.deployed_at, DeploymentRow.status, DeploymentRow.service,
      DeploymentRow.commit_sha, DeploymentRow.commit_time, DeploymentRow.id)
Index("ix_deployments_commit_status", DeploymentRow.service, DeploymentRow.environment, DeploymentRow.commit_sha, DeploymentRow.deployed_at,
      DeploymentRow.status)
Index("ix_incidents_service_opened", IncidentRow.service, IncidentRow.opened_at)
Index("ix_incidents_opened", IncidentRow.opened_at)
Index("ix_incidents_resolved", IncidentRow.resolved_at)


class AuditRow(Base):
    """One mutation through the API: who (token and role), what (method, path, target), when, the
    request id it was answered under, and the outcome (HTTP status)."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(index=True)
    request_id: Mapped[str] = mapped_column(String(64), index=True)
    actor: Mapped[str | None] = mapped_column(String(40), index=True)
    role: Mapped[str | None] = mapped_column(String(32))
    method: Mapped[str] = mapped_column(String(8))
    path: Mapped[str] = mapped_column(String(500))
    status: Mapped[int]
    outcome: Mapped[str] = mapped_column(String(16))
