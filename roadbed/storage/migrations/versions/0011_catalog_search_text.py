"""catalog_entities.search_text: the lower-cased name, title, description and tags of each entity, for search in SQL

Filled here for the rows already stored (`roadbed.search.search_text`, the function the catalog writes it with).

Revision ID: 0011
Revises: 0010
"""
import sqlalchemy as sa
from alembic import op

from roadbed.search import search_text

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("catalog_entities") as batch_op:
        batch_op.add_column(sa.Column("search_text", sa.Text(), nullable=True))
    entities = sa.table("catalog_entities", sa.column("ref", sa.String), sa.column("body", sa.JSON), sa.column("search_text", sa.Text))
    connection = op.get_bind()
    rows = connection.execute(sa.select(entities.c.ref, entities.c.body)).all()
    for start in range(0, len(rows), 1000):
        connection.execute(
            entities.update().where(entities.c.ref == sa.bindparam("target")),
            [{"target": ref, "search_text": search_text(body or {})} for ref, body in rows[start : start + 1000]],
        )


def downgrade() -> None:
    with op.batch_alter_table("catalog_entities") as batch_op:
        batch_op.drop_column("search_text")
