"""`models.last_modified`: when the repo last changed on the Hub, so search can filter on it.

"Updated in the last 6 months" was said not applied: the last commit sat only in the packed facts. The column
is filled from each model's newest facts (`store.records.fill_last_modified`); new ingests write it.

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
    """Add the column and fill it from the stored facts."""
    from whichmodel.store.records import fill_last_modified

    conn = op.get_bind()
    conn.exec_driver_sql("ALTER TABLE models ADD COLUMN last_modified VARCHAR")
    fill_last_modified(conn)


def downgrade() -> None:
    """Not supported: point whichmodel at a new database instead."""
    raise NotImplementedError("whichmodel does not downgrade schemas")
