"""Findings and score cards: what a check concluded, and how findings add up to scores."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

PASS = "pass"
FAIL = "fail"
NOT_AVAILABLE = "not_available"
NOT_APPLICABLE = "not_applicable"
OUTCOMES = (PASS, FAIL, NOT_AVAILABLE, NOT_APPLICABLE)
CONCLUSIVE = (PASS, FAIL)


# Results and findings are frozen, and made by the tens per model: their constructors set the fields straight
# into the instance dict, once, instead of the generated frozen __init__'s object.__setattr__ per field (which
# cost more than most checks).


@dataclass(frozen=True, init=False)
class Result:
    """What a check function returns: an outcome, the share of points earned, the evidence and why."""

    outcome: str
    fraction: float
    evidence: list[dict[str, Any]]
    reason: str

    def __init__(self, outcome: str, fraction: float, evidence: list[dict[str, Any]], reason: str) -> None:
        if outcome not in OUTCOMES:
            raise ValueError(f"unknown outcome {outcome}")
        if not 0.0 <= fraction <= 1.0:
            raise ValueError(f"fraction out of range: {fraction}")
        self.__dict__.update(outcome=outcome, fraction=fraction, evidence=evidence, reason=reason)


@dataclass(frozen=True, init=False)
class Finding:
    """A stored finding: the check, its outcome, evidence, points out of the maximum, reason and fix."""

    check: str
    category: str
    outcome: str
    points: float | None
    max_points: float
    evidence: list[dict[str, Any]]
    reason: str
    remediation: str | None

    def __init__(
        self,
        check: str,
        category: str,
        outcome: str,
        points: float | None,
        max_points: float,
        evidence: list[dict[str, Any]],
        reason: str,
        remediation: str | None,
    ) -> None:
        self.__dict__.update(
            check=check,
            category=category,
            outcome=outcome,
            points=points,
            max_points=max_points,
            evidence=evidence,
            reason=reason,
            remediation=remediation,
        )

    @property
    def conclusive(self) -> bool:
        """Pass or fail: the check could read what it needed."""
        return self.outcome in CONCLUSIVE

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape of the CLI contract."""
        data = asdict(self)
        data.pop("category")
        return data


@dataclass
class CategoryScore:
    """A category's score (None when nothing was conclusive), its coverage and findings."""

    category: str
    score: float | None
    coverage: float
    findings: list[Finding] = field(default_factory=list)
    rank: float | None = None  # the confidence-aware value search ranks by (see `scoring.engine.rank_value`)
    vetoed_by: str | None = None  # a failing veto check that set the score to 0

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape of the CLI contract."""
        return {
            "score": self.score,
            "coverage": self.coverage,
            "rank": self.rank,
            "findings": [f.to_dict() for f in self.findings],
        }


@dataclass
class ScoreCard:
    """All categories plus the overall score of one model observation."""

    model_id: str
    overall: float | None
    coverage: float
    method_version: str
    weights_hash: str
    observed_at: str | None
    categories: dict[str, CategoryScore]
    rank: float | None = None

    def findings(self) -> list[Finding]:
        """Every finding, category by category."""
        return [f for c in self.categories.values() for f in c.findings]

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape of the CLI contract (facts are added by the caller)."""
        return {
            "model_id": self.model_id,
            "overall": self.overall,
            "coverage": self.coverage,
            "rank": self.rank,
            "method_version": self.method_version,
            "weights_hash": self.weights_hash,
            "observed_at": self.observed_at,
            "categories": {name: c.to_dict() for name, c in self.categories.items()},
        }
