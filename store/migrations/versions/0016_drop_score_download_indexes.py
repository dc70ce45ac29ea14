"""Drop the (score, downloads) indexes of `models`.

Search sorts a score by its rank value (the `ix_models_{score}_ranked` indexes) and counts a minimum score
from the `(score, has_weights)` indexes; the six `(score, downloads)` indexes served the sort that ranks
replaced and nothing since. Each cost ~20 bytes a model and an index update for every day's download counts
(100k synthetic models: ~116 bytes a model of 2,600).

Revision ID: 0016
Revises: 0015
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0016"
down_revision: str | Sequence[str] | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCORES = ("overall", "popularity", "activity", "operational", "security", "quality")


def upgrade() -> None:
    """Drop the indexes where they exist."""
    for score in SCORES:
        op.execute(f"DROP INDEX IF EXISTS ix_models_{score}_downloads")


def downgrade() -> None:
    """Not supported: point whichmodel at a new database instead."""
    raise NotImplementedError("whichmodel does not downgrade schemas")
