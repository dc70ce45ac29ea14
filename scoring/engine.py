"""Run every check of the method over a model's facts and add findings up into scores.

`aggregate` is separate from `score_facts` so that stored findings can be re-added (to recompute a score,
or to answer "what if this finding passed?") without re-reading facts.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable

from whichmodel.hub.facts import ModelFacts
from whichmodel.scoring.checks import CHECKS, OBSERVATION_CHECKS
from whichmodel.scoring.context import ScoringContext
from whichmodel.scoring.findings import (
    CONCLUSIVE,
    FAIL,
    NOT_APPLICABLE,
    NOT_AVAILABLE,
    PASS,
    CategoryScore,
    Finding,
    ScoreCard,
)
from whichmodel.scoring.lineage import apply_lineage
from whichmodel.scoring.method import CATEGORIES, Method, load_method


def run_checks(
    facts: ModelFacts, ctx: ScoringContext, method: Method, only: Collection[str] | None = None
) -> list[Finding]:
    """Every check of the method (or those in `only`), as findings, in method order (lineage facts first)."""
    apply_lineage(facts, ctx)
    findings = []
    append = findings.append
    for spec in method.checks:
        if only is not None and spec.id not in only:
            continue
        fn = CHECKS.get(spec.id)
        if fn is None:
            raise KeyError(f"method {method.version} names check '{spec.id}', which has no implementation")
        if spec.id == "typosquatting":
            ctx.typo_params = spec.params
        append(_finding(spec, fn(facts, ctx, spec.params)))
    return findings


def _finding(spec, result) -> Finding:
    outcome = result.outcome
    return Finding(
        spec.id,
        spec.category,
        outcome,
        round(result.fraction * spec.weight, 3) if outcome in CONCLUSIVE else None,
        spec.weight,
        result.evidence,
        result.reason,
        None if outcome == PASS or outcome == NOT_APPLICABLE else spec.remediation,
    )


def observation_findings(facts: ModelFacts, method: Method) -> dict[str, Finding]:
    """The findings of the checks that read only the facts' counters and dates (`OBSERVATION_CHECKS`), by check.

    They need no context, so a stored observation's can be recomputed from its own row and facts.
    """
    return {spec.id: _finding(spec, CHECKS[spec.id](facts, None, spec.params))
            for spec in method.checks if spec.id in OBSERVATION_CHECKS}  # fmt: skip


def rank_value(score: float | None, coverage: float, method: Method) -> float:
    """The confidence-aware value rankings sort by.

    The score where findings were conclusive, the method's neutral prior for the share that was not:
    `coverage x score + (1 - coverage) x prior`: a model with 2 of 8 checks conclusive, all passing, ranks
    near the prior rather than level with one that passed all 8. No conclusive finding: the prior.
    """
    prior = method.prior
    if score is None:
        return prior
    return round(coverage * score + (1.0 - coverage) * prior, 3)


def aggregate(model_id: str, observed_at: str | None, findings: Iterable[Finding], method: Method) -> ScoreCard:
    """Category score = 10 x earned / possible over conclusive findings; overall = weighted mean of categories."""
    by_category: dict[str, list[Finding]] = {c: [] for c in CATEGORIES}
    for finding in findings:
        by_category[finding.category].append(finding)
    categories: dict[str, CategoryScore] = {}
    weighted = weight_sum = coverage_sum = rank_sum = 0.0
    vetoes, weights = method.veto_checks, method.category_weights
    for name in CATEGORIES:
        items = by_category[name]
        # One pass, each sum added up in findings order (as sum() over them would: the same float results).
        applicable = possible = earned = 0
        veto = unread_veto = None
        for f in items:
            outcome = f.outcome
            if outcome != NOT_APPLICABLE:
                applicable += f.max_points
            if outcome in CONCLUSIVE:
                possible += f.max_points
                earned += f.points or 0.0
            if f.check in vetoes:
                if veto is None and outcome == FAIL:
                    veto = f.check
                elif outcome == NOT_AVAILABLE:
                    unread_veto = f.check
        score = round(10 * earned / possible, 2) if possible else None
        coverage = round(possible / applicable, 3) if applicable else 0.0
        if veto:
            score = 0.0  # e.g. no weight files: nothing to load is not "safe", whatever else passed
        elif unread_veto:
            # The check that could zero the category was not readable (a record without a file list): what the
            # other checks say cannot stand for the category. Unknown is not safe, so no score (rank: the prior).
            score = None
        rank = 0.0 if veto else rank_value(score, coverage, method)
        categories[name] = CategoryScore(name, score, coverage, items, rank=rank, vetoed_by=veto)
        cat_weight = weights[name]
        coverage_sum += cat_weight * coverage
        rank_sum += cat_weight * rank
        if score is not None:
            weighted += cat_weight * score
            weight_sum += cat_weight
    total_weight = method.total_weight
    # No overall without the categories the method requires for one (security: whether loading is safe).
    unscored = any(categories[name].score is None for name in method.required_categories)
    return ScoreCard(
        rank=round(rank_sum / total_weight, 3),
        model_id=model_id,
        overall=round(weighted / weight_sum, 2) if weight_sum and not unscored else None,
        coverage=round(coverage_sum / total_weight, 3),
        method_version=method.version,
        weights_hash=method.weights_hash,
        observed_at=observed_at,
        categories=categories,
    )


def score_facts(facts: ModelFacts, ctx: ScoringContext | None = None, method: Method | None = None) -> ScoreCard:
    """Score one model's facts."""
    method = method or load_method()
    ctx = ctx or ScoringContext.curated()
    return aggregate(facts.id, facts.observed_at, run_checks(facts, ctx, method), method)
