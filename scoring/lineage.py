"""Facts that need the base models: the effective license class and the usable size of derivatives.

A model's own record cannot say what its base allows or how large its base is; the store knows both once
the bases are ingested. `apply_lineage` fills them in from the `ScoringContext` before the checks run, so
every scoring path (ingest, rescore, `score`) derives them the same way.
"""

from __future__ import annotations

import re

from whichmodel.hub.facts import ModelFacts, set_commercial_use, size_from_name
from whichmodel.hub.licenses import FREEDOM_RANK, PERMISSIVE, UNKNOWN
from whichmodel.scoring.context import ScoringContext

# Relations whose usable size is the base model's: an adapter runs on its base; a quantized copy keeps its
# base's architecture (used only when the repo itself measures nothing). A fine-tune is not assumed to: many
# repos tagged as fine-tunes of a large model hold a distilled or partial one, so its size stays unknown.
_SIZE_FROM_BASE = ("adapter", "quantized")
PERMISSIVE_RANK = FREEDOM_RANK[PERMISSIVE]


def strictest(classes: list[str]) -> str | None:
    """The license class with the fewest freedoms among known classes (unknown ones are skipped)."""
    known = [c for c in classes if c in FREEDOM_RANK]
    return min(known, key=FREEDOM_RANK.__getitem__) if known else None


def _partial_weights(facts: ModelFacts, ctx: ScoringContext) -> None:
    """Weights far smaller than the base they are declared on, in a repo named like its base: a partial model.

    `Mol-Llama-2-7b-chat` measures 0.17B (LoRA weights and projectors) on Llama-2-7b-chat (6.7B): the usable
    size is the base's, and the measured count is kept as the repo's own, like an adapter's. A repo whose
    measurement agrees with its base (a 6.7B model named after a 70B judge) keeps its measurement.
    """
    if not facts.params_measured or facts.base_relation == "adapter" or facts.params != facts.params_measured:
        return
    for base in facts.base_models or []:
        base_params, base_class = ctx.base_params.get(base, (None, None))
        named = size_from_name(facts.name)
        if not base_params or not named or facts.params_measured * 2 >= base_params:
            continue
        if max(named[1] * 1e9, base_params) / min(named[1] * 1e9, base_params) > 2:
            continue
        facts.adapter_params = facts.params_measured
        facts.params, facts.params_source = base_params, f"base model {base} (this repo holds partial weights)"
        facts.size_class, facts.size_class_source = named[0], "name"
        facts.params_conflict = (
            f"{facts.params_measured / 1e9:.2f}B measured, far less than base {base}'s {base_params / 1e9:.1f}B "
            f"that the name ({named[0]}) matches: partial weights (e.g. LoRA and projectors); the base's size is used"
        )
        return


def _class_of_identical_count(facts: ModelFacts, ctx: ScoringContext) -> None:
    """A measured count identical to a stored base model's takes the class that base is known by.

    A full fine-tune keeps its base's architecture and so its exact parameter count: gemma-7b's 8,537,680,896
    parameters are a "7B" model (the family's name) in every repo that holds them, whether its own name says
    7b, 8b or nothing. The name's own reading stays in `size_named`.
    """
    if not facts.params_measured or facts.params != facts.params_measured:
        return
    size_class = ctx.class_of_count.get(facts.params_measured)
    if size_class and size_class != facts.size_class:
        facts.size_class = size_class
        facts.size_class_source = f"params ({facts.params_measured:,}, the count of base models known as {size_class})"


def same_architecture(own: str | None, base: str | None) -> bool:
    """Whether two config `model_type`s can be one model's (unknown either side: nothing says otherwise).

    Compared by family, the letters before any digit or underscore, either one's family within the other's
    type: qwen2 and qwen2_moe are one family, and mol_llama extends llama; qwen2 and deepseek_v3 are not.
    """
    if not own or not base:
        return True
    own, base = own.lower(), base.lower()
    a, b = re.match(r"[a-z]+", own), re.match(r"[a-z]+", base)
    return not (a and b) or a[0] in base or b[0] in own


def apply_lineage(facts: ModelFacts, ctx: ScoringContext) -> ModelFacts:
    """Set `license_class_effective`, `license_conflict`, `commercial_use` and, for derivatives, the size."""
    bases = facts.base_models or []
    declared = facts.license_class
    facts.license_class_effective, facts.license_conflict = declared, None
    known = [(b, ctx.base_license_class[b]) for b in bases if ctx.base_license_class.get(b) in FREEDOM_RANK]
    if declared in FREEDOM_RANK:
        bound = [(b, c) for b, c in known if FREEDOM_RANK[c] < FREEDOM_RANK[declared]]
        said = f"({declared}), but base model {{base}} is {{cls}}: the effective license class is {{cls}}"
    elif declared == UNKNOWN and facts.license:
        # A license the Hub calls 'other' (TheBloke's Llama 2 GGML: 'other', with Meta's LICENSE in the repo):
        # whatever it says, a base's restrictive terms (Llama 2's, Gemma's, a non-commercial one) still bind
        # the derivative. A permissive base says nothing about what 'other' adds, so that stays unknown.
        bound = [(b, c) for b, c in known if FREEDOM_RANK[c] < PERMISSIVE_RANK]
        said = "(not a known license), and base model {base} is {cls}: its terms apply, so the effective license " \
               "class is {cls}"  # fmt: skip
    else:
        bound = []
    if bound:  # the strictest base decides
        base, base_class = min(bound, key=lambda bc: FREEDOM_RANK[bc[1]])
        facts.license_class_effective = base_class
        facts.license_conflict = f"declares '{facts.license}' " + said.format(base=base, cls=base_class)
    set_commercial_use(facts)
    _partial_weights(facts, ctx)
    _class_of_identical_count(facts, ctx)
    usable = facts.has_weights is True  # a README-only repo holds no copy of its base to take the size of
    if usable and facts.base_relation in _SIZE_FROM_BASE and (
        facts.params_measured is None or facts.base_relation == "adapter"
    ):
        sized = [(b, ctx.base_params[b]) for b in bases if b in ctx.base_params]
        other = [b for b, _ in sized if not same_architecture(facts.model_type, ctx.base_model_type.get(b))]
        if other:  # a Qwen-config adapter declaring DeepSeek-R1 as its base is not a 671B model
            facts.params_conflict = (f"its config is a {facts.model_type} model, its declared base {other[0]} a "
                                     f"{ctx.base_model_type[other[0]]} one: the base's size is not used")  # fmt: skip
            sized = []
        if sized:
            base, (params, size_class) = sized[0]
            facts.params, facts.params_source = params, f"base model {base}"
            facts.size_class, facts.size_class_source = size_class, f"base model {base}"
    return facts
