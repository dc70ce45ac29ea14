"""Observations keep their own scores and may share an earlier observation's assessment row.

A day that moved only a model's downloads and likes added a whole assessment (findings, outcomes, twelve
scores and coverages: ~250 bytes with its index) per model. Now each observation carries its scores in
hundredths (`overall_x100` ...) and points at the observation whose assessment holds its findings
(`assessed_by`); an observation whose findings equal that one's but for the checks read from the counters and
the date adds no assessment (`store.ingest._write_scores`). Existing observations point at their own rows,
whose scores are copied. The index of the observation date alone goes (range filters on it scan anyway), and
the unscored index keeps only the unscored rows (`scored_version IS NULL`).

Revision ID: 0013
Revises: 0012
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | Sequence[str] | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCORES = ("overall", "popularity", "activity", "operational", "security", "quality")


def upgrade() -> None:
    """Add the columns, point scored observations at their own assessments and copy their scores."""
    conn = op.get_bind()
    have = {c["name"] for c in sa.inspect(conn).get_columns("observations")}
    for column in ("assessed_by", *(f"{c}_x100" for c in SCORES)):
        if column not in have:  # a database stamped back to an earlier revision has them
            conn.exec_driver_sql(f"ALTER TABLE observations ADD COLUMN {column} INTEGER")
    if "content_hash" not in {c["name"] for c in sa.inspect(conn).get_columns("assessments")}:
        conn.exec_driver_sql("ALTER TABLE assessments ADD COLUMN content_hash BIGINT")
    sets = ", ".join(f"{c}_x100 = CAST(round(a.{c} * 100) AS INTEGER)" for c in SCORES)
    conn.exec_driver_sql(
        f"UPDATE observations SET assessed_by = observations.id, {sets} FROM assessments a "
        "WHERE a.observation_id = observations.id AND a.method_version = observations.scored_version"
    )
    conn.exec_driver_sql("DROP INDEX IF EXISTS ix_observations_observed_at")
    # The unscored index holds only the unscored (an older method version's rows are set back first).
    conn.exec_driver_sql("DROP INDEX IF EXISTS ix_observations_unscored")
    conn.exec_driver_sql(
        "CREATE INDEX ix_observations_unscored ON observations (scored_version) WHERE scored_version IS NULL"
    )


def downgrade() -> None:
    """Not supported: point whichmodel at a new database instead."""
    raise NotImplementedError("whichmodel does not downgrade schemas")
