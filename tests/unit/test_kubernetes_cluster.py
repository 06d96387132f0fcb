"""The `cluster` Kubernetes target, with the real `kubernetes` client against the fake API server (tests/fakes/kubernetes.py)."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import urllib3
from kubernetes.client import ApiClient, AppsV1Api, Configuration, CoreV1Api
from kubernetes.client.exceptions import ApiException
from kubernetes.dynamic import DynamicClient

from roadbed.adapters.kubernetes_cluster import KubernetesClusterDeployer, load_configuration, rollout_state, translate_api_exception
from roadbed.domain.errors import ConfigurationError, PermanentError, TransientError
from roadbed.domain.models import ResourceOutputs
from roadbed.domain.specs import KubernetesDefaults, WorkloadSpec
from roadbed.rendering.manifests import render_manifests
from roadbed.settings import load_settings
from tests.fakes.kubernetes import FakeKubernetes

NAMESPACE = "orders-dev"
IMAGE = "registry.local/orders:1.0.0"  # published to the fake cluster's registry, so its rollouts can complete
FAST = {"poll_interval": 0.005, "rollout_timeout": 2.0, "removal_timeout": 2.0, "request_timeout": 5.0}


def workload(**kubernetes: Any) -> WorkloadSpec:
    return WorkloadSpec(
        service="orders",
        team="payments",
        environment="dev",
        environment_id="env-123",
        namespace=NAMESPACE,
        image=IMAGE,
        golden_path="python-service",
        golden_path_version="1.2.0",
        kubernetes=KubernetesDefaults(**({"replicas": 2} | kubernetes)),
        resources={
            "postgres.main": ResourceOutputs(
                type="postgres", name="main", outputs={"host": "main.db", "port": 5432, "secret_ref": "orders-main-db"}
            )
        },
    )


@pytest.fixture
def fake() -> Iterator[FakeKubernetes]:
    with FakeKubernetes(images=[IMAGE]) as server:
        yield server


def deployer_for(url: str, **options: Any) -> KubernetesClusterDeployer:
    return KubernetesClusterDeployer(ApiClient(Configuration(host=url)), **(FAST | options))


@pytest.fixture
def deployer(fake: FakeKubernetes) -> Iterator[KubernetesClusterDeployer]:
    deployer = deployer_for(fake.url)
    yield deployer
    deployer.close()


def deploy(deployer: KubernetesClusterDeployer, spec: WorkloadSpec | None = None) -> str:
    spec = spec or workload()
    return deployer.deploy(spec, render_manifests(spec))


def live_objects(fake: FakeKubernetes) -> dict[str, dict[str, Any] | None]:
    return {
        "namespace": fake.object("namespaces", NAMESPACE),
        "configmap": fake.object("configmaps", "orders-config", NAMESPACE),
        "deployment": fake.object("deployments", "orders", NAMESPACE),
        "service": fake.object("services", "orders", NAMESPACE),
    }


# ---------------------------------------------------------------- deploy


def test_deploy_server_side_applies_every_manifest_in_order_and_waits_for_the_rollout(
    fake: FakeKubernetes, deployer: KubernetesClusterDeployer
) -> None:
    location = deploy(deployer)

    assert location == f"cluster://127.0.0.1:{fake.port}/{NAMESPACE}"
    objects = live_objects(fake)
    for kind, obj in objects.items():
        assert obj is not None, kind
        assert obj["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "roadbed"
        assert obj["metadata"]["annotations"]["roadbed.dev/environment-id"] == "env-123"
        assert [(m["manager"], m["operation"]) for m in obj["metadata"]["managedFields"]] == [("roadbed", "Apply")]
    deployment = objects["deployment"]
    assert deployment is not None
    assert deployment["spec"]["replicas"] == 2
    assert deployment["status"]["availableReplicas"] == 2
    configmap = objects["configmap"]
    assert configmap is not None and configmap["data"]["POSTGRES_MAIN_HOST"] == "main.db"

    applies = fake.requests_to("PATCH", ".")
    assert [r.path.rsplit("/", 2)[-2] for r in applies] == ["namespaces", "configmaps", "deployments", "services"]
    for request in applies:
        assert request.content_type == "application/apply-patch+yaml"
        assert request.param("fieldManager") == "roadbed"
        assert request.param("force") == "true"
        assert request.status == 201  # server-side apply created them
    # the rollout was read after every manifest was applied
    last_apply = fake.requests.index(applies[-1])
    assert any(r.method == "GET" and r.path.endswith("/deployments/orders") for r in fake.requests[last_apply:])


def test_redeploying_the_same_manifests_is_a_no_op(fake: FakeKubernetes, deployer: KubernetesClusterDeployer) -> None:
    deploy(deployer)
    before = {kind: obj["metadata"]["resourceVersion"] for kind, obj in live_objects(fake).items() if obj}
    first = len(fake.requests)
    deploy(deployer)

    after = live_objects(fake)
    assert {kind: obj["metadata"]["resourceVersion"] for kind, obj in after.items() if obj} == before
    assert after["deployment"] is not None and after["deployment"]["metadata"]["generation"] == 1
    again = fake.requests[first:]
    assert [r.status for r in again if r.method == "PATCH"] == [200, 200, 200, 200]
    assert all(r.status < 400 for r in again), [(r.method, r.path, r.status) for r in again if r.status >= 400]


def test_a_changed_workload_is_a_new_generation_and_its_rollout_is_awaited(
    fake: FakeKubernetes, deployer: KubernetesClusterDeployer
) -> None:
    deploy(deployer)
    fake.set_rollout("complete", "orders", after_polls=3)
    spec = workload(replicas=3)

    deploy(deployer, spec)

    deployment = fake.object("deployments", "orders", NAMESPACE)
    assert deployment is not None
    assert deployment["metadata"]["generation"] == 2
    assert deployment["status"] == deployment["status"] | {"observedGeneration": 2, "availableReplicas": 3}
    assert len(fake.requests_to("GET", "/deployments/orders$")) >= 1 + 4  # first rollout, then 3 polls still progressing


def test_objects_no_longer_rendered_are_pruned(fake: FakeKubernetes, deployer: KubernetesClusterDeployer) -> None:
    deploy(deployer)
    assert fake.object("services", "orders", NAMESPACE) is not None

    deploy(deployer, workload(workload="worker"))

    assert fake.object("services", "orders", NAMESPACE) is None
    assert fake.object("deployments", "orders", NAMESPACE) is not None
    assert fake.object("configmaps", "orders-config", NAMESPACE) is not None


def test_a_rollout_that_never_completes_fails_the_step_after_the_timeout(fake: FakeKubernetes) -> None:
    fake.set_rollout("hang", "orders")
    deployer = deployer_for(fake.url, rollout_timeout=0.2)
    started = time.monotonic()

    with pytest.raises(
        PermanentError, match=r"rollout of Deployment orders-dev/orders did not complete within 0.2s: 0 of 2 updated replicas are available"
    ):
        deploy(deployer)

    assert time.monotonic() - started < 2.0
    assert fake.object("deployments", "orders", NAMESPACE) is not None  # applied; undoing it is the compensation's job


def test_a_rollout_past_its_progress_deadline_is_a_permanent_failure(fake: FakeKubernetes, deployer: KubernetesClusterDeployer) -> None:
    fake.set_rollout("fail")

    with pytest.raises(PermanentError, match=r"rollout failed: Deployment orders-dev/orders: .*has timed out progressing"):
        deploy(deployer)


def test_a_transient_fault_while_waiting_for_the_rollout_is_waited_out(fake: FakeKubernetes, deployer: KubernetesClusterDeployer) -> None:
    fake.set_rollout("complete", after_polls=1)
    fake.fail_next("GET", "/deployments/orders$", 503, times=2)

    assert deploy(deployer).endswith(NAMESPACE)


def test_a_manifest_the_api_server_rejects_is_permanent(deployer: KubernetesClusterDeployer) -> None:
    spec = workload()
    manifests = render_manifests(spec)
    deployment = next(m for m in manifests if m["kind"] == "Deployment")
    deployment["spec"]["selector"]["matchLabels"] = {"app.kubernetes.io/name": "someone-else"}

    with pytest.raises(PermanentError, match=r"422 Invalid: .*`selector` does not match template `labels`") as caught:
        deployer.deploy(spec, manifests)
    assert isinstance(caught.value.__cause__, ApiException) and caught.value.__cause__.status == 422


def test_a_namespace_roadbed_does_not_manage_is_never_taken_over(fake: FakeKubernetes, deployer: KubernetesClusterDeployer) -> None:
    fake.seed({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE, "labels": {"team": "someone-else"}}})

    with pytest.raises(PermanentError, match="not managed by Roadbed"):
        deploy(deployer)
    assert fake.requests_to("PATCH", ".") == []

    deployer.remove(NAMESPACE)  # the undo of that failed step must not delete a stranger's namespace
    assert fake.object("namespaces", NAMESPACE) is not None
    assert fake.requests_to("DELETE", ".") == []
    assert deployer.namespaces() == []


def test_deploying_into_a_namespace_that_is_still_terminating_is_transient(fake: FakeKubernetes) -> None:
    fake.namespace_finalize_polls = 100
    deployer = deployer_for(fake.url, removal_timeout=0)
    deploy(deployer)
    deployer.remove(NAMESPACE)

    with pytest.raises(TransientError, match="still being deleted"):
        deploy(deployer)


# ---------------------------------------------------------------- remove and namespaces


def test_remove_deletes_the_namespace_with_everything_in_it_and_twice_is_fine(
    fake: FakeKubernetes, deployer: KubernetesClusterDeployer
) -> None:
    deploy(deployer)

    deployer.remove(NAMESPACE)

    assert all(obj is None for obj in live_objects(fake).values())
    assert fake.objects("configmaps") == fake.objects("deployments") == fake.objects("services") == []
    deployer.remove(NAMESPACE)
    deployer.remove("never-existed")
    assert [r.path for r in fake.requests_to("DELETE", ".")] == [f"/api/v1/namespaces/{NAMESPACE}"]


def test_remove_waits_until_the_namespace_is_gone(fake: FakeKubernetes, deployer: KubernetesClusterDeployer) -> None:
    deploy(deployer)
    fake.namespace_finalize_polls = 3

    deployer.remove(NAMESPACE)

    assert fake.object("namespaces", NAMESPACE) is None
    assert len(fake.requests_to("GET", f"/namespaces/{NAMESPACE}$")) >= 1 + 1 + 4  # deploy's check, remove's read, 3 terminating + gone


def test_a_namespace_that_stays_terminating_is_transient_and_a_retry_does_not_delete_again(fake: FakeKubernetes) -> None:
    fake.namespace_finalize_polls = 1000
    deployer = deployer_for(fake.url, removal_timeout=0.05)
    deploy(deployer)

    with pytest.raises(TransientError, match=f"namespace {NAMESPACE} is still terminating after 0.05s"):
        deployer.remove(NAMESPACE)
    with pytest.raises(TransientError):
        deployer.remove(NAMESPACE)

    assert len(fake.requests_to("DELETE", ".")) == 1


def test_a_delete_racing_another_one_is_already_terminating(fake: FakeKubernetes) -> None:
    deployer = deployer_for(fake.url, removal_timeout=0.05)
    deploy(deployer)
    fake.fail_next("DELETE", f"/namespaces/{NAMESPACE}$", 409)

    # 409 = another DELETE got there first and the namespace is terminating: wait for it like for ours
    with pytest.raises(TransientError, match="still terminating"):
        deployer.remove(NAMESPACE)


def test_namespaces_lists_only_the_ones_roadbed_manages(fake: FakeKubernetes, deployer: KubernetesClusterDeployer) -> None:
    deploy(deployer)
    deploy(deployer, workload().model_copy(update={"namespace": "billing-dev", "service": "billing"}))
    fake.seed({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "kube-system"}})
    fake.seed({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "other", "labels": {"app.kubernetes.io/managed-by": "helm"}}})

    assert deployer.namespaces() == ["billing-dev", NAMESPACE]
    assert fake.requests_to("GET", "^/api/v1/namespaces$")[-1].param("labelSelector") == "app.kubernetes.io/managed-by=roadbed"


# ---------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (409, TransientError),
        (429, TransientError),
        (500, TransientError),
        (503, TransientError),
        (400, PermanentError),
        (401, PermanentError),
        (403, PermanentError),
        (404, PermanentError),
        (422, PermanentError),
    ],
)
def test_api_errors_are_translated_with_the_cause_chained(
    fake: FakeKubernetes, deployer: KubernetesClusterDeployer, status: int, expected: type
) -> None:
    fake.fail_next("PATCH", "/deployments/orders$", status, message="injected")

    with pytest.raises(expected, match=rf"apply Deployment orders-dev/orders: Kubernetes API answered {status} \w+: injected") as caught:
        deploy(deployer)

    assert type(caught.value) is expected
    cause = caught.value.__cause__
    assert isinstance(cause, ApiException) and cause.status == status


def test_the_step_succeeds_on_retry_after_a_transient_error(fake: FakeKubernetes, deployer: KubernetesClusterDeployer) -> None:
    fake.fail_next("PATCH", "/services/orders$", 500)
    with pytest.raises(TransientError):
        deploy(deployer)

    deploy(deployer)  # what the first attempt applied is adopted

    assert all(obj is not None for obj in live_objects(fake).values())


def test_a_terminating_namespace_forbidding_new_content_is_transient(fake: FakeKubernetes) -> None:
    fake.namespace_finalize_polls = 100
    fake.seed({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "going"}})
    core = CoreV1Api(ApiClient(Configuration(host=fake.url)))
    core.delete_namespace("going")

    with pytest.raises(ApiException) as caught:
        core.create_namespaced_config_map("going", {"metadata": {"name": "late"}, "data": {}})

    assert caught.value.status == 403
    assert isinstance(translate_api_exception(caught.value, "create"), TransientError)


def test_an_unreachable_api_server_is_transient() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    deployer = deployer_for(f"http://127.0.0.1:{port}")

    with pytest.raises(TransientError, match=f"cannot reach the Kubernetes API at 127.0.0.1:{port}") as caught:
        deployer.namespaces()
    assert isinstance(caught.value.__cause__, urllib3.exceptions.HTTPError)
    with pytest.raises(TransientError):
        deploy(deployer)


def test_a_dropped_connection_is_transient(fake: FakeKubernetes, deployer: KubernetesClusterDeployer) -> None:
    fake.fail_next("PATCH", "/deployments/orders$", 0)

    with pytest.raises(TransientError, match="cannot reach") as caught:
        deploy(deployer)
    assert isinstance(caught.value.__cause__, urllib3.exceptions.HTTPError | OSError)


def test_rollout_state_follows_kubectl() -> None:
    def deployment(generation: int = 2, desired: int = 2, **status: Any) -> dict[str, Any]:
        return {"metadata": {"generation": generation}, "spec": {"replicas": desired}, "status": status}

    assert rollout_state(deployment(observedGeneration=1, updatedReplicas=2, replicas=2, availableReplicas=2))[0] == "waiting"
    assert rollout_state(deployment(observedGeneration=2, updatedReplicas=1, replicas=3, availableReplicas=1))[0] == "waiting"
    assert rollout_state(deployment(observedGeneration=2, updatedReplicas=2, replicas=3, availableReplicas=2)) == (
        "waiting",
        "1 old replicas are pending termination",
    )
    assert rollout_state(deployment(observedGeneration=2, updatedReplicas=2, replicas=2, availableReplicas=1))[0] == "waiting"
    assert rollout_state(deployment(observedGeneration=2, updatedReplicas=2, replicas=2, availableReplicas=2))[0] == "done"
    assert rollout_state(deployment(desired=0, observedGeneration=2))[0] == "done"
    stuck = {"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded", "message": "timed out"}
    assert rollout_state(deployment(observedGeneration=2, conditions=[stuck])) == ("failed", "timed out")
    assert rollout_state(deployment(observedGeneration=1, conditions=[stuck]))[0] == "waiting"  # a stale verdict of the previous spec


# ---------------------------------------------------------------- configuration


def test_kubeconfig_named_by_the_environment_is_honoured(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with FakeKubernetes(token="s3cret", images=[IMAGE]) as fake:
        monkeypatch.setenv("KUBECONFIG", str(fake.write_kubeconfig(tmp_path / "config", token="s3cret")))
        deployer = KubernetesClusterDeployer.from_kubeconfig(**FAST)

        assert deploy(deployer) == f"cluster://127.0.0.1:{fake.port}/{NAMESPACE}"
        assert {r.headers.get("authorization") for r in fake.requests} == {"Bearer s3cret"}

        monkeypatch.setenv("KUBECONFIG", str(fake.write_kubeconfig(tmp_path / "wrong", token="wrong")))
        with pytest.raises(PermanentError, match="401 Unauthorized"):
            KubernetesClusterDeployer.from_kubeconfig(**FAST).namespaces()


def test_from_settings_reads_the_kubernetes_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fake: FakeKubernetes) -> None:
    monkeypatch.setenv("KUBECONFIG", str(fake.write_kubeconfig(tmp_path / "config")))
    tuned = KubernetesClusterDeployer.from_settings(
        load_settings(
            home=tmp_path / "home", kubernetes_field_manager="roadbed-test", kubernetes_rollout_timeout_seconds=7.0, kubernetes_poll_interval_seconds=0.01
        )
    )
    assert (tuned.field_manager, tuned.rollout_timeout, tuned.poll_interval) == ("roadbed-test", 7.0, 0.01)
    deploy(tuned)
    assert {r.param("fieldManager") for r in fake.requests_to("PATCH", ".")} == {"roadbed-test"}

    defaults = KubernetesClusterDeployer.from_settings(load_settings(home=tmp_path / "home"))
    assert defaults.field_manager == "roadbed"
    assert 0 < defaults.rollout_timeout < 600  # inside the step's 10-minute start-to-close timeout
    assert defaults.namespaces() == [NAMESPACE]


def test_no_cluster_configured_is_a_configuration_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KUBECONFIG", raising=False)
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))

    with pytest.raises(ConfigurationError, match="no Kubernetes cluster configured"):
        load_configuration()
    (tmp_path / "broken").write_text("kind: Config\ncontexts: []\n")
    with pytest.raises(ConfigurationError, match="cannot load the Kubernetes client configuration"):
        load_configuration(tmp_path / "broken")


# ---------------------------------------------------------------- the fake itself behaves like an API server


def test_the_fake_answers_like_the_api_server(fake: FakeKubernetes) -> None:
    api = ApiClient(Configuration(host=fake.url))
    core, apps = CoreV1Api(api), AppsV1Api(api)

    def status_of(call: Any) -> tuple[int, str]:
        with pytest.raises(ApiException) as caught:
            call()
        body = caught.value.body
        assert '"kind": "Status"' in body and '"status": "Failure"' in body
        return caught.value.status, body

    assert status_of(lambda: core.create_namespaced_config_map("missing", {"metadata": {"name": "c"}}))[0] == 404
    core.create_namespace({"metadata": {"name": "ns"}})
    assert status_of(lambda: core.create_namespace({"metadata": {"name": "ns"}}))[0] == 409
    assert '"reason": "AlreadyExists"' in status_of(lambda: core.create_namespace({"metadata": {"name": "ns"}}))[1]
    assert status_of(lambda: core.replace_namespaced_config_map("c", "ns", {"metadata": {"name": "c"}}))[0] == 404
    assert status_of(lambda: core.read_namespaced_service("svc", "ns"))[0] == 404
    created = core.create_namespaced_config_map("ns", {"metadata": {"name": "c"}, "data": {"a": "1"}})
    stale = created.metadata.resource_version
    core.patch_namespaced_config_map("c", "ns", {"data": {"b": "2"}})
    assert core.read_namespaced_config_map("c", "ns").data == {"a": "1", "b": "2"}
    assert status_of(lambda: core.replace_namespaced_config_map("c", "ns", {"metadata": {"name": "c", "resourceVersion": stale}}))[0] == 409
    body = {
        "metadata": {"name": "d"},
        "spec": {
            "selector": {"matchLabels": {"a": "b"}},
            "template": {"metadata": {"labels": {"a": "b"}}, "spec": {"containers": [{"name": "c", "image": "i"}]}},
        },
    }
    fake.set_rollout("manual")
    apps.create_namespaced_deployment("ns", body)
    apps.patch_namespaced_deployment_status("d", "ns", {"status": {"observedGeneration": 1, "availableReplicas": 1}})
    assert apps.read_namespaced_deployment("d", "ns").status.available_replicas == 1
    apps.patch_namespaced_deployment("d", "ns", {"metadata": {"labels": {"x": "y"}}})
    assert apps.read_namespaced_deployment("d", "ns").metadata.generation == 1  # metadata only: same generation
    apps.patch_namespaced_deployment("d", "ns", {"spec": {"replicas": 3}})
    assert apps.read_namespaced_deployment("d", "ns").metadata.generation == 2
    assert status_of(lambda: apps.delete_namespaced_deployment("nope", "ns"))[0] == 404


def test_the_fake_server_side_apply_creates_and_conflicts_with_another_manager_unless_forced(fake: FakeKubernetes, tmp_path: Path) -> None:
    dynamic = DynamicClient(
        ApiClient(Configuration(host=fake.url)), cache_file=str(tmp_path / "discovery.json")
    )  # discovery is good enough for the DynamicClient too
    namespaces = dynamic.resources.get(api_version="v1", kind="Namespace")
    configmaps = dynamic.resources.get(api_version="v1", kind="ConfigMap")
    dynamic.server_side_apply(namespaces, body={"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "ns"}}, field_manager="a")
    config = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": "ns"}, "data": {"k": "one"}}
    dynamic.server_side_apply(configmaps, body=config, field_manager="a")

    other = config | {"data": {"k": "two"}}
    with pytest.raises(ApiException) as caught:
        dynamic.server_side_apply(configmaps, body=other, field_manager="b")
    assert caught.value.status == 409 and 'conflict with \\"a\\"' in caught.value.body
    dynamic.server_side_apply(configmaps, body=other, field_manager="b", force_conflicts=True)

    live = fake.object("configmaps", "c", "ns")
    assert live is not None and live["data"] == {"k": "two"}
    assert [m["manager"] for m in live["metadata"]["managedFields"]] == ["b"]
