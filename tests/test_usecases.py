"""Each use case directly, over a small hand-written database whose expected values are known from its records."""

import pytest
import small
from whichmodel.scoring.method import CATEGORIES, load_method
from whichmodel.store.queries import SearchFilters
from whichmodel.trends.views import TrendParams
from whichmodel.usecases import data, models, search, trends
from whichmodel.usecases.base import BadRequest, NoData, NotScored, Services, UnknownModel


@pytest.fixture(scope="module")
def svc(tmp_path_factory):
    settings, engine = small.build(tmp_path_factory.mktemp("usecases"))
    return Services(engine, settings)


# ---------------------------------------------------------------------------------------------------- resolve
def test_resolve_says_how_it_matched(svc):
    assert models.resolve(svc, small.SAFE).how == "exact"
    upper = models.resolve(svc, small.SAFE.upper())
    assert (upper.model_id, upper.how, upper.note()) == (small.SAFE, "case", "")
    bare = models.resolve(svc, "safe-7b-chat")
    assert (bare.model_id, bare.how) == (small.SAFE, "name")
    assert bare.note() == f"(resolved 'safe-7b-chat' to {small.SAFE}) "
    typo = models.resolve(svc, "safe-7b-chatt")
    assert (typo.model_id, typo.how) == (None, "none"), "a typo is never answered with another repo"
    assert typo.suggestions[0] == small.SAFE and "did you mean acme/safe-7b-chat" in typo.did_you_mean()
    assert models.resolve(svc, "nothing-like-it").how == "none"


def test_full_ids_resolve_only_to_themselves(svc):
    """An org/name that is not stored is not found, whatever its last segment matches; close ids are suggestions."""
    for typed in ("nobody/safe-7b-chat", "nobody/../safe-7b-chat", "acme/safe-7b-chatt", "acme/../safe-7b-chat",
                  "acme/safe-7b-chat/extra"):  # fmt: skip
        found = models.resolve(svc, typed)
        assert (found.model_id, found.how) == (None, "none"), typed
    assert models.resolve(svc, "acme/safe-7b-chatt").suggestions[0] == small.SAFE
    assert set(models.resolve(svc, "nobody/safe-7b-chat").suggestions) == {small.SAFE, small.MIRROR}
    assert models.resolve(svc, "nobody/../safe-7b-chat").suggestions == [], "not a repo id: nothing is close"
    with pytest.raises(UnknownModel, match="did you mean acme/safe-7b-chat") as err:
        models.score_card(svc, "acme/safe-7b-chatt")
    assert err.value.resolution.model_id is None
    with pytest.raises(UnknownModel, match="not in the database"):
        models.explain(svc, "nobody/safe-7b-chat")
    with pytest.raises(UnknownModel, match="nobody/safe-7b-chat"):
        models.compare(svc, ["nobody/safe-7b-chat", small.PICKLE])


def test_resolve_lists_candidates_when_ambiguous(svc):
    found = models.resolve(svc, "safe-7b-chat")
    assert found.model_id == small.SAFE, "the most downloaded model of that name"
    assert found.candidates == [small.SAFE, small.MIRROR] and found.ambiguous
    assert not models.resolve(svc, small.MIRROR).ambiguous, "a full id is not a guess"


def test_strict_resolve_never_guesses(svc):
    assert models.resolve(svc, "safe-7b-chat", strict=True).model_id is None
    assert models.resolve(svc, small.SAFE.upper(), strict=True).model_id == small.SAFE
    with pytest.raises(UnknownModel, match=f"did you mean {small.SAFE}"):  # the bare name's match, as a suggestion
        models.score_card(svc, "safe-7b-chat", strict=True)


# ---------------------------------------------------------------------------------------------------- score card
def test_score_card_is_the_newest_observation_with_its_facts(svc):
    card = models.score_card(svc, small.SAFE)
    as_json = card.to_dict()
    assert as_json["facts"]["downloads"] == small.SAFE_DOWNLOADS[1], "the second snapshot is the newest"
    assert as_json["observed_at"].startswith(small.SECOND_DAY)
    assert set(as_json["categories"]) == set(CATEGORIES)
    assert card.key_facts()["license"] == "apache-2.0"
    assert card.resolution.how == "exact"


def test_score_card_of_an_unscored_model_says_so(svc):
    with pytest.raises(NotScored, match="not scored yet"):
        models.score_card(svc, small.UNSCORED)
    with pytest.raises(UnknownModel, match="not in the database"):
        models.score_card(svc, "nobody/nothing")


# ---------------------------------------------------------------------------------------------------- explain
def _expected_if_passed(card, target):
    """A finding flipped to a full pass, re-added by hand: 10 x earned / possible over conclusive findings."""
    weights = {n: float(c["weight"]) for n, c in load_method().categories.items()}
    scores = {}
    for name, cat in card["categories"].items():
        earned = possible = 0.0
        for f in cat["findings"]:
            if f["check"] == target:
                earned, possible = earned + f["max_points"], possible + f["max_points"]
            elif f["outcome"] in ("pass", "fail"):
                earned, possible = earned + f["points"], possible + f["max_points"]
        scores[name] = round(10 * earned / possible, 2) if possible else None
    scored = {n: s for n, s in scores.items() if s is not None}
    overall = round(sum(weights[n] * s for n, s in scored.items()) / sum(weights[n] for n in scored), 2)
    return scores, overall


def test_explain_what_ifs_are_the_methods_arithmetic(svc):
    found = models.explain(svc, small.PICKLE, "security")
    card = models.score_card(svc, small.PICKLE).to_dict()
    security = card["categories"]["security"]
    failed = [f["check"] for f in security["findings"] if f["outcome"] == "fail"]
    assert failed, "the pickle model fails a security check"
    assert [f.check for f in found.costly] == sorted(failed, key=lambda c: -next(
        f["max_points"] - (f["points"] or 0) for f in security["findings"] if f["check"] == c))  # fmt: skip
    assert found.score == security["score"]
    for what_if in found.what_ifs:
        scores, overall = _expected_if_passed(card, what_if.check)
        assert what_if.category_score_if_passed == scores[what_if.category]
        assert what_if.overall_if_passed == overall
    gains = [w.gain for w in found.what_ifs]
    assert gains == sorted(gains, reverse=True)


def test_explain_rejects_an_unknown_category(svc):
    with pytest.raises(BadRequest, match="category"):
        models.explain(svc, small.SAFE, "vibes")


# ---------------------------------------------------------------------------------------------------- compare
def test_compare_calls_ties_ties(svc):
    found = models.compare(svc, [small.SAFE, small.TWIN])
    safe, twin = (models.score_card(svc, m).card for m in (small.SAFE, small.TWIN))
    for name, verdict in found.verdicts.items():
        a = safe.overall if name == "overall" else safe.categories[name].score
        b = twin.overall if name == "overall" else twin.categories[name].score
        if a is not None and b is not None and round(a, 1) == round(b, 1):
            assert verdict.outcome == "tie" and verdict.leader is None
            assert sorted(verdict.to_dict()["tied"]) == sorted([small.SAFE, small.TWIN])
    assert found.verdicts["overall"].outcome == "tie", "the same record under two names scores the same"


def test_compare_names_a_leader_and_the_findings_that_differ(svc):
    found = models.compare(svc, [small.SAFE, small.PICKLE])
    safe, pickle = (models.score_card(svc, m).card for m in (small.SAFE, small.PICKLE))
    assert safe.categories["security"].score > pickle.categories["security"].score
    assert found.verdicts["security"].leader == small.SAFE
    outcome = {m: {f.check: f.outcome for f in c.findings()} for m, c in ((small.SAFE, safe), (small.PICKLE, pickle))}
    differing = {c for c in outcome[small.SAFE] if outcome[small.SAFE][c] != outcome[small.PICKLE][c]}
    assert differing and differing <= {d.check for d in models.compare(svc, [small.SAFE, small.PICKLE], top=99)
                                       .differences}  # fmt: skip
    assert found.to_dict()["leaders"]["security"] == small.SAFE
    coverage = found.to_dict()["coverage"]  # each score is shown with its coverage, as search shows it
    assert coverage["security"] == {small.SAFE: safe.categories["security"].coverage,
                                    small.PICKLE: pickle.categories["security"].coverage}  # fmt: skip
    assert coverage["overall"] == {small.SAFE: safe.coverage, small.PICKLE: pickle.coverage}


def test_compare_with_an_unscored_model_says_not_scored_yet(svc):
    with pytest.raises(NotScored, match=f"{small.UNSCORED} is stored but not scored yet"):
        models.compare(svc, [small.SAFE, small.UNSCORED])


def test_compare_needs_two_to_four_different_models(svc):
    with pytest.raises(BadRequest):
        models.compare(svc, [small.SAFE])
    with pytest.raises(BadRequest, match="same model"):
        models.compare(svc, [small.SAFE, small.SAFE.upper()])
    with pytest.raises(UnknownModel, match="nobody/nothing"):
        models.compare(svc, [small.SAFE, "nobody/nothing"])


# ---------------------------------------------------------------------------------------------------- search
def test_recommend_reports_what_each_filter_ruled_out(svc):
    found = search.recommend(svc, SearchFilters(license_class="permissive", chat=True, sort="downloads", limit=20))
    assert set(found.model_ids) == {small.SAFE, small.TWIN, small.PICKLE, small.MIRROR, small.UNSCORED}
    assert found.total_matched == small.MODELS - 1
    assert found.filters == {"license_class": "permissive", "chat": True}
    effect = next(e for e in found.removed_by if e.filter == "license_class=permissive")
    assert effect.would_add == 1 and effect.best[0]["model_id"] == small.NONCOMMERCIAL
    as_json = found.to_dict()
    assert set(as_json) == {"filters", "sort", "total_matched", "left_out_no_weights", "results", "removed_by"}


def test_search_filters_in_billions_and_bad_filters(svc):
    found = search.recommend(svc, SearchFilters(min_params=7_000_000_000, limit=2))
    assert found.filters == {"min_params_b": 7.0}
    with pytest.raises(BadRequest, match="sort"):
        search.search(svc, SearchFilters(sort="vibes"))


def test_recommend_on_an_empty_database_says_how_to_fill_it(tmp_path):
    from whichmodel.config import Settings

    empty = Services.from_settings(Settings(home=tmp_path))
    with pytest.raises(NoData, match="ingest"):
        search.recommend(empty, SearchFilters())


# ---------------------------------------------------------------------------------------------------- trends
def test_history_view_resolves_the_name_and_reads_both_snapshots(svc):
    found = trends.trend_view(svc, "history", TrendParams(model="safe-7b-chat"))
    assert found.params["model"] == small.SAFE
    as_json = found.to_dict()
    assert as_json["model"] == small.SAFE and as_json["resolution"]["query"] == "safe-7b-chat"
    assert [r["downloads"] for r in found.rows] == list(small.SAFE_DOWNLOADS)
    with pytest.raises(UnknownModel):
        trends.trend_view(svc, "history", TrendParams(model="nobody/nothing"))
    for typed in ("nobody/safe-7b-chat", "nobody/../safe-7b-chat"):  # never another repo's history
        with pytest.raises(UnknownModel, match="not in the database"):
            trends.trend_view(svc, "history", TrendParams(model=typed))
    with pytest.raises(BadRequest):
        trends.trend_view(svc, "types", TrendParams(start="not-a-date"))


# ---------------------------------------------------------------------------------------------------- data
def test_status_counts_what_was_written(svc):
    found = data.status(svc).to_dict()
    assert found["models"] == small.MODELS and found["observations"] == 2 * (small.MODELS - 1) + 1
    assert found["scored_models"] == small.MODELS - 1
    assert {"home", "database", "method_version", "weights_hash"} <= set(found)
    assert "card_chunks" not in found
    assert "leaderboard_rows" in data.status(svc, detail=True).to_dict()


def test_fetch_and_score_stores_what_the_hub_gives(tmp_path, monkeypatch):
    from factories import RICH_CARD, wire
    from fake_hub import FakeHub
    from whichmodel.config import Settings

    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    with FakeHub() as hub:
        hub.serve_model(wire(id="acme/fetched-7b", downloads=4321), readme=RICH_CARD)
        svc = Services.from_settings(Settings(home=tmp_path / "home", hf_endpoint=hub.url, hub_max_retries=1))
        card = data.fetch_and_score(svc, "acme/fetched-7b")
        assert card.model_id == "acme/fetched-7b" and card.facts["downloads"] == 4321
        assert card.resolution.how == "fetched"
        assert models.score_card(svc, "acme/fetched-7b").card.overall == card.card.overall
        with pytest.raises(models.HubFailed, match="nobody/missing"):
            data.fetch_and_score(svc, "nobody/missing")
        with pytest.raises(BadRequest, match="org/name"):
            data.fetch_and_score(svc, "no-org")


def test_rescore_recomputes_every_observation(tmp_path):
    settings, engine = small.build(tmp_path)
    svc = Services(engine, settings)
    before = models.score_card(svc, small.SAFE).to_dict()
    done = data.rescore(svc)
    assert done.marked == 2 * (small.MODELS - 1) + 1 and done.scored == done.marked, "the unscored one is scored too"
    assert models.score_card(svc, small.SAFE).to_dict()["overall"] == before["overall"]
    assert models.score_card(svc, small.UNSCORED).card.overall is not None
