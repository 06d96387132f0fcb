"""`/v1/webhooks`: GitHub, Alertmanager and PagerDuty deliveries as deployments and incidents.

Authentication: when a signing secret is configured (`ROADBED_GITHUB_WEBHOOK_SECRET`,
`ROADBED_PAGERDUTY_WEBHOOK_SECRET`) the delivery must carry a valid signature of its raw body (401
otherwise; a bearer token does not replace it). Without a secret — and always for Alertmanager, which
signs nothing (configure `http_config.authorization` with a Roadbed token) — a `developer` or
`platform-admin` bearer token is required, as for `/v1/events`.

Every delivery is validated whole before anything is stored (422 naming the offending fields, nothing
written); re-deliveries and replays change nothing (each event's identity is unique, see
`roadbed.storage.events`). Events a webhook is not about (a GitHub `push`, a PagerDuty
`incident.acknowledged`, a `pending` deployment status) are acknowledged with 200 and listed as ignored. A GitHub
`push` to a default branch also queues the TechDocs rebuild of the entities kept in that repository (`docs`).
Payload formats: `roadbed.metrics.sources`.

Signatures are hex digests; a header carrying anything beyond printable ASCII cannot be one and is
refused with 401 before it reaches `hmac.compare_digest` (which raises on non-ASCII text).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import SecretStr
from sqlalchemy.orm import Session

from roadbed.api.deps import State, require_service_owner
from roadbed.api.errors import ApiError
from roadbed.api.responses import WebhookResult
from roadbed.api.routers.events import deployment_view, incident_view, require_writer
from roadbed.api.routers.techdocs import docs_for_github_delivery
from roadbed.api.schemas import ERROR_RESPONSES
from roadbed.api.state import ApiState
from roadbed.auth import Principal, authenticate
from roadbed.domain.errors import FieldError, InvalidRequest
from roadbed.metrics import sources
from roadbed.storage import events

router = APIRouter(prefix="/v1/webhooks", tags=["webhooks"], responses=ERROR_RESPONSES)

MAX_BODY_BYTES = 5 * 1024 * 1024
_bearer = HTTPBearer(auto_error=False, description="A Roadbed token, when the webhook has no signing secret configured.")
Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]


def _secret(value: SecretStr | None) -> str | None:
    secret = value.get_secret_value() if value is not None else ""
    return secret or None


async def _authorise(
    state: Any,
    credentials: HTTPAuthorizationCredentials | None,
    body: bytes,
    secret: str | None = None,
    signature: str | None = None,
    verify: Callable[[str, bytes, str | None], bool] | None = None,
    header_name: str = "",
) -> Principal | None:
    """The token's principal, or None for a payload signed with the configured secret (the sender is trusted)."""
    if secret is not None and verify is not None:
        if not signature:
            raise ApiError(401, "unauthorized", f"missing {header_name} signature")
        if not (signature.isascii() and signature.isprintable()):
            raise ApiError(401, "unauthorized", f"{header_name} is not a valid signature (non-ASCII characters)")
        if not verify(secret, body, signature):
            raise ApiError(401, "unauthorized", f"{header_name} does not match the payload")
        return None
    if credentials is None or not credentials.credentials:
        raise ApiError(401, "unauthorized", "missing bearer token (no webhook secret is configured)")
    principal = await asyncio.to_thread(authenticate, state.database, credentials.credentials)
    if principal is None:
        raise ApiError(401, "unauthorized", "invalid or revoked token")
    require_writer(principal)
    return principal


async def _body(request: Request) -> bytes:
    body = await request.body()
    if len(body) > MAX_BODY_BYTES:
        raise ApiError(413, "payload_too_large", f"webhook payloads are limited to {MAX_BODY_BYTES} bytes")
    return body


Delivery = Annotated[bytes, Depends(_body)]


def _transaction(state: ApiState) -> Iterator[Session]:
    """A webhook's database session, opened only once its sender is authorised (each `_*_session` depends on its
    sender for that reason, as `DbSession` depends on the principal).

    Webhooks authenticate with their own credentials (a signature of the raw body, or a token that must be a
    writer's), so they cannot take `DbSession`, which waits for a bearer principal. The endpoints are sync `def`s
    all the same: the raw body is read by the async `Delivery` dependency and checked by the async sender ones, on
    the event loop and before this session is opened in the thread pool (413, then 401, as before; an invalid
    payload's 422 now comes from inside the open, still empty, transaction, which is then rolled back)."""
    with state.database.transaction() as session:
        yield session


async def _github_sender(request: Request, state: State, credentials: Credentials, body: Delivery) -> Principal | None:
    return await _authorise(
        state, credentials, body, _secret(state.settings.github_webhook_secret),
        request.headers.get("X-Hub-Signature-256"), sources.verify_github_signature, "X-Hub-Signature-256",
    )


async def _alertmanager_sender(state: State, credentials: Credentials, body: Delivery) -> Principal | None:
    return await _authorise(state, credentials, body)


async def _pagerduty_sender(request: Request, state: State, credentials: Credentials, body: Delivery) -> Principal | None:
    return await _authorise(
        state, credentials, body, _secret(state.settings.pagerduty_webhook_secret),
        request.headers.get("X-PagerDuty-Signature"), sources.verify_pagerduty_signature, "X-PagerDuty-Signature",
    )


GithubSender = Annotated[Principal | None, Depends(_github_sender)]
AlertmanagerSender = Annotated[Principal | None, Depends(_alertmanager_sender)]
PagerdutySender = Annotated[Principal | None, Depends(_pagerduty_sender)]


def _github_session(state: State, _sender: GithubSender) -> Iterator[Session]:
    yield from _transaction(state)


def _alertmanager_session(state: State, _sender: AlertmanagerSender) -> Iterator[Session]:
    yield from _transaction(state)


def _pagerduty_session(state: State, _sender: PagerdutySender) -> Iterator[Session]:
    yield from _transaction(state)


GithubSession = Annotated[Session, Depends(_github_session, scope="function")]
AlertmanagerSession = Annotated[Session, Depends(_alertmanager_session, scope="function")]
PagerdutySession = Annotated[Session, Depends(_pagerduty_session, scope="function")]


def _json(body: bytes) -> Any:
    try:
        return json.loads(body)
    except (UnicodeDecodeError, ValueError):
        raise InvalidRequest([FieldError("body", "not a valid JSON document")]) from None
    except RecursionError:
        raise InvalidRequest([FieldError("body", "JSON document is nested too deeply")]) from None


def _store(session: Session, source: str, translation: sources.Translation, principal: Principal | None) -> dict[str, Any]:
    """Store what the payload reports; a token-authenticated sender may only report on its own teams' services."""
    now = datetime.now(UTC)
    if principal is not None:
        for service in sorted({e.service for e in translation.deployments} | {e.service for e in translation.incidents}):
            require_service_owner(principal, session, service)
    deployments = [deployment_view(*events.record_deployment(session, event, now)) for event in translation.deployments]
    incidents = [incident_view(*events.record_incident(session, event, now, authoritative=False)) for event in translation.incidents]
    return {"source": source, "deployments": deployments, "incidents": incidents, "ignored": translation.ignored}


@router.post("/github", response_model=WebhookResult, summary="GitHub deployment_status webhook")
def github(request: Request, body: Delivery, principal: GithubSender, session: GithubSession) -> dict[str, Any]:
    event, payload = request.headers.get("X-GitHub-Event"), _json(body)
    result = _store(session, "github", sources.github_translation(event, payload), principal)
    if event == "push":  # docs follow their repository: `docs` lists the entities whose rebuild the push queued
        result["docs"] = docs_for_github_delivery(request.app, event, payload, principal)
    return result


@router.post("/alertmanager", response_model=WebhookResult, summary="Prometheus Alertmanager webhook (payload version 4)")
def alertmanager(state: State, body: Delivery, principal: AlertmanagerSender, session: AlertmanagerSession) -> dict[str, Any]:
    labels = [label.strip() for label in state.settings.alertmanager_service_labels.split(",") if label.strip()]
    translation = sources.alertmanager_translation(_json(body), labels, datetime.now(UTC))
    return _store(session, "alertmanager", translation, principal)


@router.post("/pagerduty", response_model=WebhookResult, summary="PagerDuty v3 webhook (incident.triggered / incident.resolved)")
def pagerduty(body: Delivery, principal: PagerdutySender, session: PagerdutySession) -> dict[str, Any]:
    translation = sources.pagerduty_translation(_json(body))
    return _store(session, "pagerduty", translation, principal)
