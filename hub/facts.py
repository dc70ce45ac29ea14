"""`ModelFacts`: everything whichmodel knows about one model at one observation, from the Hub's wire format.

One parser, `parse_record`, serves live API responses and snapshot lines alike. Every field is optional
except `id`: a missing field is None, which means "not available", never zero. Derived facts (parameter
count, size class, license class, base-model relation, chat capability, file inventory) carry the source they
were read from.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from whichmodel.hub.card import CardFacts, extract_card_facts, fold_case, folded, parse_card, size_sentence
from whichmodel.hub.formats import PICKLED_NON_WEIGHTS, WEIGHT_KINDS, file_kind, file_kinds, load_class
from whichmodel.hub.licenses import (
    COMMERCIAL_CONDITIONS,
    classify_license,
    commercial_conditions,
    commercial_effective,
)
from whichmodel.hub.validate import count_problem, repo_id_problem


class RecordError(ValueError):
    """A record that cannot be turned into facts; the message says why."""


# What each file is, and how weights load, lives in `formats`.

# Nominal size classes, as the community names models. Parameter counts are snapped to the nearest one in
# log space when the name carries no size.
# The sizes models are named by, which a measured count snaps to when the name states none: the small encoders
# (MiniLM's 22M, DistilBERT's 66M, GPT-2's 124M, SmolLM's 135M, T5's 220M and 770M) as well as 6B, 9B, 12B (Yi,
# Gemma 2, Mistral NeMo), 24B (Mistral Small), BLOOM's 176B and the largest open releases.
SIZE_CLASSES = (
    0.02, 0.03, 0.06, 0.1, 0.125, 0.135, 0.22, 0.35, 0.5, 0.75, 1, 1.5, 2, 2.7, 3, 4, 6, 7, 8, 9, 12, 13, 14, 20,
    22, 24, 27, 32, 34, 40, 65, 70, 72, 110, 123, 176, 180, 235, 405, 480, 671,
)  # fmt: skip
_NAME_SIZE = re.compile(r"(?<![a-z0-9.])(?:(\d{1,2})x)?(\d{1,4}(?:\.\d{1,2})?)([bm])(?![a-z0-9])", re.I)
# `phi-pl-2_7B`: an underscore between two digits before B/M may stand for a decimal point.
_NAME_DECIMAL = re.compile(r"(?<![a-z0-9.])(\d)_(\d)([bm])(?![a-z0-9])", re.I)
# Mixture-of-experts names: `Scout-17B-16E` (17B active, 16 experts), `Qwen3-30B-A3B` (30B total, 3B active).
_NAME_EXPERTS = re.compile(r"(?<![a-z0-9.])(\d{1,4}(?:\.\d{1,2})?)b-(\d{1,3})e(?![a-z0-9])", re.I)
_NAME_ACTIVE = re.compile(r"(?<![a-z0-9.])(\d{1,4}(?:\.\d{1,2})?)b-a(\d{1,3}(?:\.\d{1,2})?)b(?![a-z0-9])", re.I)
# Measured and named sizes that differ by more than this factor disagree; the measurement wins.
SIZE_CONFLICT_RATIO = 2.0
# Integer dtypes that quantizers pack several low-bit weights into (GPTQ/AWQ/MLX: U32/I32; bitsandbytes: U8).
PACKED_DTYPES = {"U32": 32, "I32": 32, "U8": 8, "I8": 8}
_QUANT_NAME = re.compile(
    r"(?<![a-z0-9])(gptq|awq|mlx|bnb|bitsandbytes|exl2|hqq|quanto|(\d)-?bits?|int(\d)|w(\d)a\d+)(?![a-z])", re.I
)
_ADAPTER_FILE = re.compile(r"^adapter_(config\.json|model\.\w+)$")
_ADAPTER_PART = re.compile(r"lora|adapter", re.I)

# Chat capability: documented in README. A model is chat-capable when any of these holds.
CHAT_TAGS = ("conversational",)
_CHAT_NAME = re.compile(r"(?<![a-z])(chat|instruct|it|assistant|dialog|dialogue|rlhf|sft|dpo|orpo)(?![a-z])", re.I)
CHAT_PIPELINES = (None, "text-generation", "image-text-to-text", "text2text-generation", "any-to-any")

BASE_RELATIONS = ("finetune", "adapter", "merge", "quantized")
# Tags mergekit (and the Hub's merge widget) put on a merged model: with a default finetune relation it is a merge.
MERGE_TAGS = frozenset({"merge", "mergekit"})


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _get(record: dict, key: str, kind: type | tuple[type, ...], what: str) -> Any:
    """A typed field: None when absent, RecordError when present with the wrong type."""
    value = record.get(key)
    if value is None:
        return None
    if kind is int:
        if not _is_int(value):
            raise RecordError(f"field '{key}' should be {what}, got {type(value).__name__}")
        problem = count_problem(value)  # every integer field of the wire format is a count
        if problem:
            raise RecordError(f"field '{key}' {problem}")
        return value
    if not isinstance(value, kind):
        raise RecordError(f"field '{key}' should be {what}, got {type(value).__name__}")
    return value


def _count_or_none(value: Any) -> int | None:
    """A nested count that is usable, else None (these fields are optional detail, not the record's shape)."""
    return value if _is_int(value) and count_problem(value) is None else None


def _iso(value: Any, key: str) -> str | None:
    """Dates in one canonical form (UTC, whole seconds, Z), whatever precision the source used."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return iso_utc(value)
    if not isinstance(value, str):
        raise RecordError(f"field '{key}' should be a date string, got {type(value).__name__}")
    try:
        return iso_utc(parse_date(value))
    except ValueError as err:
        raise RecordError(f"field '{key}' is not a date: {value[:40]!r}") from err


def iso_utc(moment: datetime) -> str:
    """The store's date format: '2025-04-22T00:00:00Z'."""
    aware = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    return aware.replace(microsecond=0).isoformat().replace("+00:00", "Z")


@lru_cache(maxsize=4096)  # one observation date for a whole snapshot; checks read each model's dates twice
def parse_date(value: str) -> datetime:
    """Parse the Hub's ISO dates (with Z, offsets, or date only) into aware UTC datetimes."""
    text = value.strip().replace("Z", "+00:00")
    parsed = datetime.fromisoformat(text)
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def size_class_label(billions: float) -> str:
    """Format a size in billions the way model names do: 7B, 1.5B, 350M."""
    if billions < 1:
        return f"{round(billions * 1000):d}M"
    return f"{billions:g}B"


def parse_size_label(label: str) -> float | None:
    """Inverse of `size_class_label`, tolerant of case and an `x` expert prefix: '8x7B' -> 56."""
    match = re.fullmatch(r"\s*(?:(\d{1,2})x)?(\d+(?:\.\d+)?)\s*([bm])\s*", label, re.I)
    if not match:
        return None
    experts = int(match.group(1) or 1)
    value = float(match.group(2)) * experts
    return value / 1000 if match.group(3).lower() == "m" else value


_LOG_SIZE_CLASSES = tuple((math.log(c), c) for c in SIZE_CLASSES)


def snap_size_class(billions: float) -> str:
    """The nominal size class nearest (in log space) to a parameter count in billions."""
    target = math.log(max(billions, 1e-3))
    nearest = min(_LOG_SIZE_CLASSES, key=lambda lc: abs(lc[0] - target))[1]
    return size_class_label(nearest)


@dataclass(frozen=True)
class NameSize:
    """A size read from a model name.

    Its label, total in billions (None when the name gives only the active part), and the active parameters
    of a mixture of experts (None when the name does not say).
    """

    label: str
    total: float | None
    active: float | None = None


def name_sizes(name: str) -> list[NameSize]:
    """Every reading of a size in a model name, the plain one first.

    'Llama-2-7b-chat' -> 7B; 'Mixtral-8x7B' -> 8x7B (56B total); 'Llama-4-Scout-17B-16E' -> 17B-16E (17B
    active, total unknown); 'Qwen3-30B-A3B' -> 30B-A3B (30B total, 3B active); 'phi-pl-2_7B' -> 7B, then 2.7B
    (an underscore between digits may be a decimal point: the measurement picks the reading).
    """
    found: list[NameSize] = []
    text = name.replace("_", "-")
    for match in _NAME_ACTIVE.finditer(text):
        total, active = float(match.group(1)), float(match.group(2))
        found.append(NameSize(f"{total:g}B-A{active:g}B", total, active))
    for match in _NAME_EXPERTS.finditer(text):
        active = float(match.group(1))
        found.append(NameSize(f"{active:g}B-{int(match.group(2))}E", None, active))
    if not found:
        for match in _NAME_SIZE.finditer(text):
            experts, number, unit = match.groups()
            value = float(number) / (1000 if unit.lower() == "m" else 1)
            if value <= 0 or value > 2000:
                continue
            label = size_class_label(value)
            if experts:
                found.append(NameSize(f"{int(experts)}x{label}", value * int(experts)))
            else:
                found.append(NameSize(label, value))
            break
    for match in _NAME_DECIMAL.finditer(name):
        value = float(f"{match.group(1)}.{match.group(2)}") / (1000 if match.group(3).lower() == "m" else 1)
        found.append(NameSize(size_class_label(value), value))
    return found


def size_from_name(name: str) -> tuple[str, float] | None:
    """The plain reading of a nominal size in a name.

    'Llama-2-7b-chat' -> ('7B', 7.0), 'Mixtral-8x7B' -> ('8x7B', 56).
    """
    for reading in name_sizes(name):
        if reading.total is not None:
            return reading.label, reading.total
    return None


# Fields where None is an answer ("no conflict", "not an adapter"), not a fact nobody could read.
_NONE_IS_AN_ANSWER = {"chat_rule", "params_conflict", "license_conflict", "params_active", "adapter_params",
                      "quantization", "safetensors_dtypes", "size_named", "commercial_conditions"}  # fmt: skip


@dataclass
class ModelFacts:
    """Facts about one model at one observation. None means not available."""

    id: str
    observed_at: str | None = None
    author: str | None = None
    sha: str | None = None
    created_at: str | None = None
    last_modified: str | None = None
    private: bool | None = None
    gated: str | bool | None = None
    disabled: bool | None = None
    downloads: int | None = None
    downloads_all_time: int | None = None
    likes: int | None = None
    library_name: str | None = None
    pipeline_tag: str | None = None
    tags: list[str] | None = None
    spaces: list[str] | None = None
    files: list[str] | None = None
    card_data: dict | None = None
    model_index: list | None = None
    config_architectures: list[str] | None = None
    model_type: str | None = None
    remote_code: bool | None = None
    chat_template: bool | None = None
    safetensors_total: int | None = None
    safetensors_dtypes: dict[str, int] | None = None  # stored elements per dtype (packed weights count once)
    quantization: dict[str, Any] | None = None  # the config's quantization_config (or MLX `quantization`)
    gguf_total: int | None = None
    used_storage: int | None = None
    discussions: int | None = None
    pull_requests: int | None = None
    card_present: bool | None = None
    # Derived facts and where each came from.
    params: int | None = None
    params_source: str | None = None
    params_measured: int | None = None  # safetensors (unpacked) or GGUF count of this repo's own files
    params_active: int | None = None  # mixture of experts: parameters used per token, where the name says
    params_conflict: str | None = None  # name and measurement disagree (by more than SIZE_CONFLICT_RATIO)
    adapter_params: int | None = None  # an adapter's own parameters; `params` is then its base model's
    has_weights: bool | None = None  # any weight file (training state and configs are not weights)
    size_class: str | None = None
    size_class_source: str | None = None
    size_named: str | None = None  # the size the repo's own name reads ("7B"), whatever the class says
    license: str | None = None
    license_source: str | None = None
    license_class: str | None = None  # the declared license's class
    license_class_effective: str | None = None  # the strictest along the lineage (set when bases are known)
    license_conflict: str | None = None  # the declared license is looser than a base model's
    # Commercial use the license (or a stricter base's) allows: yes, yes-with-conditions, no, unknown.
    commercial_use: str | None = None
    commercial_conditions: str | None = None  # in words, when the answer is yes-with-conditions
    base_models: list[str] | None = None
    base_relation: str | None = None
    base_source: str | None = None
    chat: bool | None = None
    chat_rule: str | None = None
    file_kinds: dict[str, list[str]] | None = None
    arxiv_ids: list[str] | None = None
    datasets: list[str] | None = None
    github_urls: list[str] | None = None
    card: CardFacts | None = None
    # What reading the files themselves showed (hub/scan.py `SecurityScan.to_dict()`); None: no scan was made
    # (snapshot data, or the Hub was not reachable).
    security_scan: dict[str, Any] | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        """The repo name without the author."""
        return self.id.split("/", 1)[-1]

    @property
    def org(self) -> str | None:
        """The namespace of the repo id (the author, even where the API omits the field)."""
        return self.author or (self.id.split("/", 1)[0] if "/" in self.id else None)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict; `not_available` lists the fields nobody could read.

        A shallow copy: field values are JSON-ready already (dataclasses.asdict's deep copy cost a fifth
        of ingest time).
        """
        data = dict(self.__dict__)
        data["card"] = self.card.to_dict() if self.card else None
        if data.keys() == _FIELD_NAMES:  # the usual case: only the fields, whose candidates are listed sorted
            data["not_available"] = [k for k in _MAYBE_NOT_AVAILABLE if data[k] is None]
        else:
            data["not_available"] = sorted(
                k for k, v in data.items() if v is None and not k.endswith("_source") and k not in _NONE_IS_AN_ANSWER
            )
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelFacts:
        """Inverse of `to_dict`."""
        data = dict(data)
        data.pop("not_available", None)
        card = data.pop("card", None)
        facts = cls(**data)
        facts.card = CardFacts.from_dict(card) if card else None
        return facts


_FIELD_NAMES = {f.name for f in fields(ModelFacts)}
# The fields whose None means "not available", in sorted order.
_MAYBE_NOT_AVAILABLE = tuple(
    sorted(k for k in _FIELD_NAMES if not k.endswith("_source") and k not in _NONE_IS_AN_ANSWER)
)


def _tag_values(tags: list[str], prefix: str) -> list[str]:
    return [t[len(prefix) :] for t in tags if t.startswith(prefix)]


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [str(v) for v in value if v]
    return []


def _quant_bits(facts: ModelFacts, quant: dict) -> int | None:
    """Bits per weight of a quantized repo: its config, else its name, else 4 for the usual packers."""
    for key in ("bits", "w_bit", "nbits"):
        if isinstance(quant.get(key), int) and 1 <= quant[key] <= 8:
            return quant[key]
    if quant.get("load_in_4bit"):
        return 4
    if quant.get("load_in_8bit"):
        return 8
    for match in _QUANT_NAME.finditer(facts.id):
        digits = next((g for g in match.groups()[1:] if g), None)
        if digits and 1 <= int(digits) <= 8:
            return int(digits)
    method = str(quant.get("quant_method", "")).lower()
    if method in ("gptq", "awq", "bitsandbytes") or re.search(r"gptq|awq|mlx|bnb", facts.id, re.I):
        return 4
    return None


PIPELINE_PART = "a diffusers pipeline: the Hub's safetensors count covers only some of its component folders"


def _pipeline_in_folders(facts: ModelFacts) -> bool:
    """A diffusers pipeline (`model_index.json`) whose components sit in folders (`unet/`, `transformer/` ...).

    The Hub's safetensors total then counts what it parsed, not the pipeline: prompthero/openjourney's 123M is
    its root text encoder, of a ~1.1B Stable Diffusion pipeline.
    """
    files = facts.files or []
    if "model_index.json" not in files:
        return False
    return any("/" in f and load_class(file_kind(f)) for f in files)


def measure_params(facts: ModelFacts, dtypes: dict[str, int] | None, quant: dict) -> tuple[int | None, str | None]:
    """This repo's own parameter count, with packed quantized weights unpacked; (None, why) when it cannot say.

    A safetensors total counts stored elements: a 4-bit GPTQ/AWQ/MLX model stores eight weights per U32 and
    bitsandbytes two per U8, so its total is several times too small. The packed dtypes are multiplied back
    by 32 (or 8) / bits; U8 counts are only unpacked when the repo is quantized (GPT-NeoX stores masks as U8).
    """
    if facts.safetensors_total and _pipeline_in_folders(facts):
        return None, PIPELINE_PART
    if facts.safetensors_total:
        quantized = bool(quant) or bool(_QUANT_NAME.search(facts.id))
        packed = {k: v for k, v in (dtypes or {}).items() if k in PACKED_DTYPES and _is_int(v)}
        wide = set(packed) & {"U32", "I32"}
        if quantized and packed and (wide or quant.get("load_in_4bit") or "bnb" in facts.id.lower()):
            bits = _quant_bits(facts, quant)
            if bits is None or bits >= 8:
                return None, "packed quantized weights of unknown width"
            unpacked = facts.safetensors_total + sum(v * (PACKED_DTYPES[k] // bits - 1) for k, v in packed.items())
            return unpacked, f"safetensors.total, {'/'.join(sorted(packed))} unpacked at {bits} bits"
        return facts.safetensors_total, "safetensors.total"
    if facts.gguf_total:
        return facts.gguf_total, "gguf.total"
    return None, None


def _is_adapter(facts: ModelFacts) -> bool:
    """An adapter repo: adapter files or the peft library, and no full weights of its own beside them."""
    files = facts.files or []
    adapter_files = [f for f in files if f.startswith("adapter_") and _ADAPTER_FILE.match(f)]
    peft = facts.library_name == "peft" or "peft" in (facts.tags or [])
    if not adapter_files and not peft:
        return False
    # Weights beside the adapter that are parts of it (`non_lora_trainables.bin`) do not make a full model.
    full = [
        f
        for f in files
        if "/" not in f
        and not _ADAPTER_FILE.match(f)
        and not _ADAPTER_PART.search(f)
        and load_class(kind := file_kind(f))
        and kind not in PICKLED_NON_WEIGHTS
    ]
    return not full


_QUANTIZED_KINDS = {"gguf", "ggml", "llamafile"}


def _is_quantized(facts: ModelFacts, quant: dict) -> bool:
    """A quantized copy: only llama.cpp-family weights, a quantization config, or a quantizer's name."""
    weights = {k for k in (facts.file_kinds or {}) if k in WEIGHT_KINDS}
    if weights and weights <= _QUANTIZED_KINDS:
        return True
    method = str(quant.get("quant_method", "")).lower()
    if method and method != "fp8":
        return True
    named = [m.group(1).lower() for m in _QUANT_NAME.finditer(facts.name)]
    # An MLX conversion in 16 or 32 bits (`...-mlx-fp16`) is a format copy, not a quantization.
    full_width = re.search(r"(?<![a-z0-9])(b?f|fp)(16|32)(?![a-z0-9])", facts.name, re.I)
    return bool(named) and not (full_width and set(named) <= {"mlx"})


def _near(a: float, b: float) -> bool:
    return max(a, b) / max(min(a, b), 1e-9) <= SIZE_CONFLICT_RATIO


def _derive_params(facts: ModelFacts, card_text: str | None, dtypes: dict | None, quant: dict) -> None:
    """Parameters and size class; see README "Derived facts" for the rules, in this order."""
    measured, measured_source = measure_params(facts, dtypes, quant)
    readings = name_sizes(facts.name)
    adapter = _is_adapter(facts)
    if adapter:
        facts.base_relation = "adapter"  # the files say so, whatever the base_model tag's relation
        facts.adapter_params = measured
        measured = None  # the adapter's own count says nothing about the model it runs on
    elif facts.base_models and _is_quantized(facts, quant):
        facts.base_relation = "quantized"
    facts.params_measured = measured
    named = next((r for r in readings if r.total is not None), None)
    active = next((r for r in readings if r.active is not None), None)
    facts.size_named = (named or active).label if (named or active) else None
    if active:
        facts.params_active = int(active.active * 1e9)
    if measured:
        # The reading that agrees with the measurement, if any: `phi-pl-2_7B` measuring 2.8B is the 2.7B one.
        agree = next((r for r in readings if r.total is not None and _near(r.total * 1e9, measured)), None)
        facts.params, facts.params_source = measured, measured_source
        if agree:
            facts.size_named = agree.label
            facts.size_class, facts.size_class_source = agree.label, "name"
        elif active and active.total is None:
            facts.size_class, facts.size_class_source = active.label, "name (experts)"
        else:
            facts.size_class = snap_size_class(measured / 1e9)
            facts.size_class_source = f"params ({measured_source})"
            if named:
                facts.params_conflict = (
                    f"name says {named.label}, {measured_source} measures {measured / 1e9:.1f}B: the measurement wins"
                )
        return
    base_named = None
    if adapter or facts.base_relation == "quantized" or measured_source:
        for base in facts.base_models or []:
            base_named = size_from_name(base.split("/", 1)[-1])
            if base_named:
                break
    if named:
        facts.params, facts.params_source = int(named.total * 1e9), "name"
        facts.size_class, facts.size_class_source = named.label, "name"
    elif base_named:
        facts.params, facts.params_source = int(base_named[1] * 1e9), "base model name"
        facts.size_class, facts.size_class_source = base_named[0], "base model name"
    elif active:
        facts.size_class, facts.size_class_source = active.label, "name (experts)"
    elif card_text:
        stated = size_sentence(card_text)
        if stated:
            facts.params, facts.params_source = int(stated[0] * 1e9), "card"
            facts.extra["params_sentence"] = stated[1]
            facts.size_class, facts.size_class_source = snap_size_class(stated[0]), "params (card)"
    if adapter and facts.params is not None:
        facts.params_source = f"base model ({facts.params_source})"
    if measured_source == PIPELINE_PART and facts.params is None:
        facts.params_conflict = (f"the Hub measures {facts.safetensors_total / 1e9:.2f}B, but {PIPELINE_PART}: "
                                 "the size is unknown")  # fmt: skip


def _derive_license(facts: ModelFacts) -> None:
    card = facts.card_data or {}
    from_card = card.get("license")
    if isinstance(from_card, list):
        from_card = from_card[0] if from_card else None
    from_tags = _tag_values(facts.tags or [], "license:")
    if isinstance(from_card, str) and from_card:
        facts.license, facts.license_source = from_card.lower(), "cardData.license"
    elif from_tags:
        facts.license, facts.license_source = from_tags[0].lower(), "tags"
    if facts.license is not None:
        facts.license_class = classify_license(facts.license, card.get("license_name"))
    elif facts.tags is not None or facts.card_data is not None:
        facts.license_class = "unknown"  # we could read where a license would be, and none is declared
    facts.license_class_effective = facts.license_class  # until the lineage is known (scoring.lineage)
    set_commercial_use(facts)


def set_commercial_use(facts: ModelFacts) -> None:
    """`commercial_use` and its conditions from the license and the effective (lineage) class."""
    if facts.license_class is None:
        facts.commercial_use = facts.commercial_conditions = None
        return
    facts.commercial_use = commercial_effective(facts.license, facts.license_class, facts.license_class_effective)
    if facts.commercial_use != COMMERCIAL_CONDITIONS:
        facts.commercial_conditions = None
    elif facts.license_class_effective != facts.license_class:
        facts.commercial_conditions = f"a base model's {facts.license_class_effective} terms apply"
    else:
        facts.commercial_conditions = commercial_conditions(facts.license, facts.license_class)


def _derive_base(facts: ModelFacts) -> None:
    tags = facts.tags or []
    declared = _tag_values(tags, "base_model:")
    bases = [t for t in declared if ":" not in t]
    relations = [t.split(":", 1) for t in declared if ":" in t]
    card_bases = _as_list((facts.card_data or {}).get("base_model"))
    if bases or relations:
        facts.base_models = sorted(set(bases) | {r[1] for r in relations if r[0] in BASE_RELATIONS})
        facts.base_source = "tags"
    elif card_bases:
        facts.base_models, facts.base_source = card_bases, "cardData.base_model"
    card_relation = (facts.card_data or {}).get("base_model_relation")
    explicit = isinstance(card_relation, str) and card_relation in BASE_RELATIONS
    if relations:
        kinds = {r[0] for r in relations if r[0] in BASE_RELATIONS}
        # A merge tag on any base makes it a merge; otherwise the first kind in BASE_RELATIONS order.
        facts.base_relation = "merge" if "merge" in kinds else next((k for k in BASE_RELATIONS if k in kinds), None)
    elif explicit:
        facts.base_relation = card_relation
    elif facts.base_models:
        lower = facts.id.lower()
        if "gguf" in lower or "gptq" in lower or "awq" in lower or re.search(r"\b[348]bit\b|-\d?bit", lower):
            facts.base_relation = "quantized"
        elif "lora" in lower or "adapter_config.json" in (facts.files or []):
            facts.base_relation = "adapter"
        elif "merge" in lower or MERGE_TAGS & set(tags):
            facts.base_relation = "merge"
        else:
            facts.base_relation = "finetune"
    if facts.base_relation == "finetune" and not explicit and MERGE_TAGS & set(tags):
        # The Hub tags a card's single `base_model` as a finetune unless the card says otherwise, so mergekit's
        # output (tagged merge/mergekit, often listing several bases the tags cut to one) reads as a finetune.
        facts.base_relation = "merge"


def _derive_chat(facts: ModelFacts) -> None:
    if facts.pipeline_tag not in CHAT_PIPELINES:
        facts.chat, facts.chat_rule = False, f"pipeline '{facts.pipeline_tag}' is not a text-generation task"
        return
    tags = facts.tags or []
    if any(t in tags for t in CHAT_TAGS):
        facts.chat, facts.chat_rule = True, "tag 'conversational'"
    elif facts.chat_template:
        facts.chat, facts.chat_rule = True, "tokenizer has a chat template"
    elif _CHAT_NAME.search(facts.name.replace("_", "-")):
        facts.chat, facts.chat_rule = True, f"name '{facts.name}' says chat/instruct"
    elif facts.tags is not None and facts.pipeline_tag is not None:
        facts.chat, facts.chat_rule = False, "no conversational tag, chat template or chat name"


_URL_GITHUB = re.compile(r"https?://github\.com/[\w.-]+/[\w.-]+", re.I)
_ARXIV = re.compile(r"arxiv\.org/(?:abs|pdf)/(\d{4}\.\d{4,5})", re.I)
_HF_PAPERS = re.compile(r"huggingface\.co/papers/(\d{4}\.\d{4,5})", re.I)
# As run: on `fold_case` text (same spans; the text's own spelling is cut out of the original).
_LINKS = folded(_URL_GITHUB), folded(_ARXIV), folded(_HF_PAPERS)


def _links(text: str) -> tuple[list[str], set[str]]:
    """GitHub URLs (the first 20, sorted) and arXiv ids that a text links to."""
    low = fold_case(text)
    github, arxiv, papers = _LINKS
    urls = sorted({text[m.start() : m.end()] for m in github.finditer(low)})[:20]
    return urls, {m.group(1) for m in arxiv.finditer(low)} | {m.group(1) for m in papers.finditer(low)}


_DERIVED = (
    "params", "params_source", "params_measured", "params_active", "params_conflict", "adapter_params",
    "size_class", "size_class_source", "size_named", "license", "license_source", "license_class",
    "license_class_effective", "commercial_use", "commercial_conditions",
    "license_conflict", "base_models", "base_relation", "base_source", "chat", "chat_rule", "file_kinds",
    "has_weights",
)  # fmt: skip


@lru_cache(maxsize=1)
def derivation_id() -> str:
    """A fingerprint of the rules `derive` follows: the code of the modules that hold them, and the format table.

    Facts derived under the same fingerprint need no `derive` again (a first ingest's scoring pass can skip
    it, and the card read it does for sizeless models); facts stored under another one must be re-derived,
    and so must facts that lineage (`scoring.lineage.apply_lineage`) has already changed.
    """
    import hashlib
    import sys
    from pathlib import Path

    from whichmodel.hub import card, formats, licenses

    digest = hashlib.sha256()
    for module in (sys.modules[__name__], card, formats, licenses):
        digest.update(Path(module.__file__).read_bytes())
    digest.update(repr(formats.WEIGHT_FORMATS).encode())  # picklescan's extension lists are read at import
    return digest.hexdigest()[:16]


def derive(facts: ModelFacts, card_text: str | None = None) -> ModelFacts:
    """(Re)compute every derived fact from the observed ones; README "Derived facts" states the rules.

    Pure in the observed fields, so `whichmodel rescore` brings facts stored by an older version up to
    today's rules. `card_text` is read only for a size stated in the card.
    """
    for name in _DERIVED:
        setattr(facts, name, None)
    facts.extra.pop("params_sentence", None)
    if facts.files is not None:
        kinds = file_kinds(facts.files)
        facts.file_kinds = kinds
        facts.has_weights = any(k in WEIGHT_KINDS for k in kinds)
    _derive_license(facts)
    _derive_base(facts)
    _derive_params(facts, card_text, facts.safetensors_dtypes, facts.quantization or {})
    _derive_chat(facts)
    return facts


def read_counters(record: dict) -> tuple[int | None, int | None, int | None]:
    """A record's downloads, all-time downloads and likes, checked as `parse_record` checks them.

    Raises:
        RecordError: a counter of the wrong type or beyond what the store holds.
    """
    return (_get(record, "downloads", int, "an integer"), _get(record, "downloadsAllTime", int, "an integer"),
            _get(record, "likes", int, "an integer"))  # fmt: skip


def parse_record(record: Any, card_text: str | None = None, observed_at: str | None = None) -> ModelFacts:
    """Turn one Hub wire-format record (and its card text, if any) into `ModelFacts`.

    Raises:
        RecordError: the record is not a JSON object, has no usable id, or a field has the wrong type.
    """
    if not isinstance(record, dict):
        raise RecordError(f"record should be a JSON object, got {type(record).__name__}")
    model_id = record.get("id") or record.get("modelId")
    if model_id is not None and not isinstance(model_id, str):
        raise RecordError(f"'id' should be a string, got {type(model_id).__name__}")
    if not model_id or not model_id.strip():
        raise RecordError("record has no 'id'")
    model_id = model_id.strip()
    problem = repo_id_problem(model_id)
    if problem:
        raise RecordError(f"'id' is not a Hub repo id ({problem}): {model_id[:60]!r}")
    if card_text is not None and not isinstance(card_text, str):
        raise RecordError("card text should be a string")

    tags = _get(record, "tags", list, "a list")
    if tags is not None:
        tags = [t for t in tags if isinstance(t, str)]
    siblings = _get(record, "siblings", list, "a list")
    files = None
    if siblings is not None:
        files = [s["rfilename"] for s in siblings if isinstance(s, dict) and isinstance(s.get("rfilename"), str)]
    config = _get(record, "config", dict, "an object") or {}
    safetensors = _get(record, "safetensors", dict, "an object") or {}
    gguf = _get(record, "gguf", dict, "an object") or {}
    transformers_info = _get(record, "transformersInfo", dict, "an object") or {}
    tokenizer_config = config.get("tokenizer_config") if isinstance(config.get("tokenizer_config"), dict) else {}
    gated = record.get("gated")
    if gated not in (None, False, True, "auto", "manual"):
        raise RecordError(f"field 'gated' should be false, 'auto' or 'manual', got {gated!r}")
    spaces = _get(record, "spaces", list, "a list")
    model_index = _get(record, "model-index", list, "a list")

    facts = ModelFacts(
        id=model_id,
        observed_at=observed_at,
        author=_get(record, "author", str, "a string"),
        sha=_get(record, "sha", str, "a string"),
        created_at=_iso(record.get("createdAt"), "createdAt"),
        last_modified=_iso(record.get("lastModified"), "lastModified"),
        private=_get(record, "private", bool, "a boolean"),
        gated=gated,
        disabled=_get(record, "disabled", bool, "a boolean"),
        downloads=_get(record, "downloads", int, "an integer"),
        downloads_all_time=_get(record, "downloadsAllTime", int, "an integer"),
        likes=_get(record, "likes", int, "an integer"),
        library_name=_get(record, "library_name", str, "a string"),
        pipeline_tag=_get(record, "pipeline_tag", str, "a string"),
        tags=tags,
        spaces=[s for s in spaces if isinstance(s, str)] if spaces is not None else None,
        files=files,
        card_data=_get(record, "cardData", dict, "an object"),
        model_index=model_index,
        config_architectures=_as_list(config.get("architectures")) or None,
        model_type=config.get("model_type") if isinstance(config.get("model_type"), str) else None,
        safetensors_total=_count_or_none(safetensors.get("total")),
        gguf_total=_count_or_none(gguf.get("total")),
        used_storage=_get(record, "usedStorage", int, "an integer"),
        discussions=_get(record, "discussions", int, "an integer"),
        pull_requests=_get(record, "pullRequests", int, "an integer"),
    )
    if "config" in record:
        facts.remote_code = bool(config.get("auto_map")) or bool(transformers_info.get("custom_class"))
        facts.chat_template = bool(tokenizer_config.get("chat_template"))
    if files is not None:
        facts.card_present = any(f.lower() == "readme.md" for f in files) or bool(card_text)
    elif card_text:
        facts.card_present = True
    dtypes = safetensors.get("parameters")
    if isinstance(dtypes, dict):
        facts.safetensors_dtypes = {k: v for k, v in dtypes.items() if isinstance(k, str) and _is_int(v)}
    quant = config.get("quantization_config") or config.get("quantization")
    if isinstance(quant, dict):
        facts.quantization = {k: v for k, v in quant.items() if isinstance(v, str | int | float | bool)}

    if card_text:
        facts.card = extract_card_facts(parse_card(card_text, front_matter=facts.card_data))
    derive(facts, card_text)
    if tags is not None:
        facts.arxiv_ids = sorted(set(_tag_values(tags, "arxiv:")))
        facts.datasets = sorted(
            set(_tag_values(tags, "dataset:")) | set(_as_list((facts.card_data or {}).get("datasets")))
        )
    if card_text is not None or facts.card_data is not None:
        facts.github_urls, papers = _links((card_text or "") + " " + str(facts.card_data or ""))
        if papers:
            facts.arxiv_ids = sorted(set(facts.arxiv_ids or []) | papers)
    return facts


# What a repo's revision fixes: the same `sha` has the same files, config, card metadata, weights and dates.
# Gate, likes, Spaces, discussions and the `disabled` flag are settings and counters of the repo, not of the
# revision: a partial record leaves them unknown, whatever an earlier record said.
REVISION_FIELDS = (
    "author", "created_at", "last_modified", "library_name", "files", "card_data", "model_index",
    "config_architectures", "model_type", "remote_code", "chat_template", "safetensors_total",
    "safetensors_dtypes", "quantization", "gguf_total", "used_storage", "card_present",
)  # fmt: skip


def is_partial(facts: ModelFacts) -> bool:
    """A record without the Hub's expanded fields (a listing without `expand`): no file list and no dates."""
    return facts.files is None and facts.created_at is None and facts.last_modified is None


def fill_from_revision(partial: ModelFacts, earlier: ModelFacts, card_text: str | None = None) -> bool:
    """Fill a partial record's revision-bound facts from an earlier full record of the same `sha`; re-derive.

    For a store to call before scoring a partial observation (the lead's ingest decides where): the file list
    of a revision does not change, so a partial re-observation of an unchanged repo is scored on the same
    files, not as if they were unknown. Returns whether it filled anything (not when the shas differ or are
    missing, or the earlier record is itself partial).
    """
    if not partial.sha or partial.sha != earlier.sha or is_partial(earlier) or not is_partial(partial):
        return False
    for name in REVISION_FIELDS:
        if getattr(partial, name) is None:
            setattr(partial, name, getattr(earlier, name))
    derive(partial, card_text)
    return True
