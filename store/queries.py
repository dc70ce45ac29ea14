"""Read-side queries the CLI and the agent's tools share: score cards, search, data status.

No query here takes SQL text from a caller; filters are typed values bound as parameters.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from typing import NamedTuple

from sqlalchemy import Select, func, or_, select
from sqlalchemy.engine import Engine
from whichmodel.hub.facts import parse_size_label, size_class_label
from whichmodel.scoring.findings import Finding
from whichmodel.scoring.method import CATEGORIES
from whichmodel.store import facets
from whichmodel.store.models import SCORE_COLUMNS, FactsRow, FindingRow, IngestRun, ModelRow, Observation, ScoreRow

M = ModelRow.__table__
O = Observation.__table__  # noqa: E741
F = FactsRow.__table__
FI = FindingRow.__table__
S = ScoreRow.__table__
R = IngestRun.__table__

SORT_KEYS = SCORE_COLUMNS + ("downloads", "likes")
SORT_SCAN_MIN_MATCHES = 2000


def resolve_model_id(engine: Engine, model_id: str) -> str | None:
    """The stored id for `model_id`: exact, else case-insensitive (Hub ids are case-insensitive)."""
    with engine.connect() as conn:
        exact = conn.execute(select(M.c.id).where(M.c.id == model_id)).scalar()
        if exact:
            return exact
        return conn.execute(select(M.c.id).where(M.c.id_lower == model_id.lower()).limit(1)).scalar()


def _findings_of(conn, obs_id: int, version: str) -> list[Finding]:
    rows = conn.execute(
        select(FI).where(FI.c.observation_id == obs_id, FI.c.method_version == version).order_by(FI.c.id)
    ).mappings()
    return [
        Finding(
            check=r["check"],
            category=r["category"],
            outcome=r["outcome"],
            points=r["points"],
            max_points=r["max_points"],
            evidence=json.loads(r["evidence"]),
            reason=r["reason"],
            remediation=r["remediation"],
        )
        for r in rows
    ]


def scorecard(engine: Engine, model_id: str, observation_id: int | None = None) -> dict | None:
    """The stored score card of a model's newest (or a given) observation, in the CLI's JSON shape."""
    with engine.connect() as conn:
        model = conn.execute(select(M).where(M.c.id == model_id)).mappings().first()
        if model is None:
            return None
        obs_id = observation_id or model["latest_observation_id"]
        obs = conn.execute(select(O).where(O.c.id == obs_id)).mappings().first()
        if obs is None or obs["scored_version"] is None:
            return None
        version = obs["scored_version"]
        scores = {
            r["category"]: r
            for r in conn.execute(
                select(S).where(S.c.observation_id == obs_id, S.c.method_version == version)
            ).mappings()
        }
        findings = _findings_of(conn, obs_id, version)
        facts = json.loads(conn.execute(select(F.c.data).where(F.c.observation_id == obs_id)).scalar_one())
    overall = scores.get("overall")
    return {
        "model_id": model_id,
        "overall": overall["score"] if overall else None,
        "coverage": overall["coverage"] if overall else None,
        "method_version": version,
        "weights_hash": overall["weights_hash"] if overall else None,
        "observed_at": obs["observed_at"],
        "categories": {
            name: {
                "score": scores[name]["score"] if name in scores else None,
                "coverage": scores[name]["coverage"] if name in scores else 0.0,
                "findings": [f.to_dict() for f in findings if f.category == name],
            }
            for name in CATEGORIES
        },
        "facts": facts,
    }


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
        return _findings_of(conn, row.id, row.scored_version), row.scored_version, row.observed_at


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
    min_scores: dict[str, float] = field(default_factory=dict)
    sort: str = "overall"
    limit: int = 10

    def validate(self) -> None:
        """Reject filters that cannot be answered, with a message that says what is allowed."""
        if self.sort not in SORT_KEYS:
            raise ValueError(f"sort must be one of {', '.join(SORT_KEYS)}")
        for key in self.min_scores:
            if key not in SCORE_COLUMNS:
                raise ValueError(f"--min-score category must be one of {', '.join(SCORE_COLUMNS)}, not {key!r}")
        if self.size is not None and parse_size_label(self.size) is None:
            raise ValueError(f"size must look like 7B, 1.5B, 8x7B or 350M, not {self.size!r}")
        if self.limit < 1:
            raise ValueError("limit must be at least 1")


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
    for key, bar in filters.min_scores.items():
        conds.append(Filter(f"{key}>={bar:g}", cols[key] >= bar, None))
    return conds


def count_matching(conn, active: list[Filter]) -> int:
    """Models that pass every filter: from the facet counts where they can answer, else by counting rows."""
    if conn.dialect.name in facets.DIALECTS and all(f.facet for f in active):
        return facets.count(conn, dict(f.facet for f in active))
    return conn.execute(select(func.count()).select_from(M).where(*[f.condition for f in active])).scalar_one()


RESULT_COLUMNS = (
    "id", "overall", "popularity", "activity", "operational", "security", "quality", "params", "size_class",
    "license", "license_class", "pipeline_tag", "downloads", "likes", "chat", "gated", "coverage",
)  # fmt: skip


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
        .order_by(order[sort].desc().nulls_last(), order.downloads.desc().nulls_last())
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
    results = []
    for row in rows:
        item = dict(row)
        item["model_id"] = item.pop("id")
        results.append(item)
    return {"total_matched": total, "results": results}


def data_status(engine: Engine) -> dict:
    """What is in the database: counts, snapshots and dates, and the method versions of stored scores."""
    with engine.connect() as conn:
        models = conn.execute(select(func.count()).select_from(M)).scalar_one()
        observations = conn.execute(select(func.count()).select_from(O)).scalar_one()
        scored = conn.execute(select(func.count()).select_from(M).where(M.c.overall.is_not(None))).scalar_one()
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
        for i, (label, _, _) in enumerate(active):
            n = count_matching(conn, active[:i] + active[i + 1 :]) - total
            best = _ranked(conn, filters.sort, _failing(active, i), _failing(unindexed, i), n, top)
            effects.append({"filter": label, "would_add": n,
                            "best": [dict(b) | {"model_id": b["id"]} for b in best]})  # fmt: skip
    return effects


@dataclass
class Resolution:
    """How a name the user typed maps to stored model ids."""

    query: str
    model_id: str | None
    how: str  # exact | case | name | fuzzy | none
    candidates: list[str] = field(default_factory=list)


class _NameIndex:
    """Repo names for fuzzy matching, grouped by first character, rebuilt only when the table changes.

    Building it reads every name (0.5 s at 100k models): `warm_names` does that at start-up, and a
    rebuild swaps the new index in whole, so a search running meanwhile reads the old one.
    """

    def __init__(self):
        self.key: tuple | None = None
        self.by_initial: dict[str, list[str]] = {}
        self.ids_by_name: dict[str, list[str]] = {}
        self._lock = threading.Lock()

    def refresh(self, engine: Engine) -> None:
        with self._lock, engine.connect() as conn:
            key = (str(engine.url), *conn.execute(select(func.count(), func.max(M.c.last_seen))).one())
            if key == self.key:
                return
            rows = conn.execute(select(M.c.name_lower, M.c.id).order_by(M.c.downloads.desc().nulls_last())).all()
            ids_by_name: dict[str, list[str]] = {}
            by_initial: dict[str, list[str]] = {}
            for name, model_id in rows:
                if name not in ids_by_name:
                    by_initial.setdefault(name[:1], []).append(name)
                ids_by_name.setdefault(name, []).append(model_id)
            self.ids_by_name, self.by_initial, self.key = ids_by_name, by_initial, key


_NAMES = _NameIndex()


def warm_names(engine: Engine) -> None:
    """Build the fuzzy-name index now rather than in the first question that misspells a model."""
    _NAMES.refresh(engine)


def resolve_model(engine: Engine, text: str, limit: int = 5) -> Resolution:
    """Resolve a full id, a bare name ('phi-2'), or a name with a typo ('gemma-7bb') to a stored model.

    Bare names prefer the most downloaded model of that name (the original over its re-uploads). Every step
    but the last is an index lookup; the fuzzy step compares against names sharing the first character.
    """
    from rapidfuzz import fuzz, process

    query = text.strip().strip("'\"`.,?!")
    lowered = query.lower()
    with engine.connect() as conn:
        if "/" in query:
            exact = conn.execute(select(M.c.id).where(M.c.id == query)).scalar()
            if exact:
                return Resolution(text, exact, "exact")
            case = conn.execute(select(M.c.id).where(M.c.id_lower == lowered).limit(1)).scalar()
            if case:
                return Resolution(text, case, "case")
        name = lowered.split("/")[-1]
        by_name = conn.execute(
            select(M.c.id).where(M.c.name_lower == name).order_by(M.c.downloads.desc().nulls_last(), M.c.id)
        ).scalars().all()  # fmt: skip
    if by_name:
        return Resolution(text, by_name[0], "name", list(by_name[:limit]))
    if not name:
        return Resolution(text, None, "none")
    _NAMES.refresh(engine)
    matches = process.extract(name, _NAMES.by_initial.get(name[:1], []), scorer=fuzz.ratio, score_cutoff=85,
                              limit=limit)  # fmt: skip
    found = [m for match, _, _ in matches for m in _NAMES.ids_by_name[match]]
    if "/" in query:  # prefer candidates whose org matches what was typed
        org = lowered.split("/")[0]
        found.sort(key=lambda m: m.split("/")[0].lower() != org)
    if not found:
        return Resolution(text, None, "none")
    return Resolution(text, found[0], "fuzzy", found[:limit])
