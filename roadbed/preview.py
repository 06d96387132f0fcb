"""Preview of a request: everything a run would create, rendered for real, nothing provisioned.

The files the repository would get (path, size, first lines), the real Terraform plan of the
resources, the Kubernetes manifests, the monitoring files and the catalog entities — produced by
the same rendering code the steps use, so the preview cannot drift from what a run does.

A preview is the most expensive read the API offers (a skeleton render and a real `terraform plan`),
so `PreviewPool` runs previews in threads of their own, at most `preview_concurrency` at once, with a
short waiting line behind them; beyond that a caller is told to come back (`PreviewsBusy`, 429 with
`Retry-After`) instead of piling up threads and memory while every other request slows down.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
from collections.abc import Callable
from typing import Any, TypeVar

from pydantic import BaseModel

from roadbed.domain.errors import TransientError
from roadbed.domain.models import EnvironmentRequest, ResourceOutputs
from roadbed.domain.naming import namespace_for
from roadbed.environment_specs import monitoring_spec, service_description, workload_spec
from roadbed.golden_paths import GoldenPath, template_parameters
from roadbed.ports import InfrastructureRunner
from roadbed.rendering.catalog_entities import render_entities
from roadbed.rendering.manifests import render_manifests
from roadbed.rendering.monitoring import render_monitoring
from roadbed.rendering.skeleton import render_repository
from roadbed.rendering.terraform import render_root_module

HEAD_BYTES = 400

WAITING_PER_SLOT = 4
"""Previews that may wait per running one (default 2 running + 8 waiting). A plan takes seconds; a
line longer than a few plans would only answer after the caller has given up, so refuse instead."""

RETRY_AFTER_SECONDS = 5
"""What a refused caller is told to wait: about one `terraform plan` of a small root module."""

T = TypeVar("T")


class PreviewsBusy(TransientError):
    """Every preview slot is taken and the waiting line is full: try again after `retry_after` seconds."""

    code = "too_many_previews"

    def __init__(self, message: str, retry_after: int = RETRY_AFTER_SECONDS) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class PreviewPool:
    """A bounded thread pool with a bounded waiting line, only for previews.

    `admitted` counts previews running or waiting; it is only touched on the event loop (the done
    callback hops back with `call_soon_threadsafe`), and it drops when the *thread* finishes, not
    when the caller goes away, so abandoned previews still count until their plan is over.
    """

    def __init__(self, concurrency: int, waiting: int | None = None) -> None:
        self.concurrency = concurrency
        self.capacity = concurrency + (concurrency * WAITING_PER_SLOT if waiting is None else waiting)
        self.admitted = 0
        self._executor = concurrent.futures.ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="roadbed-preview")

    async def run(self, work: Callable[..., T], *args: Any) -> T:
        if self.admitted >= self.capacity:
            raise PreviewsBusy(
                f"{self.concurrency} previews are running and {self.capacity - self.concurrency} waiting; try again shortly"
            )
        loop = asyncio.get_running_loop()
        future = self._executor.submit(work, *args)
        self.admitted += 1
        future.add_done_callback(lambda _f: self._release_from(loop))
        return await asyncio.wrap_future(future)

    def _release_from(self, loop: asyncio.AbstractEventLoop) -> None:
        with contextlib.suppress(RuntimeError):  # the loop is closed: the app has stopped, nobody counts any more
            loop.call_soon_threadsafe(self._release)

    def _release(self) -> None:
        self.admitted -= 1

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)


class PreviewFile(BaseModel):
    path: str
    size: int
    binary: bool
    head: str | None


class Preview(BaseModel):
    golden_path: str
    version: str
    namespace: str
    files: list[PreviewFile]
    terraform: dict[str, Any]
    manifests: list[dict[str, Any]]
    monitoring_files: list[str]
    catalog_entities: list[dict[str, Any]]


def _file(path: str, content: bytes) -> PreviewFile:
    try:
        text = content.decode("utf-8")
        binary = "\x00" in text
    except UnicodeDecodeError:
        binary = True
    return PreviewFile(path=path, size=len(content), binary=binary, head=None if binary else text[:HEAD_BYTES])


def preview(request: EnvironmentRequest, golden_path: GoldenPath, planner: InfrastructureRunner, modules_dir: Any) -> Preview:
    parameters = template_parameters(golden_path, request.parameters, request.service, request.team, request.environment)
    files = render_repository(golden_path, parameters)
    namespace = namespace_for(request.service, request.environment)
    terraform: dict[str, Any] = {"resource_changes": [], "summary": {"add": 0, "change": 0, "remove": 0}}
    if request.resources:
        root, values = render_root_module(
            list(request.resources), service=request.service, environment=request.environment, team=request.team, modules_dir=modules_dir
        )
        terraform = planner.plan(root, values)
    planned = {r.name: ResourceOutputs(type=r.type, name=r.name, outputs={"secret_ref": f"{request.service}-{r.name}-{r.type}"}) for r in request.resources}
    common = {"environment_id": "(preview)", "golden_path_version": golden_path.version, "resources": planned}
    spec = workload_spec(request, golden_path, **common)
    monitoring = render_monitoring(monitoring_spec(request, golden_path))
    entities = render_entities(service_description(request, golden_path, repository_url="(preview)", **common))
    return Preview(
        golden_path=golden_path.name,
        version=golden_path.version,
        namespace=namespace,
        files=[_file(path, content) for path, content in sorted(files.items())],
        terraform=terraform,
        manifests=render_manifests(spec),
        monitoring_files=sorted(monitoring),
        catalog_entities=entities,
    )
