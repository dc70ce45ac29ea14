"""PostgreSQL: the base-models view's covering index carries the leaderboard type.

The base-models view reads each base's derivatives from `ix_lb_family_params_cover`; with a types filter
PostgreSQL fetched every one of those rows from the heap to read `type` (an index scan, not index-only:
~20 ms a base at 1M rows). The index is rebuilt with `INCLUDE (type)`, as new databases declare it
(`store/models.py`). SQLite keeps its index: it has no INCLUDE, and its figure is met without it.

Revision ID: 0009
Revises: 0008
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0009"
down_revision: str | Sequence[str] | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Rebuild the covering index with the type included (PostgreSQL only)."""
    from whichmodel.store.search_indexes import rebuild_base_models_cover

    rebuild_base_models_cover(op.get_bind())


def downgrade() -> None:
    """Not supported: point whichmodel at a new database instead."""
    raise NotImplementedError("whichmodel does not downgrade schemas")
