"""The checks: pure functions from (facts, context, params) to a `Result`.

Each check reads only `ModelFacts` and the `ScoringContext`. When the facts it needs were not collected it
answers not_available; when the question does not apply to this model, not_applicable. Neither costs points.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from whichmodel.hub.card import fold_case, folded
from whichmodel.hub.facts import ModelFacts, parse_date
from whichmodel.hub.formats import EXECUTABLE, SAFE, UNSAFE_LOAD_CLASSES, WEIGHT_KINDS, load_class
from whichmodel.hub.licenses import UNKNOWN, is_looser
from whichmodel.hub.scan import SCANNED, TOO_LARGE, SecurityScan, gguf_files, pickle_files
from whichmodel.scoring.context import ScoringContext
from whichmodel.scoring.findings import FAIL, NOT_APPLICABLE, NOT_AVAILABLE, PASS, Result

CheckFn = Callable[[ModelFacts, ScoringContext, dict[str, Any]], Result]
CHECKS: dict[str, CheckFn] = {}


def check(check_id: str) -> Callable[[CheckFn], CheckFn]:
    """Register a check function under the id the method file uses."""

    def register(fn: CheckFn) -> CheckFn:
        CHECKS[check_id] = fn
        return fn

    return register


def ev(field: str, value: Any) -> dict[str, Any]:
    """One piece of evidence: the field read and its value (long lists cut to ten items)."""
    if isinstance(value, list) and len(value) > 10:
        value = value[:10] + [f"... {len(value) - 10} more"]
    return {"field": field, "value": value}


def na(field: str, what: str) -> Result:
    """Not available: the fact was not collected."""
    return Result(NOT_AVAILABLE, 0.0, [ev(field, None)], f"{what} was not available.")


def log_fraction(count: int, full_at: float) -> float:
    """0 at 0, 1 at `full_at`, logarithmic in between (one more download matters less the more there are)."""
    if count <= 0:
        return 0.0
    return min(1.0, math.log10(count + 1) / math.log10(full_at + 1))


def _graded(count: int | None, field: str, noun: str, params: dict) -> Result:
    if count is None:
        return na(field, f"The number of {noun}")
    fraction = log_fraction(count, params["full_at"])
    outcome = PASS if count >= params["pass_at"] else FAIL
    return Result(
        outcome,
        round(fraction, 4),
        [ev(field, count)],
        f"{count:,} {noun} (full points at {params['full_at']:,}).",
    )


def _now(facts: ModelFacts) -> datetime:
    return parse_date(facts.observed_at) if facts.observed_at else datetime.now(UTC)


def _days_between(earlier: str, facts: ModelFacts) -> int:
    return max(0, (_now(facts) - parse_date(earlier)).days)


def _card_fact(facts: ModelFacts, kind: str) -> tuple[bool, dict | None]:
    if facts.card is None or kind not in facts.card.facts:
        return False, None
    fact = facts.card.facts[kind]
    if not fact.present:
        return False, None
    return True, ev(f"card.{kind} ({fact.where})", fact.quote)


def _metadata(
    facts: ModelFacts, kind: str, structured: list[tuple[str, Any]], what: str, applicable: bool = True
) -> Result:
    """Pass on any structured or card evidence; fail only when the card and its metadata were both read."""
    if not applicable:
        return Result(NOT_APPLICABLE, 0.0, [], f"{what} does not apply to this model.")
    evidence = [ev(name, value) for name, value in structured if value]
    found, quote = _card_fact(facts, kind)
    if quote:
        evidence.append(quote)
    if evidence:
        return Result(PASS, 1.0, evidence, f"{what} is given ({evidence[0]['field']}).")
    if facts.card is not None:  # the card text was read, its own front matter (what cardData mirrors) with it
        return Result(
            FAIL, 0.0, [ev(f"card.{kind}", False)], f"Neither the card nor its metadata gives {what.lower()}."
        )
    if facts.card_present is False:
        return Result(FAIL, 0.0, [ev("card_present", False)], f"There is no card, so no {what.lower()}.")
    return na("card", f"The card text needed to look for {what.lower()}")


# ------------------------------------------------------------------------------------------------ popularity
@check("downloads")
def downloads(facts: ModelFacts, ctx: ScoringContext, params: dict) -> Result:
    """Downloads in the last 30 days, on a log curve."""
    return _graded(facts.downloads, "downloads", "downloads in 30 days", params)


@check("likes")
def likes(facts: ModelFacts, ctx: ScoringContext, params: dict) -> Result:
    """Likes, on a log curve."""
    return _graded(facts.likes, "likes", "likes", params)


@check("papers")
def papers(facts: ModelFacts, ctx: ScoringContext, params: dict) -> Result:
    """An arXiv tag or paper link."""
    if facts.arxiv_ids is None:
        return na("tags", "The tag list")
    if facts.arxiv_ids:
        return Result(PASS, 1.0, [ev("arxiv_ids", facts.arxiv_ids)], f"Links {len(facts.arxiv_ids)} paper(s).")
    return Result(FAIL, 0.0, [ev("arxiv_ids", [])], "No paper is linked (no arxiv tag or paper link).")


@check("github_repo")
def github_repo(facts: ModelFacts, ctx: ScoringContext, params: dict) -> Result:
    """A GitHub link in the card or its metadata."""
    if facts.github_urls is None:
        return na("card", "The card text")
    if facts.github_urls:
        return Result(PASS, 1.0, [ev("github_urls", facts.github_urls)], "The card links a GitHub repository.")
    return Result(FAIL, 0.0, [ev("github_urls", [])], "The card links no GitHub repository.")


@check("spaces")
def spaces(facts: ModelFacts, ctx: ScoringContext, params: dict) -> Result:
    """Spaces that use the model, on a log curve."""
    count = len(facts.spaces) if facts.spaces is not None else None
    return _graded(count, "spaces", "Spaces use the model", params)


# ------------------------------------------------------------------------------------------------ activity
@check("discussions")
def discussions(facts: ModelFacts, ctx: ScoringContext, params: dict) -> Result:
    """Community discussions, on a log curve."""
    return _graded(facts.discussions, "discussions", "discussions", params)


@check("pull_requests")
def pull_requests(facts: ModelFacts, ctx: ScoringContext, params: dict) -> Result:
    """Pull requests, on a log curve."""
    return _graded(facts.pull_requests, "pull_requests", "pull requests", params)


@check("commit_recency")
def commit_recency(facts: ModelFacts, ctx: ScoringContext, params: dict) -> Result:
    """Days since the last commit, on a step curve."""
    if facts.last_modified is None:
        return na("last_modified", "The date of the last commit")
    days = _days_between(facts.last_modified, facts)
    fraction = next((f for limit, f in params["curve"] if days <= limit), 0.0)
    outcome = PASS if fraction >= params["pass_at"] else FAIL
    return Result(
        outcome,
        fraction,
        [ev("last_modified", facts.last_modified)],
        f"Last changed {days} days before observation.",
    )


# The checks whose findings follow from the facts' counters (downloads, likes) and dates alone, read against
# the observation's date, with no context: the ones that move from day to day while the repo stays as it is.
# A stored observation shares its findings with an earlier one that differs only in these, and they are
# recomputed from its own row when read (store.records.findings_of). A check that reads the context, or any
# other fact, must not be listed (tests/test_shared_assessments.py runs these without a context).
OBSERVATION_CHECKS = frozenset({"downloads", "likes", "commit_recency", "model_age"})


# ------------------------------------------------------------------------------------------------ operational
@check("reputable_provider")
def reputable_provider(facts: ModelFacts, ctx: ScoringContext, params: dict) -> Result:
    """Curated provider list, else the author's record in the database."""
    org = facts.org
    if org is None:
        return na("author", "The author")
    curated = ctx.providers.get(org)
    if curated:
        return Result(
            PASS,
            1.0,
            [ev("author", org), ev("providers.yaml", curated.get("why"))],
            f"'{org}' is a curated reputable provider: {curated.get('why')}.",
        )
    record = ctx.strong_authors.get(org)
    if record:
        models, total = record
        # The total's power of ten: the author's downloads move every day, and a finding that moved with them
        # would make every observation of the author's models a new assessment (store.records.content_key).
        floor = _power_of_ten(total)
        return Result(
            PASS,
            0.8,
            [ev("author", org), ev("database", {"models": models, "downloads_at_least": floor})],
            f"'{org}' has {models} models with at least {floor:,} downloads in the database.",
        )
    return Result(
        FAIL,
        0.0,
        [ev("author", org)],
        f"'{org}' is not a curated provider and has no strong record in the database "
        f"(at least {params['min_models']} models and {params['min_total_downloads']:,} downloads).",
    )


def _power_of_ten(count: int) -> int:
    """The largest power of ten not above `count` (87,020,156 -> 10,000,000); 0 for 0."""
    return 10 ** (len(str(count)) - 1) if count > 0 else 0


@check("model_age")
def model_age(facts: ModelFacts, ctx: ScoringContext, params: dict) -> Result:
    """Too new and long-stale both cost."""
    if facts.created_at is None:
        return na("created_at", "The creation date")
    age = _days_between(facts.created_at, facts)
    evidence = [ev("created_at", facts.created_at)]
    if age < params["new_days"]:
        return Result(FAIL, 0.3, evidence, f"Created {age} days before observation: too new to have a track record.")
    if facts.last_modified:
        idle = _days_between(facts.last_modified, facts)
        evidence.append(ev("last_modified", facts.last_modified))
        if idle > params["stale_days"]:
            return Result(FAIL, 0.5, evidence, f"Not changed for {idle} days: may be outdated.")
    if age < params["young_days"]:
        return Result(PASS, 0.7, evidence, f"Created {age} days before observation: still young.")
    return Result(PASS, 1.0, evidence, f"Created {age} days before observation and maintained since.")


@check("gating")
def gating(facts: ModelFacts, ctx: ScoringContext, params: dict) -> Result:
    """Open, automatically gated, or manually gated."""
    if facts.gated is None:
        return na("gated", "Whether the model is gated")
    if facts.gated is False:
        return Result(PASS, 1.0, [ev("gated", False)], "Not gated: usable without approval.")
    if facts.gated == "auto":
        return Result(PASS, 0.7, [ev("gated", "auto")], "Gated with automatic approval: terms must be accepted.")
    return Result(
        FAIL, 0.3, [ev("gated", facts.gated)], "Gated with manual approval: access can be refused or delayed."
    )


@check("license_present")
def license_present(facts: ModelFacts, ctx: ScoringContext, params: dict) -> Result:
    """A declared license."""
    if facts.license and facts.license not in ("unknown",):
        return Result(
            PASS,
            1.0,
            [ev(facts.license_source or "license", facts.license)],
            f"Declares license '{facts.license}'.",
        )
    if facts.license_class == UNKNOWN:
        return Result(FAIL, 0.0, [ev("license", facts.license)], "No license is declared.")
    return na("license", "The license")


@check("license_type")
def license_type(facts: ModelFacts, ctx: ScoringContext, params: dict) -> Result:
    """How open the license class is."""
    if facts.license_class is None:
        return na("license_class", "The license")
    if facts.license is None:
        return Result(NOT_APPLICABLE, 0.0, [ev("license", None)], "No license declared (see license_present).")
    effective = facts.license_class_effective or facts.license_class
    fraction = params["fractions"][effective]
    outcome = PASS if fraction >= params["pass_at"] else FAIL
    evidence = [ev("license", facts.license), ev("license_class", facts.license_class)]
    if effective != facts.license_class:
        evidence.append(ev("license_class_effective", effective))
        return Result(outcome, fraction, evidence, f"Effectively {effective}: {facts.license_conflict}.")
    return Result(outcome, fraction, evidence, f"'{facts.license}' is a {facts.license_class} license.")


@check("license_consistency")
def license_consistency(facts: ModelFacts, ctx: ScoringContext, params: dict) -> Result:
    """A derivative may not declare a looser license than its base."""
    if not facts.base_models:
        if facts.tags is None:
            return na("base_models", "The base model")
        return Result(NOT_APPLICABLE, 0.0, [ev("base_models", [])], "Not a derivative: no base model declared.")
    if facts.license_class in (None, UNKNOWN):
        return na("license_class", "The derivative's license")
    known = [(b, ctx.base_license_class[b]) for b in facts.base_models if b in ctx.base_license_class]
    if not known:
        return na("base_models", f"The license of base model {facts.base_models[0]}")
    evidence = [ev("license_class", facts.license_class)] + [ev(f"base {b}", c) for b, c in known]
    looser = [(b, c) for b, c in known if is_looser(facts.license_class, c)]
    if looser:
        base, base_class = looser[0]
        return Result(
            FAIL,
            0.0,
            evidence,
            f"Declares a {facts.license_class} license, looser than base {base}'s {base_class} license.",
        )
    return Result(PASS, 1.0, evidence, "The declared license is no looser than the base model's.")


@check("metric_info")
def metric_info(facts: ModelFacts, ctx: ScoringContext, params: dict) -> Result:
    """Metrics named in metadata or card."""
    card = facts.card_data or {}
    return _metadata(facts, "metrics", [("cardData.metrics", card.get("metrics"))], "Metric information")


@check("dataset_info")
def dataset_info(facts: ModelFacts, ctx: ScoringContext, params: dict) -> Result:
    """Training data named in tags, metadata or card."""
    return _metadata(facts, "datasets", [("datasets", facts.datasets)], "Dataset information")


_DERIVATIVE_WORDS = re.compile(r"fine-?tun|lora|adapter|merge|quantiz|gguf|gptq|awq|distill|sft|dpo", re.I)


@check("base_model_info")
def base_model_info(facts: ModelFacts, ctx: ScoringContext, params: dict) -> Result:
    """Derivatives should name their base; original models are not asked to."""
    if facts.base_models:
        return Result(
            PASS,
            1.0,
            [ev(facts.base_source or "base_models", facts.base_models)],
            f"Names base model {facts.base_models[0]}.",
        )
    found, quote = _card_fact(facts, "base_model")
    if quote:
        return Result(PASS, 1.0, [quote], "The card names the base model in prose.")
    if facts.tags is None and facts.card is None:
        return na("base_models", "The base model")
    named_derived = bool(_DERIVATIVE_WORDS.search(facts.id))
    trained = facts.card.facts.get("training") if facts.card is not None else None
    card_derived = trained is not None and bool(_DERIVATIVE_WORDS.search(trained.quote or ""))
    if card_derived and not named_derived and facts.org in ctx.providers:
        # "Fine-tuned" in a vendor's card of its own release (Llama-2-7b-chat-hf): the publisher of the family,
        # whose releases are the originals others name as their base.
        return Result(
            NOT_APPLICABLE,
            0.0,
            [ev("author", facts.org), ev("base_models", [])],
            f"An original release by '{facts.org}', the family's publisher: no base model expected.",
        )
    if named_derived or card_derived:
        return Result(FAIL, 0.0, [ev("base_models", [])], "Looks like a derivative but names no base model.")
    return Result(NOT_APPLICABLE, 0.0, [ev("base_models", [])], "No sign of a derivative; no base model expected.")


@check("training_info")
def training_info(facts: ModelFacts, ctx: ScoringContext, params: dict) -> Result:
    """Training, fine-tuning or alignment described in the card."""
    return _metadata(facts, "training", [], "Training information")


@check("evaluation_results")
def evaluation_results(facts: ModelFacts, ctx: ScoringContext, params: dict) -> Result:
    """Results in model-index or the card."""
    index = [e for e in facts.model_index or [] if isinstance(e, dict) and e.get("results")]
    return _metadata(
        facts,
        "evaluation",
        [("model-index", f"{len(index)} result set(s)" if index else None)],
        "Evaluation results",
    )


# ------------------------------------------------------------------------------------------------ security
def _weights(facts: ModelFacts) -> dict[str, list[str]]:
    return {k: v for k, v in (facts.file_kinds or {}).items() if k in WEIGHT_KINDS}


@check("safetensors")
def safetensors(facts: ModelFacts, ctx: ScoringContext, params: dict) -> Result:
    """Weights in safetensors, or another format that loads without running code (GGUF, ONNX ...)."""
    if facts.file_kinds is not None:
        weights = _weights(facts)
        if "safetensors" in weights:
            return Result(PASS, 1.0, [ev("files.safetensors", weights["safetensors"])], "Weights ship as safetensors.")
        safe = sorted(k for k in weights if load_class(k) == SAFE)
        if safe:
            return Result(
                PASS,
                1.0,
                [ev(f"files.{k}", weights[k]) for k in safe],
                f"Weights ship as {', '.join(safe)}, which loads without running code.",
            )
        if weights:
            kinds = sorted(weights)
            return Result(
                FAIL,
                0.0,
                [ev(f"files.{k}", weights[k]) for k in kinds],
                f"Weights ship only as {', '.join(f'{k} ({load_class(k)})' for k in kinds)}; none in a safe format.",
            )
        return Result(FAIL, 0.0, [ev("files", facts.files)], "The repository holds no weight files to load.")
    if facts.safetensors_total or (facts.tags and "safetensors" in facts.tags):
        return Result(PASS, 1.0, [ev("tags", "safetensors")], "The Hub tags the model as having safetensors weights.")
    return na("files", "The file list")


def _unsafe(facts: ModelFacts) -> dict[str, list[str]]:
    """Files whose loading can run code (pickle-based, code-carrying, executable weights, training state)."""
    return {
        k: v for k, v in (facts.file_kinds or {}).items() if load_class(k) in UNSAFE_LOAD_CLASSES and k != "llamafile"
    }


@check("unsafe_files")
def unsafe_files(facts: ModelFacts, ctx: ScoringContext, params: dict) -> Result:
    """Pickle-based and code-carrying files (docs/scoring.md lists each format and how it loads)."""
    if facts.file_kinds is None:
        return na("files", "The file list")
    unsafe = _unsafe(facts)
    count = sum(len(v) for v in unsafe.values())
    evidence = [ev(f"files.{k} ({load_class(k)})", v) for k, v in sorted(unsafe.items())]
    if not unsafe:
        return Result(PASS, 1.0, [ev("files.unsafe", [])], "No pickle-based or code-carrying files.")
    kinds = ", ".join(f"{k} ({load_class(k)})" for k in sorted(unsafe))
    safe = sorted(k for k in _weights(facts) if load_class(k) == SAFE)
    if safe:
        return Result(
            FAIL, 0.5, evidence, f"{count} file(s) that can run code on load ({kinds}) beside {', '.join(safe)} "
            "weights; load only the latter."
        )  # fmt: skip
    return Result(FAIL, 0.0, evidence, f"{count} file(s) that can run code on load ({kinds}) and no safe weights.")


@check("code_files")
def code_files(facts: ModelFacts, ctx: ScoringContext, params: dict) -> Result:
    """Executable code in the repository, executable weights (llamafile) included."""
    if facts.file_kinds is None:
        return na("files", "The file list")
    code = list(facts.file_kinds.get("code", []))
    programs = [f for k, v in facts.file_kinds.items() if load_class(k) == EXECUTABLE for f in v]
    if not code and not programs:
        return Result(PASS, 1.0, [ev("files.code", [])], "No code files.")
    evidence = ([ev("files.code", code)] if code else []) + ([ev("files.executable", programs)] if programs else [])
    if programs:
        return Result(
            FAIL, 0.0, evidence, f"{len(programs)} executable file(s) that run when used (e.g. {programs[0]}); "
            f"{len(code)} other code file(s)."
        )  # fmt: skip
    return Result(
        FAIL, 0.3 if len(code) <= 3 else 0.0, [ev("files.code", code)], f"{len(code)} code file(s) to review."
    )


@check("remote_code")
def remote_code(facts: ModelFacts, ctx: ScoringContext, params: dict) -> Result:
    """Configs that need trust_remote_code."""
    if facts.remote_code is None:
        return na("config", "The model config")
    if facts.remote_code:
        return Result(
            FAIL,
            0.0,
            [ev("config.auto_map", True)],
            "Loading needs trust_remote_code (custom code in the repo).",
        )
    return Result(PASS, 1.0, [ev("config.auto_map", False)], "Loads without remote code.")


@check("example_code")
def example_code(facts: ModelFacts, ctx: ScoringContext, params: dict) -> Result:
    """A usage example in the card."""
    if facts.card is None:
        if facts.card_present is False:
            return Result(FAIL, 0.0, [ev("card_present", False)], "There is no card, so no usage example.")
        return na("card", "The card text")
    found, quote = _card_fact(facts, "example_code")
    if quote:
        return Result(PASS, 1.0, [quote], "The card shows example code.")
    return Result(FAIL, 0.0, [ev("card.example_code", False)], "The card shows no example code.")


@check("typosquatting")
def typosquatting(facts: ModelFacts, ctx: ScoringContext, params: dict) -> Result:
    """A near miss of a far more popular model by another author."""
    squat = ctx.squats(facts.id, facts.downloads, facts.base_models or (), facts.has_weights)
    if squat is None:
        return Result(PASS, 1.0, [ev("id", facts.id)], "Not a near miss of any popular model by another author.")
    ref = squat.reference
    popularity = "curated well-known model" if ref.downloads is None else f"{ref.downloads:,} downloads"
    evidence = [ev("id", facts.id), ev("imitates", ref.id)]
    if squat.kind == "unverified-copy":
        return Result(
            NOT_AVAILABLE,
            0.0,
            evidence + [ev("files", None)],
            f"Carries the exact name of {ref.id} and declares it as its base; whether it holds a derivative's "
            "weights (the file list) was not available.",
        )
    if squat.kind == "empty-copy":
        return Result(
            FAIL,
            0.0,
            evidence + [ev("base_models", facts.base_models), ev("has_weights", False)],
            f"Carries the exact name of {ref.id} ({popularity}) and declares it as its base, but holds no weights: "
            "nothing is derived, and the name points users at the original; use the original.",
        )
    if squat.kind == "re-upload":
        return Result(
            FAIL,
            0.0,
            evidence + [ev("base_models", facts.base_models or [])],
            f"Re-upload of {ref.id} ({popularity}) under another org, not declared as its base model: it may "
            "impersonate the original; use the original, or check these files against it.",
        )
    return Result(FAIL, 0.0, evidence, f"Possible typosquat of {ref.id} ({popularity}): {squat.how}.")


# ------------------------------------------------------------------------------------------------ quality
@check("card_present")
def card_present(facts: ModelFacts, ctx: ScoringContext, params: dict) -> Result:
    """A README.md card."""
    if facts.card_present is None:
        return na("files", "The file list")
    if facts.card_present:
        return Result(PASS, 1.0, [ev("files", "README.md")], "Has a model card.")
    return Result(FAIL, 0.0, [ev("files", "README.md missing")], "Has no model card.")


@check("card_length")
def card_length(facts: ModelFacts, ctx: ScoringContext, params: dict) -> Result:
    """Card length in words."""
    if facts.card is None:
        return (
            na("card", "The card text")
            if facts.card_present is not False
            else Result(FAIL, 0.0, [ev("card_present", False)], "Has no model card.")
        )
    words = facts.card.words
    fraction = min(1.0, words / params["full_at"])
    outcome = PASS if words >= params["pass_at"] else FAIL
    return Result(outcome, round(fraction, 4), [ev("card.words", words)], f"The card has {words} words.")


_TOPICS = {
    "description": re.compile(r"descri|overview|summary|about|introduc|model card|model details", re.I),
    "usage": re.compile(r"usage|how to|quick ?start|use|inference|getting started|example", re.I),
    "training": re.compile(r"train|fine-?tun|procedure|hyper", re.I),
    "evaluation": re.compile(r"evaluat|result|benchmark|performance", re.I),
    "limitations": re.compile(r"limitation|bias|risk|intended|out[- ]of[- ]scope|ethic", re.I),
    "license or citation": re.compile(r"licen|citation|cite|bibtex", re.I),
}
# As run: once over all headings, folded and joined by newlines (no topic pattern can match a newline, so a
# match in the joined text is a match in one heading).
_TOPICS_FOLDED = tuple((topic, folded(pattern)) for topic, pattern in _TOPICS.items())


@check("card_sections")
def card_sections(facts: ModelFacts, ctx: ScoringContext, params: dict) -> Result:
    """Key topics covered by sections with prose."""
    if facts.card is None:
        return na("card", "The card text")
    headings = fold_case("\n".join(facts.card.prose_sections))
    covered = [t for t, p in _TOPICS_FOLDED if p.search(headings)]
    intro = facts.card.facts.get("description")
    if "description" not in covered and intro is not None and intro.present:
        covered.insert(0, "description")  # the prose under the title describes the model
    missing = [t for t in _TOPICS if t not in covered]
    fraction = len(covered) / len(_TOPICS)
    outcome = PASS if fraction >= params["pass_at"] else FAIL
    reason = f"Covers {len(covered)} of {len(_TOPICS)} key topics" + (
        f"; missing {', '.join(missing)}." if missing else "."
    )
    return Result(outcome, round(fraction, 4), [ev("card.prose_sections", facts.card.prose_sections)], reason)


_META_KEYS = ("license", "language", "tags", "datasets", ("pipeline_tag", "library_name"), "base_model")


@check("card_metadata")
def card_metadata(facts: ModelFacts, ctx: ScoringContext, params: dict) -> Result:
    """Completeness of the front matter."""
    if facts.card_data is None:
        if facts.card is None:
            return na("cardData", "The card metadata")
        keys = set(facts.card.front_matter_keys)
    else:
        keys = {k for k, v in facts.card_data.items() if v not in (None, "", [], {})}
    if facts.base_models:
        keys.add("base_model")
    present = [
        k if isinstance(k, str) else "/".join(k)
        for k in _META_KEYS
        if (k in keys if isinstance(k, str) else any(x in keys for x in k))
    ]
    fraction = len(present) / len(_META_KEYS)
    outcome = PASS if fraction >= params["pass_at"] else FAIL
    return Result(
        outcome,
        round(fraction, 4),
        [ev("cardData keys", sorted(keys))],
        f"Front matter fills {len(present)} of {len(_META_KEYS)} key fields.",
    )


@check("limitations")
def limitations(facts: ModelFacts, ctx: ScoringContext, params: dict) -> Result:
    """Limitations, biases or intended use."""
    if facts.card is None:
        return na("card", "The card text")
    found, quote = _card_fact(facts, "limitations")
    if quote:
        return Result(PASS, 1.0, [quote], "The card discusses limitations or intended use.")
    return Result(FAIL, 0.0, [ev("card.limitations", False)], "The card does not discuss limitations or intended use.")


@check("evaluation_consistency")
def evaluation_consistency(facts: ModelFacts, ctx: ScoringContext, params: dict) -> Result:
    """Prose results and model-index agree."""
    if facts.card is None:
        return na("card", "The card text")
    in_index = bool([e for e in facts.model_index or [] if isinstance(e, dict) and e.get("results")])
    eval_fact = facts.card.facts.get("evaluation")
    in_prose = bool(eval_fact and eval_fact.present and eval_fact.where and "model-index" not in eval_fact.where)
    evidence = [
        ev("model-index results", in_index),
        ev("card.evaluation in prose", eval_fact.quote if in_prose else False),
    ]
    if in_index and in_prose:
        return Result(PASS, 1.0, evidence, "Results appear both in prose and in model-index.")
    if in_prose:
        return Result(FAIL, 0.5, evidence, "The card describes results in prose but has no model-index.")
    if in_index:
        return Result(FAIL, 0.5, evidence, "model-index holds results the card's prose never describes.")
    return Result(NOT_APPLICABLE, 0.0, evidence, "No results are claimed anywhere.")


# ------------------------------------------------------------------------------------------------ file scans
# The checks that read the files themselves (hub/scan.py); the alerts view watches them for new flags.
SCAN_CHECKS = ("hub_scan", "pickle_imports", "gguf_template")
_NO_SCAN = "read only when whichmodel fetches the model from the live Hub (not in snapshot data)"


def _security_scan(facts: ModelFacts) -> SecurityScan | None:
    return SecurityScan.from_dict(facts.security_scan) if facts.security_scan else None


def _listed(items: list[str], limit: int = 3) -> str:
    shown = ", ".join(items[:limit])
    return shown + (f" and {len(items) - limit} more" if len(items) > limit else "")


@check("hub_scan")
def hub_scan(facts: ModelFacts, ctx: ScoringContext, params: dict) -> Result:
    """The Hub's own verdict on the repository's files."""
    scan = _security_scan(facts)
    if scan is None:
        return Result(NOT_AVAILABLE, 0.0, [ev("security_scan", None)], f"The Hub's own scan result is {_NO_SCAN}.")
    status = scan.hub_status
    if status is None:
        return Result(
            NOT_AVAILABLE,
            0.0,
            [ev("hub.securityRepoStatus", None), ev("hub_error", scan.hub_error)],
            f"The Hub's own scan result could not be read: {scan.hub_error}.",
        )
    listed = [f"{f['path']} ({f['level']})" for f in status["files"]]
    evidence = [ev("hub.scans_done", status["scans_done"]), ev("hub.files_with_issues", listed)]
    issues = [f for f in status["files"] if f["level"] not in params["clean_levels"]]
    unsafe = [f["path"] for f in issues if f["level"] in params["unsafe_levels"]]
    pending = [f["path"] for f in issues if f["level"] in params["pending_levels"]]
    # A level the Hub adds later is treated like caution: unknown is never safe.
    caution = [f"{f['path']} ({f['level']})" for f in issues if f["path"] not in unsafe + pending]
    if unsafe:
        evidence.append(ev("flagged", unsafe))
        return Result(FAIL, 0.0, evidence, f"The Hub's scanners flag {_listed(unsafe)} as unsafe.")
    if caution:
        evidence.append(ev("flagged", caution))
        return Result(
            FAIL,
            params["caution_fraction"],
            evidence,
            f"The Hub's scanners ask for caution with {_listed(caution)}; review before loading.",
        )
    if not status["scans_done"]:
        return Result(NOT_AVAILABLE, 0.0, evidence, "The Hub has not finished scanning this repository.")
    if pending:
        return Result(NOT_AVAILABLE, 0.0, evidence, f"The Hub has no verdict yet on {_listed(pending)}.")
    return Result(PASS, 1.0, evidence, "The Hub's scans are done and flag no file.")


def _matches(module: str, name: str, entries: list[str]) -> bool:
    full = f"{module}.{name}"
    return any(full == e or module == e or module.startswith(e + ".") for e in entries)


def _why_open(scanned: dict, path: str, limit_mb: int) -> str | None:
    """Why a file's verdict is open (not scanned, or only partly), or None when it was read completely."""
    f = scanned.get(path)
    if f is None:
        return "not scanned"
    if f.status == SCANNED:
        return "only partly readable" if f.partial else None
    if f.status == TOO_LARGE:
        size = f"{f.size / 2**20:,.0f} MB" if f.size else "size"
        return f"not scanned: {size} is above the {limit_mb} MB limit"
    return f"not scanned: {f.error}"


@check("pickle_imports")
def pickle_imports(facts: ModelFacts, ctx: ScoringContext, params: dict) -> Result:
    """What each pickle-based file would import when loaded, read by a scanner without loading it."""
    if facts.file_kinds is None:
        return na("files", "The file list")
    pickles = pickle_files(facts)
    if not pickles:
        return Result(NOT_APPLICABLE, 0.0, [ev("files.pickle", [])], "No pickle-based files to scan.")
    scan = _security_scan(facts)
    if scan is None:
        return Result(
            NOT_AVAILABLE,
            0.0,
            [ev("files.pickle", pickles), ev("security_scan", None)],
            f"{len(pickles)} pickle-based file(s) not scanned: what they import is {_NO_SCAN}.",
        )
    scanned = {f.path: f for f in scan.of_kind("pickle")}
    evidence, dangerous, suspicious, open_files = [ev("scanner", scan.scanner)], [], [], []
    for path in pickles:
        why = _why_open(scanned, path, scan.max_mb)
        if why:
            open_files.append(f"{path} ({why})")
        f = scanned.get(path)
        if f is None or (not f.imports and f.status != SCANNED):
            continue
        evidence.append(ev(f"{path} imports", [f"{i['module']}.{i['name']}" for i in f.imports]))
        for i in f.imports:
            full = f"{i['module']}.{i['name']}"
            if i["safety"] == "dangerous" or _matches(i["module"], i["name"], params["also_dangerous"]):
                dangerous.append(f"{path}: {full}")
            elif i["safety"] != "innocuous" and not _matches(i["module"], i["name"], params["also_safe"]):
                suspicious.append(full)
    if open_files:
        evidence.append(ev("not scanned", open_files))
    if dangerous:
        evidence.append(ev("flagged", dangerous))
        said = [d.replace(": ", " imports ", 1) for d in dangerous]
        return Result(FAIL, 0.0, evidence, f"{_listed(said)}: loading it can run code on your machine.")
    if open_files:
        done = len(pickles) - len(open_files)
        return Result(
            NOT_AVAILABLE,
            0.0,
            evidence,
            f"{done} of {len(pickles)} pickle-based file(s) scanned with no dangerous import; "
            f"no verdict on {_listed(open_files)}.",
        )
    if suspicious:
        unique = sorted(set(suspicious))
        return Result(
            PASS,
            params["suspicious_fraction"],
            evidence,
            f"No dangerous import in {len(pickles)} pickle-based file(s); {len(unique)} import(s) outside the "
            f"known-safe tensor globals to review: {_listed(unique)}.",
        )
    return Result(
        PASS,
        1.0,
        evidence,
        f"{len(pickles)} pickle-based file(s) scanned: they import only known-safe tensor globals.",
    )


@check("gguf_template")
def gguf_template(facts: ModelFacts, ctx: ScoringContext, params: dict) -> Result:
    """A GGUF chat template that reaches beyond formatting (the template-injection pattern)."""
    if facts.files is None:
        return na("files", "The file list")
    ggufs = gguf_files(facts)
    if not ggufs:
        return Result(NOT_APPLICABLE, 0.0, [ev("files.gguf", [])], "No GGUF files.")
    scan = _security_scan(facts)
    if scan is None:
        return Result(
            NOT_AVAILABLE,
            0.0,
            [ev("files.gguf", ggufs), ev("security_scan", None)],
            f"{len(ggufs)} GGUF file(s) not read: their chat templates are {_NO_SCAN}.",
        )
    scanned = {f.path: f for f in scan.of_kind("gguf")}
    evidence, flagged, open_files, templates = [], [], [], 0
    for path in ggufs:
        why = _why_open(scanned, path, scan.max_mb)
        if why:
            open_files.append(f"{path} ({why})")
            continue
        for t in scanned[path].templates:
            templates += 1
            if t.get("error"):
                open_files.append(f"{path} {t['key']} ({t['error']})")
            elif t["issues"]:
                flagged.append(f"{path} {t['key']}: {'; '.join(t['issues'][:4])}")
        keys = [f"{t['key']} ({t['chars']} chars)" for t in scanned[path].templates]
        evidence.append(ev(f"{path} chat templates", keys))
    if open_files:
        evidence.append(ev("not read", open_files))
    if flagged:
        evidence.append(ev("flagged", flagged))
        return Result(
            FAIL, 0.0, evidence, f"A chat template reaches beyond formatting, into Python internals: {flagged[0]}."
        )
    if open_files:
        return Result(NOT_AVAILABLE, 0.0, evidence, f"No verdict on {_listed(open_files)}.")
    if not templates:
        return Result(PASS, 1.0, evidence, f"{len(ggufs)} GGUF header(s) read: no chat template embedded.")
    return Result(PASS, 1.0, evidence, f"{templates} GGUF chat template(s) read: they only format messages.")
@check("weights_present")
def weights_present(facts: ModelFacts, ctx: ScoringContext, params: dict) -> Result:
    """Weight files in the repository; a repository without any is not a usable model (a veto check)."""
    if facts.file_kinds is None:
        return na("files", "The file list")
    weights = _weights(facts)
    if weights:
        return Result(PASS, 1.0, [ev(f"files.{k}", v) for k, v in sorted(weights.items())], "Holds weight files.")
    return Result(
        FAIL,
        0.0,
        [ev("files", facts.files)],
        "No weight files (README, config or code only): nothing here is a usable model, so nothing is known safe.",
    )
