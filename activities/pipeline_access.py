"""The delivery loop, closed: what a generated repository's pipeline needs to publish its image and deploy through
Roadbed, handed over by the repository step and taken back when the repository goes.

The pipeline (golden_paths/*/skeleton/.github/workflows/ci.yaml) pushes `<ROADBED_IMAGE_REGISTRY>/<service>:<sha>`
and calls `POST /v1/services/<service>/deployments` with the commit and its time, so every deployment is recorded
for DORA by construction. It reads Roadbed's URL and the registry as repository variables and a `deployer` token —
which can deploy that one service and call nothing else (`roadbed.auth`) — as a secret.

One live pipeline token per service, whatever the retries: the token is minted once and kept sealed with the data
dir's key (`roadbed.sealing`), so a retried step, or the service's next environment, sets the *same* token again
rather than minting another; two steps racing to mint it meet at a partial unique index and the loser uses the
winner's. Every setter therefore writes the same value and the last GitHub write cannot leave a revoked token behind.
The token is revoked (`revoke_pipeline_access`) when the repository is removed or archived: by decommission of the
service's last environment and by the compensation of a failed first provisioning. Targets without a CI to configure
(the embedded git host) have no `DeliveryTarget`: the pipeline file is generated all the same, nothing is minted.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from sqlalchemy.exc import IntegrityError

from roadbed.domain.errors import TransientError
from roadbed.sealing import SecretBox
from roadbed.storage import tokens
from roadbed.storage.database import Database

URL_VARIABLE = "ROADBED_URL"
REGISTRY_VARIABLE = "ROADBED_IMAGE_REGISTRY"
TOKEN_SECRET = "ROADBED_DEPLOY_TOKEN"
MINT_ATTEMPTS = 3


class PipelineSettings(Protocol):
    """Where a repository's pipeline reads its configuration (GitHub: Actions variables and secrets)."""

    def configure(self, repository: str, variables: Mapping[str, str], secrets: Mapping[str, str]) -> None:
        """Make `repository`'s variables and secrets hold these values (idempotent; others are left alone)."""


@dataclass(frozen=True)
class DeliveryTarget:
    """What provisioning hands a generated pipeline, and where (injected by `roadbed.worker.build_ports`)."""

    settings: PipelineSettings
    roadbed_url: str  # as the CI runners reach Roadbed's API (ROADBED_API_URL)
    image_registry: str  # ROADBED_IMAGE_REGISTRY: where the pipeline pushes and the workload pulls from
    box: SecretBox  # keeps the pipeline token sealed at rest


def pipeline_token(database: Database, box: SecretBox, service: str) -> tuple[str, str]:
    """(token id, token) of the service's live pipeline token, minted on first use."""
    for _ in range(MINT_ATTEMPTS):
        try:
            with database.transaction(serialized=True) as session:
                row = tokens.live_pipeline_token(session, service)
                if row is not None and row.sealed_token is not None:
                    return row.id, str(box.unseal(row.sealed_token))
                row, token = tokens.create_pipeline_token(
                    session, service, datetime.now(UTC), f"deploys {service} from its repository's pipeline (set by provisioning)", box.seal
                )
                return row.id, token
        except IntegrityError:
            continue  # another step of this service minted it between our read and our insert: read theirs
    raise TransientError(f"could not mint or read the pipeline token of {service}")


def configure_pipeline(database: Database, target: DeliveryTarget | None, service: str) -> str:
    """Set the repository's pipeline variables and deploy token; returns a summary (never the token)."""
    if target is None:
        return "pipeline generated; this repo host has no CI settings to set"
    token_id, token = pipeline_token(database, target.box, service)
    target.settings.configure(
        service, {URL_VARIABLE: target.roadbed_url, REGISTRY_VARIABLE: target.image_registry}, {TOKEN_SECRET: token}
    )
    return f"pipeline configured: {URL_VARIABLE}, {REGISTRY_VARIABLE}, {TOKEN_SECRET} (deployer token {token_id})"


def revoke_pipeline_access(database: Database, service: str) -> str:
    """Revoke every live deployer token of the service: its pipeline, and anyone holding one, can no longer deploy."""
    with database.transaction() as session:
        revoked = tokens.revoke_deploy_tokens(session, service, datetime.now(UTC))
    return f"revoked deployer token{'' if len(revoked) == 1 else 's'} {', '.join(revoked)}" if revoked else "no deployer token to revoke"
