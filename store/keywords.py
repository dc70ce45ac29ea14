"""The card keyword index: one interface, an SQLite FTS5 file and a PostgreSQL full-text table behind it.

With an SQLite store the index is its own file in the data directory (`cards_fts.db`); with a PostgreSQL
store it is a table in that database (a `tsvector` column under a GIN index), so every app process that
points at the database shares one keyword index. Both tokenize alike: lower case, accents removed, split
at every character that is not a letter or digit, no stemming; both weigh a match in the model id above
one in the section title above one in the text.
"""

from __future__ import annotations

import math
import re
import sqlite3
import threading
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from itertools import combinations
from pathlib import Path
from typing import Protocol

from sqlalchemy import text
from sqlalchemy.engine import Engine

FILTER_KEYS = ("pipeline_tag", "license_class", "size_class")
ROW_KEYS = ("model_id", *FILTER_KEYS)  # what a filter's `matches` reads from an index row
# A keyword hit: (chunk id, model id, section, snippet with matches in [brackets]).
Hit = tuple[str, str, str, str]
# A chunk to index: (chunk id, text, metadata with model_id, section and the filter keys).
Entry = tuple[str, str, dict]


@dataclass
class CardFilters:
    """Filters on chunk metadata."""

    task: str | None = None
    license_class: str | None = None
    size_class: str | None = None
    model_ids: list[str] = field(default_factory=list)

    def matches(self, meta: dict) -> bool:
        """Whether a chunk's metadata passes these filters (the same test as `chroma_where`)."""
        return (
            (not self.task or meta.get("pipeline_tag") == self.task)
            and (not self.license_class or meta.get("license_class") == self.license_class)
            and (not self.size_class or meta.get("size_class") == self.size_class)
            and (not self.model_ids or meta.get("model_id") in self.model_ids)
        )

    def columns(self) -> dict[str, str | None]:
        """The filter values by the chunk metadata keys they test."""
        return {"pipeline_tag": self.task, "license_class": self.license_class, "size_class": self.size_class}

    def chroma_where(self) -> dict | None:
        """Chroma's `where` clause."""
        conds: list[dict] = []
        for key, value in (("pipeline_tag", self.task), ("license_class", self.license_class),
                           ("size_class", self.size_class)):  # fmt: skip
            if value:
                conds.append({key: value})
        if self.model_ids:
            conds.append({"model_id": {"$in": list(self.model_ids)}})
        if not conds:
            return None
        return conds[0] if len(conds) == 1 else {"$and": conds}



class Filters(Protocol):
    """What the keyword index needs of the card search's filters."""

    model_ids: list[str]

    def columns(self) -> dict[str, str | None]:
        """The filter values by metadata key."""

    def matches(self, meta: dict) -> bool:
        """Whether a row's metadata passes."""


class KeywordIndex(Protocol):
    """Chunks searchable by their words, with the card each model's chunks were made from."""

    def add(self, entries: list[Entry]) -> None:
        """Index new chunks."""

    def remove(self, ids: list[str]) -> None:
        """Drop chunks by id."""

    def update_meta(self, ids: list[str], metas: list[dict]) -> None:
        """Replace the filter values of indexed chunks."""

    def ids_by_model(self, model_ids: Iterable[str] | None = None) -> dict[str, set[str]]:
        """Chunk ids per model (of the given models, or all)."""

    def duplicate_ids(self) -> list[str]:
        """Chunk ids held more than once (two writers that raced; normally none)."""

    def card_hashes(self) -> dict[str, str]:
        """The card each model's chunks were made from."""

    def set_card_hashes(self, hashes: dict[str, str]) -> None:
        """Replace the record of which card each model's chunks came from."""

    def hits(self, query: str, filters: Filters, n: int) -> list[Hit]:
        """The n chunks best matching the query's words that pass the filters."""

    def passing_ids(self, filters: Filters, limit: int) -> list[str] | None:
        """Ids of the chunks passing the filters; None when more than `limit` do (or filters are by model)."""

    def passing_among(self, ids: list[str], filters: Filters) -> set[str]:
        """Which of these chunk ids pass the filters (looked up by id; an id not indexed does not pass)."""

    def count(self) -> int:
        """Chunks indexed."""

    def is_empty(self) -> bool:
        """Whether no chunk is indexed."""

    def optimize(self) -> None:
        """Compact the index after many writes."""


def words(value: str) -> list[str]:
    """The index's tokens of a text: lower case, accents removed, split at non-alphanumerics."""
    folded = unicodedata.normalize("NFKD", value.lower())
    folded = "".join(c for c in folded if not unicodedata.combining(c))
    return re.findall(r"[^\W_]+", folded)


def _facet_tokens(values: dict) -> str:
    """Filter values as single index tokens ("text-generation" -> "pipelinetagtextgeneration")."""
    return " ".join(re.sub(r"\W|_", "", f"{k}{values[k]}").lower() for k in FILTER_KEYS if values.get(k))


# ---------------------------------------------------------------------------------------------- SQLite FTS5
FTS_COLUMNS = ("text", "section", "model_id", "id", *FILTER_KEYS, "facets")
FTS_SCHEMA = (
    "CREATE VIRTUAL TABLE IF NOT EXISTS {name} USING fts5(text, section, model_id, id UNINDEXED, "
    "pipeline_tag UNINDEXED, license_class UNINDEXED, size_class UNINDEXED, facets, "
    "tokenize='unicode61 remove_diacritics 2')"
)
# Column weights: a match in the model id counts most, then the section title; facet tokens only filter.
BM25_WEIGHTS = "1.0, 2.0, 4.0, 0.0, 0.0, 0.0, 0.0, 0.0"
# Each chunk's filter values by chunk id: FTS5 finds a row by its id only by reading them all (0.4 s at 100k
# chunks), and the filtered vector search asks which of ~1,000 nearest chunks pass (store/vectors.py).
FILTERS_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS chunk_filters (id TEXT PRIMARY KEY, model_id TEXT NOT NULL, pipeline_tag TEXT, "
    "license_class TEXT, size_class TEXT) WITHOUT ROWID"
)
_FILTER_ROW = f"id, model_id, {', '.join(FILTER_KEYS)}"


def _facet_match(filters: Filters) -> str:
    """The filters as an FTS5 expression over the facets column ('' without filters)."""
    return " AND ".join(f'facets : "{t}"' for t in _facet_tokens(filters.columns()).split())


class SqliteKeywordIndex:
    """FTS5 in its own SQLite file, so it works whatever database holds the scores."""

    def __init__(self, path: Path):
        self.path = path
        self.conn = sqlite3.connect(path, check_same_thread=False)
        self.conn.execute("PRAGMA journal_mode=WAL")
        self._readers = threading.local()  # one connection per searching thread
        self.conn.execute(FTS_SCHEMA.format(name="chunks"))
        columns = [r[1] for r in self.conn.execute("PRAGMA table_info(chunks)")]
        if "facets" not in columns:  # written before the facets column: rebuilt once, nothing re-embedded
            self._add_facets_column()
        self.conn.execute("CREATE TABLE IF NOT EXISTS indexed_cards (model_id TEXT PRIMARY KEY, card_hash TEXT)")
        known = self.conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'chunk_filters'").fetchone()
        self.conn.execute(FILTERS_SCHEMA)
        if not known:  # an index written before the table: filled once from the chunks
            self.conn.execute(f"INSERT OR REPLACE INTO chunk_filters SELECT {_FILTER_ROW} FROM chunks")
        self.conn.commit()

    def _add_facets_column(self) -> None:
        rows = self.conn.execute(
            "SELECT text, section, model_id, id, pipeline_tag, license_class, size_class FROM chunks"
        ).fetchall()
        self.conn.execute("DROP TABLE chunks")
        self.conn.execute(FTS_SCHEMA.format(name="chunks"))
        self.conn.executemany(
            f"INSERT INTO chunks ({', '.join(FTS_COLUMNS)}) VALUES ({', '.join('?' * len(FTS_COLUMNS))})",
            [(*r, _facet_tokens(dict(zip(FILTER_KEYS, r[4:], strict=True)))) for r in rows],
        )
        self.conn.commit()

    def _reader(self) -> sqlite3.Connection:
        conn = getattr(self._readers, "conn", None)
        if conn is None:
            conn = self._readers.conn = sqlite3.connect(self.path, check_same_thread=False)
        return conn

    def add(self, entries: list[Entry]) -> None:
        """Index new chunks."""
        self.conn.executemany(
            f"INSERT INTO chunks ({', '.join(FTS_COLUMNS)}) VALUES ({', '.join('?' * len(FTS_COLUMNS))})",
            [(t, m["section"], m["model_id"], i, *(m.get(k, "") for k in FILTER_KEYS), _facet_tokens(m))
             for i, t, m in entries],
        )  # fmt: skip
        self.conn.executemany(
            "INSERT OR REPLACE INTO chunk_filters VALUES (?, ?, ?, ?, ?)",
            [(i, m["model_id"], *(m.get(k, "") for k in FILTER_KEYS)) for i, _, m in entries],
        )
        self.conn.commit()

    def remove(self, ids: list[str]) -> None:
        """Drop chunks by id."""
        for start in range(0, len(ids), 500):
            part = ids[start : start + 500]
            self.conn.execute(f"DELETE FROM chunks WHERE id IN ({','.join('?' * len(part))})", part)
            self.conn.execute(f"DELETE FROM chunk_filters WHERE id IN ({','.join('?' * len(part))})", part)
        self.conn.commit()

    def update_meta(self, ids: list[str], metas: list[dict]) -> None:
        """Replace the filter values of indexed chunks."""
        self.conn.executemany(
            "UPDATE chunks SET pipeline_tag = ?, license_class = ?, size_class = ?, facets = ? WHERE id = ?",
            [(*(m.get(k, "") for k in FILTER_KEYS), _facet_tokens(m), i) for i, m in zip(ids, metas, strict=True)],
        )
        self.conn.executemany(
            "UPDATE chunk_filters SET pipeline_tag = ?, license_class = ?, size_class = ? WHERE id = ?",
            [(*(m.get(k, "") for k in FILTER_KEYS), i) for i, m in zip(ids, metas, strict=True)],
        )
        self.conn.commit()

    def ids_by_model(self, model_ids: Iterable[str] | None = None) -> dict[str, set[str]]:
        """Chunk ids per model (of the given models, or all)."""
        out: dict[str, set[str]] = {}
        if model_ids is None:
            rows = self.conn.execute("SELECT model_id, id FROM chunks")
        else:
            ids = list(model_ids)
            rows = []
            for start in range(0, len(ids), 500):
                part = ids[start : start + 500]
                marks = ",".join("?" * len(part))
                rows.extend(self.conn.execute(f"SELECT model_id, id FROM chunks WHERE model_id IN ({marks})", part))
        for model_id, chunk_id in rows:
            out.setdefault(model_id, set()).add(chunk_id)
        return out

    def duplicate_ids(self) -> list[str]:
        """Chunk ids held more than once: FTS5 has no unique key, so two racing writers can add a chunk twice."""
        return [r[0] for r in self.conn.execute("SELECT id FROM chunks GROUP BY id HAVING count(*) > 1")]

    def card_hashes(self) -> dict[str, str]:
        """The card each model's chunks were made from."""
        return dict(self.conn.execute("SELECT model_id, card_hash FROM indexed_cards"))

    def set_card_hashes(self, hashes: dict[str, str]) -> None:
        """Replace the record of which card each model's chunks came from."""
        self.conn.execute("DELETE FROM indexed_cards")
        self.conn.executemany("INSERT INTO indexed_cards VALUES (?, ?)", list(hashes.items()))
        self.conn.commit()

    def hits(self, query: str, filters: Filters, n: int) -> list[Hit]:
        """BM25 over the query's words (phrase or any word).

        Filters are facet tokens in the MATCH, so the index intersects posting lists and ranks only chunks
        that pass (testing the filter columns in SQL read every match's row: 70-80 ms instead of 20-30 at
        100k chunks). The few rows returned are checked against the filters' exact values as well.
        """
        found = re.findall(r"\w+", query.lower())
        if not found:
            return []
        phrase = '"' + " ".join(found) + '"'
        match = " OR ".join([phrase] + [f'"{w}"' for w in dict.fromkeys(found)])
        if facets := _facet_match(filters):
            match = f"({match}) AND {facets}"
        conds, args = ["chunks MATCH ?"], [match]
        if filters.model_ids:
            conds.append(f"model_id IN ({','.join('?' * len(filters.model_ids))})")
            args.extend(filters.model_ids)
        sql = (f"SELECT id, model_id, section, snippet(chunks, 0, '[', ']', ' … ', 24), {', '.join(FILTER_KEYS)} "
               f"FROM chunks WHERE {' AND '.join(conds)} ORDER BY bm25(chunks, {BM25_WEIGHTS}) LIMIT ?")  # fmt: skip
        rows = self._reader().execute(sql, [*args, n])
        return [row[:4] for row in rows if filters.matches(dict(zip(ROW_KEYS, (row[1], *row[4:]), strict=True)))]

    def passing_ids(self, filters: Filters, limit: int) -> list[str] | None:
        """Ids of the chunks passing the filters; None when more than `limit` do (or filters are by model)."""
        match = _facet_match(filters)
        if filters.model_ids or not match:
            return None
        sql = f"SELECT id, model_id, {', '.join(FILTER_KEYS)} FROM chunks WHERE chunks MATCH ? LIMIT ?"
        rows = self._reader().execute(sql, [match, limit + 1]).fetchall()
        if len(rows) > limit:
            return None
        return [r[0] for r in rows if filters.matches(dict(zip(ROW_KEYS, r[1:], strict=True)))]

    def passing_among(self, ids: list[str], filters: Filters) -> set[str]:
        """Which of these chunk ids pass the filters (primary-key lookups in `chunk_filters`)."""
        passing: set[str] = set()
        reader = self._reader()
        for start in range(0, len(ids), 500):
            part = ids[start : start + 500]
            rows = reader.execute(f"SELECT {_FILTER_ROW} FROM chunk_filters WHERE id IN ({','.join('?' * len(part))})",
                                  part)  # fmt: skip
            passing.update(r[0] for r in rows if filters.matches(dict(zip(ROW_KEYS, r[1:], strict=True))))
        return passing

    def count(self) -> int:
        """Chunks indexed (counting reads the whole index: 30 ms at 100k chunks)."""
        return self.conn.execute("SELECT count(*) FROM chunks").fetchone()[0]

    def is_empty(self) -> bool:
        """Whether no chunk is indexed (a one-row read)."""
        return self._reader().execute("SELECT 1 FROM chunks LIMIT 1").fetchone() is None

    def optimize(self) -> None:
        """Merge the index's segments into one.

        Written 64 chunks at a time, it has many: merged, the worst keyword query at 100k chunks went from
        50 to 39 ms, for 0.4 s here.
        """
        self.conn.execute("INSERT INTO chunks(chunks) VALUES('optimize')")
        self.conn.commit()


# ------------------------------------------------------------------------------------- PostgreSQL full text
# ts_rank's weights for labels D, C, B, A: text (D) 1/4 of a model-id match (A), a section title (B) 1/2,
# the proportions of the FTS5 index's BM25 weights. Normalization 1 divides by 1 + log(length), so a long
# chunk does not win by size, as BM25's length term does.
TS_WEIGHTS = "{0.25, 0, 0.5, 1.0}"
_RANK = f"ts_rank('{TS_WEIGHTS}'::float4[], document, to_tsquery('simple', :any_word), 1)"
HEADLINE = 'StartSel=[, StopSel=], MaxWords=24, MinWords=12, ShortWord=1, MaxFragments=2, FragmentDelimiter=" … "'
# Each ranked row's document is read: it stays in the row (MAIN), and the text, read only for the few snippets,
# is what leaves it. By default PostgreSQL moves the largest value out of a row over 2 kB, and for a real
# 240-token chunk that is the document (3 kB, little to compress): ranking 20k such chunks read each from the
# TOAST table, 224 ms, against 80 ms with the documents in the rows.
STORAGE = [
    "ALTER TABLE card_chunks ALTER COLUMN document SET STORAGE MAIN",
    "ALTER TABLE card_chunks ALTER COLUMN text SET STORAGE EXTENDED",
]
PG_DDL = [
    "CREATE TABLE IF NOT EXISTS card_chunks (id TEXT PRIMARY KEY, model_id TEXT NOT NULL, section TEXT NOT NULL, "
    "text TEXT NOT NULL, pipeline_tag TEXT NOT NULL, license_class TEXT NOT NULL, size_class TEXT NOT NULL, "
    "document TSVECTOR NOT NULL)",
    *STORAGE,
    "CREATE INDEX IF NOT EXISTS ix_card_chunks_document ON card_chunks USING GIN (document)",
    "CREATE INDEX IF NOT EXISTS ix_card_chunks_model ON card_chunks (model_id)",
    "CREATE INDEX IF NOT EXISTS ix_card_chunks_filters ON card_chunks (pipeline_tag, license_class, size_class)",
    "CREATE TABLE IF NOT EXISTS card_indexed (model_id TEXT PRIMARY KEY, card_hash TEXT NOT NULL)",
]
# What `hits` prunes with (revision 0012 adds them to an older table): the chunks whose model id or section holds
# a word, and the chunks by number of distinct words.
PRUNING_INDEXES = [
    "CREATE INDEX IF NOT EXISTS ix_card_chunks_heading ON card_chunks USING GIN (ts_filter(document, '{a,b}'))",
    "CREATE INDEX IF NOT EXISTS ix_card_chunks_lexemes ON card_chunks (length(document))",
]
PG_DDL += PRUNING_INDEXES
# The most a word found only in a chunk's text (weight D) adds to ts_rank's sum: 0.25 x sum(1/i^2) / 1.6449,
# under 0.25 however often it occurs (see `hits`).
TEXT_WEIGHT = 0.25
PRUNE_MAX_WORDS = 8  # beyond this, the pairs of words make too long a query: every match is ranked
# Below this many chunks (as of the last ANALYZE) every match is ranked: the 10k shared chunks ranked in 7 ms a
# query that way, and in 12 ms with the extra pruning query (the 32 labeled queries, two filters, n 20 and 40).
PRUNE_MIN_CHUNKS = 30_000
_DOCUMENT = (
    "setweight(to_tsvector('simple', :model_words), 'A') || setweight(to_tsvector('simple', :section_words), 'B') "
    "|| setweight(to_tsvector('simple', :text_words), 'D')"
)


def _tsquery(query: str) -> str:
    """The query's words as a tsquery: the whole phrase, or any one word (as the FTS5 index asks)."""
    found = list(dict.fromkeys(words(query)))
    if not found:
        return ""
    terms = [f"'{w}'" for w in found]
    phrase = " <-> ".join(f"'{w}'" for w in words(query))
    return " | ".join([f"({phrase})", *terms] if len(found) > 1 else terms)


class PostgresKeywordIndex:
    """A full-text table in the PostgreSQL store: shared by every process that uses the database."""

    def __init__(self, engine: Engine):
        self.engine = engine
        with engine.begin() as conn:
            if conn.exec_driver_sql("SELECT to_regclass('card_indexed')").scalar() is None:
                conn.exec_driver_sql("SELECT pg_advisory_xact_lock(7316002)")  # two first openers: one creates
                for statement in PG_DDL:
                    conn.exec_driver_sql(statement)
            elif self._document_storage(conn) != "m":  # a table from before STORAGE
                conn.exec_driver_sql("SELECT pg_advisory_xact_lock(7316002)")
                if self._document_storage(conn) != "m":
                    for statement in STORAGE:
                        conn.exec_driver_sql(statement)
                    # Stored values keep their place until written again: each document is written anew.
                    conn.exec_driver_sql("UPDATE card_chunks SET document = document || ''::tsvector")

    @staticmethod
    def _document_storage(conn) -> str | None:
        return conn.exec_driver_sql(
            "SELECT attstorage FROM pg_attribute WHERE attrelid = 'card_chunks'::regclass AND attname = 'document'"
        ).scalar()

    @staticmethod
    def _filter_sql(filters: Filters) -> tuple[list[str], dict]:
        conds, args = [], {}
        for key, value in filters.columns().items():
            if value:
                conds.append(f"{key} = :{key}")
                args[key] = value
        if filters.model_ids:
            conds.append("model_id = ANY(:model_ids)")
            args["model_ids"] = list(filters.model_ids)
        return conds, args

    def add(self, entries: list[Entry]) -> None:
        """Index new chunks (a chunk indexed already is replaced)."""
        if not entries:
            return
        rows = [
            {"id": i, "model_id": m["model_id"], "section": m["section"], "text": t,
             **{k: m.get(k, "") for k in FILTER_KEYS}, "model_words": " ".join(words(m["model_id"])),
             "section_words": " ".join(words(m["section"])), "text_words": " ".join(words(t))}
            for i, t, m in entries
        ]  # fmt: skip
        with self.engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO card_chunks (id, model_id, section, text, pipeline_tag, license_class, size_class, "
                    f"document) VALUES (:id, :model_id, :section, :text, :pipeline_tag, :license_class, :size_class, "
                    f"{_DOCUMENT}) ON CONFLICT (id) DO UPDATE SET section = excluded.section, text = excluded.text, "
                    "pipeline_tag = excluded.pipeline_tag, license_class = excluded.license_class, "
                    "size_class = excluded.size_class, document = excluded.document"
                ),
                rows,
            )

    def remove(self, ids: list[str]) -> None:
        """Drop chunks by id."""
        if ids:
            with self.engine.begin() as conn:
                conn.execute(text("DELETE FROM card_chunks WHERE id = ANY(:ids)"), {"ids": list(ids)})

    def update_meta(self, ids: list[str], metas: list[dict]) -> None:
        """Replace the filter values of indexed chunks."""
        if ids:
            with self.engine.begin() as conn:
                conn.execute(
                    text("UPDATE card_chunks SET pipeline_tag = :pipeline_tag, license_class = :license_class, "
                         "size_class = :size_class WHERE id = :id"),
                    [{"id": i, **{k: m.get(k, "") for k in FILTER_KEYS}} for i, m in zip(ids, metas, strict=True)],
                )  # fmt: skip

    def ids_by_model(self, model_ids: Iterable[str] | None = None) -> dict[str, set[str]]:
        """Chunk ids per model (of the given models, or all)."""
        out: dict[str, set[str]] = {}
        with self.engine.connect() as conn:
            if model_ids is None:
                rows = conn.execute(text("SELECT model_id, id FROM card_chunks"))
            else:
                rows = conn.execute(text("SELECT model_id, id FROM card_chunks WHERE model_id = ANY(:m)"),
                                    {"m": list(model_ids)})  # fmt: skip
            for model_id, chunk_id in rows:
                out.setdefault(model_id, set()).add(chunk_id)
        return out

    def duplicate_ids(self) -> list[str]:
        """None: the table's primary key is the chunk id."""
        return []

    def card_hashes(self) -> dict[str, str]:
        """The card each model's chunks were made from."""
        with self.engine.connect() as conn:
            return dict(conn.execute(text("SELECT model_id, card_hash FROM card_indexed")).all())

    def set_card_hashes(self, hashes: dict[str, str]) -> None:
        """Replace the record of which card each model's chunks came from (one transaction)."""
        with self.engine.begin() as conn:
            conn.execute(text("DELETE FROM card_indexed"))
            if hashes:
                conn.execute(text("INSERT INTO card_indexed VALUES (:m, :h)"),
                             [{"m": m, "h": h} for m, h in hashes.items()])  # fmt: skip

    def hits(self, query: str, filters: Filters, n: int) -> list[Hit]:
        """ts_rank over the GIN-indexed documents that match; snippets only for the n returned.

        Rows match on any of the query's words (the index answers that without reading rows), and the
        ranking pass carries ids only: the text is read back for the n best.

        The rank is computed with the words alone: for a query whose top operator is OR (the phrase OR each
        word), `ts_rank` scores each distinct word once and ignores the operators, so the phrase gives the
        same value at a quarter more cost per ranked row (45k rows: 99 -> 75 ms). The snippets still
        mark the phrase.

        Not every match is ranked (`_best`): the same n chunks in the same order, from far fewer rows.
        """
        tsquery = _tsquery(query)
        if not tsquery:
            return []
        found = list(dict.fromkeys(words(query)))
        conds, args = self._filter_sql(filters)
        args |= {"tsquery": tsquery, "any_word": " | ".join(f"'{w}'" for w in found), "n": n}
        with self.engine.connect() as conn:
            where = self._best(conn, found, conds, args)
            sql = (
                f"WITH best AS (SELECT id, {_RANK} AS rank FROM card_chunks WHERE {where} ORDER BY rank DESC, id "
                "LIMIT :n) SELECT c.id, c.model_id, c.section, "
                f"ts_headline('simple', c.text, to_tsquery('simple', :tsquery), '{HEADLINE}'), "
                f"{', '.join('c.' + k for k in FILTER_KEYS)} FROM best JOIN card_chunks c ON c.id = best.id "
                "ORDER BY best.rank DESC, best.id"
            )
            rows = conn.execute(text(sql), args).all()
        return [tuple(r[:4]) for r in rows if filters.matches(dict(zip(ROW_KEYS, (r[1], *r[4:]), strict=True)))]

    @staticmethod
    def _best(conn, found: list[str], conds: list[str], args: dict) -> str:
        """The condition whose n best-ranked rows are the n best of all matches (it may add to `args`).

        Ranking every chunk that holds any query word was the cost (a four-word query matched 45k of 100k
        chunks: 57 ms serial). `ts_rank` (normalization 1) is S / (words in the query) / log2(1 + positions
        in the chunk), S summing per matched word (w + sum of w/i^2 over its later occurrences) / 1.6449 with
        w its weight: under w, and a word only in the text weighs 0.25. So a chunk that holds one query word,
        only in its text, ranks below 0.25 / words / log2(1 + distinct words in it). The chunks that hold two
        query words or one in their model id or section heading (`ix_card_chunks_heading`) are ranked first;
        when n of them reach a rank r, the one-word chunks that can reach r are the short ones, fetched by
        length (`ix_card_chunks_lexemes`) and ranked with those n. Otherwise (fewer than n, or too low a r to
        exclude any length) every match is ranked, as before; so is every match in a table under
        PRUNE_MIN_CHUNKS chunks.
        """
        every = " AND ".join(["document @@ to_tsquery('simple', :any_word)", *conds])
        if len(found) > PRUNE_MAX_WORDS:
            return every
        chunks = conn.exec_driver_sql("SELECT reltuples FROM pg_class WHERE oid = 'card_chunks'::regclass").scalar()
        if (chunks or 0) < PRUNE_MIN_CHUNKS:
            return every
        first = "ts_filter(document, '{a,b}') @@ to_tsquery('simple', :any_word)"
        if len(found) > 1:
            args["pairs"] = " | ".join(f"('{a}' & '{b}')" for a, b in combinations(found, 2))
            first = f"({first} OR document @@ to_tsquery('simple', :pairs))"
        # numnode: the query's words as PostgreSQL parsed them (an OR of k words has 2k - 1 nodes), which ts_rank
        # divides by.
        top = conn.execute(
            text(f"SELECT id, {_RANK} AS rank, numnode(to_tsquery('simple', :any_word)) AS nodes FROM card_chunks "
                 f"WHERE {' AND '.join([first, *conds])} ORDER BY rank DESC, id LIMIT :n"), args).all()  # fmt: skip
        if len(top) < args["n"] or not top[-1].rank > 0:
            return every
        # A one-word chunk with L distinct words ranks below 0.25 / words / log2(1 + L): under the n-th rank
        # (with a margin for float4 rounding) once L passes `longest`.
        exponent = TEXT_WEIGHT / ((top[-1].nodes + 1) / 2 * top[-1].rank * (1 - 1e-4))
        if exponent > 30:
            return every
        args["top_ids"] = [r.id for r in top]
        args["longest"] = math.floor(2**exponent - 1)
        return " AND ".join([
            "(id = ANY(:top_ids) OR (length(document) <= :longest AND document @@ to_tsquery('simple', :any_word)))",
            *conds,
        ])  # fmt: skip

    def passing_ids(self, filters: Filters, limit: int) -> list[str] | None:
        """Ids of the chunks passing the filters; None when more than `limit` do (or filters are by model)."""
        conds, args = self._filter_sql(filters)
        if filters.model_ids or not conds:
            return None
        with self.engine.connect() as conn:
            rows = conn.execute(text(f"SELECT id FROM card_chunks WHERE {' AND '.join(conds)} LIMIT :limit"),
                                {**args, "limit": limit + 1}).all()  # fmt: skip
        return None if len(rows) > limit else [r[0] for r in rows]

    def passing_among(self, ids: list[str], filters: Filters) -> set[str]:
        """Which of these chunk ids pass the filters (primary-key lookups)."""
        if not ids:
            return set()
        with self.engine.connect() as conn:
            rows = conn.execute(text(f"SELECT {_FILTER_ROW} FROM card_chunks WHERE id = ANY(:ids)"), {"ids": list(ids)})
            return {r[0] for r in rows if filters.matches(dict(zip(ROW_KEYS, r[1:], strict=True)))}

    def count(self) -> int:
        """Chunks indexed."""
        with self.engine.connect() as conn:
            return conn.execute(text("SELECT count(*) FROM card_chunks")).scalar_one()

    def is_empty(self) -> bool:
        """Whether no chunk is indexed."""
        with self.engine.connect() as conn:
            return conn.execute(text("SELECT 1 FROM card_chunks LIMIT 1")).first() is None

    def optimize(self) -> None:
        """Refresh the planner's statistics (the GIN index needs no merging: its pending list is autovacuum's)."""
        with self.engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE card_chunks")
