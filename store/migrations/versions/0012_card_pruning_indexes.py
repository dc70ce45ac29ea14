"""PostgreSQL: the card keyword table's indexes for ranking fewer rows (`store/keywords.py`, `_best`).

The keyword query ranked every chunk holding any query word with `ts_rank` (a four-word query at 100k chunks:
45k rows, 57 ms serial). It now ranks the chunks holding two query words, or one in their model id or section
heading, then the short chunks that could still reach the n-th rank: a GIN index on the heading words
(`ts_filter(document, '{a,b}')`) and a B-tree on the number of distinct words (`length(document)`) find those.
A table made after this revision gets them when created; this adds them to one made before. SQLite's card
keywords are an FTS5 file of their own: nothing to do there.

Revision ID: 0012
Revises: 0011
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0012"
down_revision: str | Sequence[str] | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create the pruning indexes on an existing card keyword table (PostgreSQL only)."""
    from whichmodel.store.keywords import PRUNING_INDEXES

    conn = op.get_bind()
    if conn.dialect.name == "postgresql" and conn.exec_driver_sql("SELECT to_regclass('card_chunks')").scalar():
        for statement in PRUNING_INDEXES:
            conn.exec_driver_sql(statement)


def downgrade() -> None:
    """Not supported: point whichmodel at a new database instead."""
    raise NotImplementedError("whichmodel does not downgrade schemas")
