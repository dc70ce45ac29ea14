"""Card search: Chroma vectors and a keyword index over the same chunks, merged by RRF.

Vectors live in Chroma's folder in the data directory, or on a Chroma server when `WHICHMODEL_CHROMA_HOST`
is set. The keyword index (`store/keywords.py`) is an SQLite FTS5 file beside it, or, when the store is
PostgreSQL, a full-text table in that database, shared by every process. Chunk ids are stable, so
`sync_cards` embeds only new chunks and deletes stale ones; the filterable metadata (task, license class,
size, scores) is refreshed on every sync.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from chromadb.api.types import Documents, EmbeddingFunction, Embeddings
from chromadb.utils.embedding_functions import register_embedding_function
from sqlalchemy import select
from sqlalchemy.engine import Engine, make_url
from whichmodel.cards.chunking import Chunk, chunk_card
from whichmodel.cards.embedding import MiniLM
from whichmodel.config import Settings
from whichmodel.store.keywords import FILTER_KEYS, CardFilters, KeywordIndex, PostgresKeywordIndex, SqliteKeywordIndex
from whichmodel.store.lock import LockTimeout, data_lock
from whichmodel.store.models import ModelRow, Observation
from whichmodel.store.records import card_texts

__all__ = ["FILTER_KEYS", "CardFilters", "CardIndex", "SyncSummary", "embedder"]

COLLECTION = "cards"
RRF_K = 60
# Reciprocal rank fusion weights. On bench/cards_queries.json, equal weights gave recall@5 0.816, keyword
# alone 0.898, vectors alone 0.672; halving the vector weight gave 0.873. MiniLM is a small general model,
# and card questions often hinge on exact names; the labels lean towards keywords too, so no further tuning.
VECTOR_WEIGHT = 0.5
KEYWORD_WEIGHT = 1.0
# A filtered vector query looks at the OVERFETCH x n nearest chunks first, then (when the first look found
# enough passing to expect n) the DEEP_OVERFETCH x n nearest; when too few of them pass and fewer than SUBSET_MAX
# chunks pass in all, exactly those are ranked; past that, Chroma's own metadata filter.
OVERFETCH = 8
DEEP_OVERFETCH = 64
SUBSET_MAX = 2000
PRECISION_KEY = "whichmodel_precision"  # Chroma collection metadata: the index's embedding precision
CARDS_LOCK = "cards.lock"  # one card sync at a time per data directory (store/lock.py)
_MODELS: dict[str, MiniLM] = {}
_SEARCH_POOL = ThreadPoolExecutor(max_workers=8, thread_name_prefix="card-keyword")
# Chroma's client for a folder is a process-wide shared system: two threads creating one at once can catch
# it half-started ("Could not connect to tenant default_tenant"), so creation is serialized.
_CLIENT_LOCK = threading.Lock()
_ENGINES: dict[str, Engine] = {}  # one PostgreSQL engine (and pool) per URL per process for keyword indexes


def keyword_index(settings: Settings) -> KeywordIndex:
    """The keyword index for these settings: in the PostgreSQL store, else an SQLite file in the data folder."""
    url = settings.database_url
    if url and make_url(url).get_backend_name() == "postgresql":
        from whichmodel.store.db import make_engine  # db opens (and migrates) the store; only needed here

        with _CLIENT_LOCK:
            if url not in _ENGINES:
                _ENGINES[url] = make_engine(url)
        return PostgresKeywordIndex(_ENGINES[url])
    return SqliteKeywordIndex(settings.home / "cards_fts.db")


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
        wanted = settings.embedding_precision
        with _CLIENT_LOCK:
            if settings.chroma_host:
                host, _, port = settings.chroma_host.partition(":")
                self.client = chromadb.HttpClient(host=host, port=int(port or 8000), settings=chroma_settings)
            else:
                self.client = chromadb.PersistentClient(path=str(settings.chroma_path), settings=chroma_settings)
            self.collection = self.client.get_or_create_collection(
                COLLECTION,
                embedding_function=WhichmodelMiniLM(cache_dir=str(self.cache_dir), precision=wanted),
                configuration={"hnsw": {"space": "cosine"}},
            )  # no metadata here: given, it would be taken as this index's record even for old vectors
        self.keywords = keyword_index(settings)
        self.precision = self._precision(wanted)
        self.function = WhichmodelMiniLM(cache_dir=str(self.cache_dir), precision=self.precision)
        if self.precision != wanted:  # queries given as text must be embedded like the stored vectors
            self.collection = self.client.get_collection(COLLECTION, embedding_function=self.function)

    def _precision(self, wanted: str) -> str:
        """The embedding precision of this index: fixed when it is created, so queries match its vectors.

        Kept in the Chroma collection's metadata, which a folder and a Chroma server both store, beside the
        vectors it describes (whichever keyword backend is in use).
        """
        recorded = (self.collection.metadata or {}).get(PRECISION_KEY)
        if recorded:
            return recorded
        # An index written before the precision was recorded holds fp32 vectors; an empty one takes the setting.
        precision = "fp32" if self.collection.count() or not self.keywords.is_empty() else wanted
        self.collection.modify(metadata={**(self.collection.metadata or {}), PRECISION_KEY: precision})
        return precision

    # ------------------------------------------------------------------------------------------ writing
    def store(self, ids: list[str], texts: list[str], metas: list[dict], vectors) -> None:
        """Write chunks with their vectors to both indexes (metadata holds model_id, section and filters)."""
        self.collection.upsert(ids=ids, documents=texts, embeddings=vectors, metadatas=metas)
        self.keywords.add(list(zip(ids, texts, metas, strict=True)))

    def indexed_ids(self, model_ids: Iterable[str] | None = None) -> dict[str, set[str]]:
        """Chunk ids per model as the keyword index records them."""
        return self.keywords.ids_by_model(model_ids)

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
        self.keywords.remove(ids)

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
            self.keywords.update_meta(stale_ids, stale_meta)

    def sync(
        self,
        engine: Engine,
        progress: Callable[[int], None] | None = None,
        batch: int = 64,
        planned: Callable[[int], None] | None = None,
        state: SyncProgress | None = None,
        *,
        wait: bool = True,
        say: Callable[[str], None] | None = None,
    ) -> SyncSummary:
        """Bring the index in line with each model's newest card: embed new chunks, drop stale ones.

        First every changed card is chunked (`planned` then gets the number of chunks to embed; the pending
        chunks are held in memory, about 1.2 KB each), then chunks are embedded longest first, `batch` at a
        time (`progress` gets each batch's count). One sync at a time per data directory (a file lock): with
        `wait` a second waits for the first, without it gets `SyncBusy` (a background sync does not queue).
        Each starts by repairing a keyword index that disagrees with the vectors, so concurrent or interrupted
        runs converge instead of duplicating; killed part-way, the next sync embeds only the rest. `say` gets
        one message when the sync has to wait.

        Raises:
            SyncBusy: `wait` is false and another process is syncing this data directory.
        """
        try:
            with data_lock(self.settings.home, CARDS_LOCK, timeout_s=3600.0 if wait else 0.0, say=say):
                self.repair()
                return self._sync(engine, progress, batch, planned, state)
        except LockTimeout as err:
            raise SyncBusy("another whichmodel process is embedding cards into this data directory") from err

    def repair(self) -> int:
        """Make the keyword index and the vectors hold the same chunks, once each; returns chunks fixed.

        A chunk the keyword index holds twice (two syncs that raced) is written back once, from the vectors'
        copy; a chunk present on one side only is removed from it, and its model is marked for re-chunking
        (its card hash forgotten), so the sync that follows re-embeds it. Only the keyword index's own
        operations are used (ids per model, remove, add, card hashes), so any keyword backend can be repaired.
        """
        duplicated = self.keywords.duplicate_ids()
        if not duplicated and self.collection.count() == self.keywords.count():
            return 0  # the common case: two counts, no id lists
        model_of = {i: model_id for model_id, ids in self.keywords.ids_by_model().items() for i in ids}
        vectors = self._vector_ids()
        only_keyword = [i for i in model_of if i not in vectors]
        only_vectors = sorted(vectors - model_of.keys())
        if duplicated:
            self.keywords.remove(duplicated)  # every copy; those the vectors hold are written back once
            if restore := [i for i in duplicated if i in vectors]:
                kept = self.collection.get(ids=restore, include=["documents", "metadatas"])
                self.keywords.add(list(zip(kept["ids"], kept["documents"], kept["metadatas"], strict=True)))
        models = {model_of[i] for i in only_keyword}
        if only_vectors:
            metas = self.collection.get(ids=only_vectors, include=["metadatas"])["metadatas"]
            models |= {m.get("model_id") for m in metas if m}
            self.collection.delete(ids=only_vectors)
        if only_keyword:
            self.keywords.remove(only_keyword)
        if models:
            hashes = self.keywords.card_hashes()
            self.keywords.set_card_hashes({k: v for k, v in hashes.items() if k not in models})
        return len(duplicated) + len(only_keyword) + len(only_vectors)

    def _vector_ids(self, page: int = 5000) -> set[str]:
        """Every chunk id the vector collection holds (read a page at a time)."""
        ids: set[str] = set()
        while True:
            got = self.collection.get(include=[], limit=page, offset=len(ids))["ids"]
            ids.update(got)
            if len(got) < page:
                return ids

    def _sync(
        self,
        engine: Engine,
        progress: Callable[[int], None] | None,
        batch: int,
        planned: Callable[[int], None] | None,
        state: SyncProgress | None,
    ) -> SyncSummary:
        summary = SyncSummary()
        count = embedder(self.cache_dir, self.precision).count_tokens
        m, o = ModelRow.__table__, Observation.__table__
        query = (
            select(m.c.id, m.c.author, m.c.pipeline_tag, m.c.license_class, m.c.size_class, m.c.params,
                   m.c.overall, m.c.security, o.c.card_hash)
            .join(o, o.c.id == m.c.latest_observation_id)
        )  # fmt: skip
        indexed = self.indexed_ids()
        # Which card text each model's chunks were made from: an unchanged card is not chunked again.
        done = self.keywords.card_hashes()
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
                text = card_texts(conn, [row["card_hash"]]).get(row["card_hash"])
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
        self.keywords.set_card_hashes({k: v for k, v in hashes.items() if v})
        if summary.chunks_embedded or summary.chunks_removed:
            self.optimize()
        if state:
            state.finished = True
        return summary

    def optimize(self) -> None:
        """Compact the keyword index after many writes."""
        self.keywords.optimize()

    # ------------------------------------------------------------------------------------------ reading
    def count(self) -> int:
        """Chunks indexed."""
        return self.keywords.count()

    def is_empty(self) -> bool:
        """Whether no chunk is indexed."""
        return self.keywords.is_empty()

    def vector_hits(self, query: str, filters: CardFilters, n: int) -> list[tuple[str, dict, str, float]]:
        """(chunk id, metadata, text, distance) nearest to the query.

        With filters, the nearest OVERFETCH x n chunk ids are fetched unfiltered, then DEEP_OVERFETCH x n if
        the first look suggests they will hold n that pass; which pass is looked up by id in the keyword
        index (it holds each chunk's filter values), and metadata and text are read for the n kept only.
        Chroma's metadata is the slow part of a query (0.06 ms a result, and on a Chroma server it also
        crosses HTTP): ids and distances of the 1,280 nearest of 100k chunks take 11 ms, their metadata
        60 more. When still fewer than n pass, a selective filter (under SUBSET_MAX passing chunks, listed
        by the keyword index) ranks exactly the passing chunks; otherwise Chroma's own metadata filter runs
        (the slow way: 120-450 ms at 100k chunks, folder or server). Chroma returns fewer results than asked
        when the collection is smaller, so no count is needed (one cost 10 ms at 100k chunks).
        """
        where = filters.chroma_where()
        include = ["metadatas", "documents", "distances"]
        vector = [self.function.embed_query([query])[0]]
        if where is not None:
            found = 0
            for depth in (OVERFETCH * n, DEEP_OVERFETCH * n):
                if depth > OVERFETCH * n and found * DEEP_OVERFETCH < n * OVERFETCH:
                    break  # the first look's share of passing chunks predicts fewer than n at the deeper one
                result = self.collection.query(query_embeddings=vector, n_results=depth, include=["distances"])
                ids, distances = result["ids"][0], result["distances"][0]
                passing = self.keywords.passing_among(ids, filters)
                hits = [(i, d) for i, d in zip(ids, distances, strict=True) if i in passing]
                found = len(hits)
                if found >= n or len(ids) < depth:  # enough, or every chunk was looked at
                    return self._read_hits(hits[:n])
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

    def _read_hits(self, hits: list[tuple[str, float]]) -> list[tuple[str, dict, str, float]]:
        """(id, metadata, text, distance) for (id, distance) pairs, in their order; one read by id."""
        if not hits:
            return []
        got = self.collection.get(ids=[i for i, _ in hits], include=["metadatas", "documents"])
        stored = {i: (m, d) for i, m, d in zip(got["ids"], got["metadatas"], got["documents"], strict=True)}
        # A chunk removed since the query (a sync running beside it) is left out.
        return [(i, *stored[i], distance) for i, distance in hits if i in stored]

    def _passing_ids(self, filters: CardFilters, limit: int) -> list[str] | None:
        """Ids of the chunks that pass the filters, from the keyword index; None when more than `limit` do."""
        return self.keywords.passing_ids(filters, limit)

    def keyword_hits(self, query: str, filters: CardFilters, n: int) -> list[tuple[str, str, str, str]]:
        """(chunk id, model id, section, snippet) best matching the query's words."""
        return self.keywords.hits(query, filters, n)

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
            index().sync(engine, state=state, wait=False)
        except SyncBusy as err:
            state.error = str(err)
        except Exception as err:  # shown in the Data tab; the index keeps what was stored
            state.error = f"{err.__class__.__name__}: {err}"

    threading.Thread(target=run, name="card-sync", daemon=True).start()
    return state


def background_sync(home: Path) -> SyncProgress | None:
    """The progress of this process's background sync of the data directory `home`, if one was started."""
    return _BACKGROUND.get(str(home))


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
