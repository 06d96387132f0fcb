"""Sealed settings: a Terraform variable a module marks `sensitive = true` never rests or travels in clear.

At submission every sensitive resource setting is replaced by a *sealed reference* — the string
`roadbed-sealed:v1:<Fernet token>` — so what the engine database stores (`environments.provision_input`,
`environments.resources`), what Temporal records (workflow input and history) and what the API shows
(`"***"`, see `redact_sealed`) never hold the value. Only the infrastructure activity unseals, just before
Terraform runs (`unseal_resource`); the runners then hand the values to Terraform in a 0600 var file that
is deleted when the run ends (`roadbed.adapters.terraform_workspaces.variable_files`). Terraform's *state*
still holds them — that is Terraform's nature: the state lives in the 0700 data dir or the pg backend, and
must be protected like the key.

The key is a Fernet key in `$ROADBED_HOME/secret-key`, made 0600 on first use. The API (which seals) and
every worker (which unseals) must see the same file: on several hosts, share it like the database.
Fernet tokens are authenticated (AES-CBC + HMAC): a tampered or foreign reference fails loudly.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet, InvalidToken

from roadbed.domain.errors import PermanentError
from roadbed.domain.models import EnvironmentRequest, ResourceRequest
from roadbed.private_files import private_dir
from roadbed.rendering.terraform import sensitive_variables

SEALED_PREFIX = "roadbed-sealed:v1:"
REDACTED = "***"
KEY_FILE = "secret-key"


def secret_key_file(home: Path) -> Path:
    """Where the data dir `home` keeps the key that seals sensitive settings."""
    return home / KEY_FILE


class SecretBox:
    """Seals and unseals values with the data dir's key; the key file is read (or made) on first use, not before."""

    def __init__(self, key_file: Path) -> None:
        self.key_file = key_file
        self._fernet: Fernet | None = None

    def _key(self) -> Fernet:
        if self._fernet is None:
            self._fernet = Fernet(self._load_or_create())
        return self._fernet

    def _load_or_create(self) -> bytes:
        """The stored key, or a new one. Concurrent first uses (API and worker of one `roadbed up`) agree:
        the key is written whole to a private temporary file and linked into place, which fails if another
        process won the race — then its key is the one read."""
        if not self.key_file.exists():
            private_dir(self.key_file.parent)
            temporary = self.key_file.with_name(f".{self.key_file.name}.{os.getpid()}.{id(self)}.tmp")
            descriptor = os.open(temporary, os.O_CREAT | os.O_TRUNC | os.O_WRONLY, 0o600)
            with os.fdopen(descriptor, "wb") as handle:
                handle.write(Fernet.generate_key() + b"\n")
            try:
                os.link(temporary, self.key_file)
            except FileExistsError:
                pass
            finally:
                temporary.unlink(missing_ok=True)
        return self.key_file.read_bytes().strip()

    def seal(self, value: Any) -> str:
        """A sealed reference to `value` (any JSON value; a number stays a number once unsealed)."""
        return SEALED_PREFIX + self._key().encrypt(json.dumps(value).encode()).decode()

    def unseal(self, reference: str) -> Any:
        try:
            return json.loads(self._key().decrypt(reference.removeprefix(SEALED_PREFIX).encode()))
        except InvalidToken:
            raise PermanentError(f"a sealed setting cannot be opened with the key in {self.key_file} (another data dir's key?)") from None


def is_sealed(value: Any) -> bool:
    return isinstance(value, str) and value.startswith(SEALED_PREFIX)


def seal_resource(resource: ResourceRequest, sensitive: frozenset[str], box: SecretBox) -> ResourceRequest:
    """The resource with every sensitive setting sealed (already-sealed values are kept as they are)."""
    settings = resource.settings()
    if not any(name in settings and not is_sealed(settings[name]) for name in sensitive):
        return resource
    sealed = {k: box.seal(v) if k in sensitive and not is_sealed(v) else v for k, v in settings.items()}
    return ResourceRequest(type=resource.type, name=resource.name, **sealed)


def unseal_resource(resource: ResourceRequest, box: SecretBox | None) -> ResourceRequest:
    """The resource with every sealed setting opened: only for the moment Terraform needs it."""
    settings = resource.settings()
    if not any(is_sealed(v) for v in settings.values()):
        return resource
    if box is None:
        raise PermanentError(f"{resource.type}:{resource.name} has sealed settings but this worker has no secret key")
    opened = {k: box.unseal(v) if is_sealed(v) else v for k, v in settings.items()}
    return ResourceRequest(type=resource.type, name=resource.name, **opened)


def seal_request(request: EnvironmentRequest, modules_dir: Path, box: SecretBox) -> EnvironmentRequest:
    """The request as it may be stored and sent to Temporal: the settings each resource's module marks
    `sensitive = true` (in `modules_dir/<type>`) sealed."""
    resources = [seal_resource(r, sensitive_variables(modules_dir / r.type), box) for r in request.resources]
    if resources == list(request.resources):
        return request
    return request.model_copy(update={"resources": resources})


def unseal_request(request: EnvironmentRequest, box: SecretBox) -> EnvironmentRequest:
    """The request as its sender wrote it: compared with a resent request of the same `request_id`."""
    resources = [unseal_resource(r, box) for r in request.resources]
    return request.model_copy(update={"resources": resources})


def redact_sealed(value: Any) -> Any:
    """`value` with every sealed reference shown as `***` (API views and pages: not even the ciphertext)."""
    if is_sealed(value):
        return REDACTED
    if isinstance(value, dict):
        return {k: redact_sealed(v) for k, v in value.items()}
    if isinstance(value, list):
        return [redact_sealed(v) for v in value]
    return value
