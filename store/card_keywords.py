"""The card keyword index: an SQLite FTS5 file beside the vectors, with the chunks' filter values as tokens.

It is its own SQLite file (`cards_fts.db` in the data directory), so it works whatever database holds the
scores. Each row is one chunk: its text, section, model id and filter values; `indexed_cards` records which
card text each model's chunks were made from.
"""

from __future__ import annotations

import re
import sqlite3
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field

FILTER_KEYS = ("pipeline_tag", "license_class", "size_class")
FTS_COLUMNS = ("text", "section", "model_id", "id", *FILTER_KEYS, "facets")
ROW_KEYS = ("model_id", *FILTER_KEYS)  # what CardFilters.matches reads from a keyword-index row
FTS_SCHEMA = (
    "CREATE VIRTUAL TABLE IF NOT EXISTS {name} USING fts5(text, section, model_id, id UNINDEXED, "
    "pipeline_tag UNINDEXED, license_class UNINDEXED, size_class UNINDEXED, facets, "
    "tokenize='unicode61 remove_diacritics 2')"
)
# Column weights: a match in the model id counts most, then the section title; facet tokens only filter.
BM25_WEIGHTS = "1.0, 2.0, 4.0, 0.0, 0.0, 0.0, 0.0, 0.0"


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


class KeywordIndex:
    """The FTS5 file: schema (and its one migration), chunk rows, card hashes, and the keyword queries."""

    def __init__(self, path):
        self.path = path
        self.conn = sqlite3.connect(path, check_same_thread=False)
        self.conn.execute("PRAGMA journal_mode=WAL")
        self._readers = threading.local()  # one connection per searching thread
        self.conn.execute(FTS_SCHEMA.format(name="chunks"))
        columns = [r[1] for r in self.conn.execute("PRAGMA table_info(chunks)")]
        if "facets" not in columns:  # written before the facets column: rebuilt once, nothing re-embedded
            self._add_facets_column()
        # Which card text each model's chunks were made from: an unchanged card is not chunked again.
        self.conn.execute("CREATE TABLE IF NOT EXISTS indexed_cards (model_id TEXT PRIMARY KEY, card_hash TEXT)")

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

    # ------------------------------------------------------------------------------------------ writing
    def add(self, ids: list[str], texts: list[str], metas: list[dict]) -> None:
        """Write chunks (metadata holds model_id, section and the filter values)."""
        self.conn.executemany(
            f"INSERT INTO chunks ({', '.join(FTS_COLUMNS)}) VALUES ({', '.join('?' * len(FTS_COLUMNS))})",
            [(t, m["section"], m["model_id"], i, *(m.get(k, "") for k in FILTER_KEYS), _facet_tokens(m))
             for i, t, m in zip(ids, texts, metas, strict=True)],
        )  # fmt: skip
        self.conn.commit()

    def remove(self, ids: list[str]) -> None:
        """Delete chunks by id."""
        for start in range(0, len(ids), 500):
            part = ids[start : start + 500]
            self.conn.execute(f"DELETE FROM chunks WHERE id IN ({','.join('?' * len(part))})", part)
        self.conn.commit()

    def update_filters(self, ids: list[str], metas: list[dict]) -> None:
        """New filter values for existing chunks."""
        self.conn.executemany(
            "UPDATE chunks SET pipeline_tag = ?, license_class = ?, size_class = ?, facets = ? WHERE id = ?",
            [(*(m.get(k, "") for k in FILTER_KEYS), _facet_tokens(m), i) for i, m in zip(ids, metas, strict=True)],
        )
        self.conn.commit()

    def card_hashes(self) -> dict[str, str]:
        """The card hash each model's chunks were made from."""
        return dict(self.conn.execute("SELECT model_id, card_hash FROM indexed_cards"))

    def set_card_hashes(self, hashes: dict[str, str]) -> None:
        """Replace the recorded card hashes."""
        self.conn.execute("DELETE FROM indexed_cards")
        self.conn.executemany("INSERT INTO indexed_cards VALUES (?, ?)", list(hashes.items()))
        self.conn.commit()

    def optimize(self) -> None:
        """Merge the index's segments into one.

        Written 64 chunks at a time, it has many: merged, the worst keyword query at 100k chunks went from
        50 to 39 ms, for 0.4 s here.
        """
        self.conn.execute("INSERT INTO chunks(chunks) VALUES('optimize')")
        self.conn.commit()

    # ------------------------------------------------------------------------------------------ reading
    def chunk_ids(self, model_ids: Iterable[str] | None = None) -> dict[str, set[str]]:
        """Chunk ids per model."""
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
        """Chunk ids held more than once (two writers that raced; normally none). Reads the whole index."""
        return [r[0] for r in self.conn.execute("SELECT id FROM chunks GROUP BY id HAVING count(*) > 1")]

    def count(self) -> int:
        """Chunks indexed (counting reads the whole index: 30 ms at 100k chunks)."""
        return self.conn.execute("SELECT count(*) FROM chunks").fetchone()[0]

    def is_empty(self) -> bool:
        """Whether no chunk is indexed (a one-row read)."""
        return self._reader().execute("SELECT 1 FROM chunks LIMIT 1").fetchone() is None

    def passing_ids(self, filters: CardFilters, limit: int) -> list[str] | None:
        """Ids of the chunks that pass the filters, from the keyword index; None when more than `limit` do."""
        match = _facet_match(filters)
        if filters.model_ids or not match:
            return None
        sql = f"SELECT id, model_id, {', '.join(FILTER_KEYS)} FROM chunks WHERE chunks MATCH ? LIMIT ?"
        rows = self._reader().execute(sql, [match, limit + 1]).fetchall()
        if len(rows) > limit:
            return None
        return [r[0] for r in rows if filters.matches(dict(zip(ROW_KEYS, r[1:], strict=True)))]

    def hits(self, query: str, filters: CardFilters, n: int) -> list[tuple[str, str, str, str]]:
        """(chunk id, model id, section, snippet) best matching the query's words (BM25).

        Filters are facet tokens in the MATCH, so the index intersects posting lists and ranks only chunks
        that pass (testing the filter columns in SQL read every match's row: 70-80 ms instead of 20-30 at
        100k chunks). The few rows returned are checked against the filters' exact values as well.
        """
        words = re.findall(r"\w+", query.lower())
        if not words:
            return []
        phrase = '"' + " ".join(words) + '"'
        match = " OR ".join([phrase] + [f'"{w}"' for w in dict.fromkeys(words)])
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


def _facet_match(filters: CardFilters) -> str:
    """The filters as an FTS5 expression over the facets column ('' without filters)."""
    return " AND ".join(f'facets : "{t}"' for t in _facet_tokens(filters.columns()).split())


def _facet_tokens(values: dict) -> str:
    """Filter values as single index tokens ("text-generation" -> "pipelinetagtextgeneration")."""
    return " ".join(re.sub(r"\W|_", "", f"{k}{values[k]}").lower() for k in FILTER_KEYS if values.get(k))
