"""Assessments keep what a later observation of the same content needs to be scored without its checks.

`assessments.carry` holds the context key, the points of every check that is not run again, and the few facts the
re-run checks read (`scoring.engine.carry_state`). Rows written before this revision have none: their next
observation is scored in full, once, and then carries. `models.scored_facts_id` names the facts row whose
scoring last wrote the models row's derived columns (None: as parsed, so the next observation is scored
in full).

Revision ID: 0015
Revises: 0014
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | Sequence[str] | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add the nullable columns."""
    conn = op.get_bind()
    if "carry" not in {c["name"] for c in sa.inspect(conn).get_columns("assessments")}:
        op.add_column("assessments", sa.Column("carry", sa.LargeBinary(), nullable=True))
    if "scored_facts_id" not in {c["name"] for c in sa.inspect(conn).get_columns("models")}:
        op.add_column("models", sa.Column("scored_facts_id", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    """Not supported: point whichmodel at a new database instead."""
    raise NotImplementedError("whichmodel does not downgrade schemas")
