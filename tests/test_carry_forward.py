"""Observations carried forward score exactly as if every check had run.

A later observation of unchanged content whose context reads are unchanged is scored from its predecessor's
stored points, with only the checks that read the counters, the date and the author's standing run again
(`scoring.engine.carry_forward`). The shared snapshots are ingested day by day, scored after each day, with
and without carrying: every observation's scores, findings and assessment, and every score card, must be
the same. A recording context then checks the premise: the checks that are not run again read nothing of
the context but what the carry key hashes.
"""

from unittest import mock

import pytest
from sqlalchemy import select
from whichmodel.hub.facts import ModelFacts
from whichmodel.hub.snapshot import open_snapshot, read_snapshot
from whichmodel.scoring import engine as scoring_engine
from whichmodel.scoring.checks import CHECKS
from whichmodel.scoring.engine import RECOMPUTED_CHECKS, CarriedFacts, carry_forward, carry_key, carry_state
from whichmodel.scoring.lineage import apply_lineage
from whichmodel.scoring.method import load_method
from whichmodel.store import ingest as store_ingest
from whichmodel.store.db import make_engine
from whichmodel.store.ingest import build_context, ingest_items, score_pending
from whichmodel.store.models import ModelRow, Observation
from whichmodel.store.queries import scorecard
from whichmodel.store.records import facts_of, findings_of

O = Observation.__table__  # noqa: E741
SCORES = ("overall_x100", "popularity_x100", "activity_x100", "operational_x100", "security_x100", "quality_x100")


def _daily(url: str, snapshot_dirs, carry: bool, daily: bool = True) -> tuple:
    """Ingest the snapshots in date order, scoring after each (as a daily run does; else once at the end)."""
    engine = make_engine(url)
    carried = []

    def counted(*args, **kwargs):
        card = carry_forward(*args, **kwargs)
        carried.append(card is not None)
        return card

    with mock.patch.object(store_ingest, "carry_forward", counted):
        for snap in sorted((open_snapshot(p) for p in snapshot_dirs), key=lambda s: s.observed_at):
            ingest_items(engine, read_snapshot(snap), source=str(snap.path), kind="snapshot",
                         observed_at=snap.observed_at)  # fmt: skip
            if daily:
                score_pending(engine, carry=carry, workers=1)  # here: the count is this process's
        score_pending(engine, carry=carry, workers=1)
    return engine, carried


@pytest.fixture(scope="module")
def pair(new_db_url, snapshot_dirs):
    carried, tried = _daily(new_db_url("carried"), snapshot_dirs, carry=True)
    full, not_tried = _daily(new_db_url("full"), snapshot_dirs, carry=False)
    yield carried, full, tried
    carried.dispose()
    full.dispose()
    assert not not_tried


@pytest.fixture(scope="module")
def at_once(new_db_url, snapshot_dirs):
    """Every snapshot ingested before anything is scored: the newest observation's models row is as parsed."""
    carried, _ = _daily(new_db_url("carried-at-once"), snapshot_dirs, carry=True, daily=False)
    full, _ = _daily(new_db_url("full-at-once"), snapshot_dirs, carry=False, daily=False)
    yield carried, full
    carried.dispose()
    full.dispose()


def _models(engine) -> dict:
    columns = [c for c in ModelRow.__table__.c if c.name != "scored_facts_id"]
    with engine.connect() as conn:
        return {row[0]: tuple(row) for row in conn.execute(select(*columns).order_by(ModelRow.id))}


def test_models_rows_are_the_same_scored_daily(pair):
    _same_models_and_observations(*pair[:2])


def test_models_rows_are_the_same_scored_at_once(at_once):
    _same_models_and_observations(*at_once)


def _same_models_and_observations(carried, full) -> None:
    mine, theirs = _models(carried), _models(full)
    assert mine.keys() == theirs.keys()
    differing = [m for m in mine if mine[m] != theirs[m]]
    assert not differing, [(m, mine[m], theirs[m]) for m in differing[:3]]
    assert _observations(carried) == _observations(full)


def _observations(engine) -> dict:
    with engine.connect() as conn:
        rows = conn.execute(select(O.c.model_id, O.c.observed_at, O.c.id, O.c.scored_version, O.c.assessed_by,
                                   *(O.c[c] for c in SCORES)))  # fmt: skip
        return {(r[0], r[1]): tuple(r[2:]) for r in rows}


def test_observations_are_carried(pair):
    carried, _, tried = pair
    # Every re-observation whose content is its previous observation's is tried, and most are carried (the
    # others: an author's standing or a base model that the day's new records changed).
    with carried.connect() as conn:
        rows = conn.execute(select(O.c.model_id, O.c.observed_at, O.c.facts_id)
                            .order_by(O.c.model_id, O.c.observed_at)).all()  # fmt: skip
    unchanged = sum(1 for before, after in zip(rows, rows[1:], strict=False)
                    if before.model_id == after.model_id and before.facts_id == after.facts_id)  # fmt: skip
    assert unchanged > 300
    assert len(tried) == unchanged
    assert sum(tried) >= 0.9 * unchanged, (sum(tried), unchanged)


def test_scores_and_assessments_are_the_same(pair):
    carried, full, _ = pair
    mine, theirs = _observations(carried), _observations(full)
    assert mine.keys() == theirs.keys()
    differing = [key for key in mine if mine[key] != theirs[key]]
    assert not differing, [(k, mine[k], theirs[k]) for k in differing[:5]]


def test_findings_and_score_cards_are_the_same(pair):
    carried, full, _ = pair
    observations = _observations(carried)
    with carried.connect() as mine, full.connect() as theirs:
        for key, (obs_id, version, *_rest) in observations.items():
            assert findings_of(mine, obs_id, version) == findings_of(theirs, obs_id, version), key
        models = mine.execute(select(ModelRow.id)).scalars().all()
    for model_id in models:
        assert scorecard(carried, model_id) == scorecard(full, model_id), model_id


class _Reads:
    """A context that notes every attribute read, and every key looked up in its dictionaries."""

    def __init__(self, ctx):
        object.__setattr__(self, "_ctx", ctx)
        object.__setattr__(self, "log", [])

    def __getattr__(self, name):
        value = getattr(self._ctx, name)
        if isinstance(value, dict):
            return _Keys(value, name, self.log)
        self.log.append((name, None))
        return value

    def __setattr__(self, name, value):
        setattr(self._ctx, name, value)


class _Keys(dict):
    def __init__(self, data, name, log):
        super().__init__(data)
        self.name, self.log = name, log

    def get(self, key, default=None):
        self.log.append((self.name, key))
        return super().get(key, default)

    def __getitem__(self, key):
        self.log.append((self.name, key))
        return super().__getitem__(key)

    def __contains__(self, key):
        self.log.append((self.name, key))
        return super().__contains__(key)


def test_checks_outside_the_recomputed_read_only_what_the_key_holds(pair):
    carried, _, _ = pair
    method = load_method()
    with carried.connect() as conn:
        ctx = build_context(conn, method)
        newest = conn.execute(select(ModelRow.latest_observation_id)).scalars().all()
        facts = [ModelFacts.from_dict(facts_of(conn, obs_id)) for obs_id in newest]
    derivatives = 0
    for item in facts:
        bases = set(item.base_models or [])
        derivatives += bool(bases)
        allowed = {("base_license_class", b) for b in bases} | {("base_params", b) for b in bases} | {
            ("base_model_type", b) for b in bases} | {("class_of_count", item.params_measured)}
        recorder = _Reads(ctx)
        apply_lineage(item, recorder)
        for spec in method.checks:
            if spec.id in RECOMPUTED_CHECKS:
                continue
            CHECKS[spec.id](item, recorder, spec.params)
        # The curated providers are hashed whole (any key may be read); the rest must be the model's own keys.
        stray = {r for r in recorder.log if r[0] != "providers" and r not in allowed}
        assert not stray, (item.id, stray)
    assert derivatives > 100


def test_a_changed_base_license_or_author_standing_is_not_carried(pair):
    carried, _, _ = pair
    method = load_method()
    with carried.connect() as conn:
        ctx = build_context(conn, method)
        rows = conn.execute(select(ModelRow.latest_observation_id).where(ModelRow.base_model.in_(
            list(ctx.base_license_class)))).scalars().all()  # fmt: skip
        item = ModelFacts.from_dict(facts_of(conn, rows[0]))
    item.observed_at = item.observed_at or "2026-01-01"
    findings = scoring_engine.run_checks(item, ctx, method)
    key, digest, extra = carry_state(item, findings, ctx, method)
    outcomes = [f.outcome for f in findings]

    def light():
        return CarriedFacts(item.id, item.org, item.downloads, item.likes, item.observed_at, item.created_at,
                            item.last_modified, item.has_weights, None)  # fmt: skip

    def numbers(card):
        return card.overall, card.coverage, card.rank, [(c.score, c.coverage, c.rank, c.vetoed_by)
                                                        for c in card.categories.values()]  # fmt: skip

    same = carry_forward(key, digest, extra, outcomes, light(), ctx, method)
    assert numbers(same) == numbers(scoring_engine.aggregate(item.id, item.observed_at, findings, method))
    base = item.base_models[0]
    before = ctx.base_license_class[base]
    ctx.base_license_class[base] = "unknown" if before != "unknown" else "permissive"
    try:
        assert carry_key(item.base_models, item.params_measured, ctx, method) != key
        assert carry_forward(key, digest, extra, outcomes, light(), ctx, method) is None
    finally:
        ctx.base_license_class[base] = before
    # The author's standing is recomputed: a strong record it did not have changes the finding, so no carry.
    standing = ctx.strong_authors.pop(item.org, None)
    ctx.strong_authors[item.org] = (50, 10**9) if standing is None else (1, 0)
    if ctx.providers.get(item.org) is None:
        assert carry_forward(key, digest, extra, outcomes, light(), ctx, method) is None
