"""One model at a time, or a few side by side: resolve a name, show a score card, explain it, compare."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from typing import Any

from whichmodel.scoring.findings import FAIL, NOT_AVAILABLE, PASS, Finding, ScoreCard
from whichmodel.scoring.method import CATEGORIES
from whichmodel.usecases.base import SCORE_NAMES, BadRequest, HubFailed, NotScored, Services, UnknownModel

# The facts a short answer or a comparison shows (the full facts stay in the score card).
KEY_FACTS = ("id", "author", "pipeline_tag", "params", "size_class", "size_named", "license", "license_class",
             "commercial_use", "commercial_conditions", "chat", "gated", "downloads", "likes", "base_models",
             "base_relation", "created_at", "last_modified")  # fmt: skip
EXACT = ("exact", "case")


# ---------------------------------------------------------------------------------------------------- resolve
@dataclass(frozen=True)
class Resolved:
    """How a typed name maps to a stored model: `how` is exact, case, name, normalized, prefix, base, unused or none.

    A full id (org/name) matches only itself, in any case; a bare name may match the most used repo of that
    name, and `note()` then says which repo. When nothing matches, `candidates` are suggestions to show
    ("did you mean ...?"), never an answer.
    """

    query: str
    model_id: str | None
    how: str
    candidates: list[str] = field(default_factory=list)
    contested: bool = False  # another author's model of that name is about as used: ask which one was meant

    @property
    def found(self) -> bool:
        """A stored model was found."""
        return self.model_id is not None

    @property
    def ambiguous(self) -> bool:
        """The name was a guess among several stored models (a bare name shared by re-uploads)."""
        return self.found and self.how not in EXACT and len(self.candidates) > 1

    @property
    def suggestions(self) -> list[str]:
        """Stored ids close to a name that matched nothing (empty when something matched)."""
        return [] if self.found else list(self.candidates)

    def did_you_mean(self) -> str:
        """'; did you mean a or b?' for a name that matched nothing but is close to stored ids, else ''."""
        shown = self.suggestions[:3]
        return f"; did you mean {' or '.join(shown)}?" if shown else ""

    def note(self) -> str:
        """'(resolved X to Y) ' when the match was not the id as typed, else ''."""
        if self.model_id is None or self.how in EXACT:
            return ""
        if self.contested:  # the reader (an LLM) should ask which one was meant
            others = ", ".join(c for c in self.candidates[:3] if c != self.model_id)
            return f"(resolved '{self.query}' to {self.model_id}; about as used: {others}: ask which one is meant) "
        return f"(resolved '{self.query}' to {self.model_id}) "

    def to_dict(self) -> dict[str, Any]:
        """The resolution as JSON (`candidates` are suggestions when `model_id` is null)."""
        return {"query": self.query, "model_id": self.model_id, "how": self.how, "candidates": list(self.candidates)}


def stored_author(services: Services, text: str) -> str | None:
    """The stored spelling of a Hub author typed in any case ("thebloke" -> "TheBloke"); None when no model has it."""
    from sqlalchemy import func, select
    from whichmodel.store.models import ModelRow

    with services.engine.connect() as conn:
        exact = conn.execute(select(ModelRow.author).where(ModelRow.author == text).limit(1)).first()
        if exact:
            return exact[0]
        found = conn.execute(
            select(ModelRow.author).where(func.lower(ModelRow.author) == text.lower()).limit(1)
        ).first()
    return found[0] if found else None


def resolve(services: Services, text: str, strict: bool = False, bases: bool = False) -> Resolved:
    """A stored model for what the user typed.

    Args:
        services: the database.
        text: a full id ("google/gemma-7b", any case) or a bare name ("gemma-7b", "phi2"). A full id that
            is not stored, or a misspelt name ("gemma-7bb"), is not found: close ids come as suggestions.
        strict: accept only the id itself, in any case (a CI gate must never check a guessed model); a
            bare name's match is then only a suggestion.
        bases: also accept a base model that is not stored but that stored models name (lineage searches).
    """
    from whichmodel.store.queries import resolve_model, resolve_model_id

    if strict:
        found = resolve_model_id(services.engine, text.strip())
        if found is not None:
            return Resolved(text, found, "exact" if found == text.strip() else "case", [found])
        loose = resolve_model(services.engine, text)
        return Resolved(text, None, "none", list(dict.fromkeys(([loose.model_id] if loose.model_id else []) +
                                                                list(loose.candidates))))  # fmt: skip
    found = resolve_model(services.engine, text, bases=bases)
    return Resolved(text, found.model_id, found.how, list(found.candidates), contested=found.ambiguous)


def not_found(text: str, found: Resolved | None, message: str | None = None) -> UnknownModel:
    """The error for a name that matched nothing, with its suggestions in the message."""
    hint = found.did_you_mean() if found is not None else ""
    return UnknownModel((message or f"'{text}' is not in the database") + hint, text, found)


def require(services: Services, text: str, strict: bool = False) -> Resolved:
    """`resolve`, raising `UnknownModel` (with suggestions) when nothing matches."""
    found = resolve(services, text, strict=strict)
    if found.model_id is None:
        raise not_found(text, found)
    return found


# ---------------------------------------------------------------------------------------------------- score card
@dataclass
class ModelCard:
    """A stored score card with the facts it was computed from, and how the name was resolved."""

    card: ScoreCard
    facts: dict[str, Any]
    resolution: Resolved | None = None

    @property
    def model_id(self) -> str:
        """The stored id."""
        return self.card.model_id

    def key_facts(self) -> dict[str, Any]:
        """The facts a short answer shows."""
        return {k: self.facts.get(k) for k in KEY_FACTS}

    def failed(self) -> list[Finding]:
        """Failed findings, the costliest first."""
        failed = [f for f in self.card.findings() if f.outcome == FAIL]
        return sorted(failed, key=lambda f: -(f.max_points - (f.points or 0)))

    def to_dict(self) -> dict[str, Any]:
        """The CLI's `score --json` shape: the score card plus `facts`."""
        return self.card.to_dict() | {"facts": self.facts}


def load_card(services: Services, model_id: str, resolution: Resolved | None = None) -> ModelCard:
    """The newest stored score card of a stored id; `NotScored` when its newest observation has none."""
    from whichmodel.store.queries import stored_card

    stored = stored_card(services.engine, model_id)
    if stored is None:
        raise NotScored([model_id])
    card, facts = stored
    return ModelCard(card, facts, resolution)


def score_card(services: Services, text: str, fetch: bool = False, strict: bool = False) -> ModelCard:
    """The score card of a model by name; with `fetch`, one not in the database is fetched from the Hub first."""
    found = resolve(services, text, strict=strict)
    if found.model_id is None:
        if not fetch:
            raise not_found(text, found)
        from whichmodel.usecases.data import fetch_and_score

        try:
            return fetch_and_score(services, text.strip())
        except HubFailed as err:
            raise not_found(text, found, f"'{text}' is not in the database, and fetching it from the Hub failed: "
                                         f"{str(err).rstrip('.')}") from err  # fmt: skip
    return load_card(services, found.model_id, found)


# ---------------------------------------------------------------------------------------------------- explain
@dataclass(frozen=True)
class WhatIf:
    """The scores a model would have if one failed or unknown finding passed in full (computed, not guessed)."""

    check: str
    category: str
    now: str
    category_score_now: float | None
    category_score_if_passed: float | None
    overall_now: float | None
    overall_if_passed: float | None

    @property
    def gain(self) -> float:
        """Overall points gained (0 when either side is unknown)."""
        if self.overall_if_passed is None or self.overall_now is None:
            return self.overall_if_passed or 0.0
        return self.overall_if_passed - self.overall_now

    def to_dict(self) -> dict[str, Any]:
        """The what-if as JSON."""
        return asdict(self)


def _finding_row(f: Finding) -> dict[str, Any]:
    return {"check": f.check, "category": f.category, "outcome": f.outcome, "points": f.points,
            "max_points": f.max_points, "reason": f.reason, "remediation": f.remediation,
            "evidence": list(f.evidence)}  # fmt: skip


@dataclass
class Explanation:
    """Why a model scores what it does in one category (or overall): what cost points, what earned them."""

    model_id: str
    category: str
    method_version: str
    score: float | None
    coverage: float | None
    categories: dict[str, dict[str, float | None]]
    costly: list[Finding]
    earned: list[Finding]
    not_available: list[str]
    what_ifs: list[WhatIf]
    resolution: Resolved | None = None
    target: float | None = None
    to_target: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """The explanation as JSON (the agent tool's artifact)."""
        return {
            "model_id": self.model_id, "category": self.category, "method_version": self.method_version,
            "score": self.score, "coverage": self.coverage, "categories": self.categories,
            "costly": [_finding_row(f) for f in self.costly], "earned": [_finding_row(f) for f in self.earned],
            "not_available": list(self.not_available), "what_ifs": [w.to_dict() for w in self.what_ifs],
            "resolution": self.resolution.to_dict() if self.resolution else None,
            "target": self.target, "to_target": list(self.to_target),
        }  # fmt: skip


def explain(services: Services, text: str, category: str = "overall", top: int = 6,
            target: float | None = None) -> Explanation:  # fmt: skip
    """Explain a model's score in one category or overall.

    Returns the costliest and best-earning findings and, for each failed or unknown finding, the scores the
    model would get if it passed (the method's own aggregation, recomputed).
    """
    from whichmodel.scoring.engine import aggregate
    from whichmodel.scoring.method import load_method
    from whichmodel.store.queries import stored_findings

    if category not in SCORE_NAMES:
        raise BadRequest(f"category must be one of {', '.join(SCORE_NAMES)}, not {category!r}")
    found = require(services, text)
    stored = stored_findings(services.engine, found.model_id)
    if stored is None:
        raise NotScored([found.model_id])
    findings, version, observed = stored
    method = load_method()
    base = aggregate(found.model_id, observed, findings, method)
    chosen = [f for f in findings if category == "overall" or f.category == category]
    lost = sorted((f for f in chosen if f.outcome == FAIL), key=lambda f: -(f.max_points - (f.points or 0)))
    earned = sorted((f for f in chosen if f.outcome == PASS), key=lambda f: -(f.points or 0))
    unknown = [f for f in chosen if f.outcome == NOT_AVAILABLE]
    what_ifs = []
    for flip in lost + unknown:
        flipped = [replace(f, outcome=PASS, points=f.max_points) if f is flip else f for f in findings]
        card = aggregate(found.model_id, observed, flipped, method)
        what_ifs.append(WhatIf(
            flip.check, flip.category, flip.outcome, base.categories[flip.category].score,
            card.categories[flip.category].score, base.overall, card.overall,
        ))  # fmt: skip
    what_ifs.sort(key=lambda w: -w.gain)
    overall = category == "overall"
    to_target = []
    if target is not None:  # pass findings one at a time, largest gain first, until the score reaches the target
        current = list(findings)
        gain = (lambda w: w.overall_if_passed or 0) if overall else (lambda w: w.category_score_if_passed or 0)
        for w in sorted(what_ifs, key=lambda w: -gain(w)):
            current = [replace(f, outcome=PASS, points=f.max_points) if f.check == w.check else f for f in current]
            card = aggregate(found.model_id, observed, current, method)
            after = card.overall if overall else card.categories[category].score
            to_target.append({"check": w.check, "category": w.category, "now": w.now, "score_after": after})
            if after is not None and after >= target:
                break
    return Explanation(
        model_id=found.model_id, category=category, method_version=version,
        score=base.overall if overall else base.categories[category].score,
        coverage=base.coverage if overall else base.categories[category].coverage,
        categories={n: {"score": c.score, "coverage": c.coverage} for n, c in base.categories.items()},
        costly=lost[:top], earned=earned[:top], not_available=[f.check for f in unknown], what_ifs=what_ifs[:top],
        resolution=found, target=target, to_target=to_target,
    )  # fmt: skip


# ---------------------------------------------------------------------------------------------------- compare
@dataclass(frozen=True)
class Verdict:
    """Who leads one category. Scores equal at the shown precision (one decimal) are a tie, not a win."""

    category: str
    scores: dict[str, float | None]

    @property
    def leaders(self) -> list[str]:
        """The models with the top score (several when tied; none when no model has a score)."""
        shown = {m: round(s, 1) for m, s in self.scores.items() if s is not None}
        if not shown:
            return []
        top = max(shown.values())
        return [m for m, s in shown.items() if s == top]

    @property
    def outcome(self) -> str:
        """'lead', 'tie' (every scored model shares the top, or several do) or 'not_scored'."""
        leaders = self.leaders
        return "not_scored" if not leaders else ("lead" if len(leaders) == 1 else "tie")

    @property
    def leader(self) -> str | None:
        """The single leader, or None on a tie or when nothing is scored."""
        return self.leaders[0] if self.outcome == "lead" else None

    def to_dict(self) -> dict[str, Any]:
        """The verdict as JSON."""
        return {"outcome": self.outcome, "leader": self.leader, "tied": self.leaders if self.outcome == "tie" else []}


@dataclass(frozen=True)
class Difference:
    """A check whose outcome or points differ between the compared models, weighted by what it moves."""

    check: str
    category: str
    max_points: float
    weight: float
    by_model: dict[str, dict[str, Any]]

    def to_dict(self) -> dict[str, Any]:
        """The difference as JSON."""
        return asdict(self)


@dataclass
class Comparison:
    """Two to four models side by side: a verdict per category, the findings that differ, key facts."""

    models: list[str]
    verdicts: dict[str, Verdict]
    differences: list[Difference]
    facts: dict[str, dict[str, Any]]
    notes: list[str] = field(default_factory=list)
    coverage: dict[str, dict[str, float | None]] = field(default_factory=dict)  # category -> model -> coverage

    def to_dict(self) -> dict[str, Any]:
        """The comparison as JSON (the tool's artifact and the UI's table)."""
        return {
            "models": list(self.models),
            "scores": {name: dict(v.scores) for name, v in self.verdicts.items()},
            "coverage": {name: dict(c) for name, c in self.coverage.items()},
            "leaders": {name: v.leader for name, v in self.verdicts.items()},
            "verdicts": {name: v.to_dict() for name, v in self.verdicts.items()},
            "deciding": [d.to_dict() for d in self.differences],
            "facts": self.facts,
            "notes": list(self.notes),
        }


def compare(services: Services, names: list[str], top: int = 8) -> Comparison:
    """Compare two to four models by name."""
    from whichmodel.scoring.method import load_method

    if not 2 <= len(names) <= 4:
        raise BadRequest("Compare takes two to four models.")
    resolved: list[str] = []
    notes, missing, hints = [], [], []
    for name in names:
        found = resolve(services, name)
        if found.model_id is None:
            missing.append(name)
            if found.suggestions:
                hints.append(f"for '{name}' did you mean {' or '.join(found.suggestions[:3])}?")
        elif found.model_id not in resolved:
            resolved.append(found.model_id)
            if found.note():
                notes.append(found.note().strip())
    if missing:
        hint = f" ({'; '.join(hints)})" if hints else ""
        raise UnknownModel(f"Not in the database: {', '.join(missing)}{hint}", missing[0])
    if len(resolved) < 2:
        raise BadRequest("Those names resolve to the same model; name two different ones.")
    cards, unscored = {}, []
    for model in resolved:
        try:
            cards[model] = load_card(services, model)
        except NotScored:
            unscored.append(model)
    if unscored:
        raise NotScored(unscored)
    weights = {n: float(c["weight"]) for n, c in load_method().categories.items()}
    by_check: dict[str, dict] = {}
    for model, mc in cards.items():
        for f in mc.card.findings():
            entry = by_check.setdefault(f.check, {"category": f.category, "max_points": f.max_points, "by_model": {}})
            entry["by_model"][model] = {"outcome": f.outcome, "points": f.points, "reason": f.reason}
    differences = []
    for check, data in by_check.items():
        points = [v["points"] for v in data["by_model"].values() if v["points"] is not None]
        outcomes = {v["outcome"] for v in data["by_model"].values()}
        if len(outcomes) > 1 or (points and max(points) - min(points) > 0):
            gap = (max(points) - min(points)) if len(points) > 1 else data["max_points"]
            differences.append(Difference(check, data["category"], data["max_points"],
                                          round(gap * weights[data["category"]], 3), data["by_model"]))  # fmt: skip
    differences.sort(key=lambda d: -d.weight)
    verdicts = {name: Verdict(name, {m: cards[m].card.categories[name].score for m in resolved})
                for name in CATEGORIES}  # fmt: skip
    verdicts["overall"] = Verdict("overall", {m: cards[m].card.overall for m in resolved})
    # A score is read with its coverage: 9 of 10 on two conclusive checks is not 9 of 10 on eight.
    coverage = {name: {m: cards[m].card.categories[name].coverage for m in resolved} for name in CATEGORIES}
    coverage["overall"] = {m: cards[m].card.coverage for m in resolved}
    return Comparison(resolved, verdicts, differences[:top], {m: cards[m].key_facts() for m in resolved}, notes,
                      coverage)  # fmt: skip
