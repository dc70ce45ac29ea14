"""Observations that share an earlier observation's assessment answer exactly as if each had its own.

Every shared snapshot is ingested twice: once as whichmodel stores it (an observation whose findings equal an
earlier one's but for the checks read from the counters and the date shares that one's assessment row), and
once with `share=False` (every observation its own row: the storage before revision 0013). Findings, score
cards, history, movers and alerts must be the same rows in both.
"""

from dataclasses import replace

import pytest
from sqlalchemy import func, select, update
from whichmodel.hub.facts import ModelFacts
from whichmodel.hub.snapshot import open_snapshot, read_snapshot
from whichmodel.scoring.checks import CHECKS, OBSERVATION_CHECKS
from whichmodel.scoring.context import ScoringContext
from whichmodel.scoring.method import load_method
from whichmodel.store.db import make_engine
from whichmodel.store.ingest import ingest_items, score_pending
from whichmodel.store.models import AssessmentRow, ModelRow, Observation
from whichmodel.store.queries import scorecard
from whichmodel.store.records import facts_of, findings_of
from whichmodel.trends.views import TrendParams, run_view

O = Observation.__table__  # noqa: E741
A = AssessmentRow.__table__


def _ingest(url: str, snapshot_dirs, share: bool):
    engine = make_engine(url)
    for snap in sorted((open_snapshot(p) for p in snapshot_dirs), key=lambda s: s.observed_at):
        ingest_items(engine, read_snapshot(snap), source=str(snap.path), kind="snapshot", observed_at=snap.observed_at)
    score_pending(engine, share=share)
    return engine


@pytest.fixture(scope="module")
def pair(new_db_url, snapshot_dirs):
    shared = _ingest(new_db_url("shared"), snapshot_dirs, share=True)
    own = _ingest(new_db_url("own"), snapshot_dirs, share=False)
    yield shared, own
    shared.dispose()
    own.dispose()


def _observations(engine) -> dict[tuple[str, str], tuple]:
    with engine.connect() as conn:
        rows = conn.execute(select(O.c.model_id, O.c.observed_at, O.c.id, O.c.scored_version, O.c.assessed_by))
        return {(m, t): (i, v, h) for m, t, i, v, h in rows}


def _findings(engine) -> dict[tuple[str, str], list]:
    with engine.connect() as conn:
        return {key: findings_of(conn, obs_id, version) for key, (obs_id, version, _) in _observations(engine).items()}


def test_observations_share_assessments_and_store_fewer_rows(pair):
    shared, own = pair
    observations = _observations(shared)
    with shared.connect() as conn:
        rows = conn.execute(select(func.count()).select_from(A)).scalar_one()
    with own.connect() as conn:
        own_rows = conn.execute(select(func.count()).select_from(A)).scalar_one()
    assert own_rows == len(observations)
    sharing = [key for key, (obs_id, _, holder) in observations.items() if holder != obs_id]
    assert sharing, "the shared snapshots re-observe unchanged repos: some observations must share"
    assert rows == len(observations) - len(sharing)
    # A sharer points at an earlier observation of the same model.
    by_id = {obs_id: key for key, (obs_id, _, _) in observations.items()}
    for key in sharing:
        holder_key = by_id[observations[key][2]]
        assert holder_key[0] == key[0] and holder_key[1] < key[1]


def test_every_observation_reads_the_findings_it_was_scored_with(pair):
    shared, own = pair
    mine, theirs = _findings(shared), _findings(own)
    assert mine.keys() == theirs.keys()
    differing = [key for key in mine if mine[key] != theirs[key]]
    assert not differing, differing[:5]


def test_score_cards_are_the_same(pair):
    shared, own = pair
    with shared.connect() as conn:
        models = conn.execute(select(ModelRow.id)).scalars().all()
    for model_id in models:
        assert scorecard(shared, model_id) == scorecard(own, model_id), model_id


@pytest.mark.parametrize("metric", ["overall", "popularity", "activity", "security", "quality", "downloads"])
def test_movers_are_the_same(pair, metric):
    shared, own = pair
    params = TrendParams(metric=metric, top=50)
    mine, theirs = run_view(shared, "movers", params), run_view(own, "movers", params)
    assert mine["rows"] == theirs["rows"]
    # Security and card quality moved for no model between the shared snapshots (like with like).
    assert mine["rows"] or metric in ("security", "quality")


def test_history_and_alerts_are_the_same(pair):
    shared, own = pair
    assert run_view(shared, "alerts", TrendParams())["rows"] == run_view(own, "alerts", TrendParams())["rows"]
    with shared.connect() as conn:
        watched = conn.execute(
            select(O.c.model_id).group_by(O.c.model_id).having(func.count() > 2).order_by(O.c.model_id)
        ).scalars().all()  # fmt: skip
    assert watched
    for model_id in watched:
        params = TrendParams(model=model_id)
        assert run_view(shared, "history", params) == run_view(own, "history", params), model_id


def test_scoring_a_holder_again_leaves_its_sharers_findings_as_they_were(pair, new_db_url, snapshot_dirs):
    shared, _ = pair
    engine = _ingest(new_db_url("rescore"), snapshot_dirs, share=True)
    try:
        before = _findings(engine)
        observations = _observations(engine)
        holders = {h for (obs_id, _, h) in observations.values() if h != obs_id}
        holder = min(holders)
        with engine.begin() as conn:
            conn.execute(update(O).where(O.c.id == holder).values(scored_version=None))
        assert score_pending(engine) == 1
        # The holder itself is scored with today's context (the database as it stands); the others stay as they were.
        holder_key = next(key for key, (obs_id, _, _) in observations.items() if obs_id == holder)
        after_findings = _findings(engine)
        assert {k: v for k, v in after_findings.items() if k != holder_key} == {
            k: v for k, v in before.items() if k != holder_key
        }
        after = _observations(engine)
        # The holder's row went to its first sharer, which the other sharers now point at.
        heir = min(obs_id for obs_id, _, h in observations.values() if h == holder and obs_id != holder)
        assert all(after[key][2] == heir for key, (obs_id, _, h) in observations.items()
                   if h == holder and obs_id != holder)  # fmt: skip
        with engine.connect() as conn:
            joined = conn.execute(
                select(func.count())
                .select_from(O)
                .join(A, (A.c.observation_id == O.c.assessed_by) & (A.c.method_version == O.c.scored_version))
            ).scalar_one()
        assert joined == len(after)
    finally:
        engine.dispose()


def test_observation_checks_read_no_context(pair):
    """The checks recomputed from an observation's own row need no context, and give what scoring gave."""
    shared, _ = pair
    method = load_method()
    specs = {s.id: s for s in method.checks}
    assert OBSERVATION_CHECKS <= specs.keys()
    with shared.connect() as conn:
        ids = conn.execute(select(O.c.id).order_by(O.c.id).limit(300)).scalars().all()
        for obs_id in ids:
            facts = ModelFacts.from_dict(facts_of(conn, obs_id))
            for check in OBSERVATION_CHECKS:
                spec = specs[check]
                alone = CHECKS[check](replace(facts), None, spec.params)
                with_context = CHECKS[check](replace(facts), ScoringContext.curated(), spec.params)
                assert alone == with_context
