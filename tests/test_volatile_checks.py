"""Which checks a re-observation of unchanged facts must rerun (scoring.engine.VOLATILE_CHECKS).

A stored observation whose lasting facts did not change reuses every other check's finding (store.ingest), so
each of those must give the same finding whatever the day, the counters and the database around it say.
Held here over every record of the shared snapshots, under changes built from the records themselves.
"""

from __future__ import annotations

import copy
import dataclasses

import pytest
from whichmodel.hub.snapshot import Parsed, open_snapshot, read_snapshot
from whichmodel.scoring.context import Reference, ScoringContext
from whichmodel.scoring.engine import VOLATILE_CHECKS, run_checks
from whichmodel.scoring.method import load_method


@pytest.fixture(scope="module")
def records(snapshot_dirs):
    newest = {}  # each repo once, as last seen: the checks' inputs differ far more between repos than dates
    for path in snapshot_dirs:
        newest |= {i.facts.id: i.facts for i in read_snapshot(open_snapshot(path)) if isinstance(i, Parsed)}
    return list(newest.values())


def _contexts(records) -> list[ScoringContext]:
    """Databases unlike each other: none, one where every author is strong, every base restrictive and every
    repo a popular reference, and one where every base is permissive."""
    bases = {b for f in records for b in f.base_models or ()}
    loud = ScoringContext.curated(
        strong_authors={f.org: (50, 10**9) for f in records if f.org},
        base_license_class=dict.fromkeys(bases, "non-commercial"),
        base_params=dict.fromkeys(bases, (7_000_000_000, "7B")),
    )
    loud.references.extend(Reference(f.id, 10**8) for f in records)
    quiet = ScoringContext.curated(base_license_class=dict.fromkeys(bases, "permissive"))
    return [ScoringContext(), loud, quiet]


def _changed(facts):
    """The same repo observed later with other counters."""
    later = copy.deepcopy(facts)
    later.downloads = (facts.downloads or 0) * 7 + 11
    later.likes = (facts.likes or 0) * 3 + 2
    later.downloads_all_time = 10**7
    later.observed_at = "2027-09-30T00:00:00Z"
    return later


def test_every_other_check_reads_only_the_lasting_facts(records):
    method = load_method()
    stable = [c.id for c in method.checks if c.id not in VOLATILE_CHECKS]
    assert len(stable) > 20 and len(records) > 1500
    contexts = _contexts(records)
    moved: set[str] = set()
    for facts in records:
        base = {f.check: f for f in run_checks(copy.deepcopy(facts), ScoringContext.curated(), method)}
        for variant, ctx in [(_changed(facts), c) for c in contexts] + [(copy.deepcopy(facts), c) for c in contexts]:
            for finding in run_checks(variant, ctx, method):
                if finding != base[finding.check]:
                    moved.add(finding.check)
                    assert finding.check in VOLATILE_CHECKS, (facts.id, dataclasses.asdict(finding))
    # The list is not padded: what it names does move under these changes (typosquatting needs a near name or
    # an exact-name copy, which the snapshots hold: vicky4s4s/Llama-2-7B-Chat-GGML).
    assert VOLATILE_CHECKS - {"typosquatting"} <= moved <= VOLATILE_CHECKS


def test_a_re_observation_reuses_findings_and_stores_what_a_full_scoring_would(tmp_path, snapshot_dirs, monkeypatch):
    """Two snapshots scored one after the other (the second reruns only the volatile checks of repos that did
    not change) store the same findings and scores as both scored in one pass (every check run)."""
    from whichmodel.store import ingest as ingest_module
    from whichmodel.store.db import make_engine
    from whichmodel.store.ingest import ingest_items, score_pending
    from whichmodel.store.records import findings_of

    snaps = sorted((open_snapshot(p) for p in snapshot_dirs), key=lambda s: s.observed_at)[-2:]
    calls = {"volatile only": 0, "every check": 0}
    real = ingest_module.run_checks

    def counting(facts, ctx, method, only=None):
        calls["every check" if only is None else "volatile only"] += 1
        return real(facts, ctx, method, only)

    monkeypatch.setattr(ingest_module, "run_checks", counting)

    def stored(name: str, score_each: bool) -> dict:
        engine = make_engine(f"sqlite:///{tmp_path / name}.db")
        for snap in snaps:
            ingest_items(engine, read_snapshot(snap), source=str(snap.path), kind="snapshot",
                         observed_at=snap.observed_at)  # fmt: skip
            if score_each:
                score_pending(engine, workers=1)
        score_pending(engine, workers=1, batch_size=10**6)  # one batch: nothing scored before, every check runs
        rows = {}
        with engine.connect() as conn:
            for obs_id, model_id, observed_at, version in conn.exec_driver_sql(
                "SELECT id, model_id, observed_at, scored_version FROM observations"
            ):
                scores = conn.exec_driver_sql(
                    "SELECT overall, popularity, activity, operational, security, quality, coverage, outcomes "
                    f"FROM assessments WHERE observation_id = {obs_id}"
                ).one()
                findings = [f.to_dict() for f in findings_of(conn, obs_id, version)]
                rows[(model_id, observed_at)] = (tuple(scores), findings)
        engine.dispose()
        return rows

    one_pass = stored("one-pass", score_each=False)
    assert calls["volatile only"] == 0
    in_turn = stored("in-turn", score_each=True)
    assert calls["volatile only"] > 100, "unchanged repos of the second snapshot reran the volatile checks only"
    assert in_turn == one_pass


def test_findings_are_not_reused_across_method_files_of_one_version(tmp_path, snapshot_dirs, monkeypatch):
    """A method file edited without a version bump (other weights) scores a re-observation afresh."""
    from whichmodel.scoring.method import parse_method, read_data
    from whichmodel.store import ingest as ingest_module
    from whichmodel.store.db import make_engine
    from whichmodel.store.ingest import ingest_items, score_pending

    calls = {"volatile only": 0}
    real = ingest_module.run_checks

    def counting(facts, ctx, method, only=None):
        calls["volatile only"] += only is not None
        return real(facts, ctx, method, only)

    monkeypatch.setattr(ingest_module, "run_checks", counting)
    edited = parse_method(read_data("method.yaml").replace(b"prior: 5.0", b"prior: 5.5"))
    assert edited.version == load_method().version and edited.weights_hash != load_method().weights_hash
    engine = make_engine(f"sqlite:///{tmp_path / 'db.db'}")
    snaps = sorted((open_snapshot(p) for p in snapshot_dirs), key=lambda s: s.observed_at)[-2:]
    for snap, method in zip(snaps, (load_method(), edited), strict=True):
        ingest_items(engine, read_snapshot(snap), source=str(snap.path), kind="snapshot", observed_at=snap.observed_at)
        score_pending(engine, workers=1, method=method)
    assert calls["volatile only"] == 0
    engine.dispose()
