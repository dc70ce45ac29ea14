"""Re-ingesting a repo that did not change: only its counters are stored, and nothing it answers changes.

A record the reader knows again (`Unchanged`: same content, new counters) must leave the store exactly as
parsing it in full would, at a fraction of the bytes.
"""

from __future__ import annotations

from dataclasses import replace

import pytest
from factories import RICH_CARD, make_facts
from whichmodel.hub.snapshot import Parsed, Unchanged
from whichmodel.store.db import make_engine
from whichmodel.store.ingest import ingest_items, score_pending
from whichmodel.store.queries import scorecard
from whichmodel.trends.views import TrendParams, run_view

DAY1, DAY2 = "2025-04-01T00:00:00Z", "2025-04-02T00:00:00Z"
IDS = ("acme/widget-7b", "beta/other-1b", "gamma/carded")


def _day(observed: str, downloads: int) -> list[Parsed]:
    items = []
    for n, model_id in enumerate(IDS):
        card = RICH_CARD if model_id == "gamma/carded" else None
        facts = make_facts(card, observed=observed, id=model_id, downloads=downloads + n, likes=n + 3)
        items.append(Parsed(n + 1, facts, card, record_hash=f"hash-of-{model_id}"))
    return items


def _store(path, second_day: list) -> dict:
    engine = make_engine(f"sqlite:///{path}")
    ingest_items(engine, _day(DAY1, 1000), source="d1", kind="snapshot", observed_at=DAY1)
    score_pending(engine, workers=1)
    summary = ingest_items(engine, second_day, source="d2", kind="snapshot", observed_at=DAY2)
    score_pending(engine, workers=1)
    with engine.connect() as conn:
        size = {t: conn.exec_driver_sql(f"SELECT count(*) FROM {t}").scalar_one() for t in ("observations", "facts")}
        hashes = dict(conn.exec_driver_sql("SELECT id, record_hash FROM models").all())
    out = {
        "summary": (summary.new_models, summary.new_observations, len(summary.skipped)),
        "cards": {m: scorecard(engine, m) for m in IDS},
        "history": {m: run_view(engine, "history", TrendParams(model=m))["rows"] for m in IDS},
        "size": size,
        "hashes": hashes,
    }
    engine.dispose()
    return out


def test_an_unchanged_record_stores_what_its_full_parse_would(tmp_path):
    full = _store(tmp_path / "full.db", _day(DAY2, 5000))
    known = [Unchanged(i.line, i.facts.id, i.record_hash, i.facts.downloads, None, i.facts.likes)
             for i in _day(DAY2, 5000)]  # fmt: skip
    quick = _store(tmp_path / "quick.db", known)
    assert quick["summary"] == full["summary"] == (0, 3, 0)
    assert quick["cards"] == full["cards"]
    assert quick["history"] == full["history"]
    assert [r["downloads"] for r in quick["history"]["acme/widget-7b"]] == [1000, 5000]
    assert quick["size"] == full["size"] == {"observations": 6, "facts": 3}  # one facts row a repo: same content
    assert quick["hashes"] == {m: f"hash-of-{m}" for m in IDS}


def test_a_same_date_unchanged_record_with_other_counters_is_a_conflict(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'db.db'}")
    ingest_items(engine, _day(DAY1, 1000), source="a", kind="snapshot", observed_at=DAY1)
    again = [Unchanged(1, IDS[0], f"hash-of-{IDS[0]}", 1000, None, 3),  # the same counters: unchanged
             Unchanged(2, IDS[1], f"hash-of-{IDS[1]}", 99, None, 4)]  # fmt: skip
    summary = ingest_items(engine, again, source="b", kind="snapshot", observed_at=DAY1)
    assert summary.unchanged == 1 and summary.new_observations == 0
    assert [s.model_id for s in summary.skipped] == [IDS[1]] and "downloads" in summary.skipped[0].reason
    engine.dispose()


@pytest.mark.parametrize("older", [True, False], ids=["older-date", "newer-date"])
def test_an_unchanged_record_of_another_date_moves_first_or_last_seen(tmp_path, older):
    engine = make_engine(f"sqlite:///{tmp_path / 'db.db'}")
    ingest_items(engine, _day(DAY2, 1000), source="a", kind="snapshot", observed_at=DAY2)
    observed = "2025-03-01T00:00:00Z" if older else "2025-05-01T00:00:00Z"
    item = Unchanged(1, IDS[0], f"hash-of-{IDS[0]}", 7, None, 1)
    ingest_items(engine, [item], source="b", kind="snapshot", observed_at=observed)
    with engine.connect() as conn:
        first, last, downloads = conn.exec_driver_sql(
            f"SELECT first_seen, last_seen, downloads FROM models WHERE id = '{IDS[0]}'"
        ).one()
    assert (first, last) == ((observed, DAY2) if older else (DAY2, observed))
    assert downloads == (1000 if older else 7), "the models row follows the newest observation only"
    engine.dispose()


def test_an_unchanged_record_of_a_model_no_longer_stored_is_skipped_not_lost(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'db.db'}")
    item = Unchanged(4, "ghost/model", "hash", 1, None, 1)
    good = replace(_day(DAY1, 10)[0], line=5)
    summary = ingest_items(engine, [item, good], source="a", kind="snapshot", observed_at=DAY1)
    assert summary.new_models == 1 and [s.model_id for s in summary.skipped] == ["ghost/model"]
    engine.dispose()


def test_a_second_day_of_moved_counters_is_read_without_parsing_and_answers_the_same(tmp_path, shared_data):
    """Synthetic days 1 and 2 (day 2: the same repos, downloads and likes moved), ingested twice: parsing every
    record, and letting the reader skip what the store holds. Every score card and history row agrees."""
    from conftest import bench_module
    from whichmodel.hub.snapshot import open_snapshot, read_snapshot
    from whichmodel.store.ingest import KnownRecords

    synth = bench_module("synth")
    days = [synth.write_snapshot(tmp_path / "day1", 400, shared_data, seed=3),
            synth.write_snapshot(tmp_path / "day2", 400, shared_data, seed=3, observed="2026-01-02", counts_seed=4)]

    def ingest(name: str, skip: bool) -> tuple[dict, list]:
        engine = make_engine(f"sqlite:///{tmp_path / name}.db")
        kinds = []
        for folder in days:
            snap = open_snapshot(folder)
            items = list(read_snapshot(snap, known=KnownRecords(engine) if skip else None))
            kinds.append({kind: sum(type(i).__name__ == kind for i in items) for kind in ("Parsed", "Unchanged")})
            ingest_items(engine, items, source=str(folder), kind="snapshot", observed_at=snap.observed_at)
            score_pending(engine, workers=1)
        with engine.connect() as conn:
            ids = sorted(conn.exec_driver_sql("SELECT id FROM models").scalars())
        answers = {m: (scorecard(engine, m), run_view(engine, "history", TrendParams(model=m))["rows"]) for m in ids}
        engine.dispose()
        return answers, kinds

    parsed, parsed_kinds = ingest("parsed", skip=False)
    skipped, skipped_kinds = ingest("skipped", skip=True)
    assert parsed_kinds == [{"Parsed": 400, "Unchanged": 0}] * 2
    assert skipped_kinds == [{"Parsed": 400, "Unchanged": 0}, {"Parsed": 0, "Unchanged": 400}]
    assert len(parsed) == 400 and skipped == parsed
    assert any(rows[0]["downloads"] != rows[1]["downloads"] for _, rows in parsed.values())


def test_an_id_twice_in_one_chunk_changed_then_as_stored_keeps_the_first_as_parsing_would(tmp_path):
    """Line 1 brings new content, line 2 (same id) the stored content: each line is judged by its own hash,
    so the day stores line 1's content, as a full parse does, and reports line 2 as a duplicate."""
    from test_snapshot_faults import line, write_snapshot
    from whichmodel.hub.snapshot import open_snapshot, read_snapshot
    from whichmodel.store.ingest import KnownRecords

    stored = dict(id="org/m", cardData={"license": "apache-2.0"}, tags=["license:apache-2.0"])
    changed = dict(id="org/m", cardData={"license": "mit"}, tags=["license:mit"])
    day1 = write_snapshot(tmp_path / "d1", [line(**stored)], observed="2025-05-01")
    day2 = write_snapshot(tmp_path / "d2", [line(**changed), line(**stored)], observed="2025-05-02")
    engine = make_engine(f"sqlite:///{tmp_path / 'db.db'}")
    for folder in (day1, day2):
        snap = open_snapshot(folder)
        summary = ingest_items(engine, read_snapshot(snap, known=KnownRecords(engine)), source=str(folder),
                               kind="snapshot", observed_at=snap.observed_at)  # fmt: skip
    assert summary.new_observations == 1
    assert [(s.line, s.reason.split(" (")[0]) for s in summary.skipped] == [(2, "duplicate id")]
    rows = run_view(engine, "history", TrendParams(model="org/m"))["rows"]
    assert [r["license"] for r in rows] == ["apache-2.0", "mit"]
    engine.dispose()


def test_a_partial_record_of_a_seen_revision_is_scored_on_that_revisions_files(ingested, snapshot_dirs):
    """A listing without the expanded fields (no files, no dates) of a revision stored in full before: same files.

    Expected from the raw records: each partial record whose id and sha an earlier snapshot held in full, and
    that earlier record's file names.
    """
    import json

    from sqlalchemy import select
    from whichmodel.store.models import Observation
    from whichmodel.store.records import facts_of

    engine, _, _ = ingested
    full: dict[tuple[str, str], list[str]] = {}
    expected: dict[tuple[str, str], list[str]] = {}
    for folder in sorted(snapshot_dirs, key=lambda p: json.loads((p / "manifest.json").read_text())["observed_at"]):
        observed = json.loads((folder / "manifest.json").read_text())["observed_at"]
        for line in (folder / "models.jsonl").read_text().splitlines():
            record = json.loads(line) if line.strip() else {}
            key = (record.get("id"), record.get("sha"))
            if not key[0] or not key[1]:
                continue
            if "siblings" in record and "createdAt" in record:
                full[key] = sorted(s["rfilename"] for s in record["siblings"])
            elif "siblings" not in record and "createdAt" not in record and key in full:
                expected[(key[0], observed)] = full[key]
    assert len(expected) >= 10, "the shared snapshots hold partial records of revisions seen in full"
    O = Observation.__table__  # noqa: E741
    with engine.connect() as conn:
        for (model_id, observed), files in expected.items():
            day = O.c.observed_at.like(f"{observed[:10]}%")
            obs = conn.execute(select(O.c.id).where(O.c.model_id == model_id, day)).scalar_one()
            facts = facts_of(conn, obs)
            assert sorted(f["name"] if isinstance(f, dict) else f for f in facts["files"] or []) == files, model_id
