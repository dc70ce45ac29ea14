"""The leaderboard rollups: per-day, per-author-day and per-author totals, rebuilt from the standing rows.

They live in the store because the store owns these tables and rebuilds them when it migrates a database;
`trends.leaderboard` calls the same function after each load.
"""

from __future__ import annotations

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.engine import Engine
from whichmodel.store.models import LeaderboardAuthor, LeaderboardAuthorDaily, LeaderboardDaily, LeaderboardRow

L = LeaderboardRow.__table__
D = LeaderboardDaily.__table__
AD = LeaderboardAuthorDaily.__table__
AT = LeaderboardAuthor.__table__


def refresh_rollup(engine: Engine) -> int:
    """Rebuild the rollups from the standing rows, in one transaction (readers see old or new).

    `leaderboard_daily` per (board, mode, day, type, family); `leaderboard_author_daily` the same per author,
    and `leaderboard_authors` each author's total. Returns the rows in `leaderboard_daily`.
    """
    from sqlalchemy import and_, delete, func, literal

    # Both engines plan these joins from statistics; a fresh table has none until analysed.
    analyse = engine.dialect.name in ("sqlite", "postgresql")
    with engine.begin() as conn:
        if analyse:
            # Fresh statistics first: the best-repo join below, planned without them on a new index, took
            # 11 minutes instead of 30 s at 1M rows; later, base-models needs them too (6.8 s -> 50 ms).
            conn.exec_driver_sql("ANALYZE leaderboard")
        for table in (D, AD, AT):
            conn.execute(delete(table))
        for mode, flag in (("best", L.c.best), ("best_all", L.c.best_all)):
            for table, keys in ((D, ()), (AD, (L.c.author,))):
                grouped = (
                    select(L.c.board, literal(mode), *keys, L.c.day, L.c.type, L.c.arch_family, L.c.week, L.c.month,
                           func.count(), func.count(L.c.average), func.sum(L.c.average), func.max(L.c.average))
                    .where(flag.is_(True), L.c.day.is_not(None))
                    .group_by(L.c.board, *keys, L.c.day, L.c.type, L.c.arch_family, L.c.week, L.c.month)
                )  # fmt: skip
                columns = ["board", "mode", *(k.name for k in keys), "day", "type", "arch_family", "week", "month",
                           "models", "scored", "sum_average", "max_average"]  # fmt: skip
                conn.execute(insert(table).from_select(columns, grouped))
            best = (
                select(L.c.board, L.c.day, L.c.type, L.c.arch_family, func.min(L.c.repo_id).label("repo"))
                .join(D, and_(D.c.board == L.c.board, D.c.mode == mode, D.c.day == L.c.day, D.c.type == L.c.type,
                              D.c.arch_family == L.c.arch_family, D.c.max_average == L.c.average))
                .where(flag.is_(True))
                .group_by(L.c.board, L.c.day, L.c.type, L.c.arch_family)
            )  # fmt: skip
            rows = [dict(r) for r in conn.execute(best).mappings()]
            if rows:
                conn.execute(
                    update(D).where(D.c.board == bindparam("b_board"), D.c.mode == mode, D.c.day == bindparam("b_day"),
                                    D.c.type == bindparam("b_type"), D.c.arch_family == bindparam("b_fam"))
                    .values(max_repo=bindparam("b_repo")),
                    [{"b_board": r["board"], "b_day": r["day"], "b_type": r["type"], "b_fam": r["arch_family"],
                      "b_repo": r["repo"]} for r in rows],
                )  # fmt: skip
        totals = (
            select(AD.c.board, AD.c.mode, AD.c.author, func.sum(AD.c.models), func.sum(AD.c.scored),
                   func.sum(AD.c.sum_average), func.max(AD.c.max_average), func.min(AD.c.day), func.max(AD.c.day))
            .group_by(AD.c.board, AD.c.mode, AD.c.author)
        )  # fmt: skip
        columns = ["board", "mode", "author", "models", "scored", "sum_average", "max_average", "first", "last"]
        conn.execute(insert(AT).from_select(columns, totals))
        count = conn.execute(select(func.count()).select_from(D)).scalar_one()
    if analyse:
        with engine.begin() as conn:
            for table in ("leaderboard_daily", "leaderboard_author_daily", "leaderboard_authors"):
                conn.exec_driver_sql(f"ANALYZE {table}")
    return count
