"""Search and trend indexes: sort order, minimum-score counts, the authors view's covering index.

See `store.search_indexes`: PostgreSQL read and sorted every match where SQLite walks an index backwards, and
a minimum score counted with the no-weights filter visited every matching row on both engines, and the authors
view read PostgreSQL's heap row by row.

Revision ID: 0008
Revises: 0007
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0008"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create the indexes the engine needs."""
    from whichmodel.store.search_indexes import upgrade as create

    create(op.get_bind())


def downgrade() -> None:
    """Not supported: point whichmodel at a new database instead."""
    raise NotImplementedError("whichmodel does not downgrade schemas")
