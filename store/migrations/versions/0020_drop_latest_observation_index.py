"""Drop `ix_models_latest_observation_id`.

The newest observation is read through the model's own row (by id); the index served one query, the model
names' cache key, which now reads the observations' own key. Each day's ingest moved every model's pointer,
rewriting an entry per model (~12 bytes a model at 100k synthetic models).

Revision ID: 0020
Revises: 0019
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0020"
down_revision: str | Sequence[str] | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Drop the index where it exists."""
    op.execute("DROP INDEX IF EXISTS ix_models_latest_observation_id")


def downgrade() -> None:
    """Not supported: point whichmodel at a new database instead."""
    raise NotImplementedError("whichmodel does not downgrade schemas")
