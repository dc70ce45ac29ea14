"""Read-side queries the CLI and the agent's tools share: score cards, search, data status.

No query here takes SQL text from a caller; filters are typed values bound as parameters.
"""

from __future__ import annotations

import json
import math
import re
import threading
from dataclasses import dataclass, field
from typing import NamedTuple

from sqlalchemy import Select, and_, case, func, literal, or_, select
from sqlalchemy.engine import Engine
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import ColumnElement
from sqlalchemy.types import Boolean
from whichmodel.hub import licenses
from whichmodel.hub.facts import BASE_RELATIONS, parse_size_label, size_class_label
from whichmodel.hub.formats import WEIGHT_KINDS
from whichmodel.scoring.findings import CategoryScore, Finding, ScoreCard
from whichmodel.scoring.method import CATEGORIES, load_method
from whichmodel.store import facets
from whichmodel.store.blobs import OUTCOME_CODES
from whichmodel.store.models import (
    COVERAGE_COLUMNS,
    LIST_KEYS,
    OBSERVATION_SCORES,
    RANK_COLUMNS,
    SCORE_COLUMNS,
    AssessmentRow,
    IngestRun,
    MethodCheck,
    ModelRow,
    Observation,
)
from whichmodel.store.records import facts_of, findings_of

M = ModelRow.__table__
O = Observation.__table__  # noqa: E741
A = AssessmentRow.__table__
MC = MethodCheck.__table__
R = IngestRun.__table__

# "largest" / "smallest" sort by the measured parameter count (models of unknown size left out).
SIZE_SORTS = ("largest", "smallest")
# Sorts by a date of the repo (models whose date is unknown left out): "newest" / "oldest" by creation,
# "updated" by the last commit, most recent first. No index holds them: the matches are sorted.
DATE_SORTS = {"newest": ("created_at", True), "oldest": ("created_at", False), "updated": ("last_modified", True)}
SORT_KEYS = SCORE_COLUMNS + ("downloads", "likes", *SIZE_SORTS, *DATE_SORTS)
GATED_VALUES = ("true", "auto", "manual")  # `models.gated` of a repo that asks for access
SORT_SCAN_MIN_MATCHES = 2000


def _by_id(conn, model_id: str) -> str | None:
    """The stored id for `model_id`: exact, else case-insensitive (Hub ids are case-insensitive)."""
    exact = conn.execute(select(M.c.id).where(M.c.id == model_id)).scalar()
    if exact:
        return exact
    return conn.execute(select(M.c.id).where(func.lower(M.c.id) == model_id.lower()).limit(1)).scalar()


def resolve_model_id(engine: Engine, model_id: str) -> str | None:
    """The stored id for `model_id`: exact, else case-insensitive (Hub ids are case-insensitive)."""
    with engine.connect() as conn:
        return _by_id(conn, model_id)


def stored_card(engine: Engine, model_id: str, observation_id: int | None = None) -> tuple[ScoreCard, dict] | None:
    """The stored score card of a model's newest (or a given) observation and its facts; None when unscored."""
    with engine.connect() as conn:
        model = conn.execute(select(M).where(M.c.id == model_id)).mappings().first()
        if model is None:
            return None
        obs_id = observation_id or model["latest_observation_id"]
        obs = conn.execute(select(O).where(O.c.id == obs_id)).mappings().first()
        if obs is None or obs["scored_version"] is None:
            return None
        version = obs["scored_version"]
        holder = obs["assessed_by"] if obs["assessed_by"] is not None else obs_id
        row = conn.execute(
            select(A).where(A.c.observation_id == holder, A.c.method_version == version)
        ).mappings().first()  # fmt: skip
        findings = findings_of(conn, obs_id, version)
        facts = facts_of(conn, obs_id)
    method = load_method()
    weights_hash = None if row is None else row["weights_hash"]
    if weights_hash and method.weights_hash.startswith(weights_hash):  # a prefix (store.blobs.stored_weights)
        weights_hash = method.weights_hash
    scores = {} if row is None else {
        c: {"score": observation_score(obs, c), "coverage": row[COVERAGE_COLUMNS[c]], "weights_hash": weights_hash}
        for c in SCORE_COLUMNS
    }  # fmt: skip
    # Imported here: the scoring engine brings every check (and the Hub client), which search never needs.
    from whichmodel.scoring.engine import rank_value

    overall = scores.get("overall")
    vetoes = {c.id for c in method.checks if c.params.get("veto")}
    ranks = {}
    for name in CATEGORIES:
        row = scores.get(name)
        vetoed = any(f.check in vetoes and f.outcome == "fail" for f in findings if f.category == name)
        ranks[name] = 0.0 if vetoed else rank_value(row["score"] if row else None, row["coverage"] if row else 0.0,
                                                    method)  # fmt: skip
    weights = {name: float(method.categories[name]["weight"]) for name in CATEGORIES}
    categories = {
        name: CategoryScore(
            name,
            scores[name]["score"] if name in scores else None,
            scores[name]["coverage"] if name in scores else 0.0,
            [f for f in findings if f.category == name],
            rank=ranks[name],
        )
        for name in CATEGORIES
    }
    card = ScoreCard(
        model_id=model_id,
        overall=overall["score"] if overall else None,
        coverage=overall["coverage"] if overall else None,
        method_version=version,
        weights_hash=overall["weights_hash"] if overall else None,
        observed_at=obs["observed_at"],
        categories=categories,
        rank=round(sum(weights[c] * ranks[c] for c in CATEGORIES) / sum(weights.values()), 3),
    )
    return card, facts


def observation_score(row, name: str) -> float | None:
    """An observation row's score `name` (stored in hundredths; see `Observation`), or None."""
    value = row[OBSERVATION_SCORES[name]]
    return None if value is None else value / 100


def scorecard(engine: Engine, model_id: str, observation_id: int | None = None) -> dict | None:
    """The stored score card of a model's newest (or a given) observation, in the CLI's JSON shape."""
    stored = stored_card(engine, model_id, observation_id)
    if stored is None:
        return None
    card, facts = stored
    return card.to_dict() | {"facts": facts}


def stored_findings(engine: Engine, model_id: str) -> tuple[list[Finding], str, str | None] | None:
    """The newest observation's findings, method version and observation time (for recomputing scores)."""
    with engine.connect() as conn:
        row = conn.execute(
            select(O.c.id, O.c.scored_version, O.c.observed_at)
            .join(M, M.c.latest_observation_id == O.c.id)
            .where(M.c.id == model_id)
        ).first()
        if row is None or row.scored_version is None:
            return None
        return findings_of(conn, row.id, row.scored_version), row.scored_version, row.observed_at


@dataclass
class SearchFilters:
    """What `whichmodel search` and the agent's search tool filter and rank on."""

    task: str | None = None
    size: str | None = None
    min_params: int | None = None
    max_params: int | None = None
    license_class: str | None = None
    license: str | None = None
    chat: bool | None = None
    exclude_gated: bool = False
    gated_only: bool = False  # only repos that ask for access (auto or manual approval)
    gated_manual: bool = False  # only repos whose access the authors approve by hand
    min_scores: dict[str, float] = field(default_factory=dict)
    sort: str = "overall"
    limit: int = 10
    tasks: list[str] = field(default_factory=list)
    topics: list[str] = field(default_factory=list)
    base: str | None = None
    relation: str | None = None
    language: str | None = None
    findings: list[str] = field(default_factory=list)
    min_downloads: int | None = None
    max_memory_gb: float | None = None
    precision: str = "fp16"
    # Repos with no weight files (README, config or code only) are not usable models: left out unless asked.
    include_no_weights: bool = False
    # Only these stored ids ("which of those is free for commercial use?" after a comparison); empty: all.
    model_ids: list[str] = field(default_factory=list)
    # The Hub author (organisation or user) as stored, exactly; created on or after / before a day (YYYY-MM-DD).
    author: str | None = None
    authors: list[str] = field(default_factory=list)  # any of these authors (a company's organisations)
    exclude_authors: list[str] = field(default_factory=list)  # none of these ("not made by Meta")
    # Weight formats (hub.formats kinds: gguf, onnx, safetensors ...), any of them, as the newest files show.
    formats: list[str] = field(default_factory=list)
    created_after: str | None = None
    created_before: str | None = None
    # Last changed on the Hub (its last commit) on or after / before a day (YYYY-MM-DD).
    updated_after: str | None = None
    updated_before: str | None = None
    # Commercial use the license allows (hub.licenses.commercial_use, the lineage's stricter class deciding):
    # "allowed" (yes, with or without conditions), or one answer: yes, yes-with-conditions, no, unknown.
    commercial: str | None = None

    def validate(self) -> None:
        """Reject filters that cannot be answered, with a message that says what is allowed."""
        if self.relation is not None and self.relation not in BASE_RELATIONS:
            raise ValueError(f"relation must be one of {', '.join(BASE_RELATIONS)}, not {self.relation!r}")
        if self.precision not in BYTES_PER_PARAM:
            raise ValueError(f"precision must be one of {', '.join(BYTES_PER_PARAM)}, not {self.precision!r}")
        if self.max_memory_gb is not None and not 0 < self.max_memory_gb <= 10_000:
            raise ValueError("max memory must be between 0 and 10000 GB")
        if self.min_downloads is not None and self.min_downloads < 0:
            raise ValueError("min downloads must not be negative")
        if self.language is not None and not re.fullmatch(r"[a-z]{2,3}", self.language):
            raise ValueError(f"language must be an ISO 639 code such as 'ko' or 'en', not {self.language!r}")
        for finding in self.findings:
            parse_finding(finding)
        if self.sort not in SORT_KEYS:
            raise ValueError(f"sort must be one of {', '.join(SORT_KEYS)}")
        for key, value in self.min_scores.items():
            if key not in SCORE_COLUMNS:
                raise ValueError(f"--min-score category must be one of {', '.join(SCORE_COLUMNS)}, not {key!r}")
            if not 0 <= value <= 10:  # NaN fails this too
                raise ValueError(f"--min-score {key} must be a score between 0 and 10, not {value:g}")
        for name, count in (("min params", self.min_params), ("max params", self.max_params)):
            if count is not None and count < 0:
                raise ValueError(f"{name} must not be negative")
        if self.min_params is not None and self.max_params is not None and self.min_params > self.max_params:
            raise ValueError(f"min params ({self.min_params:,}) is above max params ({self.max_params:,})")
        if self.size is not None and parse_size_label(self.size) is None:
            raise ValueError(f"size must look like 7B, 1.5B, 8x7B or 350M, not {self.size!r}")
        if self.limit < 1:
            raise ValueError("limit must be at least 1")
        for value in (self.created_after, self.created_before):
            if value is not None and not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
                raise ValueError(f"created dates must be YYYY-MM-DD, not {value!r}")
        unknown = sorted(set(self.formats) - set(WEIGHT_KINDS))
        if unknown:
            raise ValueError(f"format must be one of {', '.join(WEIGHT_KINDS)}, not {unknown[0]!r}")
        for value in (self.updated_after, self.updated_before):
            if value is not None and not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
                raise ValueError(f"updated dates must be YYYY-MM-DD, not {value!r}")
        if (self.gated_only or self.gated_manual) and self.exclude_gated:
            raise ValueError("gated only and not gated exclude each other")
        if self.commercial is not None and self.commercial not in COMMERCIAL_FILTERS:
            raise ValueError(f"commercial must be one of {', '.join(COMMERCIAL_FILTERS)}, not {self.commercial!r}")


COMMERCIAL_FILTERS = ("allowed", *licenses.COMMERCIAL_VALUES)


def commercial_expression(cols):
    """`hub.licenses.commercial_effective` in SQL, over the license id, declared class and effective class."""
    lid, declared, effective = func.lower(cols.license), cols.license_class_declared, cols.license_class
    yes, conditions, no, unknown = licenses.COMMERCIAL_VALUES
    custom_known = or_(lid.in_(licenses.COMMERCIAL_CUSTOM_IDS),
                       *(lid.like(f"{p}%") for p in licenses.COMMERCIAL_CUSTOM_PREFIXES))  # fmt: skip
    own = case(
        (declared == licenses.NON_COMMERCIAL,
         case((lid.like(f"{licenses.COMMERCIAL_NO_DERIVATIVES_PREFIX}%"), conditions), else_=no)),
        (declared == licenses.CUSTOM, case((custom_known, conditions), else_=unknown)),
        *((declared == c, licenses.commercial_of_class(c)) for c in licenses.LICENSE_CLASSES
          if c not in (licenses.NON_COMMERCIAL, licenses.CUSTOM)),
        else_=unknown,
    )  # fmt: skip
    by_base = case(*((effective == c, licenses.commercial_of_class(c)) for c in licenses.LICENSE_CLASSES),
                   else_=unknown)  # fmt: skip
    return case((and_(effective.is_not(None), declared.is_not(None), effective != declared), by_base), else_=own)


# Bytes per parameter for the weights alone at each precision, and the margin a memory cap keeps for
# activations and the KV cache: a 16 GB cap at fp16 allows 16e9 / (2 * 1.2) = 6.7B parameters.
BYTES_PER_PARAM = {"fp32": 4.0, "fp16": 2.0, "int8": 1.0, "int4": 0.5}
MEMORY_OVERHEAD = 1.2
OUTCOMES = ("pass", "fail", "not_available", "not_applicable")


def params_for_memory(gigabytes: float, precision: str = "fp16") -> int:
    """The most parameters whose weights fit `gigabytes` at `precision`, keeping `MEMORY_OVERHEAD` margin."""
    return int(gigabytes * 1e9 / (BYTES_PER_PARAM[precision] * MEMORY_OVERHEAD))


def memory_for_params(params: int, precision: str = "fp16") -> float:
    """The gigabytes `params` weights need at `precision`, with the same margin (`params_for_memory`'s inverse)."""
    return params * BYTES_PER_PARAM[precision] * MEMORY_OVERHEAD / 1e9


def parse_finding(text: str) -> tuple[str, str]:
    """'typosquatting=fail' -> ('typosquatting', 'fail'); ValueError naming what is allowed otherwise."""
    from whichmodel.scoring.method import load_method

    check, _, outcome = text.partition("=")
    checks = [c.id for c in load_method().checks]
    if check not in checks:
        raise ValueError(f"finding check must be one of {', '.join(checks)}, not {check!r}")
    if outcome not in OUTCOMES:
        raise ValueError(f"finding outcome must be one of {', '.join(OUTCOMES)}, not {outcome!r}")
    return check, outcome


class _FactsListHas(ColumnElement):
    """The model's newest facts hold, in list `key` of `models.lists`, a list (or one string) with one of `values`.

    Compiled per engine: SQLite's `json_each` (which also yields a lone string), PostgreSQL's
    `json_array_elements_text` over the same JSON text (a string is taken as a list of one).
    """

    type = Boolean()
    inherit_cache = False

    def __init__(self, lists, key: str, values: list[str]):
        self.lists, self.key, self.values = lists, key, [v.lower() for v in values]


def _list_has_parts(element: _FactsListHas, compiler, kw) -> tuple[str, str]:
    column = compiler.process(element.lists, **kw)
    values = ", ".join(compiler.process(literal(v), **kw) for v in element.values)
    return column, values


@compiles(_FactsListHas)
def _list_has_sqlite(element: _FactsListHas, compiler, **kw) -> str:
    column, values = _list_has_parts(element, compiler, kw)
    path = compiler.process(literal(f"$.{element.key}"), **kw)
    return f"EXISTS (SELECT 1 FROM json_each({column}, {path}) AS je WHERE lower(je.value) IN ({values}))"


@compiles(_FactsListHas, "postgresql")
def _list_has_postgresql(element: _FactsListHas, compiler, **kw) -> str:
    column, values = _list_has_parts(element, compiler, kw)
    # The key is a code constant (tags, language, base_model), never user input: inlined.
    node = f"(CAST({column} AS json) -> '{element.key}')"
    items = (f"CASE json_typeof({node}) WHEN 'array' THEN {node} WHEN 'string' THEN json_build_array({node}) "
             "ELSE CAST('[]' AS json) END")  # fmt: skip
    return f"EXISTS (SELECT 1 FROM json_array_elements_text({items}) AS je(value) WHERE lower(je.value) IN ({values}))"


def _facts_has(lists, key: str, values: list[str]):
    """The model's newest facts list `key` (a key of `models.lists`) holds one of `values`."""
    if key not in LIST_KEYS:
        raise ValueError(f"models.lists has no {key!r}")
    return _FactsListHas(lists, key, values)


def _language_condition(cols, code: str):
    """A model is in a language when its card data lists it (a list or one string) or the Hub tags it."""
    return or_(
        _facts_has(cols.lists, "tags", [code, f"language:{code}"]),
        _facts_has(cols.lists, "language", [code]),
    )


def _like_literal(text: str) -> str:
    """`text` for a LIKE pattern escaped with a backslash: its `%`, `_` and backslashes match themselves."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _topic_condition(cols, topics: list[str]):
    """A Hub tag among `topics`, or a topic as a word of the repo name ('coder' in 'deepseek-coder-6.7b').

    Words are split at '-' and '_' (matched literally: LIKE's own `_` is any character, which took 'med' for a
    word of 'stable-diffusion-3-medium').
    """
    name = cols.name_lower
    words = []
    for topic in topics:
        t = _like_literal(topic)
        patterns = [f"{t}{sep}%" for sep in ("-", "\\_")] + [f"%{sep}{t}" for sep in ("-", "\\_")] + [
            f"%{a}{t}{b}%" for a in ("-", "\\_") for b in ("-", "\\_")]
        words.append(or_(name == topic, *(name.like(p, escape="\\") for p in patterns)))
    return or_(_facts_has(cols.lists, "tags", topics), *words)


def _card_declared_bases(engine: Engine, name: str, limit: int) -> list[str]:
    """Base models named `name` that cards declare (`base_model:` lists several; the Hub's tags keep one).

    A scan of the newest facts' lists for the name: only reached when nothing stored or tagged matches.
    """
    found: dict[str, int] = {}
    with engine.connect() as conn:
        rows = conn.execute(
            select(M.c.lists).where(func.lower(M.c.lists).like(f'%/{_like_literal(name)}"%', escape="\\")).limit(200)
        ).scalars()  # fmt: skip
        for data in rows:
            declared = json.loads(data).get("base_model")
            for base in declared if isinstance(declared, list) else [declared]:
                if isinstance(base, str) and "/" in base and base.lower().split("/")[-1] == name:
                    found[base] = found.get(base, 0) + 1
    return sorted(found, key=lambda b: -found[b])[:limit]


def descendants(engine: Engine, base: str, relation: str | None = None, limit: int = 100_000) -> list[str]:
    """Every stored model whose lineage leads to `base` through `base_model` links (not `base` itself).

    `relation` keeps only models whose own link is of that kind (finetune, adapter, merge, quantized); the
    chain above them may be of any kind (a quantized fine-tune of a fine-tune of the base is a quantized
    descendant).
    """
    with engine.connect() as conn:
        return [r[0] for r in conn.execute(_descendants_query(base, relation, limit))]


def _descendants_query(base: str, relation: str | None, limit: int = 100_000):
    tree = select(literal(base).label("id"), literal(0).label("depth")).cte("lineage", recursive=True)
    child = M.alias("child")
    tree = tree.union(
        select(child.c.id, tree.c.depth + 1).join(tree, child.c.base_model == tree.c.id).where(tree.c.depth < 20)
    )
    query = select(tree.c.id).where(tree.c.id != base)
    if relation:
        query = query.join(M, M.c.id == tree.c.id).where(M.c.base_relation == relation)
    return query.limit(limit)


class _Unindexed:
    """`models` columns as `+column`: the same values, but no index on them is considered."""

    def __getattr__(self, name: str):
        from sqlalchemy import literal_column

        return literal_column(f"+models.{name}", type_=M.c[name].type)

    __getitem__ = __getattr__


def _size_class(label: str) -> str:
    """The size class a label stands for.

    '7B' matches models named 7B and unnamed ones whose parameters snap to 7B: both are stored as the class.
    """
    value = parse_size_label(label)
    normal = label.strip().upper().replace("X", "x")
    if "x" not in normal and value is not None:
        normal = size_class_label(value)
    return normal


class Filter(NamedTuple):
    """One active search filter: its label, its SQL condition, and its `model_facets` column and value.

    The facet is None where the facet counts cannot answer the filter: ranges, scores, a license name.
    """

    label: str
    condition: object
    facet: tuple[str, object] | None
    score: tuple[str, float] | None = None  # a minimum score: (category, bar)


# Findings whose question is about repos whatever they hold: no weight files, or an impostor's name (a squatter
# needs no weights to catch a download; README-only ones are the usual kind).
FINDINGS_OF_ANY_REPO = ("weights_present=fail", "typosquatting=fail")


def _includes_no_weights(filters: SearchFilters) -> bool:
    """Repos without weights are listed when asked for, or when the question is about them (no weight files)."""
    return filters.include_no_weights or any(f in filters.findings for f in FINDINGS_OF_ANY_REPO)


def filter_conditions(filters: SearchFilters, unindexed: bool = False) -> list[Filter]:
    """Each active filter, in the order they are applied.

    `unindexed` writes each column as SQLite's `+column`, which keeps the planner from using that column's
    index (so it walks the sort index instead).
    """
    cols = _Unindexed() if unindexed else M.c
    conds: list[Filter] = []
    if filters.task:
        conds.append(Filter(f"task={filters.task}", cols.pipeline_tag == filters.task, ("pipeline_tag", filters.task)))
    if filters.size:
        size = _size_class(filters.size)
        conds.append(Filter(f"size={filters.size}", cols.size_class == size, ("size_class", size)))
    if filters.min_params is not None:
        conds.append(Filter(f"params>={filters.min_params:,}", cols.params >= filters.min_params, None))
    if filters.max_params is not None:
        conds.append(Filter(f"params<={filters.max_params:,}", cols.params <= filters.max_params, None))
    if filters.license_class:
        conds.append(Filter(f"license_class={filters.license_class}", cols.license_class == filters.license_class,
                            ("license_class", filters.license_class)))  # fmt: skip
    if filters.license:
        conds.append(Filter(f"license={filters.license}", func.lower(cols.license) == filters.license.lower(), None))
    if filters.chat is not None:
        conds.append(Filter(f"chat={filters.chat}", cols.chat.is_(filters.chat), ("chat", filters.chat)))
    if filters.exclude_gated:
        conds.append(Filter("not gated", cols.gated == "false", ("gated", "false")))
    if filters.gated_only:
        conds.append(Filter("gated", cols.gated.in_(GATED_VALUES), None))
    if filters.gated_manual:
        conds.append(Filter("gated=manual", cols.gated == "manual", ("gated", "manual")))
    if filters.sort in SIZE_SORTS:  # a model of unknown size is neither the smallest nor the largest
        conds.append(Filter("size known", cols.params.is_not(None), None))
    if filters.sort in DATE_SORTS:
        column = DATE_SORTS[filters.sort][0]
        conds.append(Filter(f"{column} known", cols[column].is_not(None), None))
    for key, bar in filters.min_scores.items():
        conds.append(Filter(f"{key}>={bar:g}", cols[key] >= bar, None, (key, bar)))
    if filters.tasks:
        conds.append(Filter(f"task in {'|'.join(filters.tasks)}", cols.pipeline_tag.in_(filters.tasks), None))
    if filters.topics:
        conds.append(Filter(f"topic={'|'.join(filters.topics)}", _topic_condition(cols, filters.topics), None))
    if filters.base:
        label = f"{filters.relation or 'descendant'} of {filters.base}"
        ids = _descendants_query(filters.base, filters.relation)
        linked = cols.id.in_(ids)
        # A card may declare several bases where the Hub's tags keep one (a merge's parents): those count too,
        # for a relation when it is the model's own ('merges of mistralai/Mistral-7B-v0.1').
        declared = _facts_has(cols.lists, "base_model", [filters.base])
        if not filters.relation:
            linked = or_(linked, declared)
        else:
            linked = or_(linked, and_(cols.base_relation == filters.relation, declared))
        if filters.relation == "finetune":  # a LoRA the Hub lists among the base's fine-tunes (its own tag says so)
            tagged = _facts_has(cols.lists, "tags", [f"base_model:finetune:{filters.base}"])
            linked = or_(linked, and_(cols.base_relation == "adapter", tagged))
        conds.append(Filter(label, linked, None))
    if filters.language:
        conds.append(Filter(f"language={filters.language}", _language_condition(cols, filters.language), None))
    for finding in filters.findings:
        check, outcome = parse_finding(finding)
        # The outcome's character at the check's place in the newest findings (under the model's version).
        place = select(MC.c.position).where(MC.c.method_version == cols.method_version, MC.c.check == check)
        found = func.substr(cols.outcomes, place.scalar_subquery(), 1) == OUTCOME_CODES[outcome]
        conds.append(Filter(f"finding {check}={outcome}", found, None))
    if filters.min_downloads is not None:
        conds.append(Filter(f"downloads>={filters.min_downloads:,}", cols.downloads >= filters.min_downloads, None))
    if filters.author:
        conds.append(Filter(f"author={filters.author}", cols.author == filters.author, None))
    if filters.formats:
        conds.append(Filter(f"format any of {', '.join(filters.formats)}",
                            _facts_has(cols.lists, "formats", filters.formats), None))  # fmt: skip
    if filters.exclude_authors:
        conds.append(Filter(f"author not in {', '.join(filters.exclude_authors)}",
                            or_(cols.author.is_(None), cols.author.not_in(filters.exclude_authors)), None))  # fmt: skip
    if filters.authors:
        conds.append(Filter(f"author in {', '.join(filters.authors)}", cols.author.in_(filters.authors), None))
    if filters.created_after:  # created_at is an ISO timestamp: text order is time order
        conds.append(Filter(f"created>={filters.created_after}", cols.created_at >= filters.created_after, None))
    if filters.created_before:
        conds.append(Filter(f"created<{filters.created_before}", cols.created_at < filters.created_before, None))
    if filters.updated_after:  # the last commit, an ISO timestamp too
        conds.append(Filter(f"updated>={filters.updated_after}", cols.last_modified >= filters.updated_after, None))
    if filters.updated_before:
        conds.append(Filter(f"updated<{filters.updated_before}", cols.last_modified < filters.updated_before, None))
    if filters.model_ids:
        conds.append(Filter(f"one of {', '.join(filters.model_ids)}", cols.id.in_(filters.model_ids), None))
    if filters.commercial is not None:
        answer = commercial_expression(cols)
        if filters.commercial == "allowed":
            wanted = (licenses.COMMERCIAL_YES, licenses.COMMERCIAL_CONDITIONS)
            conds.append(Filter("commercial use allowed", answer.in_(wanted), None))
        else:
            conds.append(Filter(f"commercial use={filters.commercial}", answer == filters.commercial, None))
    if filters.max_memory_gb is not None:
        cap = params_for_memory(filters.max_memory_gb, filters.precision)
        label = f"fits {filters.max_memory_gb:g} GB at {filters.precision} (params<={cap:,})"
        conds.append(Filter(label, cols.params <= cap, None))
    if not _includes_no_weights(filters):
        conds.append(Filter(NO_WEIGHTS_FILTER, or_(cols.has_weights.is_(None), cols.has_weights.is_(True)),
                            ("has_weights", facets.Not((False,)))))  # fmt: skip
    return conds


NO_WEIGHTS_FILTER = "has weight files"


def count_matching(conn, active: list[Filter]) -> int:
    """Models that pass every filter: from the facet counts where they can answer, else by counting rows."""
    if conn.dialect.name in facets.DIALECTS and all(f.facet for f in active):
        return facets.count(conn, dict(f.facet for f in active))
    banded = _count_by_score_band(conn, active)
    if banded is not None:
        return banded
    return conn.execute(select(func.count()).select_from(M).where(*[f.condition for f in active])).scalar_one()


def _count_by_score_band(conn, active: list[Filter]) -> int | None:
    """One minimum score (and the weights flag), counted from the score bands (PostgreSQL); None otherwise.

    Scores at or above the bar rounded up are whole bands (`model_score_facets`); those from the bar to the
    next whole number (none for a whole bar) are counted from rows, a narrow range of the score's index.
    """
    rest = [f for f in active if f.facet is None]
    if not facets.has_score_bands(conn) or len(rest) != 1 or rest[0].score is None:
        return None
    category, bar = rest[0].score
    if not -1e6 < bar < 1e6:  # nan, inf, or far outside any score: counted from rows
        return None
    band = math.ceil(bar)
    total = facets.count_from_band(conn, dict(f.facet for f in active if f.facet), category, band)
    if total is None:
        return None
    if band > bar:
        conds = [f.condition for f in active] + [M.c[category] < band]
        total += conn.execute(select(func.count()).select_from(M).where(*conds)).scalar_one()
    return total


RESULT_COLUMNS = (
    "id", "overall", "popularity", "activity", "operational", "security", "quality", "params", "size_class",
    "license", "license_class", "pipeline_tag", "downloads", "likes", "chat", "gated", "coverage",
    "license_class_declared", "license_conflict", "params_conflict", "params_active", "adapter_params", "has_weights",
    "base_relation", "created_at", "last_modified",
    *(c for c in COVERAGE_COLUMNS.values() if c != "coverage"), *RANK_COLUMNS.values(),
)  # fmt: skip


def _order(order, sort: str) -> list:
    """A score sorts by its rank value, then its coverage, then downloads; a count sorts by itself."""
    if sort in SIZE_SORTS:
        size = order.params.desc() if sort == "largest" else order.params.asc()
        return [size.nulls_last(), order.downloads.desc().nulls_last()]
    if sort in DATE_SORTS:
        column, latest_first = DATE_SORTS[sort]
        when = order[column].desc() if latest_first else order[column].asc()
        return [when.nulls_last(), order.downloads.desc().nulls_last()]
    if sort in RANK_COLUMNS:
        keys = [order[RANK_COLUMNS[sort]], order[COVERAGE_COLUMNS[sort]], order.downloads]
    else:
        keys = [order[sort], order.downloads]
    return [k.desc().nulls_last() for k in keys]


def _ranked(conn, sort: str, plain: list, unindexed: list, matches: int, limit: int) -> list:
    """The first `limit` rows passing the conditions in the sort order, planned from how many rows match.

    `plain` and `unindexed` are the same conditions, the second with SQLite's `+column`. Many matches:
    walking the sort index and stopping at the first rows that pass reads about limit / selectivity rows,
    where a filter index reads and sorts every match (at 1M models, 41k matches: 65 ms), so the filters are
    written unindexed. Few matches: the sort is written unindexed, so a filter index finds the matches and
    they are sorted (walking the sort index for a filter almost no row passes read the whole table: 200 ms
    at 100k models).
    """
    if not matches:
        return []
    conds, order = plain, M.c
    if conn.dialect.name == "sqlite":
        conds, order = (unindexed, M.c) if matches >= SORT_SCAN_MIN_MATCHES else (plain, _Unindexed())
    query: Select = (
        select(*[M.c[c] for c in RESULT_COLUMNS])
        .where(*conds)
        .order_by(*_order(order, sort))
        .limit(limit)
    )
    return conn.execute(query).mappings().all()


def search_models(engine: Engine, filters: SearchFilters) -> dict:
    """Filtered, ranked models: `{"total_matched", "results": [...]}` (the CLI's JSON shape)."""
    filters.validate()
    active = filter_conditions(filters)
    conds = [f.condition for f in active]
    with engine.connect() as conn:
        total = count_matching(conn, active)
        unindexed = [f.condition for f in filter_conditions(filters, unindexed=True)]
        rows = _ranked(conn, filters.sort, conds, unindexed, total, filters.limit)
        left_out = 0
        if not _includes_no_weights(filters):
            left_out = count_matching(conn, [f for f in active if f.label != NO_WEIGHTS_FILTER]) - total
    results = []
    for row in rows:
        item = dict(row)
        item["model_id"] = item.pop("id")
        if item["license_class"] is not None or item["license_class_declared"] is not None:
            item["commercial_use"] = licenses.commercial_effective(
                item["license"], item["license_class_declared"], item["license_class"]
            )
        else:
            item["commercial_use"] = None
        results.append(item)
    return {"total_matched": total, "left_out_no_weights": left_out, "results": results}


def newest_observed_at(conn) -> str | None:
    """The newest date a model was observed at: what `max(models.last_seen)` is, without reading every model.

    `last_seen` has no index (each day's ingest would rewrite an entry per model): the runs say it. A finished
    run counts when it stored observations; a run that did not finish (killed, failed) may have stored some
    before it stopped, so its date counts when a model was last seen at it (rare: such a run newer than every
    finished one).
    """
    runs = conn.execute(
        select(R.c.observed_at, R.c.status, R.c.new_models + R.c.new_observations).order_by(R.c.observed_at.desc())
    ).all()
    checked: set[str] = set()
    for observed_at, status, stored in runs:
        if status == "complete":
            if stored:
                return observed_at
        elif observed_at not in checked:
            checked.add(observed_at)
            if conn.execute(select(M.c.id).where(M.c.last_seen == observed_at).limit(1)).first():
                return observed_at
    return None


def data_status(engine: Engine) -> dict:
    """What is in the database: counts, snapshots and dates, and the method versions of stored scores."""
    with engine.connect() as conn:
        models = conn.execute(select(func.count()).select_from(M)).scalar_one()
        observations = conn.execute(select(func.count()).select_from(O)).scalar_one()
        # Scored: a score card under some method version (its overall may be n/a: a partial newest record).
        scored = conn.execute(select(func.count()).select_from(M).where(M.c.method_version.is_not(None))).scalar_one()
        runs = (
            conn.execute(
                select(
                    R.c.source,
                    R.c.kind,
                    R.c.observed_at,
                    R.c.status,
                    R.c.new_models,
                    R.c.new_observations,
                    R.c.unchanged,
                    R.c.skipped,
                ).order_by(R.c.observed_at, R.c.id)
            )
            .mappings()
            .all()
        )
        versions = conn.execute(select(M.c.method_version, func.count()).group_by(M.c.method_version)).all()
    return {
        "models": models,
        "observations": observations,
        "scored_models": scored,
        "ingest_runs": [dict(r) for r in runs],
        "method_versions": {v or "unscored": n for v, n in versions},
    }


def _failing(conds: list[Filter], i: int) -> list:
    """Conditions for the rows that pass every filter but the i-th and fail that one.

    A NULL column fails a filter too (an unknown size is not 7B): `(cond) IS NULL` counts it.
    """
    cond = conds[i].condition
    return [f.condition for f in conds[:i] + conds[i + 1 :]] + [or_(~cond, cond.is_(None))]


def filter_effects(engine: Engine, filters: SearchFilters, top: int = 1) -> list[dict]:
    """For each active filter: how many more models would match without it, and the best of them.

    These are the near misses a recommendation should mention ("X scores higher but is non-commercial").
    The count is count(other filters) - count(all filters), which indexes answer; a NOT condition could not.
    """
    active = filter_conditions(filters)
    unindexed = filter_conditions(filters, unindexed=True)
    effects = []
    with engine.connect() as conn:
        total = count_matching(conn, active)
        for i, label in enumerate(f.label for f in active):
            if label == NO_WEIGHTS_FILTER:
                continue  # repos without weights are counted in search's `left_out_no_weights`, never offered
            n = count_matching(conn, active[:i] + active[i + 1 :]) - total
            best = _ranked(conn, filters.sort, _failing(active, i), _failing(unindexed, i), n, top)
            effects.append({"filter": label, "would_add": n,
                            "best": [dict(b) | {"model_id": b["id"]} for b in best]})  # fmt: skip
    return effects


@dataclass
class Resolution:
    """How a name the user typed maps to stored model ids.

    `ambiguous` is set when another candidate of a different author is about as used as the pick (at least
    half its downloads): the answer should ask which one was meant. When nothing is found (`model_id` None),
    `candidates` are suggestions ("did you mean ...?"), never an answer.
    """

    query: str
    model_id: str | None
    how: str  # exact | case | name | normalized | prefix | base (only named as a base) | unused | none
    candidates: list[str] = field(default_factory=list)
    ambiguous: bool = False


def _norm(name: str) -> str:
    """A name with case and separators dropped: 'Phi-2', 'phi2' and 'phi_2' are one key."""
    return re.sub(r"[^a-z0-9]", "", name.lower())


class _NameIndex:
    """Repo names for fuzzy matching, grouped by first character, rebuilt only when the table changes.

    Building it reads every name (0.5 s at 100k models): `warm_names` does that at start-up, and a
    rebuild swaps the new index in whole, so a search running meanwhile reads the old one.
    """

    def __init__(self):
        self.key: tuple | None = None
        self.by_initial: dict[str, list[str]] = {}
        self.ids_by_name: dict[str, list[str]] = {}
        self.ids_by_norm: dict[str, list[str]] = {}
        self.norms: list[str] = []
        self.downloads: dict[str, int] = {}  # a use score: downloads, likes, curated provider (see refresh)
        self._lock = threading.Lock()

    def refresh(self, engine: Engine) -> None:
        with self._lock, engine.connect() as conn:
            # Any new observation raises the newest observation id (the key of observations): names read again.
            key = (str(engine.url), conn.execute(select(func.count()).select_from(M)).scalar_one(),
                   conn.execute(select(func.max(O.c.id))).scalar_one())
            if key == self.key:
                return
            rows = conn.execute(
                select(M.c.name_lower, M.c.id, M.c.downloads, M.c.likes)
                .order_by(M.c.downloads.desc().nulls_last(), M.c.id)
            ).all()  # fmt: skip
            ids_by_name: dict[str, list[str]] = {}
            ids_by_norm: dict[str, list[str]] = {}
            by_initial: dict[str, list[str]] = {}
            downloads: dict[str, int] = {}
            from whichmodel.scoring.context import load_providers

            providers = {org.lower() for org in load_providers()}
            for name, model_id, count, likes in rows:
                if name not in ids_by_name:
                    by_initial.setdefault(name[:1], []).append(name)
                ids_by_name.setdefault(name, []).append(model_id)
                ids_by_norm.setdefault(_norm(name), []).append(model_id)
                # Use: downloads, with likes for repos whose 30-day count is missing (gated originals), and
                # a curated provider ahead of any re-upload of its model.
                usage = (count or 0) + 10 * (likes or 0)
                downloads[model_id] = usage * (10 if model_id.split("/")[0].lower() in providers else 1)
            self.ids_by_name, self.by_initial, self.downloads = ids_by_name, by_initial, downloads
            self.ids_by_norm, self.norms, self.key = ids_by_norm, sorted(ids_by_norm), key


_NAMES = _NameIndex()
# A bare name's extra characters a prefix match may skip: 'llama-2-7b-chat' finds 'Llama-2-7b-chat-hf'.
PREFIX_SLACK = 3
# Use (downloads + 10 x likes) under which a bare-name match counts as unused: a plain word never resolves to
# such a repo (a README-only "Deepseek" upload with one like).
UNUSED_DOWNLOADS = 100


def warm_names(engine: Engine) -> None:
    """Build the fuzzy-name index now rather than in the first question that misspells a model."""
    _NAMES.refresh(engine)


def _pick(text: str, ids: list[str], how: str, limit: int) -> Resolution:
    """The most downloaded of `ids` (they come sorted), flagged ambiguous when a rival is about as used."""
    ranked = sorted(dict.fromkeys(ids), key=lambda m: -_NAMES.downloads.get(m, 0))
    best = ranked[0]
    top = _NAMES.downloads.get(best, 0)
    rivals = [m for m in ranked[1:] if m.split("/")[0].lower() != best.split("/")[0].lower()
              and top > 0 and _NAMES.downloads.get(m, 0) * 2 >= top]  # fmt: skip
    if top < UNUSED_DOWNLOADS:
        how = "unused"
    return Resolution(text, best, how, ranked[:limit], ambiguous=bool(rivals))


# A Hub repo id: org/name, letters, digits, '-', '_' and '.', not starting with '-' or '.', no '--' or '..'.
_HUB_ID = re.compile(r"[A-Za-z0-9][\w.-]{0,95}/[A-Za-z0-9][\w.-]{0,95}")
# How close (rapidfuzz ratio, 0-100) a stored id must be to a typed org/name to be offered as "did you mean".
SUGGEST_RATIO = 80


def _is_hub_id(text: str) -> bool:
    return bool(_HUB_ID.fullmatch(text)) and ".." not in text and "--" not in text and not text.endswith((".", "-"))


def _same_numbers(a: str, b: str) -> bool:
    """Two names carry the same numbers: 'gemma-2b' is not a typo of 'gemma-7b', it is another model."""
    return re.findall(r"\d+", a) == re.findall(r"\d+", b)


def _similar_names(name: str, limit: int) -> list[str]:
    """Stored ids whose repo name is `name`, the same without separators, a short extension of it, or a typo of it."""
    from rapidfuzz import fuzz, process

    ids = list(_NAMES.ids_by_name.get(name, []))
    key = _norm(name)
    ids += _NAMES.ids_by_norm.get(key, []) if key else []
    if len(key) >= 4:
        from bisect import bisect_left

        start = bisect_left(_NAMES.norms, key)
        for norm in _NAMES.norms[start : start + 50]:
            if not norm.startswith(key):
                break
            if len(norm) - len(key) <= PREFIX_SLACK:
                ids.extend(_NAMES.ids_by_norm[norm])
    matches = process.extract(name, _NAMES.by_initial.get(name[:1], []), scorer=fuzz.ratio, score_cutoff=85,
                              limit=limit)  # fmt: skip
    ids += [m for match, _, _ in matches for m in _NAMES.ids_by_name[match]]
    return list(dict.fromkeys(ids))


def _suggest(query: str, limit: int) -> list[str]:
    """Stored ids close to a typed org/name that is not stored: suggestions to show, never an answer.

    Kept: the same repo name (or the same without separators) under another org, and ids within
    `SUGGEST_RATIO` of what was typed; the closest first, then the most used. Nothing for text that is not
    a Hub id ('nobody/../x').
    """
    from rapidfuzz import fuzz

    if not _is_hub_id(query):
        return []
    lowered = query.lower()
    name = lowered.split("/")[-1]
    same = {m for m in _NAMES.ids_by_name.get(name, []) + _NAMES.ids_by_norm.get(_norm(name), [])}
    scored = [(fuzz.ratio(lowered, m.lower()), m) for m in _similar_names(name, limit * 4)]
    kept = [(r, m) for r, m in scored if m in same or (r >= SUGGEST_RATIO and _same_numbers(name, m.split("/")[-1]))]
    kept.sort(key=lambda rm: (-rm[0], -_NAMES.downloads.get(rm[1], 0)))
    return [m for _, m in kept[:limit]]


def resolve_model(engine: Engine, text: str, limit: int = 5, bases: bool = False) -> Resolution:
    """Resolve a full id, or a bare, joined or shortened name ('phi2', 'llama-2-7b-chat'), to a stored model.

    A full id (org/name) resolves only to itself, in any case: a typo or an org that does not match is
    not found (how="none"), with close stored ids as `candidates` to suggest, never as the answer. A bare
    name resolves to the most used model of that name (the original over its re-uploads; how says which
    way it matched, so an answer can name the repo); a name whose every match is unused (0 downloads)
    resolves with how="unused", which plain words must not accept. Bare-name order: exact repo name, name
    without separators, name prefix (at most `PREFIX_SLACK` more characters), with `bases` a base model that
    is not stored itself but that stored models name as theirs (for lineage searches). A misspelt bare name
    is not found either; its near names are the `candidates`.
    """
    from rapidfuzz import fuzz, process

    query = text.strip().strip("'\"`.,?!")
    lowered = query.lower()
    if "/" in query:
        with engine.connect() as conn:
            stored = _by_id(conn, query)
            if stored:
                return Resolution(text, stored, "exact" if stored == query else "case")
            named = [] if not bases else conn.execute(
                select(M.c.base_model).where(func.lower(M.c.base_model) == lowered)
                .group_by(M.c.base_model).order_by(func.count().desc()).limit(1)
            ).scalars().all()  # fmt: skip
        if bases and not named and _is_hub_id(query):
            name = lowered.split("/")[-1]
            named = [b for b in _card_declared_bases(engine, name, limit) if b.lower() == lowered][:1]
        if named:
            return Resolution(text, named[0], "base", list(named))
        _NAMES.refresh(engine)
        return Resolution(text, None, "none", _suggest(query, limit))
    name = lowered
    if not name:
        return Resolution(text, None, "none")
    _NAMES.refresh(engine)
    if name in _NAMES.ids_by_name:
        return _pick(text, _NAMES.ids_by_name[name], "name", limit)
    key = _norm(name)
    if key and key in _NAMES.ids_by_norm:
        return _pick(text, _NAMES.ids_by_norm[key], "normalized", limit)
    if len(key) >= 4:
        from bisect import bisect_left

        start = bisect_left(_NAMES.norms, key)
        near = []
        for norm in _NAMES.norms[start : start + 50]:
            if not norm.startswith(key):
                break
            if len(norm) - len(key) <= PREFIX_SLACK:
                near.extend(_NAMES.ids_by_norm[norm])
        if near:
            return _pick(text, near, "prefix", limit)
    with engine.connect() as conn:
        named = [] if not bases else conn.execute(
            select(M.c.base_model).where(func.lower(M.c.base_model).like(f"%/{name}"), M.c.base_model.like("%/%"))
            .group_by(M.c.base_model).order_by(func.count().desc()).limit(limit)
        ).scalars().all()  # fmt: skip
    named = [b for b in named if b.lower().split("/")[-1] == name]
    if not named and bases:
        named = _card_declared_bases(engine, name, limit)
    if named:
        return Resolution(text, named[0], "base", list(named))
    matches = process.extract(name, _NAMES.by_initial.get(name[:1], []), scorer=fuzz.ratio, score_cutoff=85,
                              limit=limit)  # fmt: skip
    found = [m for match, _, _ in matches if _same_numbers(name, match) for m in _NAMES.ids_by_name[match]]
    return Resolution(text, None, "none", found[:limit])  # a typo: suggestions only
