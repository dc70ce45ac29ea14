"""Ingest: facts into the store in batched transactions, then score what is not yet scored.

Phase 1 writes observations, facts and cards, one transaction per batch. Facts are stored by content: an
observation of a repo that did not change since it was last seen points at the stored facts and adds only
its counters (see `store.blobs`). Phase 2 scores every observation
that has no score under the current method version, also in batches, with one `ScoringContext` built from
the database as it stands after phase 1 (so a base model or a popular original ingested later in the same
run still informs its derivatives). A crash leaves whole batches only; re-running completes the rest:
existing (model, observed_at) pairs count as unchanged, and unscored observations are picked up again.
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
import socket
import struct
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from typing import NamedTuple

import orjson
from sqlalchemy import bindparam, delete, func, insert, select, update
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError, StatementError
from whichmodel.hub.facts import ModelFacts, derivation_id, derive, fill_from_revision, is_partial, iso_utc
from whichmodel.hub.formats import PICKLE, WEIGHT_KINDS, load_class
from whichmodel.hub.snapshot import Parsed, Rejected, Unchanged
from whichmodel.scoring.context import Reference, ScoringContext
from whichmodel.scoring.engine import CarriedFacts, aggregate, carry_forward, carry_state, run_checks
from whichmodel.scoring.lineage import strictest
from whichmodel.scoring.method import CATEGORIES, Method, load_method
from whichmodel.store.blobs import (
    CODE_OUTCOMES,
    DERIVED_BY,
    VOLATILE_FACTS,
    content_hash,
    dumps,
    encode_outcomes,
    join_facts,
    pack,
    split_facts,
    stored_weights,
    unpack,
)
from whichmodel.store.models import (
    COVERAGE_COLUMNS,
    LIST_KEYS,
    OBSERVATION_SCORES,
    SCORE_COLUMNS,
    AssessmentRow,
    CardRow,
    FactsRow,
    IngestRun,
    Meta,
    ModelRow,
    Observation,
)
from whichmodel.store.records import (
    card_texts,
    content_key,
    finding_items,
    findings_of,
    load_zdicts,
    pack_cards,
    record_method_checks,
    shared_zdict,
    store_zdicts,
)

M = ModelRow.__table__
O = Observation.__table__  # noqa: E741
F = FactsRow.__table__
A = AssessmentRow.__table__
C = CardRow.__table__
R = IngestRun.__table__
META = Meta.__table__

MAX_SKIP_DETAIL = 1000
Progress = Callable[[int], None]


def now_iso() -> str:
    """The current UTC time in the store's date format."""
    return iso_utc(datetime.now(UTC))


@dataclass
class Skip:
    """A record that was not stored, and why."""

    reason: str
    line: int | None = None
    model_id: str | None = None


class IngestInterrupted(Exception):
    """The input failed part-way; `summary` says what was stored before it did."""

    def __init__(self, summary: IngestSummary):
        super().__init__(summary.error)
        self.summary = summary


@dataclass
class IngestSummary:
    """What one ingest of one source did."""

    source: str
    observed_at: str
    run_id: int | None = None
    parsed: int = 0
    new_models: int = 0
    new_observations: int = 0
    unchanged: int = 0
    skipped: list[Skip] = field(default_factory=list)
    status: str = "running"
    error: str | None = None

    def to_dict(self) -> dict:
        """JSON form, with skip reasons."""
        data = asdict(self)
        data["skipped_count"] = len(self.skipped)
        return data


def _gated(facts: ModelFacts) -> str | None:
    """The gate as stored: "false", "true", "auto", "manual", or None when unknown."""
    return None if facts.gated is None else ("false" if facts.gated is False else str(facts.gated))


def _model_columns(facts: ModelFacts) -> dict:
    return {
        "author": facts.org,
        "pipeline_tag": facts.pipeline_tag,
        "library_name": facts.library_name,
        "params": facts.params,
        "size_class": facts.size_class,
        "license": facts.license,
        "license_class": facts.license_class_effective or facts.license_class,
        "license_class_declared": facts.license_class,
        "license_conflict": facts.license_conflict,
        "params_conflict": facts.params_conflict,
        "params_active": facts.params_active,
        "adapter_params": facts.adapter_params,
        "has_weights": facts.has_weights,
        "chat": facts.chat,
        "gated": _gated(facts),
        "downloads": facts.downloads,
        "likes": facts.likes,
        "base_model": facts.base_models[0] if facts.base_models else None,
        "base_relation": facts.base_relation,
        "created_at": facts.created_at,
        "last_modified": facts.last_modified,
        "lists": _lists(facts),
    }


UNREAD_TAGS = ("license:", "region:")


def _lists(facts: ModelFacts) -> str | None:
    """The facts' lists that search filters read (see `store.queries._facts_has`), as JSON text."""
    card = facts.card_data if isinstance(facts.card_data, dict) else {}
    formats = sorted(k for k in facts.file_kinds or {} if k in WEIGHT_KINDS)
    # The license and region tags are left out: the license has its own columns, and no filter reads either.
    tags = [t for t in facts.tags or () if not (isinstance(t, str) and t.startswith(UNREAD_TAGS))]
    values = (tags, card.get("language"), card.get("base_model"), formats)
    lists = {k: v for k, v in zip(LIST_KEYS, values, strict=True) if v}
    return dumps(lists).decode() if lists else None


def newest_facts(conn: Connection, model_ids: list[str] | None = None, batch: int = 2000) -> Iterator[tuple]:
    """(model id, lasting facts dict) of each model's newest observation: all models in id order, or `model_ids`."""
    zdicts: dict[int, bytes] = {}
    query = (select(M.c.id, F.c.zdict, F.c.data).join(O, O.c.id == M.c.latest_observation_id)
             .join(F, F.c.id == O.c.facts_id).order_by(M.c.id).limit(batch))  # fmt: skip
    after, start = "", 0
    while True:
        if model_ids is None:
            rows = conn.execute(query.where(M.c.id > after)).all()
            if not rows:
                return
        else:
            wanted, start = model_ids[start : start + batch], start + batch
            if not wanted:
                return
            rows = conn.execute(query.where(M.c.id.in_(wanted))).all()
        after = rows[-1][0] if rows else after
        if len(zdicts) > 50_000:  # each model has its own: keep memory flat on a whole-Hub database
            zdicts.clear()
        load_zdicts(conn, (r.zdict for r in rows), zdicts)
        for row in rows:
            yield row.id, unpack(row.data, zdicts.get(row.zdict))


def refresh_from_newest_facts(conn: Connection) -> int:
    """Set `last_modified` and `lists` of every model from its newest stored facts (revision 0010); how many.

    Both are read from the facts as stored: `lists` gained the weight formats, `last_modified` is new.
    """
    done, values = 0, []
    for model_id, data in newest_facts(conn):
        facts = ModelFacts.from_dict(join_facts(data, {}))
        if facts.file_kinds is None and facts.files is not None:  # stored before kinds were derived
            derive(facts)
        values.append((facts.last_modified, _lists(facts), model_id))
        if len(values) >= 2000:
            done += _set_refreshed(conn, values)
    return done + _set_refreshed(conn, values)


def _set_refreshed(conn: Connection, values: list[tuple]) -> int:
    update_rows(conn, ("last_modified", "lists"), values)  # one statement a batch on PostgreSQL
    count = len(values)
    values.clear()
    return count


def _pickle_files(facts: ModelFacts) -> int | None:
    """How many files load by unpickling (any pickle-based format, training state included)."""
    if facts.file_kinds is None:
        return None
    return sum(len(v) for k, v in facts.file_kinds.items() if load_class(k) == PICKLE)


def _card_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def _observation_columns(item: Parsed) -> dict:
    """The observation's own columns, and the facts' sha and gate (what a conflict compares)."""
    facts = item.facts
    return {
        "downloads": facts.downloads,
        "downloads_all_time": facts.downloads_all_time,
        "likes": facts.likes,
        "card_hash": _card_hash(item.card_text) if item.card_text else None,
        "sha": facts.sha,
        "gated": _gated(facts),
    }


# The columns of an observation row that `_observation_columns` gives (the others are the facts row's).
OBSERVATION_COLUMNS = ("downloads", "downloads_all_time", "likes", "card_hash")


def _facts_columns(facts: ModelFacts) -> dict:
    """The facts row's columns copied from the facts, for SQL (history, alerts, ingest)."""
    return {"sha": facts.sha, "license": facts.license, "gated": _gated(facts), "pickle_files": _pickle_files(facts)}


# What makes two observations of one model on one date the same: a second input that disagrees is a conflict.
# Raw values only: a derived one (the license as normalized) may change with the code, not the data.
CONFLICT_COLUMNS = ("sha", "downloads", "likes", "card_hash", "gated")


def _conflict(stored, columns: dict) -> list[str]:
    return [k for k in CONFLICT_COLUMNS if getattr(stored, k) != columns[k]]


def _model_id(item: Parsed | Unchanged) -> str:
    return item.model_id if isinstance(item, Unchanged) else item.facts.id


# The columns `_insert_observations` writes, in its rows' order.
INSERTED_OBSERVATION = ("model_id", "observed_at", "ingest_run_id", *OBSERVATION_COLUMNS, "facts_id")


def _insert_observations(conn: Connection, rows: list[tuple]) -> dict[str, int]:
    """Insert observation rows (tuples in `INSERTED_OBSERVATION` order); {model id: new observation id}.

    SQLite: a plain INSERT per row through the driver, each id its `lastrowid` (SQLAlchemy's multi-row
    INSERT ... RETURNING processed every row's parameters in Python: ~21 ms a 1000-record batch, ~9 here).
    Elsewhere: SQLAlchemy's INSERT ... RETURNING in parameter order.
    """
    if conn.dialect.name != "sqlite":
        returned = conn.execute(insert(O).returning(O.c.id, O.c.model_id, sort_by_parameter_order=True),
                                [dict(zip(INSERTED_OBSERVATION, row, strict=True)) for row in rows]).all()  # fmt: skip
        return {model_id: oid for oid, model_id in returned}
    statement = insert(O).compile(dialect=conn.dialect, column_keys=list(INSERTED_OBSERVATION))
    at = [INSERTED_OBSERVATION.index(k) for k in statement.positiontup]  # the statement's parameter order
    dbapi = conn.dialect.loaded_dbapi
    cursor = conn.connection.driver_connection.cursor()
    ids, params = {}, None
    try:
        for row in rows:
            params = [row[i] for i in at]
            cursor.execute(statement.string, params)
            ids[row[0]] = cursor.lastrowid
    except dbapi.Error as err:  # as SQLAlchemy raises it: a locked database stays an OperationalError
        raise DBAPIError.instance(statement.string, params, err, dbapi.Error) from err
    finally:
        cursor.close()
    return ids


def _write_batch(
    conn: Connection, run_id: int, observed_at: str, batch: list[Parsed | Unchanged], summary: IngestSummary
) -> None:
    """Store one batch of records in the caller's transaction.

    A `Parsed` record brings its facts; an `Unchanged` one only its counters: its observation points at the
    facts of the model's newest observation, whose content it has.
    """
    first_line: dict[str, int] = {}
    unique: list[Parsed | Unchanged] = []
    for item in batch:
        model_id = _model_id(item)
        if model_id in first_line:
            summary.skipped.append(Skip(f"duplicate id (first on line {first_line[model_id]})", item.line, model_id))
            continue
        first_line[model_id] = item.line
        unique.append(item)
    ids = list(first_line)
    unique = _fill_partial(conn, unique)
    known, known_zdicts = {}, {}
    for model_id, last_seen, zdict in conn.execute(
        select(M.c.id, M.c.last_seen, M.c.facts_zdict).where(M.c.id.in_(ids))
    ):
        known[model_id], known_zdicts[model_id] = last_seen, zdict
    newest = _newest_observations(conn, [i for i in unique if isinstance(i, Unchanged)])
    columns: dict[str, dict] = {}
    for item in unique:
        if isinstance(item, Parsed):
            columns[item.facts.id] = _observation_columns(item)
        elif item.model_id in newest:
            columns[item.model_id] = newest[item.model_id] | {
                "downloads": item.downloads, "downloads_all_time": item.downloads_all_time, "likes": item.likes}
        else:  # stored when the reader asked, gone now (another writer): this record is read again next run
            summary.skipped.append(Skip("the stored model changed while this record was read; ingest again",
                                        item.line, item.model_id))  # fmt: skip
    seen = {
        row.model_id: row
        for row in conn.execute(
            select(O.c.model_id, O.c.ingest_run_id, O.c.downloads, O.c.likes, O.c.card_hash, F.c.sha, F.c.gated)
            .outerjoin(F, F.c.id == O.c.facts_id)
            .where(O.c.model_id.in_(ids), O.c.observed_at == observed_at)
        )
    }
    fresh: list[Parsed | Unchanged] = []
    for item in unique:
        model_id = _model_id(item)
        if model_id not in columns:
            continue
        stored = seen.get(model_id)
        if stored is None:
            fresh.append(item)
        elif stored.ingest_run_id == run_id:
            summary.skipped.append(Skip("duplicate id (already in this input)", item.line, model_id))
        elif differs := _conflict(stored, columns[model_id]):
            summary.skipped.append(Skip(
                f"conflict: stored for {observed_at} by ingest run {stored.ingest_run_id} with different "
                f"{', '.join(differs)}; kept the stored observation", item.line, model_id))  # fmt: skip
        else:
            summary.unchanged += 1
    if not fresh:
        return
    parsed = [i for i in fresh if isinstance(i, Parsed)]

    new_models = [i for i in parsed if i.facts.id not in known]
    if new_models:
        conn.execute(
            insert(M),
            [
                {
                    "id": i.facts.id,
                    "name_lower": i.facts.name.lower(),
                    "first_seen": observed_at,
                    "last_seen": observed_at,
                    # Written now, so the update below leaves the search facets (and their triggers) alone.
                    **_model_columns(i.facts),
                }
                for i in new_models
            ],  # fmt: skip
        )
    summary.new_models += len(new_models)
    summary.new_observations += len(fresh) - len(new_models)

    cards = {_card_hash(i.card_text): (i.facts.id, i.card_text) for i in parsed if i.card_text}
    if cards:
        stored = set(conn.execute(select(C.c.hash).where(C.c.hash.in_(list(cards)))).scalars())
        new_cards = {h: card for h, card in cards.items() if h not in stored}
        if new_cards:
            conn.execute(insert(C), pack_cards(conn, new_cards))

    facts_id = _store_facts(conn, parsed, known_zdicts) if parsed else {}
    facts_id |= {i.model_id: newest[i.model_id]["facts_id"] for i in fresh if isinstance(i, Unchanged)}
    obs_rows = [
        (_model_id(i), observed_at, run_id, *(columns[_model_id(i)][k] for k in OBSERVATION_COLUMNS),
         facts_id[_model_id(i)])
        for i in fresh
    ]  # fmt: skip
    obs_id = _insert_observations(conn, obs_rows)

    # The models row follows the newest observation; an older snapshot ingested later only moves first_seen.
    newer = [i for i in fresh if _model_id(i) not in known or observed_at >= known[_model_id(i)]]
    older = [i for i in fresh if _model_id(i) in known and observed_at < known[_model_id(i)]]
    # A parsed record of the content the row already shows (a field outside the facts moved) keeps the row's
    # columns: scoring derived them (lineage: the effective license, a base's size), and a carried observation
    # (`_score_batch`) does not derive them again. Only its counters move, as an unchanged record's do.
    same_content = _latest_facts(conn, [i.facts.id for i in newer if isinstance(i, Parsed) and i.facts.id in known])
    updates = {
        i.facts.id: {"last_seen": observed_at, "latest_observation_id": obs_id[i.facts.id],
                     "record_hash": i.record_hash}
        | ({"downloads": i.facts.downloads, "likes": i.facts.likes}
           if same_content.get(i.facts.id) == facts_id[i.facts.id]
           else _model_columns(i.facts) | {"scored_facts_id": None})
        for i in newer
        if isinstance(i, Parsed)
    }  # fmt: skip
    # The same content: only the counters and the newest observation move.
    updates |= {
        i.model_id: {"last_seen": observed_at, "latest_observation_id": obs_id[i.model_id], "downloads": i.downloads,
                     "likes": i.likes}
        for i in newer
        if isinstance(i, Unchanged)
    }  # fmt: skip
    update_models(conn, updates)
    if older:
        ids = sorted(_model_id(i) for i in older)
        conn.execute(update(M).where(M.c.id.in_(ids), M.c.first_seen > observed_at).values(first_seen=observed_at))


def _latest_facts(conn: Connection, model_ids: list[str]) -> dict[str, int]:
    """The facts row of each model's newest observation (before this batch's)."""
    if not model_ids:
        return {}
    return dict(conn.execute(select(M.c.id, O.c.facts_id).join(O, O.c.id == M.c.latest_observation_id)
                             .where(M.c.id.in_(model_ids))).all())  # fmt: skip


def _fill_partial(conn: Connection, items: list[Parsed | Unchanged]) -> list[Parsed | Unchanged]:
    """`items`, partial records (a listing without the Hub's expanded fields) given what their revision fixes.

    A stored full record of the same model and `sha` had the same files, config, card data, dates and README
    (hub.facts.fill_from_revision): the observation is scored on those, not as if they were unknown. A partial
    record of a revision never seen in full keeps its unknowns (not available, never safe).
    """
    partial = [i for i in items if isinstance(i, Parsed) and i.facts.sha and is_partial(i.facts)]
    if not partial:
        return items
    rows = conn.execute(
        select(O.c.model_id, F.c.sha, O.c.card_hash, F.c.zdict, F.c.data)
        .join(F, F.c.id == O.c.facts_id)
        .where(O.c.model_id.in_(sorted({i.facts.id for i in partial})),
               F.c.sha.in_(sorted({i.facts.sha for i in partial})))
        .order_by(O.c.observed_at.desc())
    ).all()  # fmt: skip
    zdicts = load_zdicts(conn, (r.zdict for r in rows))
    cards = card_texts(conn, (r.card_hash for r in rows if r.card_hash))
    filled: dict[int, Parsed] = {}
    for item in partial:
        for row in rows:
            if (row.model_id, row.sha) != (item.facts.id, item.facts.sha):
                continue
            earlier = ModelFacts.from_dict(join_facts(unpack(row.data, zdicts.get(row.zdict)), {}))
            card = item.card_text or cards.get(row.card_hash)
            if fill_from_revision(item.facts, earlier, card):
                filled[id(item)] = replace(item, card_text=card)
                break
    return [filled.get(id(i), i) for i in items]


# Observation columns that follow the repo's content, so an unchanged record copies them from the newest.
CONTENT_COLUMNS = ("facts_id", "card_hash", "sha", "gated")


def _newest_observations(conn: Connection, unchanged: list[Unchanged]) -> dict[str, dict]:
    """The content columns of each model's newest observation, where its record hash is still the item's."""
    if not unchanged:
        return {}
    digest = {i.model_id: i.record_hash for i in unchanged}
    rows = conn.execute(
        select(M.c.id, M.c.record_hash, O.c.facts_id, O.c.card_hash, F.c.sha, F.c.gated)
        .join(O, O.c.id == M.c.latest_observation_id)
        .outerjoin(F, F.c.id == O.c.facts_id)
        .where(M.c.id.in_(list(digest)))
    ).all()
    return {row[0]: dict(zip(CONTENT_COLUMNS, row[2:], strict=True)) for row in rows if row[1] == digest[row[0]]}


class KnownRecords:
    """The snapshot reader's `known` question (hub.snapshot.read_snapshot), answered from the store.

    Asked in the reader's forked processes too: a process asking for the first time opens its own
    connections (the parent's stay the parent's).
    """

    def __init__(self, engine: Engine):
        self.engine, self.pid = engine, os.getpid()

    def __call__(self, model_ids: list[str]) -> dict[str, str]:
        """The newest stored record hash of each of `model_ids` that has one."""
        if os.getpid() != self.pid:
            self.engine.dispose(close=False)
            self.pid = os.getpid()
        query = select(M.c.id, M.c.record_hash).where(M.c.id.in_(model_ids), M.c.record_hash.is_not(None))
        with self.engine.connect() as conn:
            return dict(conn.execute(query).all())


def _store_facts(conn: Connection, fresh: list[Parsed], zdict_of: dict[str, int | None]) -> dict[str, int]:
    """Each record's facts row id: the stored row with the same content, else a new one; model id -> facts id.

    A new row is packed with the model's facts dictionary; a model without one (first seen) gets its facts as
    its dictionary, which `models.facts_zdict` then names.
    """
    lasting, copied = {}, {}
    rules = derivation_id()
    for item in fresh:
        data, _ = split_facts(item.facts.to_dict())
        data[DERIVED_BY] = rules  # parsed (`hub.facts.parse_record`) means derived, card read included
        raw = dumps(data)
        lasting[item.facts.id] = (content_hash(data), raw)
        copied[item.facts.id] = _facts_columns(item.facts)
    hashes = {h for h, _ in lasting.values()}
    stored = dict(conn.execute(select(F.c.hash, F.c.id).where(F.c.hash.in_(sorted(hashes)))).all())
    new = {model_id: (h, raw) for model_id, (h, raw) in lasting.items() if h not in stored}
    if new:
        zdicts = load_zdicts(conn, (zdict_of.get(m) for m in new))
        first = [model_id for model_id in new if zdict_of.get(model_id) is None]
        if first:  # new models are inserted before this runs
            shared = shared_zdict(conn, "facts", (raw for _, raw in new.values()))
            for model_id, zid in zip(first, store_zdicts(conn, [new[m][1] for m in first], shared), strict=True):
                zdict_of[model_id] = zid
                zdicts[zid] = new[model_id][1]
            update_rows(conn, ("facts_zdict",), [(zdict_of[m], m) for m in first])
        rows = [{"hash": h, "zdict": zdict_of[m], "data": pack(raw, zdicts[zdict_of[m]]), **copied[m]}
                for m, (h, raw) in new.items()]  # fmt: skip
        returned = conn.execute(insert(F).returning(F.c.hash, F.c.id, sort_by_parameter_order=True), rows).all()
        stored.update(dict(returned))
    return {model_id: stored[h] for model_id, (h, _) in lasting.items()}


def ingest_items(
    engine: Engine,
    items: Iterable[Parsed | Unchanged | Rejected],
    *,
    source: str,
    kind: str,
    observed_at: str,
    batch_size: int = 500,
    progress: Progress | None = None,
) -> IngestSummary:
    """Store a stream of parsed records as observations of `observed_at` (phase 1; see `score_pending`).

    A failure in the stream (say, the Hub going away) keeps every batch written before it: the pending batch
    is flushed, the run is marked failed, and `IngestInterrupted` (chained to the cause) carries the summary.
    Interrupts (Ctrl-C) propagate as they are.
    """
    summary = IngestSummary(source=source, observed_at=observed_at)
    close_abandoned_runs(engine)
    with engine.begin() as conn:
        summary.run_id = conn.execute(
            insert(R).values(source=source, kind=kind, observed_at=observed_at, started_at=now_iso(),
                             host=socket.gethostname(), pid=os.getpid())
        ).inserted_primary_key[0]  # fmt: skip
    batch: list[Parsed | Unchanged] = []

    def flush() -> None:
        if batch:
            _write_isolated(engine, summary.run_id, observed_at, batch, summary)
            if progress:
                progress(len(batch))
            batch.clear()

    try:
        for item in items:
            if isinstance(item, Rejected):
                summary.skipped.append(Skip(item.reason, item.line, item.model_id))
                continue
            summary.parsed += 1
            batch.append(item)
            if len(batch) >= batch_size:
                flush()
        flush()
        summary.status = "complete"
    except BaseException as err:
        try:
            flush()
        finally:
            summary.status = "failed"
            summary.error = f"{err.__class__.__name__}: {err}"
            _finish_run(engine, summary)
        if isinstance(err, Exception):
            raise IngestInterrupted(summary) from err
        raise
    _finish_run(engine, summary)
    return summary


# SQLite's page cache for a writing connection, in KiB. A day's batch moves the counters and scores of models
# spread over the whole table, so each of the ~35 `models` indexes gets a page written per row or two: with
# SQLite's default (2 MiB) the pages are read again and spilled to the log before the batch commits (100k
# re-observed models: 35 -> 24 s with this and 1000-record batches). The cache grows only as pages are used.
WRITER_CACHE_KIB = 32 * 1024
# Pages a writing connection lets the write-ahead log grow by before it copies them into the database file
# (SQLite's default: 1000, 4 MiB). A batch rewrites pages all over the `models` indexes; checkpointing every
# 4 MiB wrote the same pages to the file again and again, each time with an fsync (100k re-observed models:
# 21.8 -> 19.1 s; 64 MiB and 256 MiB measured the same). The log is removed when the last connection closes.
WRITER_WAL_PAGES = 16384


def writer_cache(conn: Connection) -> None:
    """Give a connection about to write a batch the writer's page cache and log size (SQLite; they stay with it)."""
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql(f"PRAGMA cache_size=-{WRITER_CACHE_KIB}")
        conn.exec_driver_sql(f"PRAGMA wal_autocheckpoint={WRITER_WAL_PAGES}")


def _write_isolated(
    engine: Engine, run_id: int, observed_at: str, batch: list[Parsed | Unchanged], summary: IngestSummary
) -> None:
    """Write a batch in one transaction; when that fails, write its records one by one and skip the bad ones.

    One unstorable record (text that is not valid Unicode, a value the database cannot hold, nesting too deep
    to serialize) must never cost the batch's good records. A failure of the database itself (locked, disk
    full: `OperationalError`) is not a bad record and propagates.
    """
    counts = (summary.new_models, summary.new_observations, summary.unchanged, len(summary.skipped))
    try:
        with engine.begin() as conn:
            writer_cache(conn)
            _write_batch(conn, run_id, observed_at, batch, summary)
        return
    except OperationalError:
        raise
    except Exception:  # noqa: BLE001 - which record is bad is found below, one at a time
        summary.new_models, summary.new_observations, summary.unchanged = counts[:3]
        del summary.skipped[counts[3] :]
    for item in batch:
        mark = (summary.new_models, summary.new_observations, summary.unchanged, len(summary.skipped))
        try:
            with engine.begin() as conn:
                _write_batch(conn, run_id, observed_at, [item], summary)
        except OperationalError:
            raise
        except Exception as err:  # noqa: BLE001 - this record alone cannot be stored: report it, keep going
            summary.new_models, summary.new_observations, summary.unchanged = mark[:3]
            del summary.skipped[mark[3] :]
            cause = err.orig if isinstance(err, StatementError) and err.orig is not None else err
            summary.skipped.append(
                Skip(f"cannot be stored: {cause.__class__.__name__}: {str(cause)[:160]}", item.line, _model_id(item))
            )


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True


def close_abandoned_runs(engine: Engine) -> int:
    """Mark runs still "running" whose process on this machine is gone (killed, crashed) as interrupted.

    What such a run wrote is whole batches and stays; a re-run of the same source completes it. Runs of
    other machines are left alone: their processes cannot be checked from here.
    """
    host = socket.gethostname()
    with engine.begin() as conn:
        running = conn.execute(select(R.c.id, R.c.pid).where(R.c.status == "running", R.c.host == host)).all()
        gone = [run_id for run_id, pid in running if pid is not None and not _alive(pid)]
        if gone:
            conn.execute(update(R).where(R.c.id.in_(gone)).values(status="interrupted", finished_at=now_iso()))
    return len(gone)


def _finish_run(engine: Engine, summary: IngestSummary) -> None:
    detail = [asdict(s) for s in summary.skipped[:MAX_SKIP_DETAIL]]
    with engine.begin() as conn:
        conn.execute(
            update(R)
            .where(R.c.id == summary.run_id)
            .values(
                finished_at=now_iso(),
                status=summary.status,
                parsed=summary.parsed,
                new_models=summary.new_models,
                new_observations=summary.new_observations,
                unchanged=summary.unchanged,
                skipped=len(summary.skipped),
                skipped_detail=json.dumps(detail),
            )
        )


def build_context(conn: Connection, method: Method) -> ScoringContext:
    """Curated lists plus what the database shows: popular models, strong authors, base-model licenses."""
    ctx = ScoringContext.curated()
    typo = method.check("typosquatting").params
    curated = {r.id for r in ctx.references}
    top = conn.execute(
        select(M.c.id, M.c.downloads)
        .where(M.c.downloads.is_not(None))
        .order_by(M.c.downloads.desc())
        .limit(typo.get("reference_top", 300))
    ).all()
    ctx.references.extend(Reference(mid, dl) for mid, dl in top if mid not in curated)
    provider = method.check("reputable_provider").params
    strong = conn.execute(
        select(M.c.author, func.count(), func.sum(M.c.downloads))
        .where(M.c.author.is_not(None))
        .group_by(M.c.author)
        .having(func.count() >= provider["min_models"], func.sum(M.c.downloads) >= provider["min_total_downloads"])
    ).all()
    ctx.strong_authors = {author: (int(n), int(total)) for author, n, total in strong}
    ctx.base_license_class, ctx.base_params = _lineage(conn)
    ctx.base_model_type = _model_types(conn, list(ctx.base_params))
    return ctx


def _model_types(conn: Connection, model_ids: list[str]) -> dict[str, str]:
    """The config `model_type` of each of `model_ids` (sized base models), read from its newest stored facts."""
    found = newest_facts(conn, model_ids)
    return {m: data["model_type"] for m, data in found if isinstance(data.get("model_type"), str)}


def _lineage(conn: Connection, depth: int = 8) -> tuple[dict[str, str], dict[str, tuple[int, str | None]]]:
    """Every stored base model's effective license class (the strictest up its chain) and its size.

    Bases of bases are followed up to `depth` steps (a cycle stops there). A base whose declared class is
    unknown does not tighten anything: unknown is not a class one can be stricter than.
    """
    rows: dict[str, tuple] = {}
    wanted = set(conn.execute(select(M.c.base_model).where(M.c.base_model.is_not(None)).distinct()).scalars())
    for _ in range(depth):
        wanted -= set(rows)
        if not wanted:
            break
        found = conn.execute(
            select(M.c.id, func.coalesce(M.c.license_class_declared, M.c.license_class), M.c.base_model, M.c.params,
                   M.c.size_class).where(M.c.id.in_(list(wanted)))
        ).all()  # fmt: skip
        rows.update({r[0]: tuple(r[1:]) for r in found})
        wanted = {r[2] for r in found if r[2]}
    effective: dict[str, str] = {}

    def resolve(model_id: str, seen: frozenset = frozenset()) -> str | None:
        if model_id in effective:
            return effective[model_id]
        if model_id not in rows or model_id in seen:
            return None
        declared, base, _, _ = rows[model_id]
        above = resolve(base, seen | {model_id}) if base else None
        effective[model_id] = strictest([c for c in (declared, above) if c]) or declared
        return effective[model_id]

    for model_id in rows:
        resolve(model_id)
    params = {mid: (r[2], r[3]) for mid, r in rows.items() if r[2]}
    return {k: v for k, v in effective.items() if v}, params


def score_pending(
    engine: Engine,
    *,
    batch_size: int = 500,
    method: Method | None = None,
    progress: Progress | None = None,
    planned: Progress | None = None,
    workers: int | None = None,
    share: bool = True,
    carry: bool = True,
) -> int:
    """Score every observation without a score under the current method version; returns how many.

    Checks run in `workers` forked processes (default: one per available core; 1, or a process running
    other threads, runs them here), a batch per task; this process reads the batches and writes each one's
    findings and scores in its own transaction, in order, so a crash still leaves whole batches. `planned`
    gets the number of observations to score before scoring starts; `progress` each batch's count.

    An observation whose content is that of its model's newest scored one, where the context the checks read
    for it is unchanged, is carried forward (`scoring.engine.carry_forward`): only the checks that read the
    counters, the date and the author's record run. `carry=False` runs every check (tests compare the two);
    carrying needs sharing (`share`).
    """
    carry = carry and share
    method = method or load_method()
    _unscore_older_versions(engine, method.version)
    unscored = O.c.scored_version.is_(None)  # the partial index ix_observations_unscored
    with engine.connect() as conn:
        ctx = build_context(conn, method)
        pending = conn.execute(select(func.count()).select_from(O).where(unscored)).scalar_one()
    if planned:
        planned(pending)
    workers = _worker_count(workers)
    # A pool costs a fork per worker and a pickle per batch: worth it only with a few batches per worker. Only
    # a single-threaded process forks (the CLI): another thread (a UI's) may hold a lock the copy would keep
    # forever. Elsewhere scoring runs here, as it always did.
    forkable = "fork" in multiprocessing.get_all_start_methods() and threading.active_count() == 1
    parallel = workers > 1 and pending >= 2 * batch_size and forkable
    pool = _scoring_pool(workers, ctx, method, engine) if parallel else None
    in_flight: deque = deque()
    done = 0
    last_id = 0
    try:
        while True:
            with engine.connect() as conn:
                rows = conn.execute(
                    select(O.c.id, O.c.model_id, O.c.facts_id, F.c.zdict, F.c.data,
                           *(O.c[k] for k in VOLATILE_FACTS), M.c.latest_observation_id, M.c.findings_zdict,
                           M.c.author, M.c.created_at, M.c.last_modified, M.c.has_weights,
                           M.c.scored_facts_id)
                    .join(F, F.c.id == O.c.facts_id)
                    .join(M, M.c.id == O.c.model_id)
                    .where(unscored, O.c.id > last_id)
                    .order_by(O.c.id)
                    .limit(batch_size)
                ).all()  # fmt: skip
            if rows:
                last_id = rows[-1][0]
                rows = [_BatchRow(*r) for r in rows]
                if carry:
                    rows = _carry_sources(engine, rows, method)
                if pool is None:
                    in_flight.append((rows, _Done(_score_batch(rows, ctx, method, engine))))
                else:
                    in_flight.append((rows, pool.submit(_score_batch, rows)))
            # Keep every worker busy with one batch while this process writes the oldest finished one.
            while in_flight and (len(in_flight) > (workers if pool else 0) or not rows):
                batch_rows, result = in_flight.popleft()
                bounced = _write_scores(engine, batch_rows, result.result(), method, share)
                if bounced:  # their predecessor's assessment moved meanwhile (another writer): score in full
                    again = [r._replace(carry=None) for r in batch_rows if r.obs_id in bounced]
                    _write_scores(engine, again, _score_batch(again, ctx, method, engine), method, share)
                done += len(batch_rows)
                if progress:
                    progress(len(batch_rows))
            if not rows:
                break
    finally:
        if pool is not None:
            pool.shutdown(cancel_futures=True)
    if done:
        _optimize(engine)
    return done


SCORED_WITH = "scored_method_version"  # meta: the method version every scored observation was scored under


def _unscore_older_versions(engine: Engine, version: str) -> None:
    """Set observations scored under another method version back to unscored (once per version change).

    Their findings under that version stay as history; the unscored index then finds them (it holds only the
    unscored: a scan for "not this version" on every ingest read every observation ever stored).
    """
    with engine.begin() as conn:
        stored = conn.execute(select(META.c.value).where(META.c.key == SCORED_WITH)).scalar()
        if stored == version:
            return
        conn.execute(update(O).where(O.c.scored_version.is_not(None), O.c.scored_version != version)
                     .values(scored_version=None))  # fmt: skip
        if stored is not None:
            conn.execute(update(META).where(META.c.key == SCORED_WITH).values(value=version))
        elif conn.dialect.name != "postgresql":  # SQLite's writers take turns (the data directory's lock)
            conn.execute(insert(META).values(key=SCORED_WITH, value=version))
        else:  # another PostgreSQL writer may note it at the same moment: either note stands
            try:
                with conn.begin_nested():
                    conn.execute(insert(META).values(key=SCORED_WITH, value=version))
            except IntegrityError:
                pass


class _Done:
    """A result computed in this process, shaped like a finished future."""

    def __init__(self, value):
        self.value = value

    def result(self):
        return self.value


def _worker_count(workers: int | None) -> int:
    if workers:
        return max(1, workers)
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


_WORKER_STATE: dict = {}


def _scoring_pool(workers: int, ctx: ScoringContext, method: Method, engine: Engine) -> ProcessPoolExecutor:
    """Worker processes holding the scoring context, forked (nothing to import or pickle but the batches)."""
    mp = multiprocessing.get_context("fork")
    return ProcessPoolExecutor(max_workers=workers, mp_context=mp, initializer=_init_worker,
                               initargs=(ctx, method, engine, os.getpid()))  # fmt: skip


def _init_worker(ctx: ScoringContext, method: Method, engine: Engine, parent: int) -> None:
    # The parent's pooled connections stay the parent's: a worker opens its own (for the few cards it reads).
    engine.dispose(close=False)
    _WORKER_STATE["ctx"], _WORKER_STATE["method"], _WORKER_STATE["engine"] = ctx, method, engine
    threading.Thread(target=_exit_with_parent, args=(parent,), name="parent-watch", daemon=True).start()


def _exit_with_parent(parent: int) -> None:
    """End this worker once its parent is gone (killed).

    A forked worker holds the parent's ingest lock too, and waiting on a task queue whose write end it also
    holds, it would never notice the parent's death on its own.
    """
    while os.getppid() == parent:
        time.sleep(0.5)
    os._exit(1)


class _BatchRow(NamedTuple):
    """One observation to score, as the batch query reads it (a tuple: it pickles small to a worker)."""

    obs_id: int
    model_id: str
    facts_id: int
    facts_zdict: int | None
    facts_data: bytes
    downloads: int | None
    downloads_all_time: int | None
    likes: int | None
    observed_at: str
    latest: int | None
    findings_zdict: int | None
    # The models row's author, dates and weights flag: the newest facts', read by a carried row only (latest);
    # and the facts row its derived columns were scored from.
    author: str | None
    created_at: str | None
    last_modified: str | None
    has_weights: bool | None
    scored_facts_id: int | None
    # (holder's observation id, its content hash, its carry state, its outcomes): the assessment of the model's
    # newest scored observation, when that has the same facts (see `_carry_sources`); None: score in full.
    carry: tuple | None = None


# The scores themselves are the observation's (`OBSERVATION_SCORES`): an assessment row may serve several.
ASSESSMENT_COLUMNS = ("observation_id", "method_version", "weights_hash",
                      *(COVERAGE_COLUMNS[c] for c in SCORE_COLUMNS), "outcomes", "zdict", "findings",
                      "carry", "content_hash")  # fmt: skip
NEW_ZDICT = -1  # an assessment row's `zdict` before its new dictionary is stored: see `_write_scores`


def _score_batch(
    rows: list[_BatchRow], ctx: ScoringContext | None = None, method: Method | None = None,
    engine: Engine | None = None,
) -> tuple:  # fmt: skip
    """Assessment rows, observations' scores, new dictionaries, model-row and facts updates.

    Assessment rows are tuples in ASSESSMENT_COLUMNS order; scores are an observation's id, then its scores
    in hundredths, in SCORE_COLUMNS order.

    Findings are packed with the model's findings dictionary; a model without one gets its first findings
    as its dictionary (returned as {model id: JSON bytes}; its rows carry NEW_ZDICT until the writer stores
    it). It only reads the store (dictionaries, and the card of a model nothing else gave a size), so it runs
    in a worker process as well as here.
    """
    ctx = ctx or _WORKER_STATE["ctx"]
    method = method or _WORKER_STATE["method"]
    engine = engine or _WORKER_STATE["engine"]
    assessments, observations, model_updates, facts_updates = [], [], {}, {}
    new_zdicts: dict[str, bytes] = {}
    version, weights_hash = method.version, stored_weights(method.weights_hash)
    carried: dict[int, tuple[int, int]] = {}  # observation -> (holder it shares, the holder's content hash)
    full = []
    for r in rows:
        card = _carried_card(r, ctx, method) if r.carry is not None else None
        if card is None:
            full.append(r)
            continue
        holder, key, _, outcomes = r.carry
        carried[r.obs_id] = (holder, key)
        observations.append((r.obs_id, *(None if v is None else round(v * 100) for v in _scores(card))))
        if r.latest == r.obs_id:
            model_updates[r.model_id] = _score_columns(card, outcomes, version)
    rows = full
    if not rows:
        return assessments, observations, new_zdicts, model_updates, [], carried
    with engine.connect() as conn:
        zdicts = load_zdicts(conn, [r.facts_zdict for r in rows] + [r.findings_zdict for r in rows])
        lasting = {r.obs_id: unpack(r.facts_data, zdicts.get(r.facts_zdict)) for r in rows}
        parsed = {
            r.obs_id: ModelFacts.from_dict(join_facts(lasting[r.obs_id], {
                "downloads": r.downloads, "downloads_all_time": r.downloads_all_time, "likes": r.likes,
                "observed_at": r.observed_at}))
            for r in rows
        }  # fmt: skip
        stored = {obs_id: facts.to_dict() for obs_id, facts in parsed.items()}
        # Derived facts follow today's rules (a rescore re-derives what an older version stored); the card is
        # read only where nothing else gave a size. Facts stored as parsed by today's rules (a first ingest's,
        # or a re-observation's of those) were derived, card included, as they were parsed.
        rules = derivation_id()
        derived = {obs_id for obs_id, data in lasting.items() if data.get(DERIVED_BY) == rules}
        for obs_id, facts in parsed.items():
            if obs_id not in derived:
                derive(facts)
        sizeless = [obs_id for obs_id, facts in parsed.items()
                    if facts.params is None and facts.card_present and obs_id not in derived]  # fmt: skip
        if sizeless:
            card_of = dict(conn.execute(select(O.c.id, O.c.card_hash).where(O.c.id.in_(sizeless))).all())
            texts = card_texts(conn, card_of.values())
            for obs_id, card_hash in card_of.items():
                if card_hash in texts:
                    derive(parsed[obs_id], texts[card_hash])
    for r in rows:
        facts = parsed[r.obs_id]
        findings = run_checks(facts, ctx, method)  # fills in the lineage facts first
        data = facts.to_dict()
        if data != stored[r.obs_id]:  # the stored facts show what scoring derived (the score card reads them)
            facts_updates[r.facts_id] = pack(split_facts(data)[0], zdicts.get(r.facts_zdict))
        card = aggregate(r.model_id, facts.observed_at, findings, method)
        raw = dumps(finding_items(findings))
        if r.findings_zdict is not None:
            zid, zdict = r.findings_zdict, zdicts[r.findings_zdict]
        else:  # first findings of this model: they become its dictionary (shared by its rows in this batch)
            zid, zdict = NEW_ZDICT, new_zdicts.setdefault(r.model_id, raw)
        coverages = [card.coverage, *(card.categories[c].coverage for c in CATEGORIES)]
        outcomes = encode_outcomes([f.outcome for f in findings])
        key, digest, extra = carry_state(facts, findings, ctx, method)
        state = _CARRY_HEAD.pack(key, digest) + dumps(extra)
        assessments.append((r.obs_id, version, weights_hash, *coverages, outcomes, zid, pack(raw, zdict), state,
                            content_key(findings, coverages)))  # fmt: skip
        observations.append((r.obs_id, *(None if v is None else round(v * 100) for v in _scores(card))))
        if r.latest == r.obs_id:
            model_updates[r.model_id] = (_score_columns(card, outcomes, version) | _model_columns(facts)
                                         | {"scored_facts_id": r.facts_id})  # fmt: skip
    return assessments, observations, new_zdicts, model_updates, list(facts_updates.items()), carried


def _scores(card) -> list[float | None]:
    return [card.overall, *(card.categories[c].score for c in CATEGORIES)]


def _score_columns(card, outcomes: str, version: str) -> dict:
    """The models row's columns of its newest score card."""
    return (
        {"overall": card.overall, "coverage": card.coverage, "overall_rank": card.rank, "outcomes": outcomes,
         "method_version": version}
        | {name: c.score for name, c in card.categories.items()}
        | {f"{name}_rank": c.rank for name, c in card.categories.items()}
        | {f"{name}_coverage": c.coverage for name, c in card.categories.items()}
    )  # fmt: skip


# An assessment's `carry`: its context key and recomputed digest (two signed 64-bit integers), then JSON.
_CARRY_HEAD = struct.Struct(">qq")


def _carried_card(r: _BatchRow, ctx: ScoringContext, method: Method):
    """The score card of a row carried forward from its holder's stored state, or None (score it in full).

    Only rows `_carry_sources` found a source for come here.
    """
    _, _, state, outcomes = r.carry
    key, digest = _CARRY_HEAD.unpack_from(state)
    facts = CarriedFacts(r.model_id, r.author, r.downloads, r.likes, r.observed_at, r.created_at, r.last_modified,
                         None if r.has_weights is None else bool(r.has_weights), None)  # fmt: skip
    return carry_forward(key, digest, orjson.loads(state[_CARRY_HEAD.size :]), [CODE_OUTCOMES[c] for c in outcomes],
                         facts, ctx, method)  # fmt: skip


def _carry_sources(engine: Engine, rows: list[_BatchRow], method: Method) -> list[_BatchRow]:
    """`rows`, each with its model's newest scored observation's assessment where that has the same facts.

    Only such an observation can be carried forward (`_score_batch`): same content, and an assessment
    that holds a carry state under this method version and weights. And only the model's newest observation,
    where scoring wrote the models row's derived columns from its facts (then the row's author, dates and
    weights flag, which the recomputed checks read, are its facts' too): a first ingest has none to look up.
    """
    version, weights = method.version, stored_weights(method.weights_hash)
    eligible = [r.obs_id for r in rows if r.latest == r.obs_id and r.scored_facts_id == r.facts_id]
    if not eligible:
        return rows
    ids = [r.obs_id for r in rows]
    model_of = {r.obs_id: r.model_id for r in rows}
    with engine.connect() as conn:
        source = _newest_scored(conn, O.c.id, sorted({model_of[i] for i in eligible}), ids, version)
        if not source:
            return rows
        found = conn.execute(select(O.c.id, O.c.facts_id, func.coalesce(O.c.assessed_by, O.c.id))
                             .where(O.c.id.in_(sorted(source.values())))).all()  # fmt: skip
        facts_of = {oid: (fid, holder) for oid, fid, holder in found}
        held = {
            row[0]: tuple(row[1:])
            for row in conn.execute(
                select(A.c.observation_id, A.c.content_hash, A.c.carry, A.c.outcomes).where(
                    A.c.observation_id.in_(sorted({h for _, h in facts_of.values()})),
                    A.c.method_version == version, A.c.weights_hash == weights, A.c.carry.is_not(None),
                    A.c.content_hash.is_not(None))
            )
        }  # fmt: skip
    out, eligible = [], set(eligible)
    for r in rows:
        fid, holder = facts_of.get(source.get(r.model_id), (None, None))
        if r.obs_id in eligible and fid is not None and fid == r.facts_id and holder in held:
            key, state, outcomes = held[holder]
            r = r._replace(carry=(holder, key, bytes(state), outcomes))
        out.append(r)
    return out


def _dumps(value) -> str:
    """JSON text for a stored column: orjson (several times faster than json), str() for what it cannot encode."""
    # Dates and dataclasses go through str() as json.dumps(default=str) sent them, so stored text keeps its form.
    options = orjson.OPT_NON_STR_KEYS | orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS
    return orjson.dumps(value, default=str, option=options).decode()


def insert_many(conn: Connection, table, columns: tuple[str, ...], rows: list[tuple]) -> None:
    """Insert rows (tuples of `columns`) through the driver's executemany.

    SQLAlchemy's own executemany processes every row's parameters in Python (about 30 us a row, the largest
    single cost of writing 35 findings per model); the plain values here need none of it.
    """
    if rows:
        _driver_many(conn, insert(table).compile(dialect=conn.dialect, column_keys=list(columns)), columns, rows)


def _driver_many(conn: Connection, compiled, names: tuple[str, ...], rows: list[tuple]) -> None:
    """Run a compiled statement once per row (tuples of the parameters `names`) through the driver's executemany."""
    if compiled.positiontup is not None:  # qmark or format paramstyle: values in the statement's order
        if list(compiled.positiontup) != list(names):
            at = [names.index(k) for k in compiled.positiontup]
            rows = [tuple(row[i] for i in at) for row in rows]
        conn.exec_driver_sql(compiled.string, rows)
    else:  # named paramstyles take dicts
        conn.exec_driver_sql(compiled.string, [dict(zip(names, row, strict=True)) for row in rows])


def update_models(conn: Connection, values: dict[str, dict]) -> None:
    """Set columns of model rows ({model id: {column: value}}), writing only the values that differ.

    An UPDATE rewrites the entry of every index that holds a column it sets, equal value or not, and fires
    the facet triggers of each column it names: with ~35 indexes on `models`, re-setting what a model already
    has cost as much as changing it. Rows with the same changed columns go in one statement.
    """
    if not values:
        return
    columns = sorted({c for row in values.values() for c in row})
    stored = {
        row[0]: dict(zip(columns, row[1:], strict=True))
        for row in conn.execute(select(M.c.id, *(M.c[c] for c in columns)).where(M.c.id.in_(list(values))))
    }
    groups: dict[tuple[str, ...], list[tuple]] = {}
    for model_id, row in values.items():
        current = stored.get(model_id)
        if current is None:
            continue
        changed = tuple(c for c in columns if c in row and not _same(current[c], row[c]))
        if changed:
            groups.setdefault(changed, []).append((*(row[c] for c in changed), model_id))
    for changed, params in groups.items():
        update_rows(conn, changed, params)


def update_rows(
    conn: Connection, columns: tuple[str, ...], rows: list[tuple], unset: str | None = None, table=M
) -> None:
    """Set `columns` of model rows (of `table`'s): each row a tuple of the values, then the row's id.

    `unset` names a column that must still be NULL for a row to be written. PostgreSQL gets one statement
    for all rows (`UPDATE ... FROM unnest(arrays)`): its count triggers run per statement, and a statement per
    row ran them per row (PostgreSQL's first ingest at 10k records: see README). SQLite runs a statement per row
    through the driver's executemany (its triggers are per row anyway).
    """
    if not rows:
        return
    if conn.dialect.name == "postgresql":
        _pg_update_rows(conn, columns, rows, unset, table)
        return
    statement = update(table).where(table.c.id == bindparam("b_id")).values({c: bindparam(f"b_{c}") for c in columns})
    if unset is not None:
        statement = statement.where(table.c[unset].is_(None))
    _driver_many(conn, statement.compile(dialect=conn.dialect), (*(f"b_{c}" for c in columns), "b_id"), rows)


def _pg_update_rows(conn: Connection, columns: tuple[str, ...], rows: list[tuple], unset: str | None, table) -> None:
    quote = conn.dialect.identifier_preparer.quote
    names = [*columns, "id"]
    rows = sorted(rows, key=lambda row: row[-1])  # id order: concurrent writers lock shared rows in one order
    arrays, params = [], []
    for i, name in enumerate(names):
        kind = table.c[name].type
        values = [row[i] for row in rows]
        # One element type per array (psycopg types an array by its first element); a float written to an
        # integer column rounds, as PostgreSQL's own assignment would.
        if kind.python_type is float:
            values = [None if v is None else float(v) for v in values]
        elif kind.python_type is int:
            values = [v if v is None or isinstance(v, int) else round(v) for v in values]
        arrays.append(f"CAST(%s AS {kind.compile(dialect=conn.dialect)}[])")
        params.append(values)
    sets = ", ".join(f"{quote(c)} = v.{quote(c)}" for c in columns)
    name = quote(table.name)
    where = f" AND {name}.{quote(unset)} IS NULL" if unset is not None else ""
    conn.exec_driver_sql(
        f"UPDATE {name} SET {sets} FROM unnest({', '.join(arrays)}) AS v({', '.join(quote(n) for n in names)}) "
        f"WHERE {name}.id = v.id{where}",
        tuple(params),
    )


def _same(stored, new) -> bool:
    """Whether a stored column value is the value about to be written (SQLite hands booleans back as 0/1)."""
    if stored is None or new is None:
        return stored is new
    return stored == new


def _write_scores(
    engine: Engine, rows: list[_BatchRow], result: tuple, method: Method, share: bool = True
) -> set[int]:  # fmt: skip
    """One batch's assessments, scores, new dictionaries, facts and model columns, in one transaction.

    An observation whose assessment equals (`content_hash`) the one its model's newest scored observation
    points at shares that row instead of adding its own (`Observation.assessed_by`); `share=False` gives every
    observation its own (what was stored before revision 0013; tests compare the two). A carried observation
    shares the row it was carried from; where that row is gone or changed (another writer scored its holder
    again meanwhile), it is left unscored and returned, to be scored in full.
    """
    assessments, observations, new_zdicts, model_updates, facts_updates, carried = result
    ids = [r.obs_id for r in rows]
    model_of = {r.obs_id: r.model_id for r in rows}
    bounced: set[int] = set()
    with engine.begin() as conn:
        writer_cache(conn)
        if carried:
            standing = set(conn.execute(select(A.c.observation_id, A.c.content_hash).where(
                A.c.observation_id.in_(sorted({h for h, _ in carried.values()})),
                A.c.method_version == method.version)).all())  # fmt: skip
            bounced = {obs_id for obs_id, holder in carried.items() if holder not in standing}
            if bounced:
                gone = {model_of[obs_id] for obs_id in bounced}
                observations = [o for o in observations if o[0] not in bounced]
                model_updates = {m: v for m, v in model_updates.items() if m not in gone}
                ids = [i for i in ids if i not in bounced]
        record_method_checks(conn, method.version, [c.id for c in method.checks])
        if new_zdicts:
            # Another batch may have given the model a dictionary meanwhile: rows keep the one they were packed with.
            shared = shared_zdict(conn, "findings", new_zdicts.values())
            zdict_ids = dict(zip(new_zdicts, store_zdicts(conn, list(new_zdicts.values()), shared), strict=True))
            at = ASSESSMENT_COLUMNS.index("zdict")
            assessments = [row if row[at] != NEW_ZDICT else (*row[:at], zdict_ids[model_of[row[0]]], *row[at + 1 :])
                           for row in assessments]  # fmt: skip
            update_rows(conn, ("findings_zdict",), [(zid, model_id) for model_id, zid in zdict_ids.items()],
                        unset="findings_zdict")  # fmt: skip
        # Re-scoring under the same version replaces that version's rows; other versions stay as history.
        _hand_over(conn, ids, method.version)
        conn.execute(delete(A).where(A.c.observation_id.in_(ids), A.c.method_version == method.version))
        # A carried observation shares the row it was carried from: only the others look for one.
        scored_in_full = sorted({model_of[row[0]] for row in assessments})
        holders = _newest_holders(conn, scored_in_full, ids, method.version) if share and scored_in_full else {}
        kept, holder_of = [], {obs_id: holder for obs_id, (holder, _) in carried.items()}
        for row in assessments:
            obs_id, key = row[0], row[-1]
            model_id = model_of[obs_id]
            holder = holders.get(model_id)
            if holder is not None and holder[1] == key:
                holder_of[obs_id] = holder[0]
            else:
                kept.append(row)
                holder_of[obs_id] = obs_id
                if share:
                    holders[model_id] = (obs_id, key)
        insert_many(conn, A, ASSESSMENT_COLUMNS, kept)
        update_rows(conn, ("scored_version", "assessed_by", *OBSERVATION_SCORES.values()),
                    [(method.version, holder_of[obs_id], *scores, obs_id) for obs_id, *scores in observations],
                    table=O)  # fmt: skip
        if facts_updates:
            conn.execute(update(F).where(F.c.id == bindparam("b_id")).values(data=bindparam("b_data")),
                         [{"b_id": fid, "b_data": data} for fid, data in facts_updates])  # fmt: skip
        update_models(conn, model_updates)
    return bounced


def _newest_holders(conn: Connection, model_ids: list[str], exclude: list[int], version: str) -> dict[str, tuple]:
    """Where each model's newest observation scored under `version` has its assessment.

    {model id: (observation holding the assessment, its content hash)}; observations in `exclude` (being
    scored) are left out.
    """
    holder_of = _newest_scored(conn, O.c.assessed_by, model_ids, exclude, version)
    if not holder_of:
        return {}
    keys = dict(conn.execute(select(A.c.observation_id, A.c.content_hash).where(
        A.c.observation_id.in_(sorted(set(holder_of.values()))), A.c.method_version == version)).all())  # fmt: skip
    return {m: (h, keys[h]) for m, h in holder_of.items() if keys.get(h) is not None}


def _newest_scored(conn: Connection, column, model_ids: list[str], exclude: list[int], version: str) -> dict:
    """{model id: `column` of its newest observation scored under `version`} (those in `exclude` left out)."""
    newest = (
        select(column)
        .where(O.c.model_id == M.c.id, O.c.scored_version == version, O.c.id.not_in(exclude))
        .order_by(O.c.observed_at.desc())
        .limit(1)
        .scalar_subquery()
    )
    return {m: v for m, v in conn.execute(select(M.c.id, newest).where(M.c.id.in_(model_ids))) if v is not None}


def _hand_over(conn: Connection, ids: list[int], version: str) -> None:
    """Hand the assessments observations `ids` hold for others to the first of those others.

    Run before `ids` are scored again, so that the others' findings stay as they were scored.
    """
    # Only an observation scored before can hold a row (a new one has no `assessed_by`): the daily case has
    # none, and the search for sharers below reads every observation (no index on `assessed_by`: it would
    # cost every observation's bytes for what only a re-score asks).
    ids = conn.execute(select(O.c.id).where(O.c.id.in_(ids), O.c.assessed_by == O.c.id)).scalars().all()
    if not ids:
        return
    sharers = conn.execute(
        select(O.c.assessed_by, func.min(O.c.id))
        .where(O.c.assessed_by.in_(ids), O.c.id.not_in(ids), O.c.scored_version == version)
        .group_by(O.c.assessed_by)
    ).all()
    for holder, heir in sharers:
        # The row becomes the heir's own: its findings with the heir's counters and date (`findings_of` reads
        # them so while the heir still shares), packed with the same dictionary.
        findings = findings_of(conn, heir, version)
        at = (A.c.observation_id == holder, A.c.method_version == version)
        zid = conn.execute(select(A.c.zdict).where(*at)).scalar()
        blob = pack(dumps(finding_items(findings)), load_zdicts(conn, [zid]).get(zid))
        conn.execute(update(A).where(*at).values(observation_id=heir, findings=blob))
        conn.execute(update(O).where(O.c.assessed_by == holder, O.c.id.not_in(ids), O.c.scored_version == version)
                     .values(assessed_by=heir))  # fmt: skip


def _optimize(engine: Engine) -> None:
    """Refresh the planner's statistics after bulk writes (SQLite analyses only what changed)."""
    if engine.dialect.name == "sqlite":
        with engine.begin() as conn:
            conn.exec_driver_sql("PRAGMA optimize")
    elif engine.dialect.name == "postgresql":  # autovacuum would, later: a sample of each table, not a scan
        with engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE models, observations")


def mark_for_rescore(engine: Engine) -> int:
    """Mark every observation unscored, so the next `score_pending` recomputes all with today's context."""
    with engine.begin() as conn:
        return conn.execute(update(O).values(scored_version=None)).rowcount
