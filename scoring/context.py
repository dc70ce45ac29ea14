"""What checks may know beyond one model's facts: curated lists and what the database shows.

A `ScoringContext` is built once per scoring pass (by the store, from its tables) and passed to every
check, so checks stay pure functions of (facts, context).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property, lru_cache

import orjson
import yaml
from rapidfuzz.distance import Levenshtein
from rapidfuzz.process import extract
from whichmodel.scoring.method import read_data

# Characters that look alike in repo ids, folded before comparing orgs (a zero for an o, rn for m ...).
_LOOKALIKE = (("rn", "m"), ("vv", "w"), ("0", "o"), ("1", "l"), ("i", "l"), ("5", "s"), ("3", "e"))
_SEPARATORS = re.compile(r"[-_.\s]+")


def fold(text: str) -> str:
    """Case-fold, drop separators and map look-alike characters, so near-identical spellings collide."""
    text = _SEPARATORS.sub("", text.casefold())
    for seen, meant in _LOOKALIKE:
        text = text.replace(seen, meant)
    return text


@dataclass(frozen=True)
class Reference:
    """A model worth protecting from impostors, and how popular it is (None: curated, assumed very)."""

    id: str
    downloads: int | None

    @property
    def org(self) -> str:
        """Namespace of the id."""
        return self.id.split("/", 1)[0] if "/" in self.id else ""

    @property
    def name(self) -> str:
        """Repo name of the id."""
        return self.id.split("/", 1)[-1]


@dataclass(frozen=True)
class Squat:
    """A near miss: the reference it imitates and how."""

    reference: Reference
    how: str
    kind: str = "typosquat"  # or "re-upload": the exact name under another org


def load_providers() -> dict[str, dict]:
    """The curated reputable-provider file, keyed by org."""
    return yaml.safe_load(read_data("providers.yaml"))["providers"]


def load_well_known() -> list[str]:
    """The curated well-known model ids."""
    return list(yaml.safe_load(read_data("well_known.yaml"))["models"])


def _only_digits_differ(a: str, b: str) -> bool:
    """True when every edit between a and b touches a digit: 'gemma-2b' vs 'gemma-7b' is a sibling, not a typo."""
    ops = Levenshtein.editops(a, b)
    return bool(ops) and all(
        (op.src_pos < len(a) and a[op.src_pos].isdigit()) or (op.dest_pos < len(b) and b[op.dest_pos].isdigit())
        for op in ops
    )


_WORDS = re.compile(r"[a-z]+")


def is_generic_name(name: str, generic_words: Iterable[str]) -> bool:
    """True when a repo name is only generic words and numbers ('outputs', 'test-model', 'checkpoint-500').

    Such names are what trainers write by default; two of them being close says nothing about imitation.
    """
    words = _WORDS.findall(name.casefold())
    vocabulary = _vocabulary(tuple(generic_words))
    return bool(words) and all(w in vocabulary for w in words)


@lru_cache(maxsize=16)
def _vocabulary(generic_words: tuple[str, ...]) -> frozenset[str]:
    return frozenset(w.casefold() for w in generic_words)


def same_family(bases: Iterable[str], ref: Reference) -> bool:
    """True when a declared base model is the reference or shares its name stem (DeepSeek-R1 vs DeepSeek-R1-FP4).

    A repo that declares that base is a derivative of the family, named after it on purpose, not a squat.
    """
    ref_name = fold(ref.name)
    for base in bases:
        if base.casefold() == ref.id.casefold():
            return True
        name = fold(base.split("/", 1)[-1])
        if name and (ref_name.startswith(name) or name.startswith(ref_name)):
            return True
    return False


@dataclass
class ScoringContext:
    """Curated lists plus database-derived knowledge that checks consult."""

    providers: dict[str, dict] = field(default_factory=load_providers)
    references: list[Reference] = field(default_factory=list)
    strong_authors: dict[str, tuple[int, int]] = field(default_factory=dict)  # org -> (models, downloads)
    base_license_class: dict[str, str] = field(default_factory=dict)  # base id -> its effective license class
    base_params: dict[str, tuple[int, str | None]] = field(default_factory=dict)  # base id -> (params, size class)
    base_model_type: dict[str, str] = field(default_factory=dict)  # base id -> its config's model_type
    typo_params: dict = field(default_factory=dict)

    @classmethod
    def curated(cls, **kwargs) -> ScoringContext:
        """A context with the curated lists only (what a fresh database knows)."""
        refs = [Reference(model_id, None) for model_id in load_well_known()]
        return cls(references=refs, **kwargs)

    @cached_property
    def providers_digest(self) -> str:
        """A fingerprint of the curated providers (a check reads whether an org is one)."""
        return hashlib.sha256(orjson.dumps(self.providers, option=orjson.OPT_SORT_KEYS, default=str)).hexdigest()[:16]

    @cached_property
    def class_of_count(self) -> dict[int, str]:
        """Each base model's exact parameter count -> the size class most of the bases with that count have.

        Ties go to the alphabetically first class, so the answer never depends on the order bases were read.
        """
        votes: dict[int, dict[str, int]] = {}
        for params, size_class in self.base_params.values():
            if params and size_class:
                tally = votes.setdefault(params, {})
                tally[size_class] = tally.get(size_class, 0) + 1
        return {p: min(t, key=lambda c: (-t[c], c)) for p, t in votes.items()}

    @cached_property
    def _orgs(self) -> dict[str, list[Reference]]:
        by_org: dict[str, list[Reference]] = {}
        for ref in self.references:
            by_org.setdefault(ref.org.casefold(), []).append(ref)
        return by_org

    @cached_property
    def _names(self) -> dict[str, list[Reference]]:
        by_name: dict[str, list[Reference]] = {}
        for ref in self.references:
            by_name.setdefault(ref.name.casefold(), []).append(ref)
        return by_name

    @cached_property
    def _folded_orgs(self) -> dict[str, str]:
        return {fold(org): org for org in self._orgs}

    @cached_property
    def _org_keys(self) -> list[str]:
        return list(self._orgs)

    @cached_property
    def _name_keys(self) -> list[str]:
        return list(self._names)

    def squats(
        self, model_id: str, downloads: int | None, bases: Iterable[str] = (), has_weights: bool | None = True
    ) -> Squat | None:
        """The popular model this id imitates, if its org or name is a near miss of one by another author.

        The reference must be genuinely popular (curated, or at least `min_reference_downloads` and
        `popularity_ratio` times the suspect's downloads); generic names (`generic_names`: outputs, model,
        checkpoint ...) neither imitate nor are imitated; a repo whose declared base (`bases`) is of the
        reference's family is a derivative, unless it carries the reference's exact name and holds no weights
        (`has_weights` False: an empty copy; None: not known, an unverified copy).
        """
        params = self.typo_params
        ratio = params.get("popularity_ratio", 10)
        floor = params.get("min_reference_downloads", 0)
        generic = params.get("generic_names", ())
        bases = list(bases)
        max_org = params.get("max_org_distance", 2)
        max_name = params.get("max_name_distance", 2)
        min_len = params.get("min_length", 5)
        org, _, name = model_id.partition("/")
        org_cf, name_cf = org.casefold(), name.casefold()
        mine = max(downloads or 0, 1)

        def popular_target(ref: Reference) -> bool:
            popular = ref.downloads is None or (ref.downloads >= ratio * mine and ref.downloads >= floor)
            return popular and not is_generic_name(ref.name, generic)

        def far_more_popular(ref: Reference) -> bool:
            return popular_target(ref) and not same_family(bases, ref)

        if is_generic_name(name, generic):
            return None

        if org_cf not in self._orgs and len(org_cf) >= min_len:
            # 1. Org near miss: an impostor org publishing a same-named (or near-named) model.
            candidates = []
            folded = fold(org)
            if folded in self._folded_orgs:
                candidates.append((self._folded_orgs[folded], "look-alike characters or separators in the org"))
            for ref_org, dist, _ in extract(
                org_cf, self._org_keys, scorer=Levenshtein.distance, score_cutoff=max_org, limit=5
            ):
                if len(ref_org) >= min_len and not _only_digits_differ(org_cf, ref_org):
                    candidates.append((ref_org, f"org is {dist} edit(s) from '{ref_org}'"))
            for ref_org, how in candidates:
                for ref in self._orgs.get(ref_org, []):
                    close = Levenshtein.distance(name_cf, ref.name.casefold()) <= max_name
                    if close and far_more_popular(ref):
                        return Squat(ref, how)
        if len(name_cf) >= min_len and name_cf not in self._names:
            # 2. Name near miss by another author (exact re-uploads and digit-only siblings are not typos).
            for ref_name, dist, _ in extract(
                name_cf, self._name_keys, scorer=Levenshtein.distance, score_cutoff=max_name, limit=5
            ):
                if dist == 0 or len(ref_name) < min_len or _only_digits_differ(name_cf, ref_name):
                    continue
                if fold(name_cf) != fold(ref_name) and dist > 1 and len(ref_name) < 8:
                    continue
                for ref in self._names[ref_name]:
                    if ref.org.casefold() != org_cf and far_more_popular(ref):
                        return Squat(ref, f"name is {dist} edit(s) from '{ref.name}'")
        if len(name_cf) >= min_len:
            # 3. Exact re-upload: a far more popular model's very name under another org. Declaring it as the
            # base excuses the name only for a derivative that holds weights (a fine-tune, a quantization): a
            # README-only copy derives nothing, and with the file list unknown the question stays open.
            for ref in self._names.get(name_cf, []):
                if ref.org.casefold() == org_cf or not popular_target(ref):
                    continue
                if not same_family(bases, ref):
                    return Squat(ref, f"the exact name of {ref.id} under another org", kind="re-upload")
                if has_weights is False:
                    return Squat(ref, f"the exact name of {ref.id}, declared as its base, and no weights",
                                 kind="empty-copy")  # fmt: skip
                if has_weights is None:
                    return Squat(ref, f"the exact name of {ref.id}, declared as its base", kind="unverified-copy")
        return None
