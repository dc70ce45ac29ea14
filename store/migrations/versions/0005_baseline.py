"""Baseline: the schema as whichmodel's own version 5 left it.

A database reaches this revision by being created from the models (a new database is stamped at the head)
or, when it predates Alembic, by the schema-version steps in `whichmodel.store.db.LEGACY_STEPS`.

Revision ID: 0005
Revises:
"""

from collections.abc import Sequence

revision: str = "0005"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Nothing to do: the baseline is where every database starts."""


def downgrade() -> None:
    """Nothing before the baseline."""
