"""The trend views: the leaderboard study's six, plus history, movers and alerts over Hub observations.

Each view is a function (engine, TrendParams) -> {"view", "params", "rows", ...} with flat rows. They run
grouped SQL over indexed, pre-bucketed columns; Python only post-processes the grouped results.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta
from functools import lru_cache
from importlib import resources

import yaml
from sqlalchemy import Float, and_, cast, func, null, or_, select, true
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Engine
from whichmodel.store.blobs import OUTCOME_CODES
from whichmodel.store.models import (
    COVERAGE_COLUMNS,
    OBSERVATION_SCORES,
    SCORE_COLUMNS,
    AssessmentRow,
    FactsRow,
    LeaderboardAuthor,
    LeaderboardAuthorDaily,
    LeaderboardDaily,
    LeaderboardRow,
    MethodCheck,
    ModelRow,
    Observation,
)
from whichmodel.store.records import findings_of
from whichmodel.trends.leaderboard import V1_BENCH, V2_BENCH, buckets
from whichmodel.trends.names import UNITS, VIEW_NAMES

L = LeaderboardRow.__table__
D = LeaderboardDaily.__table__
AD = LeaderboardAuthorDaily.__table__
AT = LeaderboardAuthor.__table__
O = Observation.__table__  # noqa: E741
A = AssessmentRow.__table__
F = FactsRow.__table__
M = ModelRow.__table__
MC = MethodCheck.__table__
SCORE_METRICS = SCORE_COLUMNS
BENCHMARKS = {"v1": V1_BENCH, "v2": V2_BENCH}
LINEAGE_RELATIONS = ("finetune", "adapter", "merge", "quantized")  # the lineage view's kinds of link


@dataclass
class TrendParams:
    """Parameters every view accepts (each uses the ones that apply to it)."""

    start: str | None = None  # inclusive, YYYY-MM-DD
    end: str | None = None  # inclusive
    unit: str = "month"
    top: int = 10
    types: list[str] = field(default_factory=list)
    archs: list[str] = field(default_factory=list)
    authors: list[str] = field(default_factory=list)
    model: str | None = None
    board: str = "v1"
    include_flagged: bool = False
    window_days: int = 30
    metric: str = "downloads"
    size: str | None = None  # leaders: a nominal size such as "7B" (parameters from 0.9x to 1.25x of it)
    benchmark: str | None = None  # benchmarks: one benchmark's score (gsm8k, mmlu ...) instead of the average

    def validate(self) -> None:
        """Reject parameters no view can answer."""
        if self.unit not in UNITS:
            raise ValueError(f"unit must be one of {', '.join(UNITS)}")
        if self.board not in ("v1", "v2"):
            raise ValueError("board must be v1 or v2")
        for value in (self.start, self.end):
            if value is not None:
                date.fromisoformat(value[:10])
        if self.top < 1 or self.window_days < 1:
            raise ValueError("top and window must be positive")
        if self.metric not in ("downloads", "likes") + SCORE_METRICS + LINEAGE_RELATIONS:
            raise ValueError("metric must be downloads, likes, a score category or (lineage) a relation")
        if self.benchmark is not None:
            known = BENCHMARKS[self.board]
            if self.benchmark not in known:
                raise ValueError(f"benchmark on the {self.board} board must be one of {', '.join(known)}")


def _period_filters(table, p: TrendParams) -> list:
    """Date range, types and families: the filters the rows table and the daily rollup share."""
    conds = []
    if p.start:
        conds.append(table.c.day >= p.start[:10])
    if p.end:
        conds.append(table.c.day <= p.end[:10])
    if p.types:
        conds.append(table.c.type.in_(p.types))
    if p.archs:
        conds.append(table.c.arch_family.in_(p.archs))
    return conds


def _where(p: TrendParams, dated: bool = True):
    best = L.c.best_all if p.include_flagged else L.c.best
    # `= true`, not `IS true`: PostgreSQL's indexes serve `=` only (SQLite's serve both).
    conds = [L.c.board == p.board, best == true(), *_period_filters(L, p)]
    if dated:
        conds.append(L.c.day.is_not(None))
    if p.authors:
        conds.append(L.c.author.in_(p.authors))
    return and_(*conds)


def _result(view: str, p: TrendParams, rows: list[dict], **extra) -> dict:
    return {"view": view, "params": asdict(p), "rows": rows, **extra}


def _r(value: float | None, digits: int = 2) -> float | None:
    return None if value is None else round(float(value), digits)


@dataclass
class _Source:
    """Where a grouped view reads from: the daily rollup, or every row when authors are filtered."""

    where: object
    day: object
    period: object
    type: object
    arch: object
    count: object
    avg: object
    best: object
    value: object  # per-row value compared with the group's best
    repo: object  # per-row repo id of that value
    scored: object  # rows that have a score


def _source(p: TrendParams) -> _Source:
    if p.authors:  # the rollup has no author dimension
        return _Source(_where(p), L.c.day, L.c[p.unit], L.c.type, L.c.arch_family, func.count(), func.avg(L.c.average),
                       func.max(L.c.average), L.c.average, L.c.repo_id, L.c.average.is_not(None))  # fmt: skip
    conds = [D.c.board == p.board, D.c.mode == ("best_all" if p.include_flagged else "best"), *_period_filters(D, p)]
    return _Source(and_(*conds), D.c.day, D.c[p.unit], D.c.type, D.c.arch_family, func.sum(D.c.models),
                   func.sum(D.c.sum_average) / func.sum(D.c.scored), func.max(D.c.max_average), D.c.max_average,
                   D.c.max_repo, D.c.scored > 0)  # fmt: skip


# ------------------------------------------------------------------------------------------- 1. types
def types_view(engine: Engine, p: TrendParams) -> dict:
    """New models per type per period."""
    src = _source(p)
    query = select(src.period, src.type, src.count).where(src.where).group_by(src.period, src.type)
    with engine.connect() as conn:
        rows = [{"period": per, "type": t, "new_models": int(n)} for per, t, n in
                conn.execute(query.order_by(src.period, src.type))]  # fmt: skip
    return _result("types", p, rows)


# ------------------------------------------------------------------------------------------- 2. authors
# Candidate authors are summed a batch at a time; past the limit, one grouped query over the rollup is cheaper.
AUTHOR_PROBE_BATCH = 64
AUTHOR_PROBE_LIMIT = 2048


def _cannot_enter(total: int, author: str, last: tuple) -> bool:
    """Whether an author with `total` models at most ranks below `last` (more models first, then by name)."""
    return total < last[1] or (total == last[1] and author > last[0])


def authors_view(engine: Engine, p: TrendParams) -> dict:
    """The top N authors by models in the range: count and average score; `timeline` has their models over time.

    Without a date range or type/family filter, the per-author totals answer directly. With one, authors are
    visited in order of their totals (`leaderboard_authors`), which bound what each can reach under any filter:
    the visit stops as soon as the next author's total cannot beat the N-th count found, so a top 10 over a
    million rows sums the per-author rollup of a few dozen authors.
    """
    mode = "best_all" if p.include_flagged else "best"
    conds = [AD.c.board == p.board, AD.c.mode == mode, *_period_filters(AD, p)]
    summary = select(
        AD.c.author,
        func.sum(AD.c.models),
        func.sum(AD.c.sum_average) / func.nullif(func.sum(AD.c.scored), 0),
        func.max(AD.c.max_average),
        func.min(AD.c.day),
        func.max(AD.c.day),
    ).where(*conds)
    found: list[tuple] = []  # (author, models, avg, best, first, last)

    def probe(conn, names: list[str]) -> None:
        found.extend(conn.execute(summary.where(AD.c.author.in_(names)).group_by(AD.c.author)).all())
        found.sort(key=lambda r: (-r[1], r[0]))
        del found[p.top :]

    with engine.connect() as conn:
        if not (p.start or p.end or p.types or p.archs):  # every dated row counts: the totals are the answer
            totals = select(
                AT.c.author,
                AT.c.models,
                AT.c.sum_average / func.nullif(AT.c.scored, 0),
                AT.c.max_average,
                AT.c.first,
                AT.c.last,
            ).where(AT.c.board == p.board, AT.c.mode == mode)
            if p.authors:
                totals = totals.where(AT.c.author.in_(p.authors))
            found = conn.execute(totals.order_by(AT.c.models.desc(), AT.c.author).limit(p.top)).all()
        elif p.authors:
            probe(conn, list(dict.fromkeys(p.authors)))
        else:
            candidates = conn.execute(
                select(AT.c.author, AT.c.models).where(AT.c.board == p.board, AT.c.mode == mode)
                .order_by(AT.c.models.desc(), AT.c.author)
            )  # fmt: skip
            probed, done = 0, False
            while not done and probed < AUTHOR_PROBE_LIMIT:
                batch = candidates.fetchmany(AUTHOR_PROBE_BATCH)
                names = []
                for author, total in batch:
                    if len(found) == p.top and _cannot_enter(total, author, found[-1]):
                        done = True  # neither this author nor any later one can enter the top N
                        break
                    names.append(author)
                if names:
                    probe(conn, names)
                probed += len(names)
                done = done or len(batch) < AUTHOR_PROBE_BATCH
            candidates.close()
            if not done:
                found = conn.execute(
                    summary.group_by(AD.c.author).order_by(func.sum(AD.c.models).desc(), AD.c.author).limit(p.top)
                ).all()
        rows = [
            {"author": a, "models": int(n), "avg_score": _r(avg), "best_score": _r(best), "first": first,
             "last": last}
            for a, n, avg, best, first, last in found
        ]  # fmt: skip
        period = AD.c[p.unit]
        timeline = conn.execute(
            select(AD.c.author, period, AD.c.type, func.sum(AD.c.models))
            .where(*conds, AD.c.author.in_([r["author"] for r in rows]))
            .group_by(AD.c.author, period, AD.c.type)
            .order_by(AD.c.author, period, AD.c.type)
        ).all()
    return _result(
        "authors", p, rows,
        timeline=[{"author": a, "period": per, "type": t, "models": int(n)} for a, per, t, n in timeline],
    )  # fmt: skip


# ------------------------------------------------------------------------------------------- 3. benchmarks
def _benchmark_value(engine: Engine, name: str):
    """One benchmark's score of a leaderboard row, read from its JSON (`LeaderboardRow.benchmarks`)."""
    if engine.dialect.name == "postgresql":
        return cast(cast(L.c.benchmarks, JSONB)[name].astext, Float)
    return cast(func.json_extract(L.c.benchmarks, f"$.{name}"), Float)


def benchmarks_view(engine: Engine, p: TrendParams) -> dict:
    """Average and best benchmark score per type per period, the best model of each, and totals per type.

    The leaderboard average, or one benchmark's score (`benchmark`: gsm8k, mmlu ...) read from the rows.
    """
    src = _source(p)
    if p.benchmark:
        value = _benchmark_value(engine, p.benchmark)
        src = _Source(_where(p), L.c.day, L.c[p.unit], L.c.type, L.c.arch_family, func.count(), func.avg(value),
                      func.max(value), value, L.c.repo_id, value.is_not(None))  # fmt: skip
    where = and_(src.where, src.scored)
    grouped = (
        select(src.period, src.type, src.avg, src.best, src.count)
        .where(where)
        .group_by(src.period, src.type)
        .order_by(src.period, src.type)
    )
    # The best model of each (period, type), ties to the first repo by id: one pass over the rows in Python.
    # (Joining the maxima back to the rows rescanned the range once per group, 230 ms at 1M rows; a window
    # function sorted every row, 100 ms; this pass takes 60.)
    best_model: dict[tuple, tuple] = {}
    with engine.connect() as conn:
        for per, t, value, repo in conn.execute(select(src.period, src.type, src.value, src.repo).where(where)):
            held = best_model.get((per, t))
            if held is None or value > held[0] or (value == held[0] and repo < held[1]):
                best_model[per, t] = (value, repo)
        rows = [
            {"period": per, "type": t, "avg_score": _r(avg), "best_score": _r(best),
             "best_model": best_model[per, t][1], "models": int(n)}
            for per, t, avg, best, n in conn.execute(grouped)
        ]  # fmt: skip
        totals = conn.execute(
            select(src.type, src.count).where(src.where).group_by(src.type).order_by(src.count.desc())
        ).all()
    return _result("benchmarks", p, rows, totals=[{"type": t, "models": int(n)} for t, n in totals])


# ------------------------------------------------------------------------------------------- 4. architectures
def architectures_view(engine: Engine, p: TrendParams) -> dict:
    """New models per architecture family per period: absolute, relative to the family's own peak, and share."""
    src = _source(p)
    query = select(src.period, src.arch, src.count).where(src.where).group_by(src.period, src.arch)
    with engine.connect() as conn:
        grouped = [(per, fam, int(n)) for per, fam, n in conn.execute(query.order_by(src.period, src.arch))]
    peak: dict[str, int] = {}
    per_period: dict[str, int] = {}
    for per, fam, n in grouped:
        peak[fam] = max(peak.get(fam, 0), n)
        per_period[per] = per_period.get(per, 0) + n
    rows = [
        {"period": per, "architecture": fam, "new_models": n, "relative_to_own_peak": _r(n / peak[fam], 3),
         "share_of_period": _r(n / per_period[per], 3)}
        for per, fam, n in grouped
    ]  # fmt: skip
    return _result("architectures", p, rows)


# ------------------------------------------------------------------------------------------- 5. base-models
@lru_cache(maxsize=1)
def _data(name: str) -> str:
    return resources.files("whichmodel.trends").joinpath("data", name).read_text()


def load_bases() -> list[dict]:
    """The base-model groups of trends/data/bases.yaml."""
    return yaml.safe_load(_data("bases.yaml"))["bases"]


@lru_cache(maxsize=1)
def other_pretrains() -> dict[str, list[str]]:
    """Per family, what in a repo id names another pretrained model of its architecture (bases.yaml)."""
    return yaml.safe_load(_data("bases.yaml")).get("other_pretrains") or {}


@lru_cache(maxsize=1)
def load_releases() -> list[dict]:
    """The big releases of trends/data/releases.yaml."""
    return yaml.safe_load(_data("releases.yaml"))["releases"]


def _base_condition(base: dict, board: str):
    low, high = base["params"]
    by_shape = and_(L.c.arch_family == base["family"], L.c.params_b >= low, L.c.params_b <= high)
    others = other_pretrains().get(base["family"], [])
    if others:  # Yi-6B shares Llama-2-7B's architecture and size, not its weights
        by_shape = and_(by_shape, *(func.lower(L.c.repo_id).not_like(f"%{name}%") for name in others))
    released = L.c.day >= str(base["released"])
    if board == "v1":  # v1 rows name no base model: family and size alone, an index seek
        return and_(released, by_shape)
    # Prefix matches as ranges, so the base_model index can serve them.
    by_name = [and_(L.c.base_model >= i, L.c.base_model < i + "\uffff") for i in base.get("ids", [])]
    return and_(released, or_(by_shape, *by_name))


@lru_cache(maxsize=4096)
def _period(day: str, unit: str) -> str:
    """The period of a day in a unit, as the leaderboard's pre-bucketed columns write it."""
    return buckets(date.fromisoformat(day))[unit]


def base_models_view(engine: Engine, p: TrendParams) -> dict:
    """For each base: the best derivative score per period, the running record, and the time to reach the peak."""
    chosen = [b for b in load_bases() if (not p.model or b["name"].lower() == p.model.lower())
              and (not p.archs or b["family"] in p.archs)]  # fmt: skip
    if p.model and not chosen:
        raise ValueError(f"unknown base {p.model!r}; known: {', '.join(b['name'] for b in load_bases())}")
    rows, peaks = [], []
    with engine.connect() as conn:
        for base in chosen:
            where = and_(_where(p), L.c.average.is_not(None), _base_condition(base, p.board))
            # Grouped by day on a covering index, then by period here; then the rows that reach a period's
            # best (a window over every derivative row took 290 ms for the bases at 1M rows).
            stats: dict[str, list] = {}  # period -> [derivatives, best score]
            by_day = conn.execute(
                select(L.c.day, func.count(), func.max(L.c.average)).where(where).group_by(L.c.day)
            ).all()
            for day, n, top in by_day:
                held = stats.setdefault(_period(day, p.unit), [0, top])
                held[0] += n
                held[1] = max(held[1], top)
            best: dict[str, tuple[str, str]] = {}  # period -> (repo, day) of its best score, first repo on a tie
            maxima = {top for _, top in stats.values()}
            # The rows that reach a period's best (each is checked against its own period's best below). SQLite
            # tests an IN list of the maxima on the covering index in one pass. PostgreSQL makes one index
            # descent per value, each reading the base's whole family/size range (55-75 ms a base at 1M rows):
            # there, one range scan from the lowest maximum up.
            at_best = L.c.average.in_(maxima)
            if conn.dialect.name == "postgresql" and maxima:
                at_best = L.c.average >= min(maxima)
            for day, score, repo in conn.execute(select(L.c.day, L.c.average, L.c.repo_id).where(where, at_best)):
                per = _period(day, p.unit)
                if score == stats[per][1] and (per not in best or repo < best[per][0]):
                    best[per] = (repo, day)
            data = [(per, stats[per][1], stats[per][0], *best[per]) for per in sorted(stats)]
            record, record_model, peak = None, None, None
            first_day = min((day for day, _, _ in by_day), default=None)
            for per, score, n, model, day in data:
                new_record = record is None or score > record
                if new_record:
                    record, record_model = score, model
                    peak = (day, score, model)
                rows.append({"base": base["name"], "period": per, "best_score": _r(score), "best_model": model,
                             "derivatives": n, "record_score": _r(record), "record_model": record_model,
                             "new_record": new_record})  # fmt: skip
            if peak:
                days = (date.fromisoformat(peak[0]) - date.fromisoformat(str(base["released"]))).days
                peaks.append({"base": base["name"], "released": str(base["released"]), "first_derivative": first_day,
                              "peak_day": peak[0], "peak_score": _r(peak[1]), "peak_model": peak[2],
                              "days_to_peak": days})  # fmt: skip
    return _result("base-models", p, rows, peaks=peaks)


# ------------------------------------------------------------------------------------------- 6. releases
def releases_view(engine: Engine, p: TrendParams) -> dict:
    """New models per architecture family in a window before and after each big release."""
    window = timedelta(days=p.window_days)
    releases = [r for r in load_releases() if not p.archs or r["family"] in p.archs]
    if p.start:
        releases = [r for r in releases if str(r["date"]) >= p.start[:10]]
    if p.end:
        releases = [r for r in releases if str(r["date"]) <= p.end[:10]]
    src = _source(TrendParams(**{**asdict(p), "start": None, "end": None, "archs": []}))
    rows = []
    with engine.connect() as conn:
        first_day = conn.execute(select(func.min(src.day)).where(src.where)).scalar()
        for release in releases:
            day = date.fromisoformat(str(release["date"]))
            before_from, after_to = (day - window).isoformat(), (day + window).isoformat()
            # A window that starts before the board's first row has no full baseline: say so, row by row.
            partial = first_day is not None and before_from < first_day[:10]
            before = (src.day < day.isoformat()).label("before")
            counts = conn.execute(
                select(src.arch, before, src.count)
                .where(src.where, src.day >= before_from, src.day < after_to)
                .group_by(src.arch, before)
            ).all()
            tally: dict[str, list[int]] = {}
            for fam, is_before, n in counts:
                tally.setdefault(fam, [0, 0])[0 if is_before else 1] += int(n)
            for fam in sorted(tally, key=lambda f: (f != release["family"], f)):
                b, a = tally[fam]
                rows.append({"release": release["name"], "release_date": day.isoformat(), "release_family":
                             release["family"], "architecture": fam, "before": b, "after": a, "change": a - b,
                             "ratio": _r(a / b, 2) if b else None,
                             "before_from": first_day[:10] if partial else before_from})  # fmt: skip
    return _result("releases", p, rows)


# ------------------------------------------------------------------------------------------- history, movers, alerts
def _assessed():
    """The join of an observation to the assessment holding its findings and coverages.

    Its own or the earlier one it shares (`Observation.assessed_by`), under the method version it was last
    scored with.
    """
    return and_(A.c.observation_id == O.c.assessed_by, A.c.method_version == O.c.scored_version)


def _hundredths(rows: list[dict], names) -> None:
    """Scores read from observation rows (stored in hundredths) as the scores they are, in place."""
    for row in rows:
        for name in names:
            if row[name] is not None:
                row[name] = row[name] / 100


# What a partial record (a listing line without `expand`: no file list, likes or gate) leaves unread.
PARTIAL_NOTE = (
    "partial record: no file list, likes or gate (a Hub listing without `expand`); its security and overall "
    "scores are not available and its other scores rest on fewer checks"
)


def history_view(engine: Engine, p: TrendParams) -> dict:
    """A scored model across Hub snapshots: downloads, likes and category scores per observation.

    Each row says how much of the method its record let the checks read (`coverage`) and whether it was a
    partial record; a note says when coverage differs between rows, since a score change between such rows is
    partly a change in what was read, not in the model.
    """
    if not p.model:
        raise ValueError("history needs --model MODEL_ID")
    query = (
        select(O.c.observed_at, O.c.downloads, O.c.likes, F.c.license, F.c.gated,
               *[O.c[OBSERVATION_SCORES[c]].label(c) for c in SCORE_METRICS], A.c.coverage,
               F.c.pickle_files.is_(None).label("partial"))
        .select_from(O)
        .outerjoin(F, F.c.id == O.c.facts_id)
        .outerjoin(A, _assessed())
        .where(O.c.model_id == p.model)
        .order_by(O.c.observed_at)
    )  # fmt: skip
    with engine.connect() as conn:
        rows = [dict(r) for r in conn.execute(query).mappings()]
        _hundredths(rows, SCORE_METRICS)
        board = (
            conn.execute(
                select(L.c.board, L.c.day, L.c.average, L.c.type).where(L.c.repo_id == p.model, L.c.best_all.is_(True))
            )
            .mappings()
            .all()
        )
    if not rows:
        raise LookupError(f"no observations of {p.model!r}")
    for row in rows:
        row["record"] = "partial" if row.pop("partial") else "full"
    notes = []
    if any(r["record"] == "partial" for r in rows):
        notes.append(PARTIAL_NOTE + ".")
    coverages = sorted({r["coverage"] for r in rows if r["coverage"] is not None})
    if len(coverages) > 1:
        notes.append(
            f"coverage differs between observations ({coverages[0]:.0%} to {coverages[-1]:.0%}): compare scores "
            "between rows of equal coverage; elsewhere a change is partly in what was read, not in the model."
        )
    return _result("history", p, rows, leaderboard=[dict(b) for b in board], notes=notes)


def movers_view(engine: Engine, p: TrendParams) -> dict:
    """Largest gains and drops of a metric between two dates, like with like.

    Each model compares its first observation on or after `start` with its last on or before `end` (by default
    its first and last) among those that have the metric: a partial record without likes, or without a security
    score, does not stand in for a full one. A score compares only observations of equal coverage for it (the
    same share of its checks read): other pairs are counted in `left_out_coverage`, not ranked, since their
    change is partly in what each record held. Models observed once in the range are not movers.
    """
    counter = p.metric in ("downloads", "likes")
    value = O.c[p.metric] if counter else O.c[OBSERVATION_SCORES[p.metric]]
    coverage = A.c[COVERAGE_COLUMNS[p.metric]] if not counter else None
    conds = [value.is_not(None)]
    if p.start:
        conds.append(O.c.observed_at >= p.start[:10])
    if p.end:
        conds.append(O.c.observed_at <= f"{p.end[:10]}T23:59:59Z")
    valid = select(O.c.model_id, O.c.observed_at, value.label("value"),
                   (coverage if coverage is not None else null()).label("coverage"))  # fmt: skip
    if not counter:
        valid = valid.join(A, _assessed())
    valid = valid.where(*conds).subquery()

    def at(first: bool):
        bound = func.min(valid.c.observed_at) if first else func.max(valid.c.observed_at)
        pick = select(valid.c.model_id, bound.label("t")).group_by(valid.c.model_id).subquery()
        query = select(valid.c.model_id, valid.c.observed_at, valid.c.value, valid.c.coverage).join(
            pick, and_(pick.c.model_id == valid.c.model_id, pick.c.t == valid.c.observed_at)
        )
        with engine.connect() as conn:
            if counter:
                return {m: (t, v, c) for m, t, v, c in conn.execute(query)}
            return {m: (t, v / 100, c) for m, t, v, c in conn.execute(query)}  # scores: stored in hundredths

    before, after = at(first=True), at(first=False)
    changes, unequal = [], 0
    for model, (t1, v1, c1) in before.items():
        t2, v2, c2 = after.get(model, (None, None, None))
        if t2 is None or t2 == t1 or v1 is None or v2 is None:
            continue
        if c1 != c2:
            unequal += 1
            continue
        changes.append({"model_id": model, "metric": p.metric, "from_date": t1, "to_date": t2,
                        "from_value": v1, "to_value": v2, "change": _r(v2 - v1, 3)})  # fmt: skip
    gains = sorted((c for c in changes if c["change"] > 0), key=lambda c: (-c["change"], c["model_id"]))[: p.top]
    drops = sorted((c for c in changes if c["change"] < 0), key=lambda c: (c["change"], c["model_id"]))[: p.top]
    rows = [{"direction": "gain", **c} for c in gains] + [{"direction": "drop", **c} for c in drops]
    notes = []
    if unequal:
        notes.append(
            f"{unequal} model(s) left out: their first and last observations read different shares of the "
            f"{p.metric} checks (say, a card or file list missing from one snapshot), so the change is not like "
            "with like."
        )
    return _result("movers", p, rows, compared=len(changes), left_out_coverage=unequal, notes=notes)


def _known_lag(column, known):
    """Each observation where `known` holds, with the value of `column` at the model's previous such observation.

    A partial record (a snapshot line without a file list, gate or license) sits out of the sequence, so it
    neither raises an alert nor hides the change between the full observations on either side of it.
    """
    window = {"partition_by": O.c.model_id, "order_by": O.c.observed_at}
    return (
        select(O.c.model_id, O.c.observed_at, column.label("value"),
               func.lag(column).over(**window).label("prev_value"),
               func.lag(O.c.observed_at).over(**window).label("prev_observed_at"))
        .select_from(O)
        .join(F, F.c.id == O.c.facts_id)
        .where(known)
    )  # fmt: skip


def alerts_view(engine: Engine, p: TrendParams) -> dict:
    """Observations that add unsafe files, change or lose their license, become gated, or newly fail a file scan.

    Each field is compared with the model's previous observation that has it: pickle counts between
    observations whose file list is known, gates between observations that report one, and licenses between
    observations that name one or whose full record (file list known) names none.
    """
    sequences = {
        "pickle_files": _known_lag(F.c.pickle_files, F.c.pickle_files.is_not(None)),
        "license": _known_lag(F.c.license, or_(F.c.license.is_not(None), F.c.pickle_files.is_not(None))),
        "gated": _known_lag(F.c.gated, F.c.gated.is_not(None)),
    }
    rows = []
    with engine.connect() as conn:
        for field, inner in sequences.items():
            if p.model:
                inner = inner.where(O.c.model_id == p.model)
            seq = inner.subquery()
            query = select(seq).where(seq.c.prev_observed_at.is_not(None))
            if p.start:
                query = query.where(seq.c.observed_at >= p.start[:10])
            if p.end:
                query = query.where(seq.c.observed_at <= f"{p.end[:10]}T23:59:59Z")
            for r in conn.execute(query).mappings():
                before, after = r["prev_value"], r["value"]
                base = {"model_id": r["model_id"], "observed_at": r["observed_at"], "previous": r["prev_observed_at"]}
                if field == "pickle_files" and after > before:
                    rows.append({**base, "alert": "unsafe_files_added", "before": before, "after": after})
                elif field == "license" and before and after != before:
                    kind = "license_lost" if not after else "license_changed"
                    rows.append({**base, "alert": kind, "before": before, "after": after})
                elif field == "gated" and before == "false" and after in ("auto", "manual", "true"):
                    rows.append({**base, "alert": "became_gated", "before": before, "after": after})
    rows += _scan_alerts(engine, p)
    # Per observation, alerts come in the order the kinds are listed (the order before the per-field split).
    order = ("unsafe_files_added", "license_changed", "license_lost", "became_gated", "scan_flagged")
    rows.sort(key=lambda row: (row["observed_at"], row["model_id"], order.index(row["alert"])))
    return _result("alerts", p, rows)


def _scan_alerts(engine: Engine, p: TrendParams) -> list[dict]:
    """A file-scan check that fails where the model's previous conclusive verdict from it was a pass.

    Only conclusive findings are compared, so an observation without a scan (snapshot data) between two
    scans neither raises nor hides an alert.
    """
    # Here, not at the top: the checks module loads the Hub client, which no other view needs.
    from whichmodel.scoring.checks import SCAN_CHECKS

    window = {"partition_by": O.c.model_id, "order_by": O.c.observed_at}
    rows = []
    with engine.connect() as conn:
        for check in SCAN_CHECKS:
            # The check's outcome character in each observation's outcomes (its place under that version).
            place = (select(MC.c.position).where(MC.c.method_version == A.c.method_version, MC.c.check == check)
                     .scalar_subquery())  # fmt: skip
            outcome = func.substr(A.c.outcomes, place, 1)
            inner = (
                select(O.c.model_id, O.c.observed_at, O.c.id.label("observation_id"), A.c.method_version,
                       outcome.label("outcome"),
                       func.lag(outcome).over(**window).label("prev_outcome"),
                       func.lag(O.c.observed_at).over(**window).label("prev_observed_at"))
                .join(O, _assessed())
                .where(outcome.in_((OUTCOME_CODES["pass"], OUTCOME_CODES["fail"])))
            )  # fmt: skip
            if p.model:
                inner = inner.where(O.c.model_id == p.model)
            seq = inner.subquery()
            failed, passed = OUTCOME_CODES["fail"], OUTCOME_CODES["pass"]
            query = select(seq).where(seq.c.outcome == failed, seq.c.prev_outcome == passed)
            if p.start:
                query = query.where(seq.c.observed_at >= p.start[:10])
            if p.end:
                query = query.where(seq.c.observed_at <= f"{p.end[:10]}T23:59:59Z")
            for r in conn.execute(query).mappings():
                finding = next(f for f in findings_of(conn, r["observation_id"], r["method_version"])
                               if f.check == check)  # fmt: skip
                flagged = next((e["value"] for e in finding.evidence if e.get("field") == "flagged"), None)
                after = "; ".join(map(str, flagged or [f"{check} failed"]))
                rows.append({"model_id": r["model_id"], "observed_at": r["observed_at"],
                             "previous": r["prev_observed_at"], "alert": "scan_flagged",
                             "before": f"{check} passed", "after": after})  # fmt: skip
    return rows


SIZE_BAND = (0.9, 1.25)  # a nominal "7B" spans 6.3B to 8.75B parameters (Gemma 7B has 8.5B)


def leaders_view(engine: Engine, p: TrendParams) -> dict:
    """The best-scoring leaderboard rows of a board (each repo's best unflagged submission), by average score.

    Optionally of one nominal size, types, families and period.
    """
    from whichmodel.hub.facts import parse_size_label

    conds = [_where(p), L.c.average.is_not(None)]
    if p.types:
        conds.append(L.c.type.in_(p.types))
    if p.archs:
        conds.append(L.c.arch_family.in_(p.archs))
    if p.size:
        nominal = parse_size_label(p.size)
        if nominal is None:
            raise ValueError(f"size must look like 7B or 350M, not {p.size!r}")
        conds.append(L.c.params_b.between(nominal * SIZE_BAND[0], nominal * SIZE_BAND[1]))
    query = (
        select(L.c.repo_id, L.c.average, L.c.params_b, L.c.type, L.c.arch_family, L.c.day)
        .where(and_(*conds))
        .order_by(L.c.average.desc(), L.c.repo_id)
        .limit(p.top * 5 if p.size else p.top)  # room for the rows whose size is in doubt (below)
    )
    rows, doubted = [], []
    with engine.connect() as conn:
        for r in conn.execute(query):
            doubt = _size_doubt(r.repo_id, nominal) if p.size else None
            if doubt:
                doubted.append({"model_id": r.repo_id, "params_b": r.params_b, "reason": doubt})
                continue
            if len(rows) < p.top:
                rows.append({"model_id": r.repo_id, "average": _r(r.average), "params_b": r.params_b,
                             "type": r.type, "architecture": r.arch_family, "day": r.day})  # fmt: skip
    return _result("leaders", p, rows, size_doubted=doubted[:5])


# Repos whose weights are packed (4-bit, GPTQ ...): the board counts packed tensors, not the model's parameters
# (phi-4 in bitsandbytes 4-bit is listed at 8B).
_PACKED = re.compile(r"bnb|[-_.]?[48][-_]?bit|gptq|awq|nf4|int[48]|exl2|hqq", re.I)


def _size_doubt(repo_id: str, nominal: float) -> str | None:
    """Why a leaderboard row's parameter count may not be the model's size, or None.

    Its name states another size ("...-14B" counted as 7.6B), or its weights are packed. A size-filtered
    ranking leaves such rows out and says so: the board's count alone is what put them in the size.
    """
    from whichmodel.hub.facts import name_sizes

    name = repo_id.split("/")[-1]
    said = [s.total or s.active for s in name_sizes(name) if s.total or s.active]
    if said and not any(nominal * SIZE_BAND[0] <= v <= nominal * SIZE_BAND[1] for v in said):
        return f"its name says {said[0]:g}B"
    if _PACKED.search(name):
        return "its weights are packed (quantized): the board's count is not its size"
    return None


def lineage_view(engine: Engine, p: TrendParams) -> dict:
    """The base models with the most stored models deriving directly from them, by kind of link.

    Counted over the store's models (their newest facts: the declared base, the Hub's tags before a card's),
    not the leaderboard: `derivatives` all of them, then per relation, and how many hold weights. `metric`
    may name a relation to rank by (finetune, adapter, merge, quantized); the total otherwise.
    """
    query = (
        select(M.c.base_model, M.c.base_relation, M.c.has_weights.is_not(False).label("usable"), func.count())
        .where(M.c.base_model.is_not(None))
        .group_by(M.c.base_model, M.c.base_relation, M.c.has_weights.is_not(False))
    )
    bases: dict[str, dict] = {}
    with engine.connect() as conn:
        for base, relation, usable, n in conn.execute(query):
            row = bases.setdefault(base, {"base": base, "derivatives": 0, "with_weights": 0,
                                          **dict.fromkeys(LINEAGE_RELATIONS, 0)})  # fmt: skip
            row["derivatives"] += n
            row["with_weights"] += n if usable else 0
            if relation in LINEAGE_RELATIONS:
                row[relation] += n
    key = p.metric if p.metric in LINEAGE_RELATIONS else "derivatives"
    rows = sorted(bases.values(), key=lambda r: (-r[key], -r["derivatives"], r["base"]))[: p.top]
    return _result("lineage", p, rows, ranked_by=key)


VIEWS: dict[str, Callable[[Engine, TrendParams], dict]] = {
    "types": types_view,
    "authors": authors_view,
    "benchmarks": benchmarks_view,
    "architectures": architectures_view,
    "base-models": base_models_view,
    "releases": releases_view,
    "history": history_view,
    "movers": movers_view,
    "alerts": alerts_view,
    "leaders": leaders_view,
    "lineage": lineage_view,
}


assert tuple(VIEWS) == VIEW_NAMES, "trends.names.VIEW_NAMES lists the views in order"


def run_view(engine: Engine, view: str, params: TrendParams) -> dict:
    """Run a view by name."""
    if view not in VIEWS:
        raise ValueError(f"unknown view {view!r}; one of {', '.join(VIEWS)}")
    params.validate()
    return VIEWS[view](engine, params)
