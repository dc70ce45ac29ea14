"""Derived facts on `models`: license classes, conflicts, adapter and active parameters, weights, ranks.

The declared vs effective license class, size and license conflicts, adapter and active parameter counts,
whether weights are present, and each score's coverage and rank value beside it.

Revision ID: 0006
Revises: 0005
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add and fill the columns (facts that need the new parser arrive with `whichmodel rescore`)."""
    from whichmodel.store.db import add_derived_facts

    add_derived_facts(op.get_bind())


def downgrade() -> None:
    """Not supported: point whichmodel at a new database instead."""
    raise NotImplementedError("whichmodel does not downgrade schemas")
