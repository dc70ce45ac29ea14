"""Finding models: filters -> ranked results and what each filter ruled out; card search with citations."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING, Any

from whichmodel.usecases.base import SCORE_NAMES, BadRequest, NoData, Services

if TYPE_CHECKING:
    from whichmodel.store.keywords import CardFilters
    from whichmodel.store.queries import SearchFilters

# The columns of a result row in the CLI's `search --json` (a contract: extend, never rename).
ROW_KEYS = ("model_id", *SCORE_NAMES, "params", "size_class", "license", "license_class", "pipeline_tag", "downloads",
            "likes", "license_class_declared", "license_conflict", "params_conflict", "has_weights",
            "commercial_use", "base_relation", "created_at", "last_modified")  # fmt: skip
# Filters given in parameters, shown in billions (the unit people ask in).
_BILLIONS = {"min_params": "min_params_b", "max_params": "max_params_b"}
_NOT_FILTERS = ("sort", "limit")


def applied_filters(filters: SearchFilters) -> dict[str, Any]:
    """The filters that are set (differ from their default), in field order; parameter counts in billions."""
    applied = {}
    for f in fields(filters):
        if f.name in _NOT_FILTERS:
            continue
        value = getattr(filters, f.name)
        default = f.default_factory() if callable(f.default_factory) else f.default
        if value == default:
            continue
        if f.name in _BILLIONS:
            applied[_BILLIONS[f.name]] = value / 1e9
        else:
            applied[f.name] = value
    return applied


@dataclass
class SearchResult:
    """How many models pass the filters, and the first rows in rank order."""

    total_matched: int
    rows: list[dict[str, Any]]
    left_out_no_weights: int = 0  # README/config-only repos the filters matched but search left out

    @property
    def model_ids(self) -> list[str]:
        """The ranked ids."""
        return [r["model_id"] for r in self.rows]

    def to_dict(self) -> dict[str, Any]:
        """The CLI's `search --json` shape: each row with every score's coverage and the rank value it sorted by."""
        from whichmodel.store.models import COVERAGE_COLUMNS, RANK_COLUMNS, SCORE_COLUMNS

        rows = [{k: r.get(k) for k in ROW_KEYS}
                | {"coverage": {c: r.get(COVERAGE_COLUMNS[c]) for c in SCORE_COLUMNS},
                   "rank": {c: r.get(RANK_COLUMNS[c]) for c in SCORE_COLUMNS}}
                for r in self.rows]  # fmt: skip
        return {"total_matched": self.total_matched, "left_out_no_weights": self.left_out_no_weights, "results": rows}


@dataclass(frozen=True)
class FilterEffect:
    """What one filter ruled out: how many more models match without it, and the best of them."""

    filter: str
    would_add: int
    best: list[dict[str, Any]]

    def to_dict(self) -> dict[str, Any]:
        """The effect as JSON."""
        return {"filter": self.filter, "would_add": self.would_add, "best": list(self.best)}


@dataclass
class Recommendation(SearchResult):
    """A search with its filters as asked, the ranking, and per filter the near misses it removed."""

    filters: dict[str, Any] = field(default_factory=dict)
    sort: str = "overall"
    removed_by: list[FilterEffect] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """The recommendation as JSON (the search tool's artifact)."""
        return {"filters": self.filters, "sort": self.sort, **super().to_dict(),
                "removed_by": [e.to_dict() for e in self.removed_by]}  # fmt: skip


def search(services: Services, filters: SearchFilters) -> SearchResult:
    """Filtered, ranked models (`BadRequest` for a filter no query can answer)."""
    from whichmodel.store.queries import search_models

    try:
        found = search_models(services.engine, filters)
    except ValueError as err:
        raise BadRequest(str(err)) from err
    return SearchResult(found["total_matched"], found["results"], found.get("left_out_no_weights") or 0)


def _empty(services: Services) -> bool:
    from sqlalchemy import select
    from whichmodel.store.models import ModelRow

    with services.engine.connect() as conn:  # one row read, not a count (5 ms at 1M models, on every search)
        return conn.execute(select(ModelRow.id).limit(1)).first() is None


def recommend(services: Services, filters: SearchFilters) -> Recommendation:
    """`search`, plus what each filter ruled out (the near misses a recommendation should mention)."""
    from whichmodel.store.queries import filter_effects

    if _empty(services):
        raise NoData("The database is empty: run `whichmodel ingest --snapshot DIR` (or --hub) first.")
    found = search(services, filters)
    effects = [FilterEffect(e["filter"], e["would_add"], e["best"]) for e in filter_effects(services.engine, filters)]
    return Recommendation(found.total_matched, found.rows, found.left_out_no_weights, applied_filters(filters),
                          filters.sort, effects)  # fmt: skip


@dataclass
class CardSearch:
    """Card sections matching a query; each cites the model and the section. Snippets are the authors' text."""

    query: str
    results: list[dict[str, Any]]
    index_empty: bool = False  # no card is indexed at all (said apart from "nothing matched")

    @property
    def model_ids(self) -> list[str]:
        """The cited models, each once, in rank order."""
        return list(dict.fromkeys(r["model_id"] for r in self.results))

    def to_dict(self) -> dict[str, Any]:
        """The CLI's `cards search --json` shape."""
        return {"results": list(self.results)}


def search_cards(services: Services, query: str, filters: CardFilters | None = None, k: int = 5) -> CardSearch:
    """Vector and keyword search over the card index (`NoData` when the embedding model is not installed)."""
    from whichmodel.cards.embedding import EmbeddingUnavailable

    if not query.strip():
        raise BadRequest("Say what to look for in the model cards.")
    try:
        index = services.cards
        results = index.search(query, filters, k=k)
        return CardSearch(query, results, index_empty=not results and index.is_empty())
    except EmbeddingUnavailable as err:
        raise NoData(str(err)) from err
