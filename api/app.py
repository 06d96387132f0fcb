"""The FastAPI app factory. Nothing is built at import time: `create_app(settings)` does it all."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from roadbed.adapters.terraform_cli_runner import runner_for
from roadbed.api.audit import install_audit
from roadbed.api.docs_assets import install_docs
from roadbed.api.errors import install_error_handlers
from roadbed.api.limits import BodySizeLimit
from roadbed.api.portal import install_portal
from roadbed.api.routers import (
    audit,
    catalog,
    deployments,
    drift,
    environments,
    events,
    golden_paths,
    health,
    health_service,
    metrics,
    reports,
    search,
    services,
    techdocs,
    tokens,
    upgrades,
    webhooks,
)
from roadbed.api.routers import campaigns as upgrade_campaigns
from roadbed.api.routers import policies as policy_routes
from roadbed.api.schemas import install_openapi
from roadbed.api.state import ApiState
from roadbed.golden_paths import GoldenPathRegistry
from roadbed.observability import instrument_app
from roadbed.policies import policy_engine
from roadbed.settings import LogFormat, Settings
from roadbed.storage.database import Database
from roadbed.template_fetch import skeleton_fetcher
from roadbed.upgrades import template_store
from roadbed.validation import RequestValidator


def freeze_startup_objects() -> None:
    """Move what exists once the app has started (modules, routes, models: ~250,000 objects) out of the collector's
    sight (`gc.freeze`): they live as long as the process, and a full collection walking them paused a request every
    few pages for ~150 ms — the p95 of the report pages (bench/portal.py). Objects made later are collected as usual."""
    gc.collect()
    gc.freeze()


def create_app(settings: Settings, database: Database | None = None, *, freeze_after_start: bool = False) -> FastAPI:
    """`freeze_after_start`: the serving process (`roadbed api`/`up`) freezes its start-up objects
    (`freeze_startup_objects`); tests, which build thousands of apps in one process, do not."""
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        db = database or Database(settings.resolved_database_url)
        db.migrate()
        registry = GoldenPathRegistry(settings.golden_path_dirs, fetcher=skeleton_fetcher(settings))
        template_store.store_all(db, registry)  # every version a request can record stays renderable (issue 16)
        policy_engine(settings.policy_dir_paths)  # loaded at start: a policy file that fails to load is logged now
        validator = RequestValidator(registry, settings.terraform_modules_dir)
        app.state.roadbed = ApiState(settings, db, registry, validator, planner=runner_for(settings))
        docs_refresher = techdocs.start_refresher(app)  # the embedded repo host's docs follow its commits
        if freeze_after_start:
            freeze_startup_objects()
        yield
        if docs_refresher is not None:
            docs_refresher.stop()
        if database is None:
            db.dispose()

    app = FastAPI(
        title="Roadbed",
        version="0.1.0",
        description="Self-service provisioning for Internal Developer Platforms, on durable Temporal workflows.",
        lifespan=lifespan,
        docs_url=None,  # served by install_docs from packaged assets: the default loads them from a CDN
        redoc_url=None,
    )
    install_docs(app)
    install_error_handlers(app)
    install_audit(app)
    app.add_middleware(BodySizeLimit)
    for module in (health, environments, services, health_service, deployments, golden_paths, catalog, metrics, audit, events, webhooks, reports, search, tokens, upgrades, upgrade_campaigns, drift):
        app.include_router(module.router)
    app.include_router(policy_routes.router)
    install_openapi(app)  # request bodies the handlers parse themselves, documented from their models
    install_portal(app)  # server-rendered pages; after the API's error handlers, which it wraps for pages
    instrument_app(app, access_lines=settings.log_format is LogFormat.JSON)  # last, so outermost: a request id for the logs; OTEL_* tracing when configured
    return app
