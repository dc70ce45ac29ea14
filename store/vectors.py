"""Card search: Chroma vectors and an SQLite FTS5 keyword index over the same chunks, merged by RRF.

Both live in the data directory (Chroma's folder, `cards_fts.db`), or Chroma on a server when
`WHICHMODEL_CHROMA_HOST` is set. The keyword index is its own SQLite file so it works whatever database
holds the scores. Chunk ids are stable, so `sync_cards` embeds only new chunks and deletes stale ones; the
filterable metadata (task, license class, size, scores) is refreshed on every sync.
"""

from __future__ import annotations

import re
import sqlite3
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from chromadb.api.types import Documents, EmbeddingFunction, Embeddings
from chromadb.utils.embedding_functions import register_embedding_function
from sqlalchemy import select
from sqlalchemy.engine import Engine
from whichmodel.cards.chunking import Chunk, chunk_card
from whichmodel.cards.embedding import MiniLM
from whichmodel.config import Settings
from whichmodel.store.lock import data_lock
from whichmodel.store.models import CardRow, ModelRow, Observation

COLLECTION = "cards"
RRF_K = 60
# Reciprocal rank fusion weights. On bench/cards_queries.json, equal weights gave recall@5 0.816, keyword
# alone 0.898, vectors alone 0.672; halving the vector weight gave 0.873. MiniLM is a small general model,
# and card questions often hinge on exact names; the labels lean towards keywords too, so no further tuning.
VECTOR_WEIGHT = 0.5
KEYWORD_WEIGHT = 1.0
FILTER_KEYS = ("pipeline_tag", "license_class", "size_class")
FTS_COLUMNS = ("text", "section", "model_id", "id", *FILTER_KEYS, "facets")
ROW_KEYS = ("model_id", *FILTER_KEYS)  # what CardFilters.matches reads from a keyword-index row
FTS_SCHEMA = (
    "CREATE VIRTUAL TABLE IF NOT EXISTS {name} USING fts5(text, section, model_id, id UNINDEXED, "
    "pipeline_tag UNINDEXED, license_class UNINDEXED, size_class UNINDEXED, facets, "
    "tokenize='unicode61 remove_diacritics 2')"
)
# Column weights: a match in the model id counts most, then the section title; facet tokens only filter.
# A filtered vector query looks at the OVERFETCH x n nearest chunks first; when too few of them pass and
# fewer than SUBSET_MAX chunks pass in all, exactly those are ranked.
OVERFETCH = 8
SUBSET_MAX = 2000
BM25_WEIGHTS = "1.0, 2.0, 4.0, 0.0, 0.0, 0.0, 0.0, 0.0"
_MODELS: dict[str, MiniLM] = {}
_SEARCH_POOL = ThreadPoolExecutor(max_workers=8, thread_name_prefix="card-keyword")
# Chroma's client for a folder is a process-wide shared system: two threads creating one at once can catch
# it half-started ("Could not connect to tenant default_tenant"), so creation is serialized.
_CLIENT_LOCK = threading.Lock()


def embedder(cache_dir: Path) -> MiniLM:
    """One MiniLM per cache folder per process (loading the graph costs a fraction of a second)."""
    key = str(cache_dir)
    if key not in _MODELS:
        _MODELS[key] = MiniLM(cache_dir)
    return _MODELS[key]


@register_embedding_function
class WhichmodelMiniLM(EmbeddingFunction[Documents]):
    """Chroma's handle on the offline MiniLM; registered so a persisted collection reopens with it."""

    def __init__(self, cache_dir: str):
        self.cache_dir = cache_dir

    def __call__(self, input: Documents) -> Embeddings:  # noqa: A002 (Chroma's protocol names it so)
        """Embed documents (Chroma calls this for queries given as text)."""
        return list(embedder(Path(self.cache_dir)).embed(list(input)))

    @staticmethod
    def name() -> str:
        """The name Chroma stores in the collection's configuration."""
        return "whichmodel-minilm-l6-v2"

    @staticmethod
    def build_from_config(config: dict[str, Any]) -> WhichmodelMiniLM:
        """Rebuild from the stored configuration."""
        return WhichmodelMiniLM(cache_dir=config["cache_dir"])

    def get_config(self) -> dict[str, Any]:
        """What Chroma stores to rebuild this function."""
        return {"cache_dir": self.cache_dir}

    def default_space(self) -> str:
        """Vectors are L2-normalised: cosine distance."""
        return "cosine"


@dataclass
class SyncSummary:
    """What one sync did."""

    models: int = 0
    chunks_embedded: int = 0
    chunks_unchanged: int = 0
    chunks_removed: int = 0


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


class CardIndex:
    """The card search index of one data directory."""

    def __init__(self, settings: Settings):
        import chromadb
        from chromadb.config import Settings as ChromaSettings

        self.settings = settings
        home = settings.home
        home.mkdir(parents=True, exist_ok=True)
        self.cache_dir = home / "models"
        chroma_settings = ChromaSettings(anonymized_telemetry=False, allow_reset=False)
        self.function = WhichmodelMiniLM(cache_dir=str(self.cache_dir))
        with _CLIENT_LOCK:
            if settings.chroma_host:
                host, _, port = settings.chroma_host.partition(":")
                self.client = chromadb.HttpClient(host=host, port=int(port or 8000), settings=chroma_settings)
            else:
                self.client = chromadb.PersistentClient(path=str(settings.chroma_path), settings=chroma_settings)
            self.collection = self.client.get_or_create_collection(
                COLLECTION, embedding_function=self.function, configuration={"hnsw": {"space": "cosine"}}
            )
        self.fts_path = home / "cards_fts.db"
        self.fts = sqlite3.connect(self.fts_path, check_same_thread=False)
        self.fts.execute("PRAGMA journal_mode=WAL")
        self._readers = threading.local()  # one keyword-index connection per searching thread
        self.fts.execute(FTS_SCHEMA.format(name="chunks"))
        columns = [r[1] for r in self.fts.execute("PRAGMA table_info(chunks)")]
        if "facets" not in columns:  # written before the facets column: rebuilt once, nothing re-embedded
            self._add_facets_column()
        # Which card text each model's chunks were made from: an unchanged card is not chunked again.
        self.fts.execute("CREATE TABLE IF NOT EXISTS indexed_cards (model_id TEXT PRIMARY KEY, card_hash TEXT)")

    def _add_facets_column(self) -> None:
        rows = self.fts.execute(
            "SELECT text, section, model_id, id, pipeline_tag, license_class, size_class FROM chunks"
        ).fetchall()
        self.fts.execute("DROP TABLE chunks")
        self.fts.execute(FTS_SCHEMA.format(name="chunks"))
        self.fts.executemany(
            f"INSERT INTO chunks ({', '.join(FTS_COLUMNS)}) VALUES ({', '.join('?' * len(FTS_COLUMNS))})",
            [(*r, _facet_tokens(dict(zip(FILTER_KEYS, r[4:], strict=True)))) for r in rows],
        )
        self.fts.commit()

    def _reader(self) -> sqlite3.Connection:
        conn = getattr(self._readers, "conn", None)
        if conn is None:
            conn = self._readers.conn = sqlite3.connect(self.fts_path, check_same_thread=False)
        return conn

    # ------------------------------------------------------------------------------------------ writing
    def store(self, ids: list[str], texts: list[str], metas: list[dict], vectors) -> None:
        """Write chunks with their vectors to both indexes (metadata holds model_id, section and filters)."""
        self.collection.upsert(ids=ids, documents=texts, embeddings=vectors, metadatas=metas)
        self.fts.executemany(
            f"INSERT INTO chunks ({', '.join(FTS_COLUMNS)}) VALUES ({', '.join('?' * len(FTS_COLUMNS))})",
            [(t, m["section"], m["model_id"], i, *(m.get(k, "") for k in FILTER_KEYS), _facet_tokens(m))
             for i, t, m in zip(ids, texts, metas, strict=True)],
        )  # fmt: skip
        self.fts.commit()

    def indexed_ids(self, model_ids: Iterable[str] | None = None) -> dict[str, set[str]]:
        """Chunk ids per model as the keyword index records them."""
        out: dict[str, set[str]] = {}
        if model_ids is None:
            rows = self.fts.execute("SELECT model_id, id FROM chunks")
        else:
            ids = list(model_ids)
            rows = []
            for start in range(0, len(ids), 500):
                part = ids[start : start + 500]
                marks = ",".join("?" * len(part))
                rows.extend(self.fts.execute(f"SELECT model_id, id FROM chunks WHERE model_id IN ({marks})", part))
        for model_id, chunk_id in rows:
            out.setdefault(model_id, set()).add(chunk_id)
        return out

    def _add(self, chunks: list[Chunk], meta: dict[str, dict]) -> None:
        if not chunks:
            return
        vectors = embedder(self.cache_dir).embed([c.text for c in chunks])
        self.store([c.id for c in chunks], [c.text for c in chunks],
                   [meta[c.model_id] | {"section": c.section} for c in chunks], vectors)  # fmt: skip

    def _remove(self, ids: list[str]) -> None:
        if not ids:
            return
        self.collection.delete(ids=ids)
        for start in range(0, len(ids), 500):
            part = ids[start : start + 500]
            self.fts.execute(f"DELETE FROM chunks WHERE id IN ({','.join('?' * len(part))})", part)
        self.fts.commit()

    def _refresh_meta(self, ids_by_model: dict[str, set[str]], meta: dict[str, dict]) -> None:
        ids = [i for m, chunk_ids in ids_by_model.items() for i in chunk_ids]
        if not ids:
            return
        current = self.collection.get(ids=ids, include=["metadatas"])
        stale_ids, stale_meta = [], []
        for chunk_id, old in zip(current["ids"], current["metadatas"], strict=True):
            new = meta[old["model_id"]] | {"section": old["section"]}
            if new != old:
                stale_ids.append(chunk_id)
                stale_meta.append(new)
        if stale_ids:
            self.collection.update(ids=stale_ids, metadatas=stale_meta)
            self.fts.executemany(
                "UPDATE chunks SET pipeline_tag = ?, license_class = ?, size_class = ?, facets = ? WHERE id = ?",
                [(*(m.get(k, "") for k in FILTER_KEYS), _facet_tokens(m), i)
                 for i, m in zip(stale_ids, stale_meta, strict=True)],
            )  # fmt: skip
            self.fts.commit()

    def sync(self, engine: Engine, progress: Callable[[int], None] | None = None, batch: int = 64) -> SyncSummary:
        """Bring the index in line with each model's newest card: embed new chunks, drop stale ones.

        One sync at a time per data directory (a file lock), and each starts by repairing a keyword index
        that disagrees with the vectors, so concurrent or interrupted runs converge instead of duplicating.
        """
        with data_lock(self.settings.home, "cards.lock"):
            self.repair()
            return self._sync(engine, progress, batch)

    def repair(self) -> int:
        """Make the keyword index and the vectors hold the same chunks, once each; returns rows fixed.

        Duplicate keyword rows (two syncs that raced) are dropped; a chunk present on one side only is
        removed from it, and its model is marked for re-chunking, so the next pass re-embeds it whole.
        """
        total, distinct = self.fts.execute("SELECT count(*), count(DISTINCT id) FROM chunks").fetchone()
        fixed = 0
        if total != distinct:
            fixed += self.fts.execute(
                "DELETE FROM chunks WHERE rowid NOT IN (SELECT min(rowid) FROM chunks GROUP BY id)"
            ).rowcount
        if self.collection.count() != distinct:
            vectors: set[str] = set()
            page = 5000
            while True:
                ids = self.collection.get(include=[], limit=page, offset=len(vectors))["ids"]
                vectors.update(ids)
                if len(ids) < page:
                    break
            keyword = dict(self.fts.execute("SELECT id, model_id FROM chunks"))
            only_keyword = [i for i in keyword if i not in vectors]
            only_vectors = list(vectors - set(keyword))
            for start in range(0, len(only_keyword), 500):
                part = only_keyword[start : start + 500]
                self.fts.execute(f"DELETE FROM chunks WHERE id IN ({','.join('?' * len(part))})", part)
            if only_vectors:
                stale = self.collection.get(ids=only_vectors, include=["metadatas"])["metadatas"]
                self.collection.delete(ids=only_vectors)
            else:
                stale = []
            models = {keyword[i] for i in only_keyword} | {m.get("model_id") for m in stale if m}
            self.fts.executemany("DELETE FROM indexed_cards WHERE model_id = ?", [(m,) for m in models])
            fixed += len(only_keyword) + len(only_vectors)
        self.fts.commit()
        return fixed

    def _sync(self, engine: Engine, progress: Callable[[int], None] | None, batch: int) -> SyncSummary:
        summary = SyncSummary()
        count = embedder(self.cache_dir).count_tokens
        m, o, c = ModelRow.__table__, Observation.__table__, CardRow.__table__
        query = (
            select(m.c.id, m.c.author, m.c.pipeline_tag, m.c.license_class, m.c.size_class, m.c.params,
                   m.c.overall, m.c.security, o.c.card_hash)
            .join(o, o.c.id == m.c.latest_observation_id)
        )  # fmt: skip
        indexed = self.indexed_ids()
        done = dict(self.fts.execute("SELECT model_id, card_hash FROM indexed_cards"))
        pending: list[Chunk] = []
        meta: dict[str, dict] = {}
        keep: dict[str, set[str]] = {}
        stale: list[str] = []
        hashes: dict[str, str | None] = {}
        with engine.connect() as conn:
            for row in conn.execute(query).mappings():
                model_id = row["id"]
                have = indexed.pop(model_id, set())
                hashes[model_id] = row["card_hash"]
                if not row["card_hash"]:
                    stale.extend(have)
                    continue
                summary.models += 1
                meta[model_id] = _metadata(row)
                if done.get(model_id) == row["card_hash"] and have:
                    keep[model_id] = have
                    summary.chunks_unchanged += len(have)
                    continue
                text = conn.execute(select(c.c.text).where(c.c.hash == row["card_hash"])).scalar()
                chunks = chunk_card(model_id, text or "", count)
                wanted = {ch.id for ch in chunks}
                stale.extend(have - wanted)
                keep[model_id] = have & wanted
                summary.chunks_unchanged += len(have & wanted)
                fresh = [ch for ch in chunks if ch.id not in have]
                pending.extend(fresh)
                if len(pending) >= batch:
                    self._add(pending, meta)
                    summary.chunks_embedded += len(pending)
                    if progress:
                        progress(len(pending))
                    pending = []
        self._add(pending, meta)
        summary.chunks_embedded += len(pending)
        for leftover in indexed.values():  # models no longer in the database
            stale.extend(leftover)
        self._remove(stale)
        summary.chunks_removed = len(stale)
        self._refresh_meta(keep, meta)
        self.fts.execute("DELETE FROM indexed_cards")
        self.fts.executemany("INSERT INTO indexed_cards VALUES (?, ?)", [(k, v) for k, v in hashes.items() if v])
        self.fts.commit()
        if summary.chunks_embedded or summary.chunks_removed:
            self.optimize()
        return summary

    def optimize(self) -> None:
        """Merge the keyword index's segments into one.

        Written 64 chunks at a time, it has many: merged, the worst keyword query at 100k chunks went from
        50 to 39 ms, for 0.4 s here.
        """
        self.fts.execute("INSERT INTO chunks(chunks) VALUES('optimize')")
        self.fts.commit()

    # ------------------------------------------------------------------------------------------ reading
    def count(self) -> int:
        """Chunks indexed (counting reads the whole keyword index: 30 ms at 100k chunks)."""
        return self.fts.execute("SELECT count(*) FROM chunks").fetchone()[0]

    def is_empty(self) -> bool:
        """Whether no chunk is indexed (a one-row read)."""
        return self._reader().execute("SELECT 1 FROM chunks LIMIT 1").fetchone() is None

    def vector_hits(self, query: str, filters: CardFilters, n: int) -> list[tuple[str, dict, str, float]]:
        """(chunk id, metadata, text, distance) nearest to the query.

        With filters, the nearest OVERFETCH x n chunks are fetched unfiltered and filtered here. When fewer
        than n pass, a selective filter (under SUBSET_MAX passing chunks, listed by the keyword index) ranks
        exactly the passing chunks; otherwise Chroma's own metadata filter runs (the slow way: 20 ms at 10k
        chunks, 260 ms at 100k). Chroma returns fewer results than asked when the collection is smaller, so
        no count is needed (one cost 10 ms at 100k chunks).
        """
        where = filters.chroma_where()
        include = ["metadatas", "documents", "distances"]
        vector = [self.function.embed_query([query])[0]]
        if where is not None:
            result = self.collection.query(query_embeddings=vector, n_results=OVERFETCH * n, include=include)
            nearest = list(zip(result["ids"][0], result["metadatas"][0], result["documents"][0],
                               result["distances"][0], strict=True))  # fmt: skip
            hits = [h for h in nearest if filters.matches(h[1])]
            if len(hits) >= n or len(nearest) < OVERFETCH * n:  # enough, or every chunk was looked at
                return hits[:n]
            passing = self._passing_ids(filters, SUBSET_MAX)
            if passing is not None:  # a selective filter: rank just the chunks that pass (5 ms, not 20-260)
                if not passing:
                    return []
                result = self.collection.query(query_embeddings=vector, n_results=n, ids=passing, include=include)
                return list(zip(result["ids"][0], result["metadatas"][0], result["documents"][0],
                                result["distances"][0], strict=True))  # fmt: skip
        result = self.collection.query(query_embeddings=vector, n_results=n, where=where, include=include)
        return list(zip(result["ids"][0], result["metadatas"][0], result["documents"][0], result["distances"][0],
                        strict=True))  # fmt: skip

    def _passing_ids(self, filters: CardFilters, limit: int) -> list[str] | None:
        """Ids of the chunks that pass the filters, from the keyword index; None when more than `limit` do."""
        match = _facet_match(filters)
        if filters.model_ids or not match:
            return None
        sql = f"SELECT id, model_id, {', '.join(FILTER_KEYS)} FROM chunks WHERE chunks MATCH ? LIMIT ?"
        rows = self._reader().execute(sql, [match, limit + 1]).fetchall()
        if len(rows) > limit:
            return None
        return [r[0] for r in rows if filters.matches(dict(zip(ROW_KEYS, r[1:], strict=True)))]

    def keyword_hits(self, query: str, filters: CardFilters, n: int) -> list[tuple[str, str, str, str]]:
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

    def search(self, query: str, filters: CardFilters | None = None, k: int = 5, per_model: int = 2) -> list[dict]:
        """Vector and keyword results merged by reciprocal rank fusion; each cites model id and section.

        At most `per_model` sections of one model are returned, so k results name several models.
        """
        filters = filters or CardFilters()
        pool = max(20, 4 * k)
        # The keyword query runs while the query is embedded and the vectors searched (both release the GIL).
        keyword = _SEARCH_POOL.submit(self.keyword_hits, query, filters, pool)
        fused: dict[str, dict] = {}
        for rank, (chunk_id, meta, text, distance) in enumerate(self.vector_hits(query, filters, pool)):
            entry = fused.setdefault(chunk_id, {"model_id": meta["model_id"], "section": meta["section"],
                                                "snippet": _snippet(text), "score": 0.0, "matched": []})  # fmt: skip
            entry["score"] += VECTOR_WEIGHT / (RRF_K + rank + 1)
            entry["matched"].append("vector")
            entry["similarity"] = round(1.0 - float(distance), 4)
        for rank, (chunk_id, model_id, section, snippet) in enumerate(keyword.result()):
            entry = fused.setdefault(chunk_id, {"model_id": model_id, "section": section, "snippet": snippet,
                                                "score": 0.0, "matched": []})  # fmt: skip
            entry["score"] += KEYWORD_WEIGHT / (RRF_K + rank + 1)
            entry["matched"].append("keyword")
            entry["snippet"] = snippet if "[" in snippet else entry["snippet"]
        ranked, taken = [], {}
        for entry in sorted(fused.values(), key=lambda e: -e["score"]):
            if taken.get(entry["model_id"], 0) < per_model:
                taken[entry["model_id"]] = taken.get(entry["model_id"], 0) + 1
                ranked.append(entry)
            if len(ranked) == k:
                break
        for entry in ranked:
            entry["score"] = round(entry["score"], 5)
        return ranked


def _facet_match(filters: CardFilters) -> str:
    """The filters as an FTS5 expression over the facets column ('' without filters)."""
    return " AND ".join(f'facets : "{t}"' for t in _facet_tokens(filters.columns()).split())


def _facet_tokens(values: dict) -> str:
    """Filter values as single index tokens ("text-generation" -> "pipelinetagtextgeneration")."""
    return " ".join(re.sub(r"\W|_", "", f"{k}{values[k]}").lower() for k in FILTER_KEYS if values.get(k))


def _snippet(text: str, limit: int = 240) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _metadata(row: dict) -> dict:
    """Chunk metadata for filtering; Chroma takes no None, so absent values are left out."""
    values = {
        "model_id": row["id"],
        "author": row["author"],
        "pipeline_tag": row["pipeline_tag"],
        "license_class": row["license_class"],
        "size_class": row["size_class"],
        "params": row["params"],
        "overall": row["overall"],
        "security": row["security"],
    }
    return {k: v for k, v in values.items() if v is not None}
