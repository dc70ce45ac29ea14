"""A first ingest builds the search indexes once, at the end, instead of row by row.

`models` carries ~35 search indexes, and a first ingest writes each model's row twice (its facts, then its
scores), moving an entry in nearly every index each time. Into an empty table, the usual bulk load is faster:
drop the secondary indexes, write, create them once over the finished table (one sort each). At 10k synthetic
models that took a sixth of the ingest's CPU; creating them afterwards takes half a second.

The drop is recorded in `meta` before it happens, so a process killed in between leaves a database whose next
writer (the next ingest or scoring) rebuilds them first; readers meanwhile get the same answers, slower.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import delete, insert, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.schema import CreateIndex
from whichmodel.store import search_indexes
from whichmodel.store.models import Meta, ModelRow

M = ModelRow.__table__
META = Meta.__table__
FLAG = "search_indexes"  # meta key, "deferred" while a bulk load has them dropped


def _index_names() -> list[str]:
    """Every secondary index on `models`: declared with the table, and those revision 0008 adds."""
    names = [index.name for index in M.indexes]
    return names + [*search_indexes.SORT_INDEXES, *search_indexes.COUNT_INDEXES]


def rebuild(engine: Engine) -> bool:
    """Create the search indexes a deferred bulk load dropped (after a crash, say); whether there were any."""
    with engine.begin() as conn:
        if conn.execute(select(META.c.value).where(META.c.key == FLAG)).scalar() is None:
            return False
        for index in M.indexes:
            conn.execute(CreateIndex(index, if_not_exists=True))
        search_indexes.upgrade(conn)  # the engine's own: IF NOT EXISTS
        conn.execute(delete(META).where(META.c.key == FLAG))
    return True


@contextmanager
def deferred_search_indexes(engine: Engine) -> Iterator[bool]:
    """Around a first ingest and its scoring: drop the search indexes when `models` is empty, rebuild after.

    Yields whether it deferred them. A `models` table with rows keeps its indexes (other readers use them,
    and an ingest of a few new models into a large table is cheaper row by row).
    """
    rebuild(engine)  # a bulk load that did not finish
    try:
        with engine.begin() as conn:
            empty = conn.execute(select(M.c.id).limit(1)).first() is None
            if empty:
                conn.execute(insert(META).values(key=FLAG, value="deferred"))
                for name in _index_names():
                    conn.exec_driver_sql(f"DROP INDEX IF EXISTS {name}")
    except IntegrityError:  # another process began a bulk load of this database at the same moment: it rebuilds
        empty = False
    try:
        yield empty
    finally:
        if empty:
            rebuild(engine)
