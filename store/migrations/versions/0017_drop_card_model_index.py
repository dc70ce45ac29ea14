"""Drop `ix_cards_model_id`: cards are read by their hash only.

The index cost ~30 bytes a model (100k synthetic first ingest) and served no query; the column stays (which
model's record brought the card first).

Revision ID: 0017
Revises: 0016
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0017"
down_revision: str | Sequence[str] | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Drop the index where it exists."""
    op.execute("DROP INDEX IF EXISTS ix_cards_model_id")


def downgrade() -> None:
    """Not supported: point whichmodel at a new database instead."""
    raise NotImplementedError("whichmodel does not downgrade schemas")
