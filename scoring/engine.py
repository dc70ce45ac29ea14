"""Run every check of the method over a model's facts and add findings up into scores.

`aggregate` is separate from `score_facts` so that stored findings can be re-added (to recompute a score,
or to answer "what if this finding passed?") without re-reading facts.
"""

from __future__ import annotations

import hashlib
import sys
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import orjson
from whichmodel.hub.facts import ModelFacts, derivation_id
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


# A later observation of unchanged content may be "carried forward" (`carry_forward`): scored from the stored
# points of its predecessor's findings, with only these checks run again. The observation checks read the
# counters and the date; these two read the context through the model's own name (an author's record moves
# daily, a near miss's popularity too) and are cheap. Every other check is a function of the facts and of the
# context values `carry_key` hashes (tests/test_carry_forward.py records what each one reads).
RECOMPUTED_CHECKS = OBSERVATION_CHECKS | {"typosquatting", "reputable_provider"}


@dataclass(slots=True)
class CarriedFacts:
    """What the recomputed checks read of a model's facts (a `ModelFacts` costs ~90 us to decode)."""

    id: str
    org: str | None
    downloads: int | None
    likes: int | None
    observed_at: str | None
    created_at: str | None
    last_modified: str | None
    has_weights: bool | None
    base_models: list[str] | None


@lru_cache(maxsize=1)
def _code_id() -> str:
    """A fingerprint of the scoring code and the rules that derive facts: a change to either re-scores in full."""
    from whichmodel.scoring import checks, context, lineage

    digest = hashlib.sha256(derivation_id().encode())
    for module in (sys.modules[__name__], checks, context, lineage):
        digest.update(Path(module.__file__).read_bytes())
    return digest.hexdigest()[:16]


def _signed64(data: bytes) -> int:
    return int.from_bytes(hashlib.blake2b(data, digest_size=8).digest(), "big", signed=True)


def carry_key(bases: Sequence[str] | None, params_measured: int | None, ctx: ScoringContext, method: Method) -> int:
    """What the non-recomputed checks and the lineage facts read of the context for a model, hashed.

    The curated providers, each declared base's license class, size and architecture, the size class known
    for the measured count, and the code and method that read them. Equal keys over the same facts: equal
    findings for every check outside `RECOMPUTED_CHECKS`.
    """
    bases = bases or []
    reads = [
        _code_id(), method.version, method.weights_hash, ctx.providers_digest,
        [[b, ctx.base_license_class.get(b), ctx.base_params.get(b), ctx.base_model_type.get(b)] for b in bases],
        ctx.class_of_count.get(params_measured) if params_measured else None,
    ]  # fmt: skip
    return _signed64(orjson.dumps(reads))


def _recomputed_digest(findings: Iterable[Finding]) -> int:
    """The recomputed context checks' findings, whole (evidence and reasons), hashed."""
    items = [[f.check, f.outcome, f.points, f.evidence, f.reason, f.remediation]
             for f in findings if f.check in RECOMPUTED_CHECKS and f.check not in OBSERVATION_CHECKS]  # fmt: skip
    return _signed64(orjson.dumps(items, default=str))


def _default_points(outcome: str, weight: float) -> float | None:
    """The points a finding has unless it says otherwise: all for a pass, none for a fail, None if inconclusive."""
    return round(weight, 3) if outcome == PASS else 0.0 if outcome == FAIL else None


def carry_state(facts: ModelFacts, findings: list[Finding], ctx: ScoringContext, method: Method) -> tuple:
    """What `carry_forward` needs, beyond the assessment's outcomes, to score a later observation of this content.

    (context key, recomputed digest, [declared bases, measured parameters, [[position, points] of each
    non-recomputed check whose points are not its outcome's default]]); the last part JSON-ready.
    """
    odd = [[i, f.points] for i, f in enumerate(findings)
           if f.check not in RECOMPUTED_CHECKS and f.points != _default_points(f.outcome, f.max_points)]  # fmt: skip
    return (carry_key(facts.base_models, facts.params_measured, ctx, method), _recomputed_digest(findings),
            [facts.base_models, facts.params_measured, odd])  # fmt: skip


# The stand-ins for stored findings that aggregating reads (check, category, outcome, points, maximum): a few
# hundred distinct ones serve every model, made once.
_STAND_INS: dict[tuple, Finding] = {}


def carry_forward(
    key: int, digest: int, extra: list, outcomes: Sequence[str], facts: CarriedFacts, ctx: ScoringContext,
    method: Method,
) -> ScoreCard | None:  # fmt: skip
    """The score card of an observation whose content is that of the assessment `carry_state` described.

    `outcomes` are that assessment's; `facts` the observation's counters and dates and its model's author,
    dates and whether it holds weights (`base_models` is taken from `extra`). None when it cannot be carried:
    the context it reads changed (`carry_key`), or a recomputed check's finding differs beyond what the
    counters and the date move (its findings then differ from the predecessor's and are computed in full).
    """
    bases, params_measured, odd = extra
    if len(outcomes) != len(method.checks) or carry_key(bases, params_measured, ctx, method) != key:
        return None
    facts.base_models = bases
    findings = _stored_part(method, outcomes, odd)
    for i, spec in _recomputed_positions(method):
        if spec.id == "typosquatting":
            ctx.typo_params = spec.params
        finding = _finding(spec, CHECKS[spec.id](facts, ctx, spec.params))
        if spec.id in OBSERVATION_CHECKS and finding.outcome != outcomes[i]:
            return None  # a new assessment: its outcomes are part of what identifies one
        findings[i] = finding
    if _recomputed_digest(findings) != digest:
        return None
    return aggregate(facts.id, facts.observed_at, findings, method)


def _recomputed_positions(method: Method) -> tuple[tuple[int, object], ...]:
    """(position, spec) of each check `carry_forward` runs again, in method order (kept with the method)."""
    found = method.__dict__.get("_recomputed_positions")
    if found is None:
        found = method.__dict__["_recomputed_positions"] = tuple(
            (i, spec) for i, spec in enumerate(method.checks) if spec.id in RECOMPUTED_CHECKS
        )
    return found


def _stand_in(spec, outcome: str, earned: float | None) -> Finding:
    """A stored finding as aggregating reads it (check, category, outcome, points, maximum), made once."""
    key = (spec.id, spec.category, outcome, earned, spec.weight)
    found = _STAND_INS.get(key)
    if found is None:
        if len(_STAND_INS) >= 100_000:
            _STAND_INS.clear()
        found = _STAND_INS[key] = Finding(spec.id, spec.category, outcome, earned, spec.weight, [], "", None)
    return found


def _stored_part(method: Method, outcomes: Sequence[str], odd: list) -> list[Finding | None]:
    """The stand-ins of the checks `carry_forward` does not run, by position (None where it runs one).

    Those with their outcome's default points are a function of the method and the stored outcomes, which
    many models share: made once per outcomes (kept with the method, a bounded number); `odd` ([position,
    points] of the others) is applied to a copy.
    """
    cache = method.__dict__.setdefault("_stored_parts", {})
    key = tuple(outcomes)
    found = cache.get(key)
    if found is None:
        found = [None if spec.id in RECOMPUTED_CHECKS
                 else _stand_in(spec, outcome, _default_points(outcome, spec.weight))
                 for spec, outcome in zip(method.checks, outcomes, strict=True)]  # fmt: skip
        if len(cache) >= 10_000:
            cache.clear()
        cache[key] = found
    found = list(found)
    checks = method.checks
    for i, earned in odd:
        spec = checks[i] if 0 <= i < len(checks) else None
        if spec is not None and spec.id not in RECOMPUTED_CHECKS:
            found[i] = _stand_in(spec, outcomes[i], earned)
    return found


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
