"""Planner answer latency: p50/p95 of `ask` over the planner's question table, after start-up.

    python bench/ask.py [--repeat 3]

Builds a database from the shared snapshots and the v1 leaderboard in a temp folder, asks every question of
tests/test_planner_parse.py (CASES) on its own thread, and prints one JSON document. Card questions are
answered without a card index (they return the "no cards indexed" answer), so they time the planner, not
the embedder.
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
sys.path.insert(0, str(ROOT / "tests"))

from langgraph.checkpoint.memory import InMemorySaver  # noqa: E402
from test_planner_parse import CASES  # noqa: E402
from whichmodel.agent.context import Context  # noqa: E402
from whichmodel.agent.graph import build_graph, run_turn  # noqa: E402
from whichmodel.config import Settings  # noqa: E402
from whichmodel.hub.snapshot import open_snapshot, read_snapshot  # noqa: E402
from whichmodel.store.db import engine_for  # noqa: E402
from whichmodel.store.ingest import ingest_items, score_pending  # noqa: E402
from whichmodel.tools import Services  # noqa: E402
from whichmodel.trends.leaderboard import load_file  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--shared", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as home:
        settings = Settings(home=Path(home))
        engine = engine_for(settings)
        for snap in sorted((open_snapshot(p) for p in (args.shared / "hub-snapshots").iterdir() if p.is_dir()),
                           key=lambda s: s.observed_at):  # fmt: skip
            ingest_items(engine, read_snapshot(snap), source=str(snap.path), kind="snapshot",
                         observed_at=snap.observed_at)  # fmt: skip
        score_pending(engine)
        load_file(engine, args.shared / "leaderboard" / "huggingface_v1_final.csv")
        services = Services(engine, settings)
        context = Context()
        started = time.perf_counter()
        graph = build_graph(services, checkpointer=InMemorySaver())
        startup_ms = (time.perf_counter() - started) * 1000
        questions = [c[0] for c in CASES]
        run_turn(graph, context, questions[0], thread_id="warm-up")
        samples, by_intent = [], {}
        for n in range(args.repeat):
            for i, (question, intent, _, _) in enumerate(CASES):
                t = time.perf_counter()
                run_turn(graph, context, question, thread_id=f"{n}-{i}")
                ms = (time.perf_counter() - t) * 1000
                samples.append(ms)
                by_intent.setdefault(intent, []).append(ms)
    samples.sort()
    print(json.dumps({
        "questions": len(questions),
        "asks": len(samples),
        "graph_build_ms": round(startup_ms, 1),
        "p50_ms": round(statistics.median(samples), 1),
        "p95_ms": round(samples[int(0.95 * (len(samples) - 1))], 1),
        "max_ms": round(samples[-1], 1),
        "p50_ms_by_intent": {k: round(statistics.median(v), 1) for k, v in sorted(by_intent.items())},
        "target_p95_ms": 300,
    }, indent=2))  # fmt: skip


if __name__ == "__main__":
    main()
