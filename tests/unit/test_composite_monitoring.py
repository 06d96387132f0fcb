"""The composite monitoring publisher: repository files, Grafana (fake Grafana) and a PrometheusRule (fake cluster).

Real clients throughout: dulwich for the repository, httpx for Grafana, the `kubernetes` ApiClient for the
cluster. Every rendered rule file, and every PrometheusRule as applied, is checked by `promtool check rules`.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import traceback
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes.client import ApiClient, Configuration

from roadbed.adapters.composite_monitoring import CompositeMonitoring
from roadbed.adapters.grafana import GrafanaDashboards, folder_uid
from roadbed.adapters.local_git import LocalGitRepoHost
from roadbed.adapters.prometheus_rules import PrometheusRules, prometheus_rule_name
from roadbed.adapters.repository_monitoring import RepositoryMonitoring
from roadbed.domain.errors import PermanentError, TransientError
from roadbed.domain.naming import namespace_for
from roadbed.domain.specs import MonitoringSpec, RepositoryMarker, SloTarget
from roadbed.rendering.monitoring import dashboard_uid, render_monitoring
from tests.fakes.grafana import FakeGrafana
from tests.fakes.kubernetes import FakeKubernetes

PROMTOOL = shutil.which("promtool")
TOKEN = "glsa_composite_monitoring_token_never_logged"
SERVICE, TEAM, ENV = "orders", "payments", "dev"
NAMESPACE = namespace_for(SERVICE, ENV)
RULE = prometheus_rule_name(SERVICE)
MANAGED = {"app.kubernetes.io/managed-by": "roadbed"}

SLO_VARIANTS: dict[str, dict[str, Any]] = {
    "http-default": {},
    "http-no-latency": {"latency_p99_ms": None},
    "http-99.99-28d": {"availability": 99.99, "window_days": 28},
    "http-90-7d": {"availability": 90, "window_days": 7, "latency_p99_ms": 1500},
    "http-99.5-90d": {"availability": 99.5, "window_days": 90},
    "jobs": {"sli": "jobs"},
    "jobs-freshness": {"sli": "jobs", "max_job_age_seconds": 900, "availability": 99.0},
}


def spec(service: str = SERVICE, environment: str = ENV, team: str = TEAM, **slo: Any) -> MonitoringSpec:
    return MonitoringSpec(
        service=service, environment=environment, team=team, namespace=namespace_for(service, environment), slo=SloTarget(**slo)
    )


def rendered(service: str = SERVICE, environment: str = ENV, team: str = TEAM, **slo: Any) -> dict[str, str]:
    return render_monitoring(spec(service, environment, team, **slo))


@pytest.fixture
def host(tmp_path: Path) -> LocalGitRepoHost:
    host = LocalGitRepoHost(tmp_path / "git")
    for service in (SERVICE, "ledger"):
        marker = RepositoryMarker(service=service, team=TEAM, golden_path="python-service", golden_path_version="1.0.0")
        host.ensure_repository(service, marker, {"README.md": b"# hi\n"}, f"Create {service}")
    return host


@pytest.fixture
def grafana_server() -> Iterator[FakeGrafana]:
    with FakeGrafana(token=TOKEN) as fake:
        yield fake


@pytest.fixture
def cluster() -> Iterator[FakeKubernetes]:
    with FakeKubernetes() as fake:
        for service in (SERVICE, "ledger"):
            namespace = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace_for(service, ENV), "labels": MANAGED}}
            fake.seed(namespace, manager="roadbed")
        yield fake


def rules_for(url: str, **options: Any) -> PrometheusRules:
    return PrometheusRules(ApiClient(Configuration(host=url)), request_timeout=5.0, **options)


@pytest.fixture
def publisher(host: LocalGitRepoHost, grafana_server: FakeGrafana, cluster: FakeKubernetes) -> Iterator[CompositeMonitoring]:
    grafana = GrafanaDashboards(grafana_server.url, TOKEN, timeout=2.0)
    composite = CompositeMonitoring(RepositoryMonitoring(host), grafana=grafana, prometheus_rules=rules_for(cluster.url))
    yield composite
    grafana.close()


def commits(host: LocalGitRepoHost, name: str) -> int:
    with host._open(name) as repo:  # noqa: SLF001 - test inspection
        head = repo.refs.read_ref(b"refs/heads/main")
        return sum(1 for _ in repo.get_walker(include=[head]))


def promtool_check(path: Path) -> None:
    assert PROMTOOL is not None, "promtool must be on PATH (tests/run.sh installs the Debian package prometheus)"
    result = subprocess.run([PROMTOOL, "check", "rules", str(path)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, f"promtool check rules {path.name}:\n{result.stdout}\n{result.stderr}"


# ---------------------------------------------------------------- repository only


def test_without_grafana_or_cluster_it_is_the_repository_publisher(host: LocalGitRepoHost) -> None:
    composite = CompositeMonitoring(RepositoryMonitoring(host))
    files = rendered()
    assert composite.publish(spec(), files) == sorted(files)
    assert {path: host.read_file(SERVICE, path) for path in files} == {path: text.encode() for path, text in files.items()}
    assert composite.describe() == "files in the service repository"

    composite.remove(spec(), sorted(files))
    assert not any(host.read_file(SERVICE, path) for path in files)


# ---------------------------------------------------------------- all three targets


def test_publish_commits_pushes_the_dashboard_and_applies_the_prometheus_rule(
    publisher: CompositeMonitoring, host: LocalGitRepoHost, grafana_server: FakeGrafana, cluster: FakeKubernetes, tmp_path: Path
) -> None:
    files = rendered()
    assert publisher.publish(spec(), files) == sorted(files)

    # repository
    assert host.read_file(SERVICE, f"monitoring/{ENV}/slo.yaml") == files[f"monitoring/{ENV}/slo.yaml"].encode()
    # Grafana: the team's folder, the dashboard under its stable uid
    uid = dashboard_uid(SERVICE, ENV)
    assert grafana_server.folders[folder_uid(TEAM)].title == TEAM
    assert grafana_server.dashboards[uid].folder_uid == folder_uid(TEAM)
    assert grafana_server.dashboards[uid].dashboard["panels"] == json.loads(files[f"monitoring/{ENV}/grafana-dashboard.json"])["panels"]
    # cluster: the rendered groups as a PrometheusRule, applied server-side by roadbed
    live = cluster.object("prometheusrules", RULE, NAMESPACE)
    assert live is not None
    assert live["apiVersion"] == "monitoring.coreos.com/v1" and live["kind"] == "PrometheusRule"
    assert live["spec"]["groups"] == yaml.safe_load(files[f"monitoring/{ENV}/prometheus-rules.yaml"])["groups"]
    assert live["metadata"]["labels"] == {
        "app.kubernetes.io/managed-by": "roadbed",
        "app.kubernetes.io/name": SERVICE,
        "app.kubernetes.io/part-of": SERVICE,
        "roadbed.dev/environment": ENV,
        "roadbed.dev/team": TEAM,
    }
    assert live["metadata"]["annotations"] == {"roadbed.dev/source": f"monitoring/{ENV}/prometheus-rules.yaml"}
    assert [m["manager"] for m in live["metadata"]["managedFields"]] == ["roadbed"]
    applies = cluster.requests_to("PATCH", "/prometheusrules/")
    assert len(applies) == 1
    assert applies[0].content_type.startswith("application/apply-patch+yaml")
    assert (applies[0].param("fieldManager"), applies[0].param("force")) == ("roadbed", "true")
    # what runs in the cluster is what promtool accepts
    applied = tmp_path / "applied-rules.yaml"
    applied.write_text(yaml.safe_dump({"groups": live["spec"]["groups"]}))
    promtool_check(applied)
    assert publisher.describe() == f"files in the service repository + Grafana {grafana_server.url} + PrometheusRule in the cluster"


def test_re_publish_converges_without_duplicates(
    publisher: CompositeMonitoring, host: LocalGitRepoHost, grafana_server: FakeGrafana, cluster: FakeKubernetes
) -> None:
    files = rendered()
    publisher.publish(spec(), files)
    before = commits(host, SERVICE)
    version = cluster.object("prometheusrules", RULE, NAMESPACE)["metadata"]["resourceVersion"]  # type: ignore[index]

    publisher.publish(spec(), files)

    assert commits(host, SERVICE) == before  # unchanged files commit nothing
    assert list(grafana_server.dashboards) == [dashboard_uid(SERVICE, ENV)] and len(grafana_server.folders) == 1
    assert grafana_server.dashboards[dashboard_uid(SERVICE, ENV)].version == 2
    assert [o["metadata"]["name"] for o in cluster.objects("prometheusrules")] == [RULE]
    assert cluster.object("prometheusrules", RULE, NAMESPACE)["metadata"]["resourceVersion"] == version  # type: ignore[index]

    # a changed SLO updates the same rule in place
    publisher.publish(spec(availability=99.5), rendered(availability=99.5))
    live = cluster.object("prometheusrules", RULE, NAMESPACE)
    assert live is not None and live["metadata"]["generation"] == 2
    assert "0.005" in json.dumps(live["spec"]["groups"])


def test_remove_undoes_all_three_and_is_idempotent(
    publisher: CompositeMonitoring, host: LocalGitRepoHost, grafana_server: FakeGrafana, cluster: FakeKubernetes
) -> None:
    files = rendered()
    publisher.publish(spec(), files)
    publisher.publish(spec("ledger"), rendered("ledger"))

    publisher.remove(spec(), sorted(files))

    assert cluster.object("prometheusrules", RULE, NAMESPACE) is None
    assert dashboard_uid(SERVICE, ENV) not in grafana_server.dashboards
    assert not any(host.read_file(SERVICE, path) for path in files)
    # the other service of the team keeps its rule, dashboard and the shared folder
    assert cluster.object("prometheusrules", "ledger-slo", namespace_for("ledger", ENV)) is not None
    assert list(grafana_server.dashboards) == [dashboard_uid("ledger", ENV)] and folder_uid(TEAM) in grafana_server.folders

    publisher.remove(spec(), sorted(files))  # again: nothing left, nothing fails


def test_remove_of_a_step_that_never_ran_or_whose_namespace_is_gone(
    publisher: CompositeMonitoring, cluster: FakeKubernetes, grafana_server: FakeGrafana
) -> None:
    paths = sorted(rendered())
    publisher.remove(spec(), paths)  # nothing was published: every part is already undone

    publisher.publish(spec(), rendered())
    cluster._purge_namespace(NAMESPACE)  # noqa: SLF001 - the kubernetes undo removed the namespace first
    publisher.remove(spec(), paths)
    assert cluster.objects("prometheusrules") == [] and grafana_server.dashboards == {}


def test_a_service_of_the_longest_allowed_name_gets_its_rule_in_the_namespace_every_step_derives(
    host: LocalGitRepoHost, cluster: FakeKubernetes, tmp_path: Path
) -> None:
    service = "a-very-long-service-name-that-just-fits-in-staging-xxxx"  # 55 characters: never shortened
    namespace = namespace_for(service, "staging")
    assert namespace == f"{service}-staging" and len(namespace) == 63
    cluster.seed({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace, "labels": MANAGED}}, manager="roadbed")
    marker = RepositoryMarker(service=service, team=TEAM, golden_path="python-service", golden_path_version="1.0.0")
    host.ensure_repository(service, marker, {"README.md": b"#\n"}, "Create")
    composite = CompositeMonitoring(RepositoryMonitoring(host), prometheus_rules=rules_for(cluster.url))

    composite.publish(spec(service, "staging"), rendered(service, "staging"))
    assert cluster.object("prometheusrules", f"{service}-slo", namespace) is not None
    composite.remove(spec(service, "staging"), sorted(rendered(service, "staging")))
    assert cluster.objects("prometheusrules") == []


def test_extra_rule_labels_for_the_prometheus_rule_selector(host: LocalGitRepoHost, cluster: FakeKubernetes) -> None:
    rules = rules_for(cluster.url, labels={"release": "kube-prometheus-stack", "app.kubernetes.io/managed-by": "someone"})
    CompositeMonitoring(RepositoryMonitoring(host), prometheus_rules=rules).publish(spec(), rendered())
    labels = cluster.object("prometheusrules", RULE, NAMESPACE)["metadata"]["labels"]  # type: ignore[index]
    assert labels["release"] == "kube-prometheus-stack" and labels["app.kubernetes.io/managed-by"] == "roadbed"


# ---------------------------------------------------------------- failures


def test_the_repository_is_written_first_and_a_retry_converges(
    publisher: CompositeMonitoring, host: LocalGitRepoHost, grafana_server: FakeGrafana, cluster: FakeKubernetes
) -> None:
    files = rendered()
    grafana_server.fail_next("POST", "^/api/dashboards/db$", 503)
    with pytest.raises(TransientError, match="503"):
        publisher.publish(spec(), files)
    assert host.read_file(SERVICE, f"monitoring/{ENV}/prometheus-rules.yaml") is not None
    assert cluster.objects("prometheusrules") == []
    committed = commits(host, SERVICE)

    cluster.fail_next("PATCH", "/prometheusrules/", 500)
    with pytest.raises(TransientError, match="500"):
        publisher.publish(spec(), files)
    assert dashboard_uid(SERVICE, ENV) in grafana_server.dashboards

    publisher.publish(spec(), files)
    assert commits(host, SERVICE) == committed
    assert cluster.object("prometheusrules", RULE, NAMESPACE) is not None


@pytest.mark.parametrize(
    ("method", "status", "error"),
    [
        ("PATCH", 500, TransientError),
        ("PATCH", 503, TransientError),
        ("PATCH", 429, TransientError),
        ("PATCH", 0, TransientError),
        ("PATCH", 403, PermanentError),
        ("PATCH", 422, PermanentError),
        ("GET", 401, PermanentError),
        ("GET", 500, TransientError),
    ],
)
def test_prometheus_rule_error_translation(
    host: LocalGitRepoHost, cluster: FakeKubernetes, method: str, status: int, error: type[Exception]
) -> None:
    composite = CompositeMonitoring(RepositoryMonitoring(host), prometheus_rules=rules_for(cluster.url))
    composite.publish(spec(), rendered())  # discovery cached; the faults hit the rule itself
    cluster.fail_next(method, "/prometheusrules/", status)
    with pytest.raises(error) as caught:
        composite.publish(spec(availability=99.0), rendered(availability=99.0))
    assert caught.value.__cause__ is not None


def test_delete_errors_are_translated(host: LocalGitRepoHost, cluster: FakeKubernetes) -> None:
    composite = CompositeMonitoring(RepositoryMonitoring(host), prometheus_rules=rules_for(cluster.url))
    composite.publish(spec(), rendered())
    cluster.fail_next("DELETE", "/prometheusrules/", 503)
    with pytest.raises(TransientError):
        composite.remove(spec(), sorted(rendered()))
    cluster.fail_next("DELETE", "/prometheusrules/", 403)
    with pytest.raises(PermanentError):
        composite.remove(spec(), sorted(rendered()))
    composite.remove(spec(), sorted(rendered()))
    assert cluster.objects("prometheusrules") == []


def test_a_cluster_without_the_prometheus_operator(host: LocalGitRepoHost) -> None:
    with FakeKubernetes(custom_resources=()) as bare:
        bare.seed({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE, "labels": MANAGED}}, manager="roadbed")
        composite = CompositeMonitoring(RepositoryMonitoring(host), prometheus_rules=rules_for(bare.url))
        with pytest.raises(PermanentError, match=r"does not serve monitoring\.coreos\.com/v1 prometheusrules.*Prometheus Operator"):
            composite.publish(spec(), rendered())
        composite.remove(spec(), sorted(rendered()))  # nothing there to remove: done
        assert bare.requests_to("PATCH", ".") == [] and bare.requests_to("DELETE", ".") == []


def test_someone_elses_prometheus_rule_is_never_taken_over_nor_removed(host: LocalGitRepoHost, cluster: FakeKubernetes) -> None:
    foreign = {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": {"name": RULE, "namespace": NAMESPACE, "labels": {"team": "sre"}},
        "spec": {"groups": [{"name": "hand-made", "rules": [{"alert": "X", "expr": "vector(1)"}]}]},
    }
    cluster.seed(foreign, manager="kubectl")
    composite = CompositeMonitoring(RepositoryMonitoring(host), prometheus_rules=rules_for(cluster.url))
    with pytest.raises(PermanentError, match="not managed by Roadbed"):
        composite.publish(spec(), rendered())
    composite.remove(spec(), sorted(rendered()))
    live = cluster.object("prometheusrules", RULE, NAMESPACE)
    assert live is not None and live["spec"]["groups"][0]["name"] == "hand-made"


def test_a_missing_namespace_is_permanent(host: LocalGitRepoHost, cluster: FakeKubernetes) -> None:
    composite = CompositeMonitoring(RepositoryMonitoring(host), prometheus_rules=rules_for(cluster.url))
    with pytest.raises(PermanentError, match="404"):
        composite.publish(spec("ledger", "prod"), rendered("ledger", "prod"))


def test_a_dashboard_under_a_foreign_uid_is_refused(publisher: CompositeMonitoring, grafana_server: FakeGrafana) -> None:
    files = rendered()
    files[f"monitoring/{ENV}/grafana-dashboard.json"] = json.dumps({"uid": "hand-picked", "title": "x"})
    with pytest.raises(PermanentError, match="must have uid"):
        publisher.publish(spec(), files)
    assert grafana_server.dashboards == {}


def test_the_team_and_namespace_come_from_the_spec_not_the_rendered_text(
    publisher: CompositeMonitoring, grafana_server: FakeGrafana, cluster: FakeKubernetes
) -> None:
    files = {path: text for path, text in rendered(team="search").items() if not path.endswith("slo.yaml")}
    publisher.publish(spec(team="search"), files)
    assert grafana_server.dashboards[dashboard_uid(SERVICE, ENV)].folder_uid == folder_uid("search")
    live = cluster.object("prometheusrules", RULE, NAMESPACE)
    assert live is not None and live["metadata"]["labels"]["roadbed.dev/team"] == "search"


def test_only_the_spec_environments_files_go_to_grafana_and_the_cluster(
    publisher: CompositeMonitoring, host: LocalGitRepoHost, grafana_server: FakeGrafana, cluster: FakeKubernetes
) -> None:
    files = {**rendered(environment="prod"), **rendered()}  # another environment's files ride along to the repository only
    publisher.publish(spec(), files)
    assert host.read_file(SERVICE, "monitoring/prod/slo.yaml") is not None
    assert list(grafana_server.dashboards) == [dashboard_uid(SERVICE, ENV)]
    assert [(o["metadata"]["namespace"], o["metadata"]["name"]) for o in cluster.objects("prometheusrules")] == [(NAMESPACE, RULE)]


def test_the_grafana_token_never_shows_in_a_failed_publish(publisher: CompositeMonitoring, grafana_server: FakeGrafana) -> None:
    grafana_server.fail_next("GET", "^/api/folders/", 401, message=f"bad token {TOKEN}")
    with pytest.raises(PermanentError) as caught:
        publisher.publish(spec(), rendered())
    assert TOKEN not in "".join(traceback.format_exception(caught.value))


# ---------------------------------------------------------------- promtool on every rendered rule file


@pytest.mark.parametrize("variant", sorted(SLO_VARIANTS))
@pytest.mark.parametrize("environment", ["dev", "prod"])
def test_every_rendered_rule_file_passes_promtool(tmp_path: Path, variant: str, environment: str) -> None:
    files = rendered("checkout-api", environment, **SLO_VARIANTS[variant])
    rules = tmp_path / f"{variant}-{environment}.yaml"
    rules.write_text(files[f"monitoring/{environment}/prometheus-rules.yaml"])
    promtool_check(rules)


@pytest.mark.parametrize("variant", sorted(SLO_VARIANTS))
def test_every_applied_prometheus_rule_passes_promtool(
    host: LocalGitRepoHost, cluster: FakeKubernetes, tmp_path: Path, variant: str
) -> None:
    composite = CompositeMonitoring(RepositoryMonitoring(host), prometheus_rules=rules_for(cluster.url))
    composite.publish(spec(**SLO_VARIANTS[variant]), rendered(**SLO_VARIANTS[variant]))
    live = cluster.object("prometheusrules", RULE, NAMESPACE)
    assert live is not None
    applied = tmp_path / "applied.yaml"
    applied.write_text(yaml.safe_dump({"groups": live["spec"]["groups"]}))
    promtool_check(applied)
