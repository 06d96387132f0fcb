"""Reports for SREs and platform teams: DORA, golden-path adoption, scorecards, platform SLOs, `/metrics`.

Every JSON report needs a token of any role (viewers included: reading reports is what they are for).
`GET /metrics` is unauthenticated Prometheus exposition (see `roadbed.metrics.exposition` for why).
Definitions: DESIGN.md, "Metrics definitions", and the module docstrings under `roadbed/metrics/`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Query
from fastapi.responses import Response

from roadbed.api.deps import CurrentPrincipal, DbSession, State
from roadbed.api.responses import AdoptionReport, DoraProfiles, DoraReport, ScorecardsReport, SloReport
from roadbed.api.schemas import ERROR_RESPONSES
from roadbed.domain.errors import FieldError, InvalidRequest
from roadbed.metrics import exposition
from roadbed.metrics.adoption import adoption_report
from roadbed.metrics.dora import DoraScope, dora_report
from roadbed.metrics.scorecards import scorecards
from roadbed.metrics.slo_report import slo_report
from roadbed.metrics.thresholds import PROFILES, Profile, get_profile

router = APIRouter(responses=ERROR_RESPONSES)

#: Query filters reach SQL: printable text only (PostgreSQL refuses NUL), bounded like the columns.
NAME_PATTERN = r"^[^\x00-\x1f\x7f]+$"


def _profile(state: Any, name: str | None) -> Profile:
    if name is not None and name not in PROFILES:
        raise InvalidRequest([FieldError("profile", f"unknown profile {name!r}; known: {', '.join(sorted(PROFILES))}")])
    return get_profile(name or state.settings.dora_profile)


@router.get("/v1/metrics/dora", tags=["metrics"], response_model=DoraReport, response_model_exclude_unset=True, summary="DORA metrics with tiers")
def get_dora(
    state: State,
    _principal: CurrentPrincipal,
    session: DbSession,
    team: str | None = Query(default=None, min_length=1, max_length=63, pattern=NAME_PATTERN),
    service: str | None = Query(default=None, min_length=1, max_length=255, pattern=NAME_PATTERN),
    environment: str = Query(default="prod", min_length=1, max_length=63, pattern=NAME_PATTERN),
    window_days: int = Query(default=30, ge=1, le=3650),
    profile: str | None = Query(default=None, description="threshold profile: default, dora-2021, fourkeys-2019"),
    by_service: bool = Query(default=False, description="add one report per service"),
) -> dict[str, Any]:
    chosen = _profile(state, profile)
    scope = DoraScope(environment=environment, window_days=window_days, service=service, team=team, link_gap_hours=state.settings.incident_link_gap_hours)
    return dora_report(session, scope, now=datetime.now(UTC), profile=chosen, by_service=by_service)


@router.get("/v1/metrics/dora/profiles", tags=["metrics"], response_model=DoraProfiles, summary="The DORA threshold profiles")
async def get_dora_profiles(state: State, _principal: CurrentPrincipal) -> dict[str, Any]:
    return {"active": state.settings.dora_profile, "profiles": [profile.describe() for profile in PROFILES.values()]}


@router.get("/v1/metrics/adoption", tags=["metrics"], response_model=AdoptionReport, summary="Golden-path adoption over the catalog")
def get_adoption(
    state: State, _principal: CurrentPrincipal, session: DbSession, team: str | None = Query(default=None, min_length=1, max_length=63, pattern=NAME_PATTERN)
) -> dict[str, Any]:
    return adoption_report(session, state.golden_paths, team=team)


@router.get("/v1/scorecards", tags=["scorecards"], response_model=ScorecardsReport, summary="Scorecards per service (0-100) and averages")
def get_scorecards(
    state: State, _principal: CurrentPrincipal, session: DbSession, team: str | None = Query(default=None, min_length=1, max_length=63, pattern=NAME_PATTERN)
) -> dict[str, Any]:
    profile = _profile(state, None)
    return scorecards(session, state.golden_paths, now=datetime.now(UTC), team=team, profile=profile, link_gap_hours=state.settings.incident_link_gap_hours)


@router.get("/v1/slo/report", tags=["slo"], response_model=SloReport, summary="The platform's own SLOs: SLI, error budget, burn rates")
def get_slo_report(_principal: CurrentPrincipal, session: DbSession, window_days: int = Query(default=28, ge=7, le=90)) -> dict[str, Any]:
    return slo_report(session, now=datetime.now(UTC), window_days=window_days)


@router.get("/metrics", tags=["metrics"], summary="Prometheus exposition of the reports (unauthenticated)", response_class=Response)
def get_metrics(state: State) -> Response:
    # unauthenticated, so no `DbSession` (that one waits for a principal): the collector opens its own transactions
    collector = exposition.RoadbedCollector(state.database, state.golden_paths, _profile(state, None), state.settings.incident_link_gap_hours)
    body = exposition.render(collector)
    return Response(content=body, media_type=exposition.CONTENT_TYPE)
