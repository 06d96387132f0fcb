"""The aggregator: every source at once, each within its deadline; a hanging, failing or garbage source reads
`unknown` with the reason and neither slows nor spoils the others; answers are cached per (service, environment,
source); the top status is the worst configured one."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from roadbed.domain.specs import SloTarget
from roadbed.health.aggregator import HealthAggregator
from roadbed.health.argocd import ArgoCdHealth
from roadbed.health.model import SOURCE_NAMES, HealthStatus, SourceSection, worst
from roadbed.health.port import HealthTarget, section
from roadbed.health.prometheus import PrometheusHealth
from roadbed.health.sonarqube import SonarQubeHealth
from tests.fakes.argocd import FakeArgoCd
from tests.fakes.prometheus import FakePrometheus
from tests.fakes.sonarqube import FakeSonarQube

pytestmark = pytest.mark.asyncio(loop_scope="session")

TARGET = HealthTarget(service="orders", environment="prod", team="payments", namespace="orders-prod", slo=SloTarget())


class Fixed:
    """A source that answers a given status after `delay` seconds, counting its calls."""

    def __init__(self, name: str, status: HealthStatus, delay: float = 0.0, *, configured: bool = True) -> None:
        self.name, self.status, self.delay, self._configured, self.calls = name, status, delay, configured, 0

    @property
    def configured(self) -> bool:
        return self._configured

    async def check(self, target: HealthTarget) -> SourceSection:
        self.calls += 1
        await asyncio.sleep(self.delay)
        return section(self.status, service=target.service)


class Broken(Fixed):
    async def check(self, target: HealthTarget) -> SourceSection:
        self.calls += 1
        raise RuntimeError("boom")


@pytest.mark.asyncio(loop_scope="session")
async def test_worst_ignores_not_configured() -> None:
    s = HealthStatus
    assert worst([s.OK, s.UNKNOWN, s.NOT_CONFIGURED]) is s.UNKNOWN
    assert worst([s.OK, s.DEGRADED, s.UNKNOWN]) is s.DEGRADED
    assert worst([s.FAILING, s.DEGRADED, s.OK]) is s.FAILING
    assert worst([s.NOT_CONFIGURED, s.OK]) is s.OK
    assert worst([s.NOT_CONFIGURED]) is s.NOT_CONFIGURED


async def test_every_source_is_present_and_unconfigured_ones_say_so() -> None:
    aggregator = HealthAggregator([Fixed("incidents", HealthStatus.OK), Fixed("argocd", HealthStatus.FAILING, configured=False)], timeout=1)
    document = await aggregator.document(TARGET)
    assert list(document.sources) == list(SOURCE_NAMES)
    assert document.sources["argocd"].status is HealthStatus.NOT_CONFIGURED and document.sources["github"].status is HealthStatus.NOT_CONFIGURED
    assert document.status is HealthStatus.OK  # the unconfigured failing one never counts
    with pytest.raises(ValueError, match="pagerduty"):
        HealthAggregator([Fixed("pagerduty", HealthStatus.OK)], timeout=1)


async def test_sources_run_concurrently_and_a_slow_or_broken_one_is_unknown_alone() -> None:
    sources = [Fixed("incidents", HealthStatus.OK, 0.3), Fixed("github", HealthStatus.DEGRADED, 0.3), Fixed("argocd", HealthStatus.OK, 5.0),
               Broken("sonarqube", HealthStatus.OK)]
    aggregator = HealthAggregator(sources, timeout=0.5)
    started = time.monotonic()
    document = await aggregator.document(TARGET)
    elapsed = time.monotonic() - started
    assert elapsed < 0.5 + 0.25, elapsed  # the deadline plus a small margin, not the sum (0.3 + 0.3 + 5)
    assert document.sources["incidents"].status is HealthStatus.OK and document.sources["github"].status is HealthStatus.DEGRADED
    assert document.sources["argocd"].status is HealthStatus.UNKNOWN and document.sources["argocd"].reason == "no answer within 0.5 s"
    assert document.sources["sonarqube"].status is HealthStatus.UNKNOWN and document.sources["sonarqube"].reason == "RuntimeError: boom"
    assert document.status is HealthStatus.DEGRADED


async def test_answers_are_cached_per_service_environment_and_source() -> None:
    now = [100.0]
    source = Fixed("incidents", HealthStatus.OK)
    aggregator = HealthAggregator([source], timeout=1, ttl=10, clock=lambda: now[0])
    first = await aggregator.document(TARGET)
    await aggregator.document(TARGET)
    assert source.calls == 1
    await aggregator.document(HealthTarget(**{**TARGET.__dict__, "environment": "dev"}))
    assert source.calls == 2  # another environment is another key
    now[0] += 10.5
    again = await aggregator.document(TARGET)
    assert source.calls == 3 and again.sources["incidents"].fetched_at > first.sources["incidents"].fetched_at
    await asyncio.gather(*(aggregator.document(HealthTarget(**{**TARGET.__dict__, "service": "billing"})) for _ in range(20)))
    assert source.calls == 4  # concurrent askers share one fetch


@pytest.fixture
def fakes() -> Iterator[tuple[FakeArgoCd, FakePrometheus, FakeSonarQube]]:
    with FakeArgoCd(token="t") as argocd, FakePrometheus() as prometheus, FakeSonarQube(token="s") as sonarqube:
        yield argocd, prometheus, sonarqube


async def test_real_fakes_that_hang_500_or_answer_garbage(fakes: tuple[FakeArgoCd, FakePrometheus, FakeSonarQube], tmp_path: Path) -> None:
    argocd, prometheus, sonarqube = fakes
    argocd.set_application("orders-prod")
    sonarqube.set_project("orders", "OK", {"coverage": 90})
    argocd.hang_next("applications", seconds=3)
    prometheus.fail_next("query", 500, times=3)
    sonarqube.garbage_next("project_status")
    aggregator = HealthAggregator(
        [ArgoCdHealth(argocd.url, "t", timeout=0.5), PrometheusHealth(prometheus.url, timeout=0.5), SonarQubeHealth(sonarqube.url, "s", timeout=0.5),
         Fixed("incidents", HealthStatus.OK)],
        timeout=0.5,
    )
    started = time.monotonic()
    document = await aggregator.document(TARGET)
    assert time.monotonic() - started < 0.5 + 0.25
    sources = document.sources
    assert sources["argocd"].status is HealthStatus.UNKNOWN and sources["argocd"].reason
    assert sources["prometheus"].status is HealthStatus.UNKNOWN and "HTTP 500" in (sources["prometheus"].reason or "")
    assert sources["sonarqube"].status is HealthStatus.UNKNOWN and "not JSON" in (sources["sonarqube"].reason or "")
    assert sources["incidents"].status is HealthStatus.OK and document.status is HealthStatus.UNKNOWN
    aggregator.forget()
    healed = await aggregator.document(TARGET)  # the faults were one-shot: the same sources answer again
    assert healed.sources["argocd"].status is HealthStatus.OK and healed.sources["sonarqube"].status is HealthStatus.OK


async def test_a_hanging_cluster_or_github_costs_only_the_deadline(tmp_path: Path) -> None:
    """The Kubernetes source blocks a thread (the `kubernetes` client is synchronous) and GitHub's fake is slowed by a
    hook: both still give the document back at the deadline, reading `unknown`."""
    from kubernetes.client import ApiClient, Configuration

    from roadbed.health.github import GitHubHealth
    from roadbed.health.kubernetes import ClusterHealth
    from tests.fakes.github import FakeGitHub
    from tests.fakes.kubernetes import FakeKubernetes

    with FakeKubernetes() as cluster, FakeGitHub(tmp_path / "gh", token="t") as github:
        github.create_repository("acme", "orders", files={"README.md": b"x"})
        cluster.hang_next(r"/deployments/", seconds=3)
        github.before("GET", r"/pulls", lambda: time.sleep(3))
        aggregator = HealthAggregator(
            [ClusterHealth(timeout=0.5, api_client=ApiClient(Configuration(host=cluster.url))), GitHubHealth(github.url, "t", "acme", timeout=0.5),
             Fixed("incidents", HealthStatus.OK)],
            timeout=0.5,
        )
        started = time.monotonic()
        document = await aggregator.document(TARGET)
        assert time.monotonic() - started < 0.5 + 0.25
        assert document.sources["kubernetes"].status is HealthStatus.UNKNOWN and document.sources["github"].status is HealthStatus.UNKNOWN
        assert document.sources["incidents"].status is HealthStatus.OK
