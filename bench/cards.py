"""Card search figures: chunks embedded per second, query p50/p95 with and without filters, recall@5.

    python bench/cards.py [--home DIR]   # --home reuses (or keeps) an indexed data directory

recall@5 is measured on bench/cards_queries.json for the hybrid search and for each retriever alone.
It also counts the prompt tokens of one call per card (one schema for all facts) against one call per
fact, over the shared cards: the measurement behind the LLM extractor's one-schema choice.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from whichmodel import prompts  # noqa: E402
from whichmodel.cards.llm import MAX_CARD_CHARS  # noqa: E402
from whichmodel.config import Settings  # noqa: E402
from whichmodel.hub.card import CARD_FACT_KINDS  # noqa: E402
from whichmodel.hub.snapshot import open_snapshot, read_snapshot  # noqa: E402
from whichmodel.store.db import engine_for  # noqa: E402
from whichmodel.store.ingest import ingest_items, score_pending  # noqa: E402
from whichmodel.store.vectors import CardFilters, CardIndex, embedder  # noqa: E402


def percentiles(samples: list[float]) -> dict:
    samples = sorted(samples)
    return {"p50_ms": round(statistics.median(samples), 1), "p95_ms": round(samples[int(0.95 * (len(samples) - 1))], 1)}


def recall(rankings: list[list[str]], queries: list[dict]) -> dict:
    recalls, hits = [], []
    for ranked, item in zip(rankings, queries, strict=True):
        relevant = set(item["relevant"])
        found = relevant & set(ranked[:5])
        recalls.append(len(found) / min(5, len(relevant)))
        hits.append(1.0 if found else 0.0)
    return {"recall_at_5": round(statistics.mean(recalls), 3), "hit_at_5": round(statistics.mean(hits), 3)}


def models_in_order(ids: list[str]) -> list[str]:
    return list(dict.fromkeys(ids))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--shared", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--home", type=Path, help="data directory to index into (kept); default: a temp folder")
    parser.add_argument("--precision", choices=["int8", "fp32"], default="int8", help="embedding graph (new index)")
    args = parser.parse_args()
    temp = None if args.home else tempfile.TemporaryDirectory()
    settings = Settings.from_env(home=args.home or temp.name, embedding_precision=args.precision)
    engine = engine_for(settings)
    for snap in sorted((open_snapshot(p) for p in (args.shared / "hub-snapshots").iterdir() if p.is_dir()),
                       key=lambda s: s.observed_at):  # fmt: skip
        ingest_items(engine, read_snapshot(snap), source=str(snap.path), kind="snapshot", observed_at=snap.observed_at)
    score_pending(engine)
    index = CardIndex(settings)
    started = time.perf_counter()
    summary = index.sync(engine)
    sync_s = time.perf_counter() - started
    out = {
        "precision": index.precision,
        "models_with_cards": summary.models,
        "chunks": index.count(),
        "chunks_embedded": summary.chunks_embedded,
        "sync_s": round(sync_s, 1),
        "chunks_per_s": round(summary.chunks_embedded / sync_s, 1) if summary.chunks_embedded else None,
    }
    queries = json.loads((ROOT / "bench" / "cards_queries.json").read_text())["queries"]
    index.search("warm up")
    plain, filtered = [], []
    filters = CardFilters(task="text-generation", license_class="permissive", size_class="7B")
    hybrid, vector, keyword = [], [], []
    for item in queries:
        t = time.perf_counter()
        results = index.search(item["q"], k=5, per_model=1)
        plain.append((time.perf_counter() - t) * 1000)
        hybrid.append([r["model_id"] for r in results])
        vector.append(
            models_in_order([m["model_id"] for _, m, _, _ in index.vector_hits(item["q"], CardFilters(), 40)])
        )
        keyword.append(models_in_order([m for _, m, _, _ in index.keyword_hits(item["q"], CardFilters(), 40)]))
        t = time.perf_counter()
        index.search(item["q"], filters, k=5)
        filtered.append((time.perf_counter() - t) * 1000)
    out["query"] = percentiles(plain)
    out["query_filtered"] = percentiles(filtered)
    out["labeled_queries"] = len(queries)
    out["hybrid"] = recall(hybrid, queries)
    out["vector_only"] = recall(vector, queries)
    out["keyword_only"] = recall(keyword, queries)
    # One schema for all facts vs one prompt per fact: prompt word pieces over the shared cards.
    count = embedder(settings.home / "models").count_tokens
    from whichmodel.store.records import card_texts

    with engine.connect() as conn:
        texts = list(card_texts(conn, conn.exec_driver_sql("SELECT hash FROM cards").scalars()).values())
    system = count(prompts.render("card_facts_system"))
    card_tokens = sum(count(prompts.render("card_facts_user", model_id="x", card=t[:MAX_CARD_CHARS])) for t in texts)
    one = card_tokens + system * len(texts)
    per_fact = len(CARD_FACT_KINDS) * card_tokens + system * len(texts)  # a fact's own instructions are no shorter
    out["llm_prompt_tokens"] = {"cards": len(texts), "one_schema": one, "per_fact": per_fact,
                                "per_fact_over_one_schema": round(per_fact / one, 2)}  # fmt: skip
    print(json.dumps(out, indent=2))
    if temp:
        temp.cleanup()


if __name__ == "__main__":
    main()
