"""Which image an environment runs: the golden path's bootstrap image until the service's CI publishes its own.

On a real cluster a rollout of an image nobody published never becomes available; the fake cluster
behaves the same way (it pulls only images its registry holds), so these tests would catch a return
to a hard-coded `<registry>/<service>:latest` first deploy.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from kubernetes.client import ApiClient, Configuration

from roadbed.adapters.kubernetes_cluster import KubernetesClusterDeployer
from roadbed.domain.errors import PermanentError
from roadbed.domain.models import EnvironmentRequest
from roadbed.domain.specs import DEFAULT_BOOTSTRAP_IMAGE, KubernetesDefaults
from roadbed.environment_specs import BOOTSTRAP_VERSION, image_for, workload_spec
from roadbed.golden_paths import GoldenPathRegistry, load_golden_path
from roadbed.rendering.manifests import render_manifests
from roadbed.settings import load_settings
from tests.fakes.kubernetes import FakeKubernetes

BUILTIN = Path(__file__).resolve().parents[2] / "golden_paths"
FAST = {"poll_interval": 0.005, "rollout_timeout": 0.5, "removal_timeout": 1.0, "request_timeout": 5.0}


def request() -> EnvironmentRequest:
    return EnvironmentRequest(service="orders", team="payments", golden_path="python-service", environment="dev")


def spec(version: str | None = None, registry: str = "ghcr.io/acme"):  # noqa: ANN201 - a WorkloadSpec
    golden_path = GoldenPathRegistry([BUILTIN]).get("python-service")
    return workload_spec(request(), golden_path, environment_id="env-1", golden_path_version="1.0.0", resources={}, version=version, image_registry=registry)


@pytest.fixture
def cluster() -> Iterator[FakeKubernetes]:
    with FakeKubernetes() as fake:
        yield fake


@pytest.fixture
def deployer(cluster: FakeKubernetes) -> Iterator[KubernetesClusterDeployer]:
    deployer = KubernetesClusterDeployer(ApiClient(Configuration(host=cluster.url)), **FAST)
    yield deployer
    deployer.close()


def test_every_builtin_golden_path_declares_a_bootstrap_image() -> None:
    for name in ("python-service", "node-service", "worker"):
        golden_path = load_golden_path(BUILTIN / name)
        assert golden_path.valid, golden_path
        assert golden_path.roadbed.kubernetes.bootstrap_image == DEFAULT_BOOTSTRAP_IMAGE


def test_bootstrap_image_is_read_from_spec_roadbed_in_either_spelling() -> None:
    assert KubernetesDefaults.model_validate({"bootstrapImage": "ghcr.io/acme/hello:1"}).bootstrap_image == "ghcr.io/acme/hello:1"
    assert KubernetesDefaults.model_validate({"bootstrap_image": "ghcr.io/acme/hello:2"}).bootstrap_image == "ghcr.io/acme/hello:2"
    assert KubernetesDefaults().bootstrap_image == DEFAULT_BOOTSTRAP_IMAGE
    with pytest.raises(ValueError, match="bootstrap"):
        KubernetesDefaults.model_validate({"bootstrapImage": "two words"})


def test_first_deploy_runs_the_bootstrap_image_and_deployments_the_registry_image() -> None:
    assert spec().image == DEFAULT_BOOTSTRAP_IMAGE
    assert spec(BOOTSTRAP_VERSION).image == DEFAULT_BOOTSTRAP_IMAGE  # a rollback with nothing deployed before
    assert spec("1.2.0").image == "ghcr.io/acme/orders:1.2.0"
    assert image_for("orders", GoldenPathRegistry([BUILTIN]).get("worker"), "2.0.0", "registry.example.com/team/") == "registry.example.com/team/orders:2.0.0"


def test_the_image_registry_setting_is_read_from_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    assert load_settings(home=tmp_path).image_registry == "registry.local"
    monkeypatch.setenv("ROADBED_IMAGE_REGISTRY", "ghcr.io/acme")
    assert load_settings(home=tmp_path).image_registry == "ghcr.io/acme"


def test_the_fake_cluster_never_makes_an_unpublished_image_available(cluster: FakeKubernetes, deployer: KubernetesClusterDeployer) -> None:
    unpublished = spec("1.0.0")
    with pytest.raises(PermanentError, match="did not complete within"):
        deployer.deploy(unpublished, render_manifests(unpublished))
    status = (cluster.object("deployments", "orders", "orders-dev") or {}).get("status", {})
    assert not status.get("availableReplicas")
    assert {c["type"]: c["status"] for c in status["conditions"]}["Available"] == "False"

    cluster.publish_image("ghcr.io/acme/orders:1.0.0")  # the service's CI pushed it: the same rollout now completes
    assert deployer.deploy(unpublished, render_manifests(unpublished)).endswith("/orders-dev")


def test_provisioning_with_the_bootstrap_image_becomes_ready(cluster: FakeKubernetes, deployer: KubernetesClusterDeployer) -> None:
    cluster.publish_image(DEFAULT_BOOTSTRAP_IMAGE)  # public: every cluster can pull it
    first = spec()
    assert deployer.deploy(first, render_manifests(first)).endswith("/orders-dev")
    live = cluster.object("deployments", "orders", "orders-dev") or {}
    assert live["spec"]["template"]["spec"]["containers"][0]["image"] == DEFAULT_BOOTSTRAP_IMAGE
    assert live["status"]["availableReplicas"] == 2
