"""deployments: covering indexes for the DORA reports — a window's scan (environment, time, status, service, commit, commit
time, id) and the "was this commit deployed before?" probe (service, environment, commit, time, status) — so neither goes
back to the table row by row

`ix_deployments_environment_time` (environment, deployed_at) found a window's rows, but each row's service, status and
commit were then read from the table: most of the time of the portal's DORA page and scorecards on 20,000 deployments.
The probe needs its own covering index too: without table statistics SQLite would otherwise probe through the window
index (a covering range over all earlier deployments of the environment, per commit) rather than `ix_deployments_commit`,
which has to read each match's status from the table.

Revision ID: 0015
Revises: 0014
"""
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

INDEXES = {
    "ix_deployments_window": ["environment", "deployed_at", "status", "service", "commit_sha", "commit_time", "id"],
    "ix_deployments_commit_status": ["service", "environment", "commit_sha", "deployed_at", "status"],
}


def upgrade() -> None:
    for name, columns in INDEXES.items():
        op.create_index(name, "deployments", columns, unique=False)


def downgrade() -> None:
    for name in INDEXES:
        op.drop_index(name, table_name="deployments")
