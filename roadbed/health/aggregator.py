"""Runs every source of a service environment at once, each within its deadline, behind a short cache.

Why a deadline per source and not per document: the point of the page is that one slow or broken system never
hides the others, so each source gets `timeout` seconds and then reads `unknown` ("no answer within 2 s") while
the rest are shown. Why the cache: the portal's home page asks for many services at once and a refresh storm
must not become one to the upstream systems; answers (including `unknown` ones, so a hanging source is not
hammered) are kept `ttl` seconds per (service, environment, source), and concurrent askers of the same key
share one fetch.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence

from roadbed.health.model import SOURCE_NAMES, HealthDocument, HealthStatus, SourceSection, worst
from roadbed.health.port import HealthTarget, ServiceHealth, SourceError, section

DEFAULT_TTL_SECONDS = 10.0
_MAX_CACHED = 10_000  # entries; expired ones are dropped when the cache grows past this

CacheKey = tuple[str, str, str]


class HealthAggregator:
    def __init__(
        self,
        sources: Sequence[ServiceHealth],
        *,
        timeout: float,
        ttl: float = DEFAULT_TTL_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        unknown = {source.name for source in sources} - set(SOURCE_NAMES)
        if unknown:
            raise ValueError(f"unknown health sources {sorted(unknown)}; the contract names {list(SOURCE_NAMES)}")
        self.sources = {source.name: source for source in sources}
        self.timeout = timeout
        self.ttl = ttl
        self._clock = clock
        self._cache: dict[CacheKey, tuple[float, SourceSection]] = {}
        self._inflight: dict[CacheKey, asyncio.Future[SourceSection]] = {}

    async def document(self, target: HealthTarget) -> HealthDocument:
        names = list(SOURCE_NAMES)
        sections = await asyncio.gather(*(self._section(name, target) for name in names))
        sources = dict(zip(names, sections, strict=True))
        return HealthDocument(
            service=target.service, environment=target.environment, status=worst([s.status for s in sections]), sources=sources
        )

    def forget(self) -> None:
        """Drop every cached answer (tests, and an operator changing settings)."""
        self._cache.clear()

    async def _section(self, name: str, target: HealthTarget) -> SourceSection:
        source = self.sources.get(name)
        if source is None or not source.configured:
            return section(HealthStatus.NOT_CONFIGURED)
        key = (target.service, target.environment, name)
        cached = self._cache.get(key)
        if cached is not None and cached[0] > self._clock():
            return cached[1]
        pending = self._inflight.get(key)
        if pending is None:
            pending = asyncio.ensure_future(self._fetch(source, target))
            self._inflight[key] = pending
            pending.add_done_callback(lambda _done: self._inflight.pop(key, None))
        answer = await asyncio.shield(pending)
        self._remember(key, answer)
        return answer

    async def _fetch(self, source: ServiceHealth, target: HealthTarget) -> SourceSection:
        try:
            answer = await asyncio.wait_for(source.check(target), self.timeout)
        except TimeoutError:
            return section(HealthStatus.UNKNOWN, reason=f"no answer within {self.timeout:g} s")
        except SourceError as exc:
            return section(HealthStatus.UNKNOWN, reason=str(exc))
        except Exception as exc:  # noqa: BLE001 - any failure of one source is that section's `unknown`, never the document's
            return section(HealthStatus.UNKNOWN, reason=f"{type(exc).__name__}: {exc}"[:500])
        if not isinstance(answer, SourceSection):
            return section(HealthStatus.UNKNOWN, reason=f"source {source.name} answered {type(answer).__name__}, not a section")
        return answer

    def _remember(self, key: CacheKey, answer: SourceSection) -> None:
        now = self._clock()
        if len(self._cache) >= _MAX_CACHED:
            for stale in [k for k, (expires, _) in self._cache.items() if expires <= now]:
                del self._cache[stale]
        if len(self._cache) < _MAX_CACHED:
            self._cache[key] = (now + self.ttl, answer)
