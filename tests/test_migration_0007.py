"""Revision 0007 (change-only storage) on a real home written at revision 0006 (tests/fixtures/home-0006.sql).

Expected values are read from the old tables with plain sqlite3 before the migration runs; afterwards the
store's readers must give back exactly those facts, findings and scores.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from factories import make_facts
from sqlalchemy import func, select
from whichmodel.hub.snapshot import Parsed
from whichmodel.scoring.method import load_method
from whichmodel.store.ingest import ingest_items, score_pending
from whichmodel.store.models import FactsRow, Observation
from whichmodel.store.queries import SearchFilters, search_models
from whichmodel.store.records import card_texts, facts_of, findings_of
from whichmodel.trends.views import TrendParams, run_view

DUMP = Path(__file__).parent / "fixtures" / "home-0006.sql"
CATEGORIES = ("overall", "popularity", "activity", "operational", "security", "quality")


def load_home(path: Path) -> None:
    """The 0006 home as a SQLite file at `path`."""
    with sqlite3.connect(path) as conn:
        conn.executescript(DUMP.read_text(encoding="utf-8"))


def to_schema_5(path: Path) -> None:
    """Take a 0006 home back to schema 5 as homes from before Alembic are: no 0006 columns, an older facet table."""
    from whichmodel.store.models import COVERAGE_COLUMNS, RANK_COLUMNS

    added = ["license_class_declared", "license_conflict", "params_conflict", "params_active", "adapter_params",
             "has_weights", *[c for c in COVERAGE_COLUMNS.values() if c != "coverage"], *RANK_COLUMNS.values()]
    with sqlite3.connect(path) as conn:
        for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE name LIKE 'ix_models_%_ranked'").fetchall():
            conn.execute(f"DROP INDEX {name}")
        for trigger in ("model_facets_insert", "model_facets_delete", "model_facets_update"):
            conn.execute(f"DROP TRIGGER {trigger}")
        conn.execute("DROP TABLE model_facets")
        conn.execute(
            "CREATE TABLE model_facets (pipeline_tag TEXT NOT NULL, size_class TEXT NOT NULL, license_class "
            "TEXT NOT NULL, chat INTEGER NOT NULL, gated TEXT NOT NULL, models INTEGER NOT NULL, "
            "PRIMARY KEY (pipeline_tag, size_class, license_class, chat, gated)) WITHOUT ROWID"
        )
        for column in added:
            conn.execute(f"ALTER TABLE models DROP COLUMN {column}")
        conn.execute("UPDATE meta SET value = '5' WHERE key = 'schema_version'")
        conn.execute("DROP TABLE alembic_version")  # a schema-5 home predates Alembic: 0005, then 0006 run


def old_tables(path: Path) -> dict:
    """Facts, findings and scores as the 0006 tables hold them (plain SQL, no whichmodel code)."""
    with sqlite3.connect(path) as conn:
        facts = {obs: json.loads(data) for obs, data in conn.execute("SELECT observation_id, data FROM facts")}
        findings: dict = {}
        for obs, version, *item in conn.execute(
            'SELECT observation_id, method_version, "check", category, outcome, points, max_points, evidence, '
            "reason, remediation FROM findings ORDER BY id"
        ):
            item[5] = json.loads(item[5])
            findings.setdefault((obs, version), []).append(item)
        scores: dict = {}
        for obs, version, category, score, coverage, weights in conn.execute(
            "SELECT observation_id, method_version, category, score, coverage, weights_hash FROM scores"
        ):
            scores.setdefault((obs, version), {})[category] = (score, coverage, weights)
        observations = conn.execute(
            "SELECT id, model_id, observed_at, downloads, likes, license, gated, scored_version FROM observations"
        ).fetchall()
        latest = dict(conn.execute("SELECT id, latest_observation_id FROM models"))
        cards = dict(conn.execute("SELECT hash, text FROM cards"))
    return {"cards": cards, "facts": facts, "findings": findings, "scores": scores, "observations": observations,
            "latest": latest}  # fmt: skip


@pytest.fixture
def migrated(tmp_path):
    from whichmodel.store.db import head_revision, make_engine

    path = tmp_path / "whichmodel.db"
    load_home(path)
    expected = old_tables(path)
    engine = make_engine(f"sqlite:///{path}")
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar() == head_revision()
    yield engine, expected
    engine.dispose()


def test_facts_findings_and_scores_come_back_exactly(migrated):
    engine, old = migrated
    assert len(old["facts"]) == 15 and len(old["findings"]) == 20  # 15 observations; the first date twice
    with engine.connect() as conn:
        assert old["cards"] and card_texts(conn, old["cards"]) == old["cards"]
        for obs, facts in old["facts"].items():
            assert facts_of(conn, obs) == facts, obs
        for (obs, version), items in old["findings"].items():
            got = [[f.check, f.category, f.outcome, f.points, f.max_points, f.evidence, f.reason, f.remediation]
                   for f in findings_of(conn, obs, version)]  # fmt: skip
            assert got == items, (obs, version)
        for (obs, version), by_category in old["scores"].items():
            row = conn.exec_driver_sql(
                "SELECT weights_hash, " + ", ".join(CATEGORIES) + ", coverage, "
                + ", ".join(f"{c}_coverage" for c in CATEGORIES[1:])
                + f" FROM assessments WHERE observation_id = {obs} AND method_version = '{version}'"
            ).one()
            assert row[0] == by_category["overall"][2]
            assert list(row[1:7]) == [by_category[c][0] for c in CATEGORIES]
            assert list(row[7:]) == [by_category[c][1] for c in CATEGORIES]


def test_unchanged_content_is_stored_once(migrated):
    engine, old = migrated
    # Distinct lasting content per model, counted from the old facts without whichmodel's hashing.
    volatile = {"downloads", "downloads_all_time", "likes", "observed_at"}
    distinct = {
        json.dumps({k: v for k, v in f.items() if k not in volatile and k != "not_available"}, sort_keys=True)
        for f in old["facts"].values()
    }
    with engine.connect() as conn:
        stored = conn.execute(select(func.count()).select_from(FactsRow)).scalar_one()
        pointed = conn.execute(select(func.count(Observation.facts_id.distinct()))).scalar_one()
    assert stored == pointed == len(distinct) < len(old["facts"])


def test_history_and_filters_read_the_carried_rows(migrated):
    engine, old = migrated
    for model_id in old["latest"]:
        rows = run_view(engine, "history", TrendParams(model=model_id))["rows"]
        mine = sorted((o for o in old["observations"] if o[1] == model_id), key=lambda o: o[2])
        assert [r["observed_at"] for r in rows] == [o[2] for o in mine]
        for row, obs in zip(rows, mine, strict=True):
            assert (row["downloads"], row["likes"], row["license"], row["gated"]) == tuple(obs[3:7])
            scores = old["scores"][(obs[0], obs[7])]
            assert [row[c] for c in CATEGORIES] == [scores[c][0] for c in CATEGORIES]
    # The finding filter reads the newest outcomes: the models whose newest findings fail `unsafe_files`.
    failing = {m for m, obs in old["latest"].items()
               if any(i[0] == "unsafe_files" and i[2] == "fail"
                      for (o, v), items in old["findings"].items() if o == obs for i in items)}  # fmt: skip
    assert failing
    found = search_models(engine, SearchFilters(findings=["unsafe_files=fail"], include_no_weights=True))
    assert {r["model_id"] for r in found["results"]} == failing


def test_a_migrated_home_takes_new_observations(migrated):
    engine, old = migrated
    observed = "2025-04-22T00:00:00Z"
    items = [make_facts(observed=observed, id="acme/widget-7b", downloads=9000), make_facts(observed=observed,
             id="new/model")]  # fmt: skip
    summary = ingest_items(engine, [Parsed(i, f, None) for i, f in enumerate(items)], source="day4",
                           kind="snapshot", observed_at=observed)  # fmt: skip
    assert (summary.new_models, summary.new_observations) == (1, 1)
    with engine.connect() as conn:  # the dump's observations scored under an older method are rescored too
        older = conn.exec_driver_sql("SELECT count(*) FROM observations WHERE scored_version IS NOT NULL AND "
                                     f"scored_version != '{load_method().version}'").scalar()  # fmt: skip
    assert score_pending(engine) == 2 + older
    rows = run_view(engine, "history", TrendParams(model="acme/widget-7b"))["rows"]
    assert [r["downloads"] for r in rows][-1] == 9000 and rows[-1]["overall"] is not None


def test_revision_0010_fills_last_modified_from_each_models_newest_facts(migrated):
    """`models.last_modified` of an upgraded home is the newest observation's `last_modified`, as stored before."""
    engine, expected = migrated
    want = {model: expected["facts"][obs].get("last_modified") for model, obs in expected["latest"].items() if obs}
    with engine.connect() as conn:
        got = dict(conn.exec_driver_sql("SELECT id, last_modified FROM models").all())
    assert any(want.values())
    assert {m: got[m] for m in want} == want
    # ... and search filters on it as on any other column.
    day = sorted(v for v in want.values() if v)[len(want) // 2][:10]
    rows = search_models(engine, SearchFilters(updated_after=day, include_no_weights=True, limit=100))["results"]
    assert {r["model_id"] for r in rows} == {m for m, v in want.items() if v and v >= day}
