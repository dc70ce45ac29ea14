"""Facts that need the base models: the effective license class and the usable size of derivatives.

A model's own record cannot say what its base allows or how large its base is; the store knows both once
the bases are ingested. `apply_lineage` fills them in from the `ScoringContext` before the checks run, so
every scoring path (ingest, rescore, `score`) derives them the same way.
"""

from __future__ import annotations

from whichmodel.hub.facts import ModelFacts
from whichmodel.hub.licenses import FREEDOM_RANK
from whichmodel.scoring.context import ScoringContext

# Relations whose usable size is the base model's: an adapter runs on its base; a quantized copy or a
# fine-tune keeps its base's architecture (used only when the repo itself measures nothing).
_SIZE_FROM_BASE = ("adapter", "quantized", "finetune")


def strictest(classes: list[str]) -> str | None:
    """The license class with the fewest freedoms among known classes (unknown ones are skipped)."""
    known = [c for c in classes if c in FREEDOM_RANK]
    return min(known, key=FREEDOM_RANK.__getitem__) if known else None


def apply_lineage(facts: ModelFacts, ctx: ScoringContext) -> ModelFacts:
    """Set `license_class_effective`, `license_conflict` and, for derivatives, the base model's size."""
    bases = facts.base_models or []
    declared = facts.license_class
    facts.license_class_effective, facts.license_conflict = declared, None
    if declared in FREEDOM_RANK:
        known = [(b, ctx.base_license_class[b]) for b in bases if ctx.base_license_class.get(b) in FREEDOM_RANK]
        stricter = [(b, c) for b, c in known if FREEDOM_RANK[c] < FREEDOM_RANK[declared]]
        if stricter:
            base, base_class = min(stricter, key=lambda bc: FREEDOM_RANK[bc[1]])
            facts.license_class_effective = base_class
            facts.license_conflict = (
                f"declares '{facts.license}' ({declared}), but base model {base} is {base_class}: "
                f"the effective license class is {base_class}"
            )
    if facts.base_relation in _SIZE_FROM_BASE and (facts.params_measured is None or facts.base_relation == "adapter"):
        sized = [(b, ctx.base_params[b]) for b in bases if b in ctx.base_params]
        if sized and (facts.base_relation != "finetune" or facts.params is None):
            base, (params, size_class) = sized[0]
            facts.params, facts.params_source = params, f"base model {base}"
            facts.size_class, facts.size_class_source = size_class, f"base model {base}"
    return facts
