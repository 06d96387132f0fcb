"""`/v1/webhooks`: GitHub, Alertmanager and PagerDuty deliveries as deployments and incidents.

Authentication: when a signing secret is configured (`ROADBED_GITHUB_WEBHOOK_SECRET`,
`ROADBED_PAGERDUTY_WEBHOOK_SECRET`) the delivery must carry a valid signature of its raw body (401
otherwise; a bearer token does not replace it). Without a secret — and always for Alertmanager, which
signs nothing (configure `http_config.authorization` with a Roadbed token) — a `developer` or
`platform-admin` bearer token is required, as for `/v1/events`.

Every delivery is validated whole before anything is stored (422 naming the offending fields, nothing
written); re-deliveries and replays change nothing (each event's identity is unique, see
`roadbed.storage.events`). Events a webhook is not about (a GitHub `push`, a PagerDuty
`incident.acknowledged`, a `pending` deployment status) are acknowledged with 200 and listed as ignored.
Payload formats: `roadbed.metrics.sources`.

Signatures are hex digests; a header carrying anything beyond printable ASCII cannot be one and is
refused with 401 before it reaches `hmac.compare_digest` (which raises on non-ASCII text).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import SecretStr

from roadbed.api.deps import State, require_service_owner
from roadbed.api.errors import ApiError
from roadbed.api.responses import WebhookResult
from roadbed.api.routers.events import deployment_view, incident_view, require_writer
from roadbed.api.schemas import ERROR_RESPONSES
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


def _json(body: bytes) -> Any:
    try:
        return json.loads(body)
    except (UnicodeDecodeError, ValueError):
        raise InvalidRequest([FieldError("body", "not a valid JSON document")]) from None
    except RecursionError:
        raise InvalidRequest([FieldError("body", "JSON document is nested too deeply")]) from None


async def _store(state: Any, source: str, translation: sources.Translation, principal: Principal | None) -> dict[str, Any]:
    """Store what the payload reports; a token-authenticated sender may only report on its own teams' services."""

    def store() -> dict[str, Any]:
        now = datetime.now(UTC)
        with state.database.transaction() as session:
            if principal is not None:
                for service in sorted({e.service for e in translation.deployments} | {e.service for e in translation.incidents}):
                    require_service_owner(principal, session, service)
            deployments = [deployment_view(*events.record_deployment(session, event, now)) for event in translation.deployments]
            incidents = [incident_view(*events.record_incident(session, event, now, authoritative=False)) for event in translation.incidents]
        return {"source": source, "deployments": deployments, "incidents": incidents, "ignored": translation.ignored}

    return await asyncio.to_thread(store)


@router.post("/github", response_model=WebhookResult, summary="GitHub deployment_status webhook")
async def github(request: Request, state: State, credentials: Credentials) -> dict[str, Any]:
    body = await _body(request)
    principal = await _authorise(
        state, credentials, body, _secret(state.settings.github_webhook_secret),
        request.headers.get("X-Hub-Signature-256"), sources.verify_github_signature, "X-Hub-Signature-256",
    )
    translation = sources.github_translation(request.headers.get("X-GitHub-Event"), _json(body))
    return await _store(state, "github", translation, principal)


@router.post("/alertmanager", response_model=WebhookResult, summary="Prometheus Alertmanager webhook (payload version 4)")
async def alertmanager(request: Request, state: State, credentials: Credentials) -> dict[str, Any]:
    body = await _body(request)
    principal = await _authorise(state, credentials, body)
    labels = [label.strip() for label in state.settings.alertmanager_service_labels.split(",") if label.strip()]
    translation = sources.alertmanager_translation(_json(body), labels, datetime.now(UTC))
    return await _store(state, "alertmanager", translation, principal)


@router.post("/pagerduty", response_model=WebhookResult, summary="PagerDuty v3 webhook (incident.triggered / incident.resolved)")
async def pagerduty(request: Request, state: State, credentials: Credentials) -> dict[str, Any]:
    body = await _body(request)
    principal = await _authorise(
        state, credentials, body, _secret(state.settings.pagerduty_webhook_secret),
        request.headers.get("X-PagerDuty-Signature"), sources.verify_pagerduty_signature, "X-PagerDuty-Signature",
    )
    translation = sources.pagerduty_translation(_json(body))
    return await _store(state, "pagerduty", translation, principal)
