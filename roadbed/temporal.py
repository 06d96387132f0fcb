"""The one way to reach Temporal: `connect_temporal()` with the pydantic data converter.

Shared by the API, the worker and the CLI, so every payload (pydantic models, datetimes,
timedeltas) is encoded the same way everywhere.
"""

from __future__ import annotations

import asyncio

from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest, ListSearchAttributesRequest
from temporalio.client import Client
from temporalio.common import SearchAttributeKey, SearchAttributePair, TypedSearchAttributes
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.runtime import Runtime
from temporalio.service import RPCError

from roadbed.domain.errors import TransientError
from roadbed.observability import temporal_interceptors
from roadbed.settings import LogFormat, Settings

SEARCH_SERVICE = SearchAttributeKey.for_keyword("RoadbedService")
SEARCH_TEAM = SearchAttributeKey.for_keyword("RoadbedTeam")
SEARCH_GOLDEN_PATH = SearchAttributeKey.for_keyword("RoadbedGoldenPath")
SEARCH_ENVIRONMENT = SearchAttributeKey.for_keyword("RoadbedEnvironment")
SEARCH_ATTRIBUTES = (SEARCH_SERVICE, SEARCH_TEAM, SEARCH_GOLDEN_PATH, SEARCH_ENVIRONMENT)


def search_attributes_for(service: str, team: str, golden_path: str, environment: str) -> TypedSearchAttributes:
    return TypedSearchAttributes(
        [
            SearchAttributePair(SEARCH_SERVICE, service),
            SearchAttributePair(SEARCH_TEAM, team),
            SearchAttributePair(SEARCH_GOLDEN_PATH, golden_path),
            SearchAttributePair(SEARCH_ENVIRONMENT, environment),
        ]
    )


async def connect_temporal(settings: Settings, *, wait_seconds: float = 0.0, runtime: Runtime | None = None) -> Client:
    """Connect with the shared data converter, retrying for up to `wait_seconds` while Temporal starts.

    With `OTEL_*` tracing on, the client carries Temporal's tracing interceptor (a worker inherits it from its client);
    `runtime` is a worker's metrics runtime (roadbed.observability.worker_runtime).
    """
    deadline = asyncio.get_running_loop().time() + wait_seconds
    while True:
        try:
            return await Client.connect(
                settings.resolved_temporal_address, namespace=settings.temporal_namespace, data_converter=pydantic_data_converter,
                interceptors=temporal_interceptors(step_lines=settings.log_format is LogFormat.JSON), runtime=runtime,
            )
        except RuntimeError as exc:
            if asyncio.get_running_loop().time() >= deadline:
                raise TransientError(f"Temporal at {settings.resolved_temporal_address} is not reachable: {exc}") from exc
            await asyncio.sleep(0.2)


async def ensure_search_attributes(client: Client, namespace: str) -> None:
    """Register Roadbed's search attributes on a cluster that lacks them (the dev server gets them at start)."""
    existing = await client.operator_service.list_search_attributes(ListSearchAttributesRequest(namespace=namespace))
    missing = {key.name: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD for key in SEARCH_ATTRIBUTES if key.name not in existing.custom_attributes}
    if not missing:
        return
    try:
        await client.operator_service.add_search_attributes(AddSearchAttributesRequest(namespace=namespace, search_attributes=missing))
    except RPCError as exc:
        if "already exists" not in str(exc).lower():
            raise
