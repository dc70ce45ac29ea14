"""Drop `ix_models_last_seen`.

Each day's ingest moved every model's `last_seen`, rewriting an index entry per model (~29 bytes a model at
100k synthetic models), for one question: the newest date observed, which the ingest runs now answer
(`store.queries.newest_observed_at`).

Revision ID: 0018
Revises: 0017
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0018"
down_revision: str | Sequence[str] | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Drop the index where it exists."""
    op.execute("DROP INDEX IF EXISTS ix_models_last_seen")


def downgrade() -> None:
    """Not supported: point whichmodel at a new database instead."""
    raise NotImplementedError("whichmodel does not downgrade schemas")
