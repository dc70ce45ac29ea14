"""PostgreSQL: search totals with a minimum score from counts per score band (`model_score_facets`).

`--min-score security=8` at 1M models matches 200k rows, and its total is counted twice (with and without the
repos lacking weights): PostgreSQL's index-only count of them took ~40 ms a time. The table keeps, per score
category, whole-number band (the floor of the score) and weights flag, how many models there are, kept exact
by the same statement triggers as `model_facets` (`store/facets.py`); this
revision creates it, fills it from `models` and replaces the trigger functions. New databases get it when
first opened. SQLite keeps no such table (its count of the same index entries is several times faster, and
its row triggers would add six upserts per model written): nothing to do there.

Revision ID: 0011
Revises: 0010
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0011"
down_revision: str | Sequence[str] | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create and fill the score bands and their triggers (PostgreSQL only)."""
    from whichmodel.store import facets

    conn = op.get_bind()
    if conn.dialect.name == "postgresql":
        facets.install_on(conn)


def downgrade() -> None:
    """Not supported: point whichmodel at a new database instead."""
    raise NotImplementedError("whichmodel does not downgrade schemas")
