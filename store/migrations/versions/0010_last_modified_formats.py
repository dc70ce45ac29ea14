"""`models.last_modified` and the weight formats in `models.lists`, so search can filter on both.

"Updated in the last 6 months" and "GGUF models" were said not applied: the last commit and the file formats
sat only in the packed facts. Both are filled from each model's newest facts
(`store.ingest.refresh_from_newest_facts`); new ingests write them.

Revision ID: 0010
Revises: 0009
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0010"
down_revision: str | Sequence[str] | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add the column and fill it, and the lists, from the stored facts."""
    from whichmodel.store.ingest import refresh_from_newest_facts

    conn = op.get_bind()
    conn.exec_driver_sql("ALTER TABLE models ADD COLUMN last_modified VARCHAR")
    refresh_from_newest_facts(conn)


def downgrade() -> None:
    """Not supported: point whichmodel at a new database instead."""
    raise NotImplementedError("whichmodel does not downgrade schemas")
