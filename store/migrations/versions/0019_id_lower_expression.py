"""Replace `models.id_lower` (a lower-cased copy of every id, indexed) by an index on `lower(id)`.

The copy cost ~27 bytes a model (100k synthetic first ingest) besides its index; the expression index answers the
same lookup (`store.queries._by_id`). The index keeps its name.

Revision ID: 0019
Revises: 0018
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019"
down_revision: str | Sequence[str] | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Drop the column's index and the column; index the expression."""
    conn = op.get_bind()
    if "id_lower" in {c["name"] for c in sa.inspect(conn).get_columns("models")}:
        op.execute("DROP INDEX IF EXISTS ix_models_id_lower")
        op.execute("ALTER TABLE models DROP COLUMN id_lower")  # SQLite 3.35+ rewrites the table; PostgreSQL marks it
    op.execute("CREATE INDEX IF NOT EXISTS ix_models_id_lower ON models (lower(id))")
    if conn.dialect.name == "sqlite" and conn.exec_driver_sql(
            "SELECT 1 FROM sqlite_master WHERE name = 'sqlite_stat1'").first():  # fmt: skip
        # The database's statistics know the other indexes; without its own the planner may scan the table.
        op.execute("ANALYZE ix_models_id_lower")


def downgrade() -> None:
    """Not supported: point whichmodel at a new database instead."""
    raise NotImplementedError("whichmodel does not downgrade schemas")
