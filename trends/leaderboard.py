"""Load Open LLM Leaderboard CSV exports into the `leaderboard` table, normalized.

Four layouts are recognised from their headers: v1 final (with dates), the trend study's own v1 scrape
(`;`-separated, no dates: joined to v1 rows by repo id for dates), the older v2 snapshots, and v2 final.
Known traps handled here: `params_b` of 0 means unknown; in v1 and the older v2 layouts the `flagged`,
`merged` and `moe` booleans are inverted (the older v2 merge column is honestly named `not_merged`);
dates come in mixed formats; a repo appears several times (the best-performing row stands for it).
"""

from __future__ import annotations

import csv
import hashlib
import json
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.engine import Engine
from whichmodel.store.models import LeaderboardAuthor, LeaderboardAuthorDaily, LeaderboardDaily, LeaderboardRow
from whichmodel.store.rollup import refresh_rollup
from whichmodel.trends.names import FAMILIES, TYPES  # noqa: F401 (re-exported: the loaders and views name them)

L = LeaderboardRow.__table__
D = LeaderboardDaily.__table__
AD = LeaderboardAuthorDaily.__table__
AT = LeaderboardAuthor.__table__


_TYPE_BY_EMOJI = {"🟢": "pretrained", "🟩": "continuously_pretrained", "🔶": "fine_tuned", "💬": "chat", "🤝": "merge"}
_TYPE_BY_WORD = (  # checked in order against the lower-cased label with spaces and dashes removed
    ("continuouslypretrained", "continuously_pretrained"),
    ("pretrained", "pretrained"),
    ("finetuned", "fine_tuned"),
    ("chat", "chat"),
    ("merge", "merge"),
)
# Architecture class prefix -> family, in match order (GPTNeoX before the GPT-Neo it is not).
_FAMILY_BY_PREFIX = (
    ("Llama", "Llama"),
    ("Mixtral", "Mixtral"),
    ("Mistral", "Mistral"),
    ("Qwen2", "Qwen2"),
    ("Gemma", "Gemma"),
    ("Phi", "Phi"),
    ("OPT", "OPT"),
    ("GPT2", "GPT2"),
    ("GPTNeoX", "GPT-NeoX"),
)


def normalize_type(label: str | None) -> str:
    """Model type from an emoji, a label ('💬 chat models (RLHF, ...)') or a slug ('chatmodels')."""
    text = (label or "").strip()
    for emoji, kind in _TYPE_BY_EMOJI.items():
        if text.startswith(emoji):
            return kind
    squashed = re.sub(r"[\s\-_]", "", text.lower())
    for word, kind in _TYPE_BY_WORD:
        if word in squashed:
            return kind
    return "unknown"


def arch_family(arch_class: str | None) -> str:
    """Architecture family of a transformers class name ('MistralForCausalLM' -> 'Mistral')."""
    name = (arch_class or "").strip()
    for prefix, family in _FAMILY_BY_PREFIX:
        if name.startswith(prefix):
            return family
    return "Other"


def parse_bool(text: str | None) -> bool | None:
    """'TRUE'/'True'/'true'/'1' and their false forms; anything else is unknown."""
    value = (text or "").strip().lower()
    if value in ("true", "1", "yes"):
        return True
    if value in ("false", "0", "no"):
        return False
    return None


def parse_day(text: str | None) -> date | None:
    """Dates in the exports' mixed forms: '2024-05-05T12:22:44Z', '...T12:22:44.123456', '2024-05-05'."""
    value = (text or "").strip()
    if not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).date()
    except ValueError:
        match = re.match(r"(\d{4})-(\d{2})-(\d{2})", value)
        return date(int(match[1]), int(match[2]), int(match[3])) if match else None


def buckets(day: date | None) -> dict[str, str | None]:
    """The day, the Monday of its ISO week, and its month: the units trend views group by."""
    if day is None:
        return {"day": None, "week": None, "month": None}
    monday = day - timedelta(days=day.weekday())
    return {"day": day.isoformat(), "week": monday.isoformat(), "month": day.strftime("%Y-%m")}


def _float(text: str | None) -> float | None:
    try:
        return float(text) if text not in (None, "", "None", "nan") else None
    except ValueError:
        return None


def _params(text: str | None) -> float | None:
    value = _float(text)
    return value if value and value != -1 else None  # 0 and -1 (some exports' marker) mean unknown, never zero


def _not(value: bool | None) -> bool | None:
    return None if value is None else not value


@dataclass
class LoadSummary:
    """What loading one file did."""

    source: str
    layout: str
    rows: int = 0
    inserted: int = 0
    unchanged: int = 0
    skipped: list[dict] = field(default_factory=list)  # bad rows: the exit code says some were skipped
    ignored: list[dict] = field(default_factory=list)  # rows that are not models (the exports' baseline)


IGNORED_BASELINE = "leaderboard baseline row, not a model"


def _layout(header: list[str]) -> str:
    names = set(header)
    if "model_name_for_query" in names:
        return "v1-scrape"
    if "gsm8k" in names and "date" in names:
        return "v1"
    if "model_average_score" in names:
        return "v2-final"
    if "ifeval" in names and "not_merged" in names:
        return "v2-old"
    raise ValueError(f"unrecognised leaderboard layout (columns: {', '.join(header[:8])} ...)")


V1_BENCH = ("arc", "hellaswag", "mmlu", "truthfulqa", "winogrande", "gsm8k")
V2_BENCH = ("ifeval", "bbh", "math_lvl_5", "gpqa", "musr", "mmlupro")


def _normalize(layout: str, row: dict[str, str]) -> dict:
    """One CSV row -> column values (without key, source, line, buckets)."""
    if layout == "v1":
        repo = row["fullname"] or row["model"]
        return dict(board="v1", repo_id=repo, type=normalize_type(row["type"] or row["t"]),
                    arch_class=row["architecture"], params_b=_params(row["params_b"]), day=parse_day(row["date"]),
                    average=_float(row["average"]), benchmarks={b: _float(row[b]) for b in V1_BENCH},
                    license=row["hub_license"] or None, likes=_int(row["hub_hearts"]),
                    merged=_not(parse_bool(row["merged"])), moe=_not(parse_bool(row["moe"])),
                    flagged=_not(parse_bool(row["flagged"])), precision=row["precision"], sha=row["model_sha"],
                    base_model=None)  # fmt: skip
    if layout == "v1-scrape":
        repo = row["model_name_for_query"]
        names = {"arc": "ARC", "hellaswag": "HellaSwag", "mmlu": "MMLU", "truthfulqa": "TruthfulQA",
                 "winogrande": "Winogrande", "gsm8k": "GSM8K"}  # fmt: skip
        return dict(board="v1", repo_id=repo, type=normalize_type(row["TypeString"] or row["Type"]),
                    arch_class=row["Architecture"], params_b=_params(row["#Params (B)"]), day=None,
                    average=_float(row["Average ⬆️"]), benchmarks={b: _float(row[c]) for b, c in names.items()},
                    license=row["Hub License"] or None, likes=_int(row["Hub ❤️"]),
                    merged=_not(parse_bool(row["Merged"])), moe=_not(parse_bool(row["MoE"])),
                    flagged=_not(parse_bool(row["Flagged"])), precision=row["Precision"], sha=row["Model sha"],
                    base_model=None)  # fmt: skip
    if layout == "v2-old":
        return dict(board="v2", repo_id=row["fullname"] or row["model"], type=normalize_type(row["type"] or row["t"]),
                    arch_class=row["architecture"], params_b=_params(row["params_b"]),
                    day=parse_day(row["submission_date"]) or parse_day(row["upload_to_hub_date"]),
                    average=_float(row["average"]), benchmarks={b: _float(row[b]) for b in V2_BENCH},
                    license=row["hub_license"] or None, likes=_int(row["hub_hearts"]),
                    merged=_not(parse_bool(row["not_merged"])), moe=_not(parse_bool(row["moe"])),
                    flagged=_not(parse_bool(row["flagged"])), precision=row["precision"], sha=row["model_sha"],
                    base_model=_base(row.get("base_model")))  # fmt: skip
    names = {"ifeval": "ifeval", "bbh": "bbh", "math_lvl_5": "math", "gpqa": "gpqa", "musr": "musr",
             "mmlupro": "mmlu_pro"}  # fmt: skip
    return dict(board="v2", repo_id=row["model_name"], type=normalize_type(row["model_type"]),
                arch_class=row["model_architecture"], params_b=_params(row["metadata_params_billions"]),
                day=parse_day(row["metadata_submission_date"]) or parse_day(row["metadata_upload_date"]),
                average=_float(row["model_average_score"]),
                benchmarks={b: _float(row[f"evaluations_{c}_normalized_score"]) for b, c in names.items()},
                license=row["metadata_hub_license"] or None, likes=_int(row["metadata_hub_hearts"]),
                merged=parse_bool(row["features_is_merged"]), moe=parse_bool(row["features_is_moe"]),
                flagged=bool(parse_bool(row["features_is_flagged"])), precision=row["model_precision"],
                sha=row["model_sha"], base_model=_base(row.get("metadata_base_model")))  # fmt: skip


def author_of(repo_id: str) -> str:
    """The org of a repo id; legacy ids without one (`gpt2`) belong to no org."""
    return repo_id.split("/", 1)[0] if "/" in repo_id else "(no org)"


def _int(text: str | None) -> int | None:
    value = _float(text)
    return int(value) if value is not None and math.isfinite(value) else None


def _base(text: str | None) -> str | None:
    value = (text or "").strip()
    value = re.sub(r"\s*\((Merge|Adapter|Finetune|Quantized)\)$", "", value, flags=re.I)
    return value or None


def read_rows(path: Path) -> tuple[str, Iterator[tuple[int, dict | None, str | None]]]:
    """The layout of a CSV file and its rows as (line, normalized values or None, error).

    A bad row is one error, never the end of the file: bytes that are not UTF-8 (read as surrogate escapes,
    then refused per row), a field over `csv.field_size_limit()` (131,072 characters), a non-finite
    average or benchmark, a negative parameter or like count.
    """
    with path.open(encoding="utf-8", errors="surrogateescape", newline="") as handle:
        first = handle.readline(MAX_HEADER_CHARS)
    if _not_utf8(first):
        raise ValueError("the header line is not UTF-8")
    delimiter = ";" if first.count(";") > first.count(",") else ","
    layout = _layout(next(csv.reader([first], delimiter=delimiter)))

    def rows() -> Iterator[tuple[int, dict | None, str | None]]:
        with path.open(encoding="utf-8", errors="surrogateescape", newline="") as handle:
            reader = csv.DictReader(handle, delimiter=delimiter)
            number = 1
            while True:
                number += 1
                try:
                    raw = next(reader)
                except StopIteration:
                    return
                except csv.Error as err:  # a field over the size limit: the reader resumes on the next line
                    yield number, None, f"unreadable CSV row ending on line {reader.line_num}: {err}"
                    continue
                bad = next((k for k, v in raw.items() if isinstance(v, str) and _not_utf8(v)), None)
                if bad is not None:
                    yield number, None, f"field '{bad}' is not UTF-8 (row ending on line {reader.line_num})"
                    continue
                try:
                    values = _normalize(layout, raw)
                except (KeyError, TypeError, AttributeError) as err:
                    yield number, None, f"{err.__class__.__name__}: {err}"
                    continue
                repo = (values["repo_id"] or "").strip()
                if not repo or any(c.isspace() for c in repo):
                    yield number, None, f"no usable repo id ({values['repo_id']!r})"
                    continue
                if repo == "baseline":  # the exports' reference row: not a model, and not an error
                    yield number, None, IGNORED_BASELINE
                    continue
                problem = _value_problem(values)
                if problem:
                    yield number, None, problem
                    continue
                values["repo_id"] = repo
                values["_raw"] = "\x1f".join(f"{k}={v}" for k, v in raw.items())
                yield number, values, None

    return layout, rows()


MAX_HEADER_CHARS = 64 * 1024


def _not_utf8(text: str) -> bool:
    """Whether text read with `surrogateescape` held bytes that are not UTF-8."""
    return any("\udc80" <= c <= "\udcff" for c in text)


def _value_problem(values: dict) -> str | None:
    """Why a normalized row cannot stand in the trends (a score that is not finite, a negative count), or None."""
    scores = {"average": values["average"], **values["benchmarks"]}
    for name, value in scores.items():
        if value is not None and not math.isfinite(value):
            return f"{name} is not a finite number ({value})"
    if values["params_b"] is not None and not math.isfinite(values["params_b"]):
        return f"parameter count is not a finite number ({values['params_b']})"
    if values["params_b"] is not None and values["params_b"] < 0:
        return f"negative parameter count ({values['params_b']})"
    if values["likes"] is not None and values["likes"] < 0:
        return f"negative likes ({values['likes']})"
    return None


def load_file(engine: Engine, path: Path) -> LoadSummary:
    """Insert one CSV file's rows (those not already stored), then refresh which row stands for each repo."""
    layout, rows = read_rows(path)
    summary = LoadSummary(source=path.name, layout=layout)
    dates: dict[str, str] = {}
    if layout == "v1-scrape":  # no dates of its own: borrow the v1 rows' dates by repo id
        with engine.connect() as conn:
            for repo, day in conn.execute(select(L.c.repo_id, L.c.day).where(L.c.board == "v1", L.c.day.is_not(None))):
                if repo not in dates or day < dates[repo]:
                    dates[repo] = day
    try:
        _store_rows(engine, path, rows, summary, dates)
    finally:  # even after a failure, the rows that were committed are ranked: no stale best-row flags
        refresh_best(engine)
    return summary


def _store_rows(engine: Engine, path: Path, rows, summary: LoadSummary, dates: dict[str, str]) -> None:
    batch: list[dict] = []

    def flush() -> None:
        if not batch:
            return
        with engine.begin() as conn:
            keys = [b["key"] for b in batch]
            stored = set(conn.execute(select(L.c.key).where(L.c.key.in_(keys))).scalars())
            fresh = [b for b in batch if b["key"] not in stored]
            if fresh:
                conn.execute(insert(L), fresh)
            summary.inserted += len(fresh)
            summary.unchanged += len(batch) - len(fresh)
        batch.clear()

    for line, values, error in rows:
        summary.rows += 1
        if values is None:
            (summary.ignored if error == IGNORED_BASELINE else summary.skipped).append({"line": line, "reason": error})
            continue
        raw = values.pop("_raw")
        day = values.pop("day")
        if day is None and values["repo_id"] in dates:
            day = date.fromisoformat(dates[values["repo_id"]])
        values["benchmarks"] = json.dumps(values["benchmarks"])
        values["flagged"] = bool(values["flagged"])
        key = hashlib.sha256(f"{path.name}\x1e{raw}".encode()).hexdigest()[:32]
        batch.append({"key": key, "source": path.name, "line": line, "author": author_of(values["repo_id"]),
                      "arch_family": arch_family(values["arch_class"]), **buckets(day), **values})  # fmt: skip
        if len(batch) >= 2000:
            flush()
    flush()


def refresh_best(engine: Engine) -> int:
    """Mark, per (board, repo), the best-scoring row (`best_all`) and the best unflagged row (`best`).

    On a tie in average the earliest submission stands; on the same day, the first row in its file.
    """
    changes = []
    with engine.connect() as conn:
        rank = (L.c.average.is_(None), L.c.average.desc(), L.c.day.is_(None), L.c.day, L.c.source, L.c.line)
        current = conn.execute(
            select(L.c.key, L.c.board, L.c.repo_id, L.c.flagged, L.c.best, L.c.best_all).order_by(
                L.c.board, L.c.repo_id, *rank
            )
        ).all()
    group = None
    seen_any = seen_unflagged = False
    for key, board, repo, flagged, best, best_all in current:
        if (board, repo) != group:
            group, seen_any, seen_unflagged = (board, repo), False, False
        want_all = not seen_any
        want_best = not flagged and not seen_unflagged
        seen_any = True
        seen_unflagged = seen_unflagged or not flagged
        if (want_best, want_all) != (bool(best), bool(best_all)):
            changes.append({"k": key, "b": want_best, "ba": want_all})
    if changes:
        with engine.begin() as conn:
            stmt = update(L).where(L.c.key == bindparam("k")).values(best=bindparam("b"), best_all=bindparam("ba"))
            conn.execute(stmt, changes)
    refresh_rollup(engine)
    return len(changes)




def order_files(paths: list[Path]) -> list[Path]:
    """Files with dates of their own first, so the study's undated scrape can borrow their dates."""
    return sorted(paths, key=lambda p: (_layout_of(p) == "v1-scrape", p.name))


def _layout_of(path: Path) -> str:
    try:
        return read_rows(path)[0]
    except (ValueError, OSError, UnicodeDecodeError):
        return "unknown"
