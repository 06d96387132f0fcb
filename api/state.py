"""What the API holds for its lifetime: the database, golden paths and a lazily connected Temporal client."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from temporalio.client import Client

from roadbed.golden_paths import GoldenPathRegistry
from roadbed.lifecycle import EnvironmentLifecycle
from roadbed.ports import InfrastructureRunner
from roadbed.settings import Settings
from roadbed.storage.database import Database
from roadbed.submission import EnvironmentSubmitter
from roadbed.temporal import connect_temporal
from roadbed.validation import RequestValidator


@dataclass
class ApiState:
    settings: Settings
    database: Database
    golden_paths: GoldenPathRegistry
    validator: RequestValidator
    planner: InfrastructureRunner
    client: Client | None = None
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    async def temporal(self) -> Client:
        """Connect on first use, so the API serves reads even while Temporal is still starting."""
        async with self._lock:
            if self.client is None:
                self.client = await connect_temporal(self.settings, wait_seconds=5)
            return self.client

    async def submitter(self) -> EnvironmentSubmitter:
        return EnvironmentSubmitter(self.database, await self.temporal(), self.validator, self.settings)

    async def lifecycle(self) -> EnvironmentLifecycle:
        return EnvironmentLifecycle(self.database, await self.temporal(), self.settings.task_queue)
