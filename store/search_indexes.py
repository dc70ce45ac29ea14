"""Search and trend indexes one engine needs that the models' declarations cannot say (revision 0008).

Search orders by `col DESC NULLS LAST` (a score's rank value, then its coverage, then downloads; or a count,
then downloads). SQLite sorts NULL lowest, so its ascending indexes walked backwards give exactly that order
and a search with many matches stops after the first rows that pass. PostgreSQL sorts NULL highest: walked
backwards, an ascending index gives `DESC NULLS FIRST`, which is not the order asked for, so the planner reads
and sorts every match instead (at 100k models: 55-90 ms for "text-generation by overall" or "all by
popularity", a sequential scan; ten times that at 1M). Built with the order spelled out, the index gives the
order directly.

The sort and covering indexes are PostgreSQL's only (SQLite has no NULLS LAST in CREATE INDEX and needs none); the count
indexes are both engines'. `upgrade(conn)` creates what the connection's engine needs: revision 0008 runs it
on existing databases, `store.db.migrate` on new ones. The ascending indexes of the same columns stay (filters
and range conditions use them).
"""

from __future__ import annotations

from sqlalchemy.engine import Connection
from whichmodel.store.models import COVERAGE_COLUMNS, RANK_COLUMNS, SCORE_COLUMNS

# The same column lists as `store/models.py`'s ix_models_{c}_ranked / ix_models_likes_downloads /
# ix_models_downloads, which search's `_order` walks: every key DESC NULLS LAST.
SORT_INDEXES: dict[str, tuple[str, ...]] = {
    **{f"ix_models_{c}_ranked_desc": (RANK_COLUMNS[c], COVERAGE_COLUMNS[c], "downloads") for c in SCORE_COLUMNS},
    "ix_models_likes_downloads_desc": ("likes", "downloads"),
    "ix_models_downloads_desc": ("downloads",),
}
# A minimum score is counted with the no-weights filter beside it (`has_weights IS NOT FALSE`); with the
# flag in the index the count is an index-only scan instead of a visit to every matching row (PostgreSQL at
# 100k models, security >= 8: 46 -> 8 ms; SQLite at 1M counted 200k rows twice: 417 ms p95).
COUNT_INDEXES: dict[str, tuple[str, ...]] = {f"ix_models_{c}_weights": (c, "has_weights") for c in SCORE_COLUMNS}


# The authors trend view sums the per-author daily rollup of a few authors over a date range. SQLite stores that
# table in key order (WITHOUT ROWID), so the sums read neighbouring rows; PostgreSQL's heap is in load order,
# and each row was a random page read until the summed columns rode in the index (1M leaderboard rows:
# authors view p95 363 -> 147 ms, an index-only scan).
COVERING_INDEXES: dict[str, str] = {
    "ix_lb_author_daily_cover": "leaderboard_author_daily (board, mode, author, day) INCLUDE (models, scored, "
                                "sum_average, max_average, type, arch_family, week, month)",
}  # fmt: skip


def statements(dialect: str) -> list[str]:
    """The CREATE INDEX statements an engine needs (idempotent)."""
    counts = [f"CREATE INDEX IF NOT EXISTS {name} ON models ({', '.join(c)})" for name, c in COUNT_INDEXES.items()]
    if dialect != "postgresql":
        return counts
    return [
        f"CREATE INDEX IF NOT EXISTS {name} ON models ({', '.join(f'{c} DESC NULLS LAST' for c in columns)})"
        for name, columns in SORT_INDEXES.items()
    ] + counts + [f"CREATE INDEX IF NOT EXISTS {name} ON {spec}" for name, spec in COVERING_INDEXES.items()]


def upgrade(conn: Connection) -> None:
    """Create the indexes the connection's engine needs."""
    for statement in statements(conn.dialect.name):
        conn.exec_driver_sql(statement)


def rebuild_base_models_cover(conn: Connection) -> None:
    """PostgreSQL: rebuild `ix_lb_family_params_cover` as the models declare it, with `INCLUDE (type)`.

    Revision 0009, for databases made before it; a new database gets the declared index from `create_all`.
    Idempotent: an index that already includes the type is left alone.
    """
    if conn.dialect.name != "postgresql":
        return
    from sqlalchemy.schema import CreateIndex
    from whichmodel.store.models import LeaderboardRow

    definition = conn.exec_driver_sql(
        "SELECT indexdef FROM pg_indexes WHERE schemaname = current_schema() "
        "AND indexname = 'ix_lb_family_params_cover'"
    ).scalar()
    if definition is not None and "INCLUDE (type)" in definition:
        return
    index = next(i for i in LeaderboardRow.__table__.indexes if i.name == "ix_lb_family_params_cover")
    conn.exec_driver_sql("DROP INDEX IF EXISTS ix_lb_family_params_cover")
    conn.execute(CreateIndex(index))
