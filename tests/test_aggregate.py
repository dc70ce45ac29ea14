"""`scoring.engine.aggregate` arithmetic, on hand-made findings with hand-computed expected scores."""

from dataclasses import replace

import pytest
from whichmodel.scoring.engine import aggregate
from whichmodel.scoring.findings import Finding
from whichmodel.scoring.method import load_method

# Weights chosen for easy arithmetic (total 10), so the test does not move when the method file does.
WEIGHTS = {"popularity": 1, "activity": 1, "operational": 2, "security": 4, "quality": 2}


@pytest.fixture
def method():
    base = load_method()
    return replace(base, categories={name: {**base.categories[name], "weight": w} for name, w in WEIGHTS.items()})


def finding(category, outcome, points, max_points, check="c"):
    return Finding(check, category, outcome, points, max_points, [], "why", None)


def test_weights_coverage_and_skipped_categories(method):
    findings = [
        finding("popularity", "pass", 3.0, 4.0), finding("popularity", "fail", 0.0, 2.0),
        finding("popularity", "not_available", None, 4.0),
        finding("activity", "not_applicable", None, 5.0), finding("activity", "not_available", None, 3.0),
        finding("operational", "pass", 2.0, 2.0),
        finding("security", "pass", 1.5, 3.0), finding("security", "fail", 0.0, 1.0),
    ]  # fmt: skip
    card = aggregate("a/b", "2025-01-01", findings, method)
    got = {n: (c.score, c.coverage) for n, c in card.categories.items()}
    assert got == {
        "popularity": (5.0, 0.6),  # 10 x 3 / (4 + 2); 6 of 10 applicable points conclusive
        "activity": (None, 0.0),  # nothing conclusive: no score, not a zero; not applicable is not counted
        "operational": (10.0, 1.0),
        "security": (3.75, 1.0),  # 10 x 1.5 / 4
        "quality": (None, 0.0),  # no findings at all
    }
    assert card.overall == 5.71  # (1 x 5 + 2 x 10 + 4 x 3.75) / (1 + 2 + 4): unscored categories are left out
    assert card.coverage == 0.66  # (1 x 0.6 + 2 x 1 + 4 x 1) / 10: every category's weight counts here
    assert [f.outcome for f in card.categories["popularity"].findings] == ["pass", "fail", "not_available"]


def test_nothing_conclusive_is_no_score(method):
    findings = [finding(c, "not_available", None, 2.0) for c in WEIGHTS]
    card = aggregate("a/b", None, findings, method)
    assert card.overall is None and card.coverage == 0.0
    assert all(c.score is None for c in card.categories.values())


def test_a_failed_check_with_partial_points(method):
    card = aggregate("a/b", None, [finding("security", "fail", 0.5, 2.0), finding("security", "pass", 2.0, 2.0)],
                     method)  # fmt: skip
    assert card.categories["security"].score == 6.25  # 10 x 2.5 / 4
    assert card.overall == 6.25, "the only scored category is the overall"
    assert card.method_version == method.version and card.weights_hash == method.weights_hash
