"""Card search: Chroma vectors and an SQLite FTS5 keyword index over the same chunks, merged by RRF.

Both live in the data directory (Chroma's folder, `cards_fts.db`), or Chroma on a server when
`WHICHMODEL_CHROMA_HOST` is set. The keyword index is its own SQLite file so it works whatever database
holds the scores. Chunk ids are stable, so `sync_cards` embeds only new chunks and deletes stale ones; the
filterable metadata (task, license class, size, scores) is refreshed on every sync.
"""

from __future__ import annotations

import fcntl
import re
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
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


def embedder(cache_dir: Path, precision: str = "fp32") -> MiniLM:
    """One MiniLM per cache folder and precision per process (loading the graph costs a fraction of a second)."""
    key = f"{cache_dir}|{precision}"
    if key not in _MODELS:
        _MODELS[key] = MiniLM(cache_dir, precision=precision)
    return _MODELS[key]


@register_embedding_function
class WhichmodelMiniLM(EmbeddingFunction[Documents]):
    """Chroma's handle on the offline MiniLM; registered so a persisted collection reopens with it."""

    def __init__(self, cache_dir: str, precision: str = "fp32"):
        self.cache_dir = cache_dir
        self.precision = precision

    def __call__(self, input: Documents) -> Embeddings:  # noqa: A002 (Chroma's protocol names it so)
        """Embed documents (Chroma calls this for queries given as text)."""
        return list(embedder(Path(self.cache_dir), self.precision).embed(list(input)))

    @staticmethod
    def name() -> str:
        """The name Chroma stores in the collection's configuration."""
        return "whichmodel-minilm-l6-v2"

    @staticmethod
    def build_from_config(config: dict[str, Any]) -> WhichmodelMiniLM:
        """Rebuild from the stored configuration."""
        # Collections written before the int8 graph existed hold fp32 vectors.
        return WhichmodelMiniLM(cache_dir=config["cache_dir"], precision=config.get("precision", "fp32"))

    def get_config(self) -> dict[str, Any]:
        """What Chroma stores to rebuild this function."""
        return {"cache_dir": self.cache_dir, "precision": self.precision}

    def default_space(self) -> str:
        """Vectors are L2-normalised: cosine distance."""
        return "cosine"


class SyncBusy(RuntimeError):
    """Another process is writing this data directory's card index."""


@dataclass
class SyncProgress:
    """How far a sync is: chunks embedded of those it planned (read by the UI while a thread embeds)."""

    total: int | None = None
    done: int = 0
    started: float = field(default_factory=time.monotonic)
    finished: bool = False
    error: str | None = None

    def plan(self, total: int) -> None:
        """Record how many chunks the sync will embed."""
        self.total = total
        self.started = time.monotonic()

    def advance(self, count: int) -> None:
        """Record `count` more chunks embedded."""
        self.done += count

    def describe(self) -> str:
        """One line, e.g. "cards: 3,200 / 10,349 embedded (52/s, about 2 min left)"."""
        if self.error:
            return f"cards: embedding stopped ({self.error}); {self.done:,} chunks embedded"
        if self.total is None:
            return "cards: checking which cards need embedding"
        if self.finished:
            return f"cards: {self.done:,} / {self.total:,} embedded, index up to date"
        elapsed = time.monotonic() - self.started
        rate = self.done / elapsed if elapsed > 0 else 0.0
        left = f", about {_duration((self.total - self.done) / rate)} left" if rate > 0 else ""
        return f"cards: {self.done:,} / {self.total:,} embedded ({rate:.0f}/s{left}); search covers what is embedded"


def _duration(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 90 else f"{seconds / 60:.0f} min"


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
        self._open_keyword_index(home)
        self.precision = self._precision(settings.embedding_precision)
        chroma_settings = ChromaSettings(anonymized_telemetry=False, allow_reset=False)
        self.function = WhichmodelMiniLM(cache_dir=str(self.cache_dir), precision=self.precision)
        with _CLIENT_LOCK:
            if settings.chroma_host:
                host, _, port = settings.chroma_host.partition(":")
                self.client = chromadb.HttpClient(host=host, port=int(port or 8000), settings=chroma_settings)
            else:
                self.client = chromadb.PersistentClient(path=str(settings.chroma_path), settings=chroma_settings)
            self.collection = self.client.get_or_create_collection(
                COLLECTION, embedding_function=self.function, configuration={"hnsw": {"space": "cosine"}}
            )

    def _open_keyword_index(self, home: Path) -> None:
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
        self.fts.execute("CREATE TABLE IF NOT EXISTS index_meta (key TEXT PRIMARY KEY, value TEXT)")
        self.fts.commit()

    def _precision(self, wanted: str) -> str:
        """The embedding precision of this index: fixed when it is created, so queries match its vectors."""
        row = self.fts.execute("SELECT value FROM index_meta WHERE key = 'precision'").fetchone()
        if row:
            return row[0]
        # An index written before the precision was recorded holds fp32 vectors; an empty one takes the setting.
        precision = "fp32" if self.fts.execute("SELECT 1 FROM chunks LIMIT 1").fetchone() else wanted
        self.fts.execute("INSERT INTO index_meta VALUES ('precision', ?)", (precision,))
        self.fts.commit()
        return precision

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
        vectors = embedder(self.cache_dir, self.precision).embed([c.text for c in chunks])
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

    def sync(
        self,
        engine: Engine,
        progress: Callable[[int], None] | None = None,
        batch: int = 64,
        planned: Callable[[int], None] | None = None,
        state: SyncProgress | None = None,
    ) -> SyncSummary:
        """Bring the index in line with each model's newest card: embed new chunks, drop stale ones.

        First every changed card is chunked (`planned` then gets the number of chunks to embed; the pending
        chunks are held in memory, about 1.2 KB each), then chunks are embedded shortest first, `batch` at a
        time (`progress` gets each batch's count). One process at a time writes an index: a second gets
        `SyncBusy`. Killed part-way, the index keeps what it stored, and the next sync embeds only the rest.
        """
        with self._writer_lock():
            return self._sync(engine, progress, batch, planned, state)

    @contextmanager
    def _writer_lock(self):
        with (self.settings.home / "cards-sync.lock").open("a") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError as err:
                raise SyncBusy("another whichmodel process is embedding cards into this data directory") from err
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def _sync(self, engine, progress, batch, planned, state) -> SyncSummary:
        summary = SyncSummary()
        count = embedder(self.cache_dir, self.precision).count_tokens
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
                pending.extend(ch for ch in chunks if ch.id not in have)
        # Sorted by length across cards: a batch of similar lengths wastes little time on padding. Longest
        # first, so the rate only rises and an ETA from it errs on the long side.
        pending.sort(key=lambda ch: -len(ch.text))
        for callback in (planned, state and state.plan):
            if callback:
                callback(len(pending))
        for start in range(0, len(pending), batch):
            part = pending[start : start + batch]
            self._add(part, meta)
            summary.chunks_embedded += len(part)
            for callback in (progress, state and state.advance):
                if callback:
                    callback(len(part))
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
        if state:
            state.finished = True
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


_BACKGROUND: dict[str, SyncProgress] = {}


def start_background_sync(home: Path, index: Callable[[], CardIndex], engine: Engine) -> SyncProgress:
    """Sync the card index in a daemon thread, search answering from what is indexed; returns its progress.

    `index` opens (or returns) the data directory's `CardIndex`; it is called in the thread, so a slow
    first open of Chroma does not hold up the caller.
    """
    state = SyncProgress()
    _BACKGROUND[str(home)] = state

    def run() -> None:
        try:
            index().sync(engine, state=state)
        except SyncBusy as err:
            state.error = str(err)
        except Exception as err:  # shown in the Data tab; the index keeps what was stored
            state.error = f"{err.__class__.__name__}: {err}"

    threading.Thread(target=run, name="card-sync", daemon=True).start()
    return state


def background_sync(home: Path) -> SyncProgress | None:
    """The progress of this process's background sync of the data directory `home`, if one was started."""
    return _BACKGROUND.get(str(home))


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
