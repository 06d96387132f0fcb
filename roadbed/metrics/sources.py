"""Where DORA inputs come from: GitHub, Alertmanager and PagerDuty webhook payloads, as events.

Each parser validates the whole payload first and raises `InvalidRequest` naming every offending field
(dotted paths into the payload), so a bad delivery stores nothing. Payload shapes are the senders'
public formats:

- GitHub `deployment_status` webhook (header `X-GitHub-Event: deployment_status`): `deployment_status.state`
  `success` → a successful deployment, `failure`/`error` → a failed one; `pending`, `queued`,
  `in_progress` and `inactive` are not outcomes and are ignored. Service = `repository.name`;
  environment = `deployment_status.environment` (else `deployment.environment`); commit =
  `deployment.sha`; finished = `deployment_status.created_at` (when the outcome was reported), started =
  `deployment.created_at`. GitHub does not send the commit time: it is read from the deployment's free-form
  `payload` (`{"commit_time": "..."}`) when the deployer put it there, otherwise unknown (that deployment
  then has no lead time). Identity: `github:<repository.full_name>:<deployment.id>` — later statuses of the
  same deployment (error, then success on a re-run) supersede earlier ones.
- Alertmanager webhook, payload `version` "4": every alert of `alerts[]` is an incident identified by
  `fingerprint` + `startsAt`; `firing` opens it, `resolved` closes it at `endsAt` (`0001-01-01T00:00:00Z`
  means "still open"). Service = the first of the configured labels present (`service`, `app`, `job`);
  environment from the `environment` or `env` label when present.
- PagerDuty v3 webhook: `event.event_type` `incident.triggered` opens, `incident.resolved` resolves
  (at `event.occurred_at`) the incident `event.data.id`; opened at `event.data.created_at` (else the
  event's `occurred_at`); service = `event.data.service.summary` (name PagerDuty services like the Roadbed
  services). Other event types are acknowledged and ignored.

Signatures: GitHub `X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the raw body>`; PagerDuty
`X-PagerDuty-Signature: v1=<hex>[,v1=<hex>...]` (several during a secret rotation; one match suffices).
Both compared in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, ValidationError

from roadbed.domain.errors import FieldError, InvalidRequest
from roadbed.storage.events import DeploymentEvent, IncidentEvent

ALERTMANAGER_OPEN = datetime(1, 1, 1).year
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(9999, 12, 30, tzinfo=UTC)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _printable(value: str) -> str:
    """Text that every engine database stores as given: no control characters (PostgreSQL refuses NUL),
    valid UTF-8 (no lone surrogates); surrounding whitespace is dropped, blank is refused."""
    if _CONTROL.search(value):
        raise ValueError("must not contain control characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("must be valid UTF-8 text") from None
    if not value.strip():
        raise ValueError("must not be blank")
    return value.strip()


def _moment(value: datetime) -> datetime:
    try:
        utc = value.astimezone(UTC)
    except OverflowError:
        raise ValueError("is out of range") from None
    if not EARLIEST <= utc <= LATEST:
        raise ValueError("must be between 1970-01-01 and 9999-12-30 (UTC)")
    return utc


#: Identifiers and names from outside: printable, storable text.
Printable = Annotated[str, AfterValidator(_printable)]
#: A timestamp with a zone, within what every engine database and `datetime` arithmetic can hold; as UTC.
Moment = Annotated[AwareDatetime, AfterValidator(_moment)]


def clean_text(value: str | None, limit: int = 500) -> str | None:
    """Free text (titles, summaries) made storable: control characters become spaces, bad UTF-8 is replaced."""
    if not value:
        return None
    text = _CONTROL.sub(" ", value.encode("utf-8", "replace").decode("utf-8")).strip()
    return text[:limit] or None


def invalid_from(exc: ValidationError, prefix: str = "") -> InvalidRequest:
    """A pydantic error as `InvalidRequest`, every field as a dotted path into the payload."""
    errors = []
    for error in exc.errors():
        path = ".".join(str(part) for part in error["loc"])
        errors.append(FieldError(f"{prefix}{path}" if path else (prefix.rstrip(".") or "body"), error["msg"]))
    return InvalidRequest(errors)


# -- signatures
def github_signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify_github_signature(secret: str, body: bytes, header: str | None) -> bool:
    return bool(header) and hmac.compare_digest(github_signature(secret, body), header.strip())  # type: ignore[union-attr]


def pagerduty_signature(secret: str, body: bytes) -> str:
    return "v1=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify_pagerduty_signature(secret: str, body: bytes, header: str | None) -> bool:
    if not header:
        return False
    expected = pagerduty_signature(secret, body)
    offered = [part.strip() for part in header.split(",") if part.strip().startswith("v1=")]
    return any(hmac.compare_digest(expected, candidate) for candidate in offered)


@dataclass
class Translation:
    """What a delivery means: events to store, and what was acknowledged but ignored (with why)."""

    deployments: list[DeploymentEvent] = field(default_factory=list)
    incidents: list[IncidentEvent] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)


class _Open(BaseModel):
    model_config = ConfigDict(extra="allow")


# -- GitHub
class _GithubStatus(_Open):
    state: str
    environment: Printable | None = Field(default=None, max_length=63)
    created_at: Moment


class _GithubDeployment(_Open):
    id: int
    sha: Printable = Field(min_length=1, max_length=100)
    ref: str | None = None
    environment: Printable | None = Field(default=None, max_length=63)
    created_at: Moment
    payload: Any = None


class _GithubRepository(_Open):
    name: Printable = Field(min_length=1, max_length=255)
    full_name: Printable | None = Field(default=None, max_length=200)


class _GithubDeploymentStatusEvent(_Open):
    action: str | None = None
    deployment_status: _GithubStatus
    deployment: _GithubDeployment
    repository: _GithubRepository


class _DeploymentPayload(_Open):
    commit_time: Moment | None = None
    team: Printable | None = Field(default=None, min_length=1, max_length=63)
    version: Printable | None = Field(default=None, max_length=128)


_GITHUB_OUTCOMES: dict[str, Literal["success", "failure"]] = {"success": "success", "failure": "failure", "error": "failure"}


def github_translation(event_name: str | None, payload: Any) -> Translation:
    if event_name != "deployment_status":
        return Translation(ignored=[f"GitHub event {event_name or '(none)'!r} is not a deployment_status event"])
    try:
        event = _GithubDeploymentStatusEvent.model_validate(payload)
    except ValidationError as exc:
        raise invalid_from(exc) from None
    state = event.deployment_status.state
    if state not in _GITHUB_OUTCOMES:
        return Translation(ignored=[f"deployment_status.state {state!r} is not an outcome"])
    environment = event.deployment_status.environment or event.deployment.environment
    if not environment:
        raise InvalidRequest([FieldError("deployment.environment", "no environment in deployment_status or deployment")])
    extra = _DeploymentPayload()
    if isinstance(event.deployment.payload, dict):
        try:
            extra = _DeploymentPayload.model_validate(event.deployment.payload)
        except ValidationError as exc:
            raise invalid_from(exc, "deployment.payload.") from None
    repository = event.repository.full_name or event.repository.name
    return Translation(
        deployments=[
            DeploymentEvent(
                key=f"github:{repository}:{event.deployment.id}",
                source="github",
                service=event.repository.name,
                environment=environment,
                commit_sha=event.deployment.sha,
                commit_time=extra.commit_time,
                started_at=event.deployment.created_at,
                deployed_at=event.deployment_status.created_at,
                status=_GITHUB_OUTCOMES[state],
                team=extra.team,
                version=extra.version or clean_text(event.deployment.ref, 128),
            )
        ]
    )


# -- Alertmanager
class _Alert(_Open):
    status: Literal["firing", "resolved"]
    labels: dict[str, str]
    annotations: dict[str, str] = Field(default_factory=dict)
    startsAt: Moment  # noqa: N815 - Alertmanager's field name
    endsAt: AwareDatetime | None = None  # noqa: N815 - "0001-01-01T00:00:00Z" while firing
    fingerprint: Printable = Field(min_length=1, max_length=100)


class _AlertmanagerWebhook(_Open):
    version: str
    status: str | None = None
    alerts: list[_Alert]


def _is_set(moment: datetime | None) -> bool:
    return moment is not None and moment.year > ALERTMANAGER_OPEN


def alertmanager_translation(payload: Any, service_labels: list[str], now: datetime) -> Translation:
    try:
        webhook = _AlertmanagerWebhook.model_validate(payload)
    except ValidationError as exc:
        raise invalid_from(exc) from None
    if webhook.version != "4":
        raise InvalidRequest([FieldError("version", f"webhook payload version {webhook.version!r} is not supported (expected '4')")])
    errors = []
    incidents = []
    for index, alert in enumerate(webhook.alerts):
        label = next((label for label in service_labels if alert.labels.get(label)), None)
        if label is None:
            errors.append(FieldError(f"alerts.{index}.labels", f"no service label (one of {', '.join(service_labels)})"))
            continue
        environment = alert.labels.get("environment") or alert.labels.get("env")
        try:
            service = _printable(alert.labels[label])
            environment = _printable(environment) if environment else None
            ends = _moment(alert.endsAt) if _is_set(alert.endsAt) else None
        except ValueError as exc:
            errors.append(FieldError(f"alerts.{index}", str(exc)))
            continue
        if len(service) > 255 or len(environment or "") > 63:
            errors.append(FieldError(f"alerts.{index}.labels", "service label longer than 255 or environment label longer than 63 characters"))
            continue
        resolved_at = None
        if alert.status == "resolved":
            resolved_at = max(ends or now, alert.startsAt)
        title = clean_text(" — ".join(part for part in (alert.labels.get("alertname"), alert.annotations.get("summary")) if part))
        incidents.append(
            IncidentEvent(
                key=f"alertmanager:{alert.fingerprint}:{alert.startsAt.astimezone(UTC).isoformat()}",
                source="alertmanager",
                service=service,
                environment=environment,
                title=title,
                opened_at=alert.startsAt,
                resolved_at=resolved_at,
            )
        )
    if errors:
        raise InvalidRequest(errors)
    return Translation(incidents=incidents)


# -- PagerDuty
class _PagerDutyService(_Open):
    summary: Printable = Field(min_length=1, max_length=255)


class _PagerDutyIncident(_Open):
    id: Printable = Field(min_length=1, max_length=200)
    created_at: Moment | None = None
    title: str | None = None
    service: _PagerDutyService


class _PagerDutyEvent(_Open):
    id: str | None = None
    event_type: str
    occurred_at: Moment
    data: dict[str, Any]


class _PagerDutyWebhook(_Open):
    event: _PagerDutyEvent


_PAGERDUTY_HANDLED = ("incident.triggered", "incident.resolved")


def pagerduty_translation(payload: Any) -> Translation:
    try:
        webhook = _PagerDutyWebhook.model_validate(payload)
    except ValidationError as exc:
        raise invalid_from(exc) from None
    event = webhook.event
    if event.event_type not in _PAGERDUTY_HANDLED:
        return Translation(ignored=[f"PagerDuty event type {event.event_type!r} does not open or resolve an incident"])
    try:
        incident = _PagerDutyIncident.model_validate(event.data)
    except ValidationError as exc:
        raise invalid_from(exc, "event.data.") from None
    opened_at = incident.created_at or event.occurred_at
    resolved_at = max(event.occurred_at, opened_at) if event.event_type == "incident.resolved" else None
    return Translation(
        incidents=[
            IncidentEvent(
                key=f"pagerduty:{incident.id}",
                source="pagerduty",
                service=incident.service.summary,
                title=clean_text(incident.title),
                opened_at=opened_at,
                resolved_at=resolved_at,
            )
        ]
    )
