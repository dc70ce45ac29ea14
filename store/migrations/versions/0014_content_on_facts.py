"""The columns an observation copied from its facts (sha, license, gate, pickle files) move to the facts row.

Every observation of one facts row had the same four values, stored again each day (~60 bytes an
observation); the facts row holds them once per distinct content. History, alerts and ingest read them
through the observation's `facts_id`.

Revision ID: 0014
Revises: 0013
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | Sequence[str] | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CONTENT = {"sha": "VARCHAR", "license": "VARCHAR", "gated": "VARCHAR", "pickle_files": "INTEGER"}


def upgrade() -> None:
    """Add the facts columns, fill them from each facts row's newest observation, drop the observations'."""
    conn = op.get_bind()
    # The columns that follow the content go to the facts row (every observation of a facts row has the same).
    have = {c["name"] for c in sa.inspect(conn).get_columns("facts")}
    for column, kind in CONTENT.items():
        if column not in have:
            conn.exec_driver_sql(f"ALTER TABLE facts ADD COLUMN {column} {kind}")
    have = {c["name"] for c in sa.inspect(conn).get_columns("observations")}
    if set(CONTENT) <= have:  # not yet moved (a database stamped back to an earlier revision has them moved)
        sets = ", ".join(f"{c} = o.{c}" for c in CONTENT)
        conn.exec_driver_sql(
            f"UPDATE facts SET {sets} FROM (SELECT facts_id, max(id) AS newest FROM observations GROUP BY facts_id)"
            " g JOIN observations o ON o.id = g.newest WHERE g.facts_id = facts.id"
        )
    for column in CONTENT:
        if column in have:
            conn.exec_driver_sql(f"ALTER TABLE observations DROP COLUMN {column}")


def downgrade() -> None:
    """Not supported: point whichmodel at a new database instead."""
    raise NotImplementedError("whichmodel does not downgrade schemas")
