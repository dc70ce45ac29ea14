"""Integration over every shared snapshot folder: counts, idempotence, known facts, crash consistency."""

import json
import os

import pytest
from factories import make_facts
from sqlalchemy import func, select
from whichmodel.hub.snapshot import Parsed, open_snapshot, read_snapshot
from whichmodel.scoring.method import load_method
from whichmodel.store.ingest import IngestInterrupted, ingest_items, score_pending
from whichmodel.store.models import AssessmentRow, ModelRow, Observation
from whichmodel.store.queries import SearchFilters, data_status, scorecard, search_models, stored_findings


def _expected_counts(snapshot_dirs):
    """Counted independently of the ingest code: distinct ids and (id, date) pairs in the raw files."""
    ids, pairs = set(), set()
    for folder in snapshot_dirs:
        observed = json.loads((folder / "manifest.json").read_text())["observed_at"]
        for line in (folder / "models.jsonl").read_text().splitlines():
            if line.strip():
                model_id = json.loads(line)["id"]
                ids.add(model_id)
                pairs.add((model_id, observed))
    return len(ids), len(pairs)


def _table_counts(engine):
    with engine.connect() as conn:
        return {
            t.__tablename__: conn.execute(select(func.count()).select_from(t)).scalar_one()
            for t in (ModelRow, Observation, AssessmentRow)
        }


def test_every_shared_record_is_stored_and_scored(ingested, snapshot_dirs):
    engine, summaries, scored = ingested
    models, observations = _expected_counts(snapshot_dirs)
    counts = _table_counts(engine)
    assert counts["models"] == models
    assert counts["observations"] == observations == scored
    # Every observation has an assessment: its own, or the one of an earlier observation it shares (one per
    # model at least: a model's first observation holds its own).
    assert models <= counts["assessments"] <= observations
    with engine.connect() as conn:
        o, a = Observation.__table__, AssessmentRow.__table__
        joined = conn.execute(
            select(func.count()).select_from(o)
            .join(a, (a.c.observation_id == o.c.assessed_by) & (a.c.method_version == o.c.scored_version))
        ).scalar_one()  # fmt: skip
        assert joined == observations
        some = conn.execute(select(ModelRow.id).order_by(ModelRow.id).limit(1)).scalar_one()
    card = scorecard(engine, some)
    assert sum(len(c["findings"]) for c in card["categories"].values()) == len(load_method().checks)
    assert all(not s.skipped for s in summaries)
    assert data_status(engine)["scored_models"] == models


def test_ingesting_the_same_snapshots_again_changes_nothing(ingested, snapshot_dirs):
    engine, _, _ = ingested
    before = _table_counts(engine)
    card_before = scorecard(engine, "google/gemma-7b")
    for snap in (open_snapshot(p) for p in snapshot_dirs):
        summary = ingest_items(engine, read_snapshot(snap), source=str(snap.path), kind="snapshot",
                               observed_at=snap.observed_at)  # fmt: skip
        assert summary.new_models == summary.new_observations == 0
        assert summary.unchanged == summary.parsed
    assert score_pending(engine) == 0
    assert _table_counts(engine) == before
    assert scorecard(engine, "google/gemma-7b") == card_before


def test_a_model_seen_on_several_dates_is_one_model_with_history(ingested):
    engine, _, _ = ingested
    with engine.connect() as conn:
        query = select(Observation.observed_at).where(Observation.model_id == "google/gemma-7b")
        dates = conn.execute(query.order_by(Observation.observed_at)).scalars().all()
        model = conn.execute(select(ModelRow).where(ModelRow.id == "google/gemma-7b")).first()
    assert dates == ["2025-04-23T00:00:00Z", "2025-04-26T00:00:00Z"]
    assert model.first_seen == dates[0] and model.last_seen == dates[-1]


def _outcomes(engine, model_id):
    card = scorecard(engine, model_id)
    return card, {f["check"]: f["outcome"] for c in card["categories"].values() for f in c["findings"]}


def test_pickle_only_model_fails_safetensors_and_safetensors_model_passes(ingested):
    engine, _, _ = ingested
    with engine.connect() as conn:
        rows = conn.execute(select(ModelRow.id, ModelRow.latest_observation_id)).all()
    pickle_only = safe = None
    from whichmodel.store.records import facts_of

    with engine.connect() as conn:
        for model_id, obs in rows:
            facts = facts_of(conn, obs)
            kinds = facts.get("file_kinds") or {}
            if "pickle" in kinds and "safetensors" not in kinds and pickle_only is None:
                pickle_only = model_id
            if "safetensors" in kinds and "pickle" not in kinds and safe is None:
                safe = model_id
    assert pickle_only and safe
    card, outcome = _outcomes(engine, pickle_only)
    assert outcome["safetensors"] == "fail" and outcome["unsafe_files"] == "fail"
    assert card["categories"]["security"]["score"] < 10
    _, outcome = _outcomes(engine, safe)
    assert outcome["safetensors"] == "pass" and outcome["unsafe_files"] == "pass"


def test_partial_record_scores_with_low_coverage_not_low_scores(ingested, shared_data):
    engine, _, _ = ingested
    snap = open_snapshot(shared_data / "hub-snapshots" / "2025-04-16")
    # A revision no earlier snapshot held in full (one that did is scored on that revision's files:
    # test_reingest.py): its missing fields stay unknown.
    seen_full = set()
    for folder in sorted((shared_data / "hub-snapshots").iterdir()):
        if folder.is_dir() and folder.name < "2025-04-16":
            for line in (folder / "models.jsonl").read_text().splitlines():
                record = json.loads(line) if line.strip() else {}
                if "siblings" in record:
                    seen_full.add((record.get("id"), record.get("sha")))
    partial = next(i for i in read_snapshot(snap) if isinstance(i, Parsed) and i.facts.likes is None
                   and (i.facts.id, i.facts.sha) not in seen_full)  # fmt: skip
    facts = partial.facts
    # Score the partial observation itself (the model row may point at a richer, later observation).
    with engine.connect() as conn:
        obs = conn.execute(
            select(Observation.id).where(Observation.model_id == facts.id, Observation.observed_at == snap.observed_at)
        ).scalar_one()
    card = scorecard(engine, facts.id, observation_id=obs)
    findings = [f for c in card["categories"].values() for f in c["findings"]]
    unknown = [f for f in findings if f["outcome"] == "not_available"]
    assert len(unknown) >= 10, "the partial record's missing fields are not available"
    assert all(f["points"] is None for f in unknown), "not available is never a silent zero"
    assert card["coverage"] < 0.6
    full = scorecard(engine, "google/gemma-7b")
    assert full["coverage"] > card["coverage"]
    assert card["categories"]["popularity"]["findings"][1]["outcome"] == "not_available"  # likes


def test_stored_scores_add_up_from_stored_findings(ingested):
    """Stored scores equal the stored findings re-added by hand (10 x earned / possible; weighted mean)."""
    engine, _, _ = ingested
    method = load_method()
    weights = {n: float(c["weight"]) for n, c in method.categories.items()}
    for model_id in ("google/gemma-7b", "microsoft/phi-2", "deepseek-ai/DeepSeek-R1"):
        findings, version, _ = stored_findings(engine, model_id)
        card = scorecard(engine, model_id)
        assert version == card["method_version"] == method.version
        assert card["weights_hash"] == method.weights_hash
        scores = {}
        for name in weights:
            conclusive = [f for f in findings if f.category == name and f.outcome in ("pass", "fail")]
            possible = sum(f.max_points for f in conclusive)
            scores[name] = round(10 * sum(f.points for f in conclusive) / possible, 2) if possible else None
            assert card["categories"][name]["score"] == scores[name]
        scored = [n for n in scores if scores[n] is not None]
        expected = round(sum(weights[n] * scores[n] for n in scored) / sum(weights[n] for n in scored), 2)
        assert card["overall"] == expected


def test_database_context_catches_a_license_looser_than_the_base(ingested):
    """A permissive fine-tune of Llama 2 is effectively custom: filters use the effective class; conflict kept."""
    engine, _, _ = ingested
    custom = search_models(engine, SearchFilters(license_class="custom", limit=2000, sort="downloads"))["results"]
    flagged = [r for r in custom if r["license_class_declared"] == "permissive"]
    assert flagged, "permissive fine-tunes of Llama 2 (custom license) exist in the shared data"
    for row in flagged[:5]:
        card, outcome = _outcomes(engine, row["model_id"])
        assert outcome["license_consistency"] == "fail"
        facts = card["facts"]
        assert facts["license_class"] == "permissive" and facts["license_class_effective"] == "custom"
        assert facts["base_models"] and facts["base_models"][0] in row["license_conflict"]
    permissive = search_models(engine, SearchFilters(license_class="permissive", limit=2000))["results"]
    assert permissive and not [r for r in permissive if r["license_conflict"]]


def test_search_filters_and_sorts(ingested):
    engine, _, _ = ingested
    result = search_models(engine, SearchFilters(size="7B", chat=True, license_class="permissive", limit=5))
    assert result["total_matched"] >= len(result["results"]) > 0
    ranks = [(r["overall_rank"], r["coverage"]) for r in result["results"]]
    assert ranks == sorted(ranks, reverse=True)
    for row in result["results"]:
        assert row["size_class"] == "7B" and row["license_class"] == "permissive" and row["chat"] is True
    bar = search_models(engine, SearchFilters(min_scores={"security": 9.5}, limit=50))
    assert all(r["security"] >= 9.5 for r in bar["results"])
    with pytest.raises(ValueError, match="sort must be one of"):
        search_models(engine, SearchFilters(sort="vibes"))


def test_crash_mid_ingest_keeps_whole_batches_and_a_rerun_completes(engine, shared_data):
    snap = open_snapshot(shared_data / "hub-snapshots" / "2025-04-23")
    items = list(read_snapshot(snap))

    def crashing():
        for n, item in enumerate(items):
            if n == 120:
                raise RuntimeError("power cut")
            yield item

    with pytest.raises(IngestInterrupted, match="power cut"):
        ingest_items(engine, crashing(), source="s", kind="snapshot", observed_at=snap.observed_at, batch_size=50)
    stored = _table_counts(engine)["observations"]
    assert stored == 120, "the batches before the crash, and the flushed partial batch, are stored"
    summary = ingest_items(
        engine, iter(items), source="s", kind="snapshot", observed_at=snap.observed_at, batch_size=50
    )
    assert summary.unchanged == 120 and summary.new_models == len(items) - 120
    score_pending(engine)
    counts = _table_counts(engine)
    assert counts["models"] == counts["observations"] == len(items)
    assert data_status(engine)["scored_models"] == len(items)


def test_duplicate_ids_in_one_input_are_reported(engine):
    a, b = make_facts(id="x/one"), make_facts(id="x/two")
    items = [Parsed(1, a, None), Parsed(2, b, None), Parsed(3, a, None)]
    summary = ingest_items(engine, items, source="s", kind="snapshot", observed_at=a.observed_at, batch_size=2)
    assert summary.new_models == 2
    assert [(s.line, s.model_id) for s in summary.skipped] == [(3, "x/one")]
    assert "duplicate id" in summary.skipped[0].reason


def test_the_observation_insert_raises_database_errors_as_sqlalchemy_does(engine):
    """The observations are written through the driver (SQLite): its errors must still read as SQLAlchemy's.

    The batch writer tells a failing database (OperationalError: locked, read-only, disk full), which stops
    the run, from a bad record, which it skips: a raw driver error would have every record reported
    unstorable. A second observation of a (model, date) is the database's IntegrityError.
    """
    from sqlalchemy.exc import IntegrityError, OperationalError
    from whichmodel.store.ingest import INSERTED_OBSERVATION, _insert_observations

    first = make_facts(id="x/m", observed="2025-04-20T00:00:00Z")
    ingest_items(engine, [Parsed(1, first, None)], source="a", kind="snapshot", observed_at=first.observed_at)
    with engine.connect() as conn:
        run, facts = conn.execute(select(Observation.ingest_run_id, Observation.facts_id)).one()
    row = dict.fromkeys(INSERTED_OBSERVATION) | {"model_id": "x/m", "observed_at": first.observed_at,
                                                 "ingest_run_id": run, "facts_id": facts}  # fmt: skip
    with pytest.raises(IntegrityError), engine.begin() as conn:
        _insert_observations(conn, [tuple(row.values())])
    if engine.dialect.name == "sqlite":
        with engine.begin() as conn:
            conn.exec_driver_sql("PRAGMA query_only = 1")  # this connection may no longer write
            with pytest.raises(OperationalError):
                _insert_observations(conn, [tuple((row | {"observed_at": "2025-04-21T00:00:00Z"}).values())])
            conn.exec_driver_sql("PRAGMA query_only = 0")
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(Observation)).scalar_one() == 1


def test_older_snapshot_ingested_later_does_not_replace_the_newest(engine):
    new = make_facts(id="x/m", observed="2025-04-26T00:00:00Z", downloads=900)
    old = make_facts(id="x/m", observed="2025-04-01T00:00:00Z", downloads=10)
    ingest_items(engine, [Parsed(1, new, None)], source="n", kind="snapshot", observed_at=new.observed_at)
    ingest_items(engine, [Parsed(1, old, None)], source="o", kind="snapshot", observed_at=old.observed_at)
    score_pending(engine)
    with engine.connect() as conn:
        row = conn.execute(select(ModelRow).where(ModelRow.id == "x/m")).first()
    assert (row.downloads, row.first_seen, row.last_seen) == (900, old.observed_at, new.observed_at)
    assert scorecard(engine, "x/m")["observed_at"] == new.observed_at


# ---------------------------------------------------------------------------------------------- facet counts
def _direct_count(engine, filters: SearchFilters) -> int:
    from whichmodel.store.queries import filter_conditions

    with engine.connect() as conn:
        return conn.execute(
            select(func.count()).select_from(ModelRow).where(*[f.condition for f in filter_conditions(filters)])
        ).scalar_one()


def test_facet_counts_equal_counting_rows_for_every_filter_combination(ingested):
    """Search totals come from `model_facets` when only equality filters are active: for each combination
    of values the data has, they must equal a count over the rows (eight snapshots have updated the
    facet columns of many models since their first insert)."""
    import itertools

    engine, _, _ = ingested
    with engine.connect() as conn:
        values = {
            col: [v for v in conn.execute(select(getattr(ModelRow, col)).distinct()).scalars() if v]
            for col in ("pipeline_tag", "size_class", "license_class")
        }
    checked = 0
    for task, size, lic, chat, gated in itertools.product(
        [None, *values["pipeline_tag"][:6]], [None, *values["size_class"][:5]], [None, *values["license_class"]],
        [None, True, False], [False, True],
    ):  # fmt: skip
        filters = SearchFilters(task=task, size=size, license_class=lic, chat=chat, exclude_gated=gated)
        assert search_models(engine, filters)["total_matched"] == _direct_count(engine, filters), filters
        checked += 1
    assert checked > 500
    default = search_models(engine, SearchFilters())
    assert default["total_matched"] == _direct_count(engine, SearchFilters())
    assert default["left_out_no_weights"] > 0  # README- or config-only repos are in the shared data
    assert default["total_matched"] + default["left_out_no_weights"] == 1768
    assert search_models(engine, SearchFilters(include_no_weights=True))["total_matched"] == 1768


def test_facet_counts_follow_updates_and_deletes_and_fill_an_older_database(engine, tmp_path):
    from sqlalchemy import delete, insert, update
    from whichmodel.store.db import make_engine

    items = [Parsed(n, make_facts(id=f"o/m{n}", pipeline_tag="text-generation"), None) for n in range(1, 6)]
    ingest_items(engine, items, source="s", kind="snapshot", observed_at="2025-04-01T00:00:00Z")
    task = SearchFilters(task="text-generation")
    assert search_models(engine, task)["total_matched"] == 5
    bare = {"first_seen": "2025-04-01T00:00:00Z", "last_seen": "2025-04-01T00:00:00Z"}
    with engine.begin() as conn:
        conn.execute(insert(ModelRow.__table__).values(id="o/x", name_lower="x", **bare,
                                                       pipeline_tag="text-generation"))  # fmt: skip
    assert search_models(engine, task)["total_matched"] == 6
    with engine.begin() as conn:
        conn.execute(delete(ModelRow.__table__).where(ModelRow.id == "o/x"))
        conn.execute(update(ModelRow.__table__).where(ModelRow.id == "o/m1").values(pipeline_tag="text-to-image"))
        conn.execute(update(ModelRow.__table__).where(ModelRow.id == "o/m3").values(downloads=5))  # not a facet
    assert search_models(engine, task)["total_matched"] == 4 == _direct_count(engine, task)
    assert search_models(engine, SearchFilters(task="text-to-image"))["total_matched"] == 1
    with engine.begin() as conn:  # a database from before the facet table: it is filled when opened
        conn.exec_driver_sql("DROP TABLE model_facets")
    reopened = make_engine(str(engine.url))
    assert search_models(reopened, task)["total_matched"] == 4
    assert search_models(reopened, SearchFilters())["total_matched"] == 5


def test_update_rows_writes_each_row_its_values_in_one_statement_on_postgresql(engine):
    """`update_rows` sets per-row values (floats given as ints, integers past 32 bits, NULLs, booleans), leaves
    rows not named alone, honours `unset`, and keeps the facet counts exact. PostgreSQL gets one statement for
    the batch (its statement triggers then run once), SQLite a statement per row."""
    from sqlalchemy import event, insert
    from whichmodel.store.ingest import update_rows

    bare = {"first_seen": "2025-04-01T00:00:00Z", "last_seen": "2025-04-01T00:00:00Z"}
    with engine.begin() as conn:
        conn.execute(insert(ModelRow.__table__), [
            {"id": f"o/u{n}", "name_lower": f"u{n}", "pipeline_tag": "text-generation",
             "security": 1.5, "chat": False, "facts_zdict": 7 if n == 3 else None, **bare} for n in range(5)
        ])  # fmt: skip
    statements = []

    def count(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("UPDATE MODELS"):
            statements.append(executemany)

    event.listen(engine, "before_cursor_execute", count)
    try:
        with engine.begin() as conn:
            update_rows(conn, ("security", "params", "chat", "pipeline_tag"), [
                (9, 20_000_000_000, True, "text-to-image", "o/u2"),
                (None, None, None, None, "o/u0"),
                (8.25, 7, False, "text-generation", "o/u1"),
            ])  # fmt: skip
            update_rows(conn, ("facts_zdict",), [(5, "o/u3"), (6, "o/u4")], unset="facts_zdict")
    finally:
        event.remove(engine, "before_cursor_execute", count)
    if engine.dialect.name == "postgresql":
        assert statements == [False, False]
    with engine.connect() as conn:
        rows = {r.id: r for r in conn.execute(select(ModelRow.__table__))}
    assert (rows["o/u2"].security, rows["o/u2"].params, rows["o/u2"].chat, rows["o/u2"].pipeline_tag) == (
        9.0, 20_000_000_000, True, "text-to-image")  # fmt: skip
    assert (rows["o/u0"].security, rows["o/u0"].params, rows["o/u0"].chat, rows["o/u0"].pipeline_tag) == (
        None, None, None, None)  # fmt: skip
    assert (rows["o/u1"].security, rows["o/u1"].params, bool(rows["o/u1"].chat)) == (8.25, 7, False)
    assert (rows["o/u3"].security, rows["o/u3"].facts_zdict, rows["o/u4"].facts_zdict) == (1.5, 7, 6)
    for task in ("text-generation", "text-to-image"):
        filters = SearchFilters(task=task, include_no_weights=True)
        assert search_models(engine, filters)["total_matched"] == _direct_count(engine, filters)
    assert _direct_count(engine, SearchFilters(task="text-generation", include_no_weights=True)) == 3


def test_minimum_score_totals_equal_counting_rows(ingested):
    """A minimum score beside equality filters: PostgreSQL sums whole score bands and counts the rows from the
    bar to the next whole number; every total, with and without repos lacking weights, equals a count of rows."""
    engine, _, _ = ingested
    with engine.connect() as conn:
        tasks = select(ModelRow.pipeline_tag).where(ModelRow.pipeline_tag.is_not(None)).group_by(ModelRow.pipeline_tag)
        task = conn.execute(tasks.order_by(func.count().desc())).scalars().first()
    checked = 0
    for category in ("overall", "security", "quality"):
        for bar in (0, 0.5, 2.5, 5, 6.99, 7, 8.01, 9.5, 10):
            for extra in ({}, {"task": task}, {"license_class": "permissive", "chat": False}):
                filters = SearchFilters(min_scores={category: bar}, **extra)
                found = search_models(engine, filters)
                assert found["total_matched"] == _direct_count(engine, filters), filters
                wide = SearchFilters(min_scores={category: bar}, include_no_weights=True, **extra)
                assert found["total_matched"] + found["left_out_no_weights"] == _direct_count(engine, wide), filters
                checked += found["total_matched"] > 0
    assert checked > 20


def test_score_band_counts_follow_updates_and_fill_an_older_database(engine):
    from sqlalchemy import delete, insert, update
    from whichmodel.store import facets
    from whichmodel.store.db import head_revision, make_engine

    items = [Parsed(n, make_facts(id=f"o/m{n}", pipeline_tag="text-generation"), None) for n in range(1, 6)]
    ingest_items(engine, items, source="s", kind="snapshot", observed_at="2025-04-01T00:00:00Z")
    score_pending(engine)
    with engine.begin() as conn:
        conn.execute(update(ModelRow.__table__).values(security=5.5))
        conn.execute(update(ModelRow.__table__).where(ModelRow.id == "o/m1").values(security=9.25))
        conn.execute(update(ModelRow.__table__).where(ModelRow.id == "o/m2").values(security=8.0))
        conn.execute(update(ModelRow.__table__).where(ModelRow.id == "o/m3").values(security=None))
        bare = {"first_seen": "2025-04-01T00:00:00Z", "last_seen": "2025-04-01T00:00:00Z"}
        conn.execute(insert(ModelRow.__table__).values(id="o/x", name_lower="x", security=9.5, **bare))
    top = SearchFilters(min_scores={"security": 9.3}, include_no_weights=True)
    assert search_models(engine, top)["total_matched"] == 1
    with engine.begin() as conn:
        conn.execute(delete(ModelRow.__table__).where(ModelRow.id == "o/x"))
    expected = {0: 4, 5: 4, 5.5: 4, 5.6: 2, 8: 2, 8.5: 1, 9.25: 1, 9.3: 0}
    for bar, n in expected.items():
        filters = SearchFilters(min_scores={"security": bar}, include_no_weights=True)
        assert search_models(engine, filters)["total_matched"] == n == _direct_count(engine, filters), bar
    url = engine.url.render_as_string(hide_password=False)
    bands = engine.dialect.name == "postgresql"
    # The table gone (filled again when opened), then a database at revision 0010 (revision 0011 makes it;
    # on SQLite the revision does nothing).
    for stamp in (False, True):
        with engine.begin() as conn:
            assert facets.has_score_bands(conn) == bands
            conn.exec_driver_sql(f"DROP TABLE IF EXISTS {facets.SCORE_TABLE}")
            if stamp:
                conn.exec_driver_sql("UPDATE alembic_version SET version_num = '0010'")
        reopened = make_engine(url)
        with reopened.connect() as conn:
            assert conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar() == head_revision()
            if bands:
                assert conn.exec_driver_sql(f"SELECT sum(models) FROM {facets.SCORE_TABLE} "
                                            "WHERE category = 'security'").scalar() == 4  # fmt: skip
        for bar, n in expected.items():
            assert search_models(reopened, SearchFilters(min_scores={"security": bar},
                                                         include_no_weights=True))["total_matched"] == n  # fmt: skip
        reopened.dispose()


def test_runs_whose_process_is_gone_are_marked_interrupted(engine):
    import socket
    import subprocess
    import sys

    from sqlalchemy import insert
    from whichmodel.store.ingest import close_abandoned_runs
    from whichmodel.store.models import IngestRun

    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    here = socket.gethostname()
    base = {
        "source": "s",
        "kind": "snapshot",
        "observed_at": "2025-04-01T00:00:00Z",
        "started_at": "x",
        "status": "running",
    }
    with engine.begin() as conn:
        conn.execute(insert(IngestRun.__table__), [
            base | {"host": here, "pid": dead.pid},  # killed: interrupted
            base | {"host": here, "pid": os.getpid()},  # still running (this process)
            base | {"host": "elsewhere", "pid": dead.pid},  # another machine's: cannot be checked
            base | {"host": here, "pid": dead.pid, "status": "complete"},
        ])  # fmt: skip
    assert close_abandoned_runs(engine) == 1
    with engine.connect() as conn:
        statuses = conn.execute(select(IngestRun.status).order_by(IngestRun.id)).scalars().all()
    assert statuses == ["interrupted", "running", "running", "complete"]


def test_a_database_of_an_unknown_schema_is_refused_with_a_clear_error(tmp_path):
    import sqlite3

    from whichmodel.store.db import SchemaMismatch, make_engine

    path = tmp_path / "old.db"
    make_engine(f"sqlite:///{path}").dispose()
    with sqlite3.connect(path) as conn:  # as version 3 left it (its models table is not what is refused)
        conn.execute("UPDATE meta SET value = '3' WHERE key = 'schema_version'")
        conn.execute("DROP TABLE alembic_version")  # version 3 predates Alembic
    with pytest.raises(SchemaMismatch, match="has schema 3, this whichmodel needs schema 5"):
        make_engine(f"sqlite:///{path}")


def test_a_new_database_is_stamped_and_a_later_revision_adds_its_column(engine, tmp_path, monkeypatch):
    """How a schema change ships: one revision file; databases at the baseline get it when opened."""
    import shutil

    from sqlalchemy import inspect
    from whichmodel.store import db

    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar() == db.head_revision()
    scripts = tmp_path / "migrations"
    shutil.copytree(db.MIGRATIONS_DIR, scripts, ignore=shutil.ignore_patterns("__pycache__"))
    (scripts / "versions" / "9999_note.py").write_text(
        'import sqlalchemy as sa\nfrom alembic import op\n\nrevision = "9999"\n'
        f'down_revision = "{db.head_revision()}"\n\n\n'
        'def upgrade():\n    op.add_column("models", sa.Column("note", sa.Text()))\n'
    )
    monkeypatch.setattr(db, "MIGRATIONS_DIR", scripts)
    reopened = db.make_engine(engine.url.render_as_string(hide_password=False))
    assert "note" in {c["name"] for c in inspect(reopened).get_columns("models")}
    with reopened.connect() as conn:
        assert conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar() == "9999"
    reopened.dispose()
    monkeypatch.setattr(db, "MIGRATIONS_DIR", db.Path(db.__file__).with_name("migrations"))
    with pytest.raises(db.SchemaMismatch, match="revision 9999"):  # an older whichmodel refuses the newer database
        db.make_engine(engine.url.render_as_string(hide_password=False))


def test_a_schema_5_home_from_before_alembic_is_adopted_as_it_is(tmp_path):
    """Every SQLite home made before Alembic is at schema 5: opening it stamps the baseline and keeps its rows."""
    from test_migration_0007 import load_home, to_schema_5
    from whichmodel.store.db import head_revision, make_engine

    path = tmp_path / "home.db"
    load_home(path)
    to_schema_5(path)
    reopened = make_engine(f"sqlite:///{path}")
    with reopened.connect() as conn:
        assert conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar() == head_revision()
        assert len(conn.exec_driver_sql("SELECT id FROM models").scalars().all()) == 5


def test_new_and_upgraded_databases_have_the_search_indexes_their_engine_needs(engine, tmp_path):
    """Revision 0008's indexes: minimum-score counts with the weights flag everywhere, and PostgreSQL's
    DESC NULLS LAST sort order (SQLite walks its ascending indexes backwards)."""
    from sqlalchemy import inspect
    from test_migration_0007 import load_home
    from whichmodel.store.db import make_engine
    from whichmodel.store.search_indexes import COUNT_INDEXES, COVERING_INDEXES, SORT_INDEXES

    names = {i["name"] for i in inspect(engine).get_indexes("models")}
    expected = set(COUNT_INDEXES) | (set(SORT_INDEXES) if engine.dialect.name == "postgresql" else set())
    assert expected <= names
    rollup = {i["name"] for i in inspect(engine).get_indexes("leaderboard_author_daily")}
    assert (set(COVERING_INDEXES) <= rollup) == (engine.dialect.name == "postgresql")
    if engine.dialect.name == "sqlite":
        assert not set(SORT_INDEXES) & names
        path = tmp_path / "old.db"
        load_home(path)  # a home at revision 0006
        upgraded = make_engine(f"sqlite:///{path}")
        upgraded_names = {i["name"] for i in inspect(upgraded).get_indexes("models")}
        assert set(COUNT_INDEXES) <= upgraded_names
        # Revision 0016 dropped the (score, downloads) indexes: an upgraded database keeps none of them.
        dropped = {f"ix_models_{score}_downloads" for score in ("overall", "popularity", "activity", "operational",
                                                                "security", "quality")}  # fmt: skip
        assert upgraded_names == names and not dropped & names
        # Revision 0017 dropped the cards' model index: cards are read by hash.
        assert not inspect(upgraded).get_indexes("cards") and not inspect(engine).get_indexes("cards")
        # Revision 0019: no lower-cased id column; an id typed in any case is found through lower(id)'s index.
        for db in (upgraded, engine):
            assert "id_lower" not in {c["name"] for c in inspect(db).get_columns("models")}
            with db.connect() as conn:
                plan = " ".join(str(r[-1]) for r in conn.exec_driver_sql(
                    "EXPLAIN QUERY PLAN SELECT id FROM models WHERE lower(id) = 'a/b'"))  # fmt: skip
            assert "ix_models_id_lower" in plan, plan
        upgraded.dispose()


def test_revision_0010_adds_and_fills_last_modified_and_formats_on_both_engines(engine, snapshot_dirs):
    """A database at revision 0009 (no `last_modified`, no formats in `lists`) is brought up when opened.

    Expected values are the raw records' `lastModified` and whether their file lists hold a `.safetensors` file.
    """
    from whichmodel.store.db import head_revision, make_engine

    folder = max(snapshot_dirs, key=lambda d: (d / "models.jsonl").stat().st_size)
    snap = open_snapshot(folder)
    ingest_items(engine, read_snapshot(snap), source=str(folder), kind="snapshot", observed_at=snap.observed_at)
    raw = {}
    for line in (folder / "models.jsonl").open(encoding="utf-8"):
        record = json.loads(line)
        raw[record["id"]] = record
    with engine.begin() as conn:
        conn.exec_driver_sql("ALTER TABLE models DROP COLUMN last_modified")
        conn.exec_driver_sql("UPDATE models SET lists = NULL")
        conn.exec_driver_sql("UPDATE alembic_version SET version_num = '0009'")
    reopened = make_engine(engine.url.render_as_string(hide_password=False))
    try:
        with reopened.connect() as conn:
            assert conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar() == head_revision()
            stored = dict(conn.exec_driver_sql("SELECT id, last_modified FROM models").all())
        # The store keeps UTC timestamps to the second ("2025-03-18T06:24:07Z"; the Hub adds milliseconds).
        assert stored and all((stored[m] or "")[:19] == (raw[m].get("lastModified") or "")[:19] for m in stored)
        found = search_models(reopened, SearchFilters(formats=["safetensors"], include_no_weights=True, limit=1))
        with_files = [r for r in raw.values() if r.get("siblings") is not None]
        expected = sum(any(s["rfilename"].endswith(".safetensors") for s in r["siblings"]) for r in with_files)
        assert found["total_matched"] == expected > 0
    finally:
        reopened.dispose()


def test_search_lists_keep_every_raw_tag_but_license_and_region(ingested, snapshot_dirs):
    """`models.lists` holds the newest record's tags (the raw `tags`) minus `license:` / `region:` ones, which
    no filter reads; topic and base-model tags stay."""
    from whichmodel.hub.snapshot import open_snapshot

    newest: dict[str, dict] = {}
    for snap in sorted((open_snapshot(p) for p in snapshot_dirs), key=lambda s: s.observed_at):
        for line in (snap.path / "models.jsonl").open(encoding="utf-8"):
            record = json.loads(line)
            newest[record["id"]] = record
    engine = ingested[0]
    with engine.connect() as conn:
        stored = dict(conn.exec_driver_sql("SELECT id, lists FROM models").all())
    assert len(stored) == len(newest)
    dropped = 0
    for model_id, record in newest.items():
        raw = record.get("tags") or []
        expected = [t for t in raw if not t.startswith(("license:", "region:"))]
        dropped += len(raw) - len(expected)
        assert json.loads(stored[model_id] or "{}").get("tags", []) == expected, model_id
    assert dropped > len(newest)  # nearly every Hub record has a region tag


def test_newest_observed_date_comes_from_the_runs_and_counts_an_unfinished_run_only_if_it_stored(
    engine, snapshot_dirs
):
    """`newest_observed_at` is the newest snapshot date that stored a model (max of the models' last_seen),
    read from the ingest runs; a killed run's date counts only where a model was seen at it."""
    from whichmodel.store.queries import newest_observed_at

    snaps = sorted((open_snapshot(p) for p in snapshot_dirs), key=lambda s: s.observed_at)[:2]
    for snap in reversed(snaps):  # the newer snapshot first: the order of runs is not the order of dates
        ingest_items(engine, read_snapshot(snap), source=str(snap.path), kind="snapshot", observed_at=snap.observed_at)
    with engine.connect() as conn:
        assert newest_observed_at(conn) == snaps[-1].observed_at
        assert conn.exec_driver_sql("SELECT max(last_seen) FROM models").scalar() == snaps[-1].observed_at
    later = "2099-01-01T00:00:00Z"
    with engine.begin() as conn:
        conn.exec_driver_sql(
            "INSERT INTO ingest_runs (source, kind, observed_at, started_at, status, parsed, new_models, "
            f"new_observations, unchanged, skipped) VALUES ('x', 'snapshot', '{later}', '{later}', 'interrupted', "
            "0, 0, 0, 0, 0)")  # fmt: skip
    with engine.connect() as conn:
        assert newest_observed_at(conn) == snaps[-1].observed_at  # killed before it stored anything
    with engine.begin() as conn:
        conn.exec_driver_sql(f"UPDATE models SET last_seen = '{later}' WHERE id = (SELECT min(id) FROM models)")
    with engine.connect() as conn:
        assert newest_observed_at(conn) == later  # killed after it stored a model


@pytest.mark.parametrize("topic", ["med", "chat", "7b", "base", "a_b%"])
def test_a_topic_matches_a_tag_or_a_whole_word_of_the_name(ingested, snapshot_dirs, topic):
    """A topic is a Hub tag or a word of the repo name between '-' / '_' separators (LIKE's `_` and `%` taken
    literally: 'med' is not a word of 'stable-diffusion-3-medium'). Expected from the newest raw records."""
    import re

    newest: dict[str, dict] = {}
    for snap in sorted((open_snapshot(p) for p in snapshot_dirs), key=lambda s: s.observed_at):
        for line in (snap.path / "models.jsonl").open(encoding="utf-8"):
            record = json.loads(line)
            newest[record["id"]] = record
    expected = {
        model_id for model_id, record in newest.items()
        if topic in [str(t).lower() for t in record.get("tags") or []]
        or topic in re.split(r"[-_]", model_id.split("/", 1)[-1].lower())
    }  # fmt: skip
    found = search_models(ingested[0], SearchFilters(topics=[topic], include_no_weights=True, limit=5000))
    assert {r["model_id"] for r in found["results"]} == expected
    assert found["total_matched"] == len(expected)
