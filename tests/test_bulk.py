"""A first ingest defers the search indexes (store/bulk.py): same rows, same indexes, and a crash loses none."""

from __future__ import annotations

import warnings

import pytest
from sqlalchemy import inspect, select, text
from sqlalchemy.exc import SAWarning


def _indexes(engine) -> dict[str, tuple]:
    """The models table's indexes: name -> columns (expression indexes by name only)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SAWarning)  # SQLite reflection skips the expression index
        found = {i["name"]: tuple(i["column_names"]) for i in inspect(engine).get_indexes("models")}
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            names = conn.execute(text("SELECT name FROM sqlite_master WHERE type='index' AND tbl_name='models' "
                                      "AND name NOT LIKE 'sqlite_%'")).scalars()  # fmt: skip
        else:
            names = conn.execute(text("SELECT indexname FROM pg_indexes WHERE tablename='models' "
                                      "AND indexname <> 'models_pkey'")).scalars()  # fmt: skip
        return {name: found.get(name, ()) for name in names}


def _ingest(engine, snapshot_dirs, defer: bool):
    from whichmodel.hub.snapshot import open_snapshot, read_snapshot
    from whichmodel.store.bulk import deferred_search_indexes
    from whichmodel.store.ingest import ingest_items, score_pending

    snaps = sorted((open_snapshot(p) for p in snapshot_dirs), key=lambda s: s.observed_at)[:3]

    def run():
        for snap in snaps:
            ingest_items(engine, read_snapshot(snap), source=str(snap.path), kind="snapshot",
                         observed_at=snap.observed_at)  # fmt: skip
        score_pending(engine, workers=1)

    if not defer:
        run()
        return None
    with deferred_search_indexes(engine) as deferred:
        assert _indexes(engine) == {}  # dropped while the load runs
        run()
    return deferred


def _rows(engine) -> list[tuple]:
    from whichmodel.store.models import ModelRow

    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(select(ModelRow.__table__).order_by(ModelRow.__table__.c.id))]


def test_deferred_load_gives_the_same_rows_and_indexes(new_db_url, snapshot_dirs):
    from whichmodel.store.db import make_engine

    plain, bulk = make_engine(new_db_url("plain")), make_engine(new_db_url("bulk"))
    try:
        expected = _indexes(plain)
        assert len(expected) >= 20  # two dozen: filters, ranks, counts
        _ingest(plain, snapshot_dirs, defer=False)
        assert _ingest(bulk, snapshot_dirs, defer=True) is True
        assert _indexes(bulk) == expected
        assert _rows(bulk) == _rows(plain) and len(_rows(plain)) > 100
        with bulk.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM meta WHERE key = 'search_indexes'")).scalar() == 0
    finally:
        plain.dispose()
        bulk.dispose()


def test_a_table_with_rows_keeps_its_indexes(engine, snapshot_dirs):
    from whichmodel.store.bulk import deferred_search_indexes

    _ingest(engine, snapshot_dirs[:1], defer=False)
    before = _indexes(engine)
    with deferred_search_indexes(engine) as deferred:
        assert deferred is False
        assert _indexes(engine) == before


def test_an_error_inside_rebuilds_at_once(engine):
    from whichmodel.store.bulk import deferred_search_indexes

    before = _indexes(engine)
    with pytest.raises(RuntimeError), deferred_search_indexes(engine):
        raise RuntimeError("the ingest failed")
    assert _indexes(engine) == before


def test_a_killed_load_is_rebuilt_by_the_next_writer(engine, tmp_path, monkeypatch):
    """The process dies with the indexes dropped (the context never exits): the next rescore rebuilds them."""
    from whichmodel.cli.main import main
    from whichmodel.store.bulk import deferred_search_indexes

    before = _indexes(engine)
    loading = deferred_search_indexes(engine)
    loading.__enter__()  # and never __exit__ (kept referenced: a collected generator would run its finally)
    assert _indexes(engine) == {}
    if engine.dialect.name == "sqlite":
        home = tmp_path / "home"
        home.mkdir()
        (home / "whichmodel.db").symlink_to(engine.url.database)
    else:
        home = tmp_path
    monkeypatch.setenv("WHICHMODEL_HOME", str(home))
    assert main(["rescore", "--json"]) == 0
    assert _indexes(engine) == before
    del loading
