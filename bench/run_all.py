"""Every scale and speed figure in one JSON document: `{"figure": {"value", "unit", "target", "scale"}}`.

    python bench/run_all.py [--scale 10000] [--only ingest,search,ask,trends,cards,first-run]
                            [--engine sqlite,postgresql]

With several engines (PostgreSQL: a throwaway server started here, with a `chroma run` server for the card
figures), each figure holds every engine's value side by side: `{"figure": {"unit", "target", "scale",
"sqlite", "postgresql"}}`. The first-run figures (the README's main command on the shared data) are taken
once, on the default store. PostgreSQL tables are filled with COPY (bench/scale.py).

Ingest runs over synthetic records (bench/synth.py) in child processes, so each peak memory is its own; the
same ingest at a tenth of the scale shows whether memory stays flat. Search, trend, card and planner figures
run on synthetic tables of the given scale (card chunks capped at 100,000, as the target states).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))


def bench_module(name: str):
    """A sibling bench script, loaded by path: bench/trends.py and bench/cards.py would shadow packages."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(f"bench_{name}", ROOT / "bench" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def figure(value, unit, target, scale, higher_is_better: bool = False) -> dict:
    """One figure with its target; `meets` says whether it does (None without a target or a value)."""
    meets = None
    if target is not None and value is not None:
        meets = value >= target if higher_is_better else value <= target
    return {"value": value, "unit": unit, "target": (">= " if higher_is_better else "<= ") + str(target)
            if target is not None else None, "scale": scale, "meets": meets}  # fmt: skip


def p95(samples: list[float]) -> float:
    samples = sorted(samples)
    return round(samples[min(len(samples) - 1, int(0.95 * len(samples)))], 2)


# ---------------------------------------------------------------------------------------------- ingest
class Databases:
    """New databases of one engine: SQLite files in the work folder, or databases on a PostgreSQL server."""

    def __init__(self, kind: str, work: Path):
        self.kind, self.work = kind, work
        self.postgres = self.chroma = None
        if kind == "postgresql":
            from servers import ChromaServer, PostgresServer

            self.postgres = PostgresServer()
            self.chroma = ChromaServer(work / "chroma-server")

    def url(self, name: str) -> str:
        if self.postgres is not None:
            return self.postgres.new_database(name)
        return f"sqlite:///{self.work / f'{name}.db'}"

    def settings(self, home: Path):
        from whichmodel.config import Settings

        if self.postgres is None:
            return Settings(home=home)
        return Settings(home=home, database_url=self.url(home.name), chroma_host=self.chroma.host)

    def close(self) -> None:
        if self.chroma is not None:
            self.chroma.stop()
        if self.postgres is not None:
            self.postgres.stop()


def child_ingest(folder: str, home: str) -> None:
    """Run in a child process: parse-only pass, then ingest + score; print timings and peak memory.

    The parse-only pass is the standard library's json.loads per line (the "bare parse" the ratios divide by).
    Scoring workers are this process's children: their peak is the largest one's.
    """
    from whichmodel.cli.main import main

    started = time.perf_counter()
    with open(Path(folder) / "models.jsonl", "rb") as handle:
        for line in handle:
            json.loads(line)
    parse_s = time.perf_counter() - started
    started = time.perf_counter()
    code = main(["--home", home, "ingest", "--snapshot", folder, "--no-cards", "--json"])
    ingest_s = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    workers = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(json.dumps({"parse_s": parse_s, "ingest_s": ingest_s, "peak_mb": peak, "worker_peak_mb": workers,
                      "code": code}), file=sys.stderr)  # fmt: skip


def db_bytes(home: Path, url: str | None = None) -> int:
    """The database's size: the SQLite file with its write-ahead log, or PostgreSQL's own count."""
    if url and not url.startswith("sqlite"):
        from sqlalchemy import create_engine, text

        engine = create_engine(url)
        try:
            with engine.connect() as conn:
                return conn.execute(text("SELECT pg_database_size(current_database())")).scalar_one()
        finally:
            engine.dispose()
    return sum(p.stat().st_size for p in home.glob("whichmodel.db*"))


def run_child(folder: Path, home: Path, url: str | None = None) -> dict:
    env = os.environ | ({"WHICHMODEL_DATABASE_URL": url} if url and not url.startswith("sqlite") else {})
    proc = subprocess.run([sys.executable, __file__, "--child-ingest", str(folder), str(home)], capture_output=True,
                          text=True, check=True, env=env)  # fmt: skip
    return json.loads(proc.stderr.strip().splitlines()[-1]) | {"db_bytes": db_bytes(home, url)}


def bench_ingest(scale: int, shared: Path, work: Path, dbs: Databases) -> dict:
    """First ingest at a tenth of the scale and at the scale, then the scale again a day later, counts moved."""
    synth = bench_module("synth")
    small_dir, large_dir, day2_dir = work / "synth-small", work / "synth-large", work / "synth-large-2"
    if not large_dir.exists():  # written once, ingested by each engine
        synth.write_snapshot(small_dir, max(1000, scale // 10), shared)
        synth.write_snapshot(large_dir, scale, shared)
        synth.write_snapshot(day2_dir, scale, shared, observed="2026-01-02", counts_seed=11)
    small = run_child(small_dir, work / f"home-small-{dbs.kind}", dbs.url("ingest_small"))
    large_url = dbs.url("ingest_large")
    large = run_child(large_dir, work / f"home-large-{dbs.kind}", large_url)
    again = run_child(day2_dir, work / f"home-large-{dbs.kind}", large_url)
    return {
        "ingest_parse_only_s": figure(round(large["parse_s"], 2), "s", None, scale),
        "ingest_and_score_s": figure(round(large["ingest_s"], 2), "s", None, scale),
        "ingest_models_per_s": figure(round(scale / large["ingest_s"], 1), "models/s", 3000, scale, True),
        "ingest_to_parse_ratio": figure(round(large["ingest_s"] / large["parse_s"], 1), "ratio", 3, scale),
        "reingest_unchanged_to_parse_ratio": figure(
            round(again["ingest_s"] / again["parse_s"], 1), "ratio (downloads/likes moved)", 5, scale
        ),
        "reingest_bytes_per_model": figure(
            round((again["db_bytes"] - large["db_bytes"]) / scale), "bytes", 200, scale
        ),
        "bytes_per_observation": figure(round(large["db_bytes"] / scale), "bytes", 2000, scale),
        "ingest_peak_rss_mb": figure(round(large["peak_mb"], 1), "MB (ingest process; target: see growth)",
                                     None, scale),  # fmt: skip
        "ingest_worker_peak_rss_mb": figure(round(large["worker_peak_mb"], 1), "MB (largest scoring worker)", None,
                                            scale),  # fmt: skip
        "ingest_peak_rss_growth": figure(
            round(large["peak_mb"] / small["peak_mb"], 2), "ratio (x10 models)", 1.2, scale
        ),  # fmt: skip
    }


# ---------------------------------------------------------------------------------------------- first run
def _cli(home: Path, *argv: str, timeout: float = 900) -> tuple[float, subprocess.CompletedProcess]:
    env = os.environ | {"WHICHMODEL_HOME": str(home)}
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "whichmodel.cli.main", *argv], capture_output=True, text=True,
                          env=env, timeout=timeout)  # fmt: skip
    return time.perf_counter() - started, proc


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def bench_first_run(shared: Path, work: Path, wait_embedding: float = 45.0) -> tuple[dict, Path]:
    """README's main command minus installation, on the shared data, until the UI answers.

    The UI then embeds the cards in the background; its last progress line within `wait_embedding` seconds
    (count, rate, time left) is reported as it stands.
    """
    import urllib.request

    home = work / "first-run"
    snapshots = sorted(str(p) for p in (shared / "hub-snapshots").iterdir() if p.is_dir())
    started = time.perf_counter()
    _, snap = _cli(home, "ingest", "--snapshot", *snapshots, "--cards-later")
    _, board = _cli(home, "ingest", "--leaderboard", *sorted(str(p) for p in (shared / "leaderboard").glob("*.csv")))
    port = _free_port()
    env = os.environ | {"WHICHMODEL_HOME": str(home)}
    ui = subprocess.Popen([sys.executable, "-m", "whichmodel.cli.main", "ui", "--port", str(port)], env=env,
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)  # fmt: skip
    answered = None
    try:
        while time.perf_counter() - started < 900 and ui.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2) as response:
                    if response.status == 200:
                        answered = time.perf_counter() - started
                        break
            except OSError:
                time.sleep(0.2)
        # The UI embeds the cards in the background; its progress lines on stderr give the rate and ETA.
        lines: list[str] = []
        ui_started = time.perf_counter()
        while answered and ui.poll() is None and time.perf_counter() - ui_started < wait_embedding:
            line = ui.stderr.readline().strip()
            if line.startswith("cards:"):
                lines.append(line)
            if "index up to date" in line or "embedding stopped" in line:
                break
    finally:
        ui.terminate()
        ui.wait(timeout=30)
    out = {
        "shared_first_run_s": figure(round(answered, 1) if answered else None, "s (ingest, leaderboard, UI answering)",
                                     120, "shared data"),  # fmt: skip
        "shared_cards_background": lines[-1] if lines else None,
    }  # fmt: skip
    if snap.returncode not in (0, 3) or board.returncode != 0:
        out["shared_first_run_error"] = (snap.stderr + board.stderr)[-2000:]
    return out, home


def bench_cli(home: Path) -> dict:
    """Wall time of one CLI call each (a new process, imports included), best of three."""
    calls = {
        "cli_help_s": (["--help"], 0.3),
        "cli_search_s": (["search", "--size", "7B", "--license-class", "permissive", "--json"], 0.8),
        "cli_ask_s": (["ask", "safest permissive 7B chat model", "--json"], 1.5),
    }
    out = {}
    for key, (argv, target) in calls.items():
        times = []
        for _ in range(3):
            took, proc = _cli(home, *argv, timeout=120)
            if proc.returncode != 0:
                out[f"{key}_error"] = proc.stderr[-500:]
            times.append(took)
        out[key] = figure(round(min(times), 2), "s", target, "shared data")
    return out


# ---------------------------------------------------------------------------------------------- search
def settle(engine) -> None:
    """Statistics for the planner after a bulk load; on PostgreSQL a VACUUM as well.

    A table filled moments ago has no visibility map yet, so PostgreSQL's index-only scans (counts on a
    covering index, the base-models view's covering index) visit every row they count; autovacuum sets
    the map some time after a real load, the bench does not wait for it.
    """
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE")
        return
    with engine.begin() as conn:
        conn.exec_driver_sql("ANALYZE")


SEARCHES = [
    {"size": "7B", "chat": True, "license_class": "permissive", "sort": "security", "limit": 5},
    {"task": "text-generation", "sort": "overall"},
    {"min_scores": {"security": 8}, "sort": "downloads"},
    {"sort": "popularity"},
    {"license_class": "non-commercial", "size": "13B", "sort": "quality"},
    {"task": "text-to-image", "license_class": "permissive", "sort": "likes"},
]


def bench_search(scale: int, work: Path, dbs: Databases) -> tuple[dict, object]:
    from whichmodel.store.db import make_engine
    from whichmodel.store.queries import SearchFilters, search_models

    fill_models = bench_module("scale").fill_models
    engine = make_engine(dbs.url("search"))
    fill_models(engine, scale)
    settle(engine)

    def timed(rounds: int) -> list[float]:
        samples = []
        for _ in range(rounds):
            for args in SEARCHES:
                started = time.perf_counter()
                search_models(engine, SearchFilters(**args))
                samples.append((time.perf_counter() - started) * 1000)
        return samples

    samples = timed(10)
    return {"search_p95_ms": figure(p95(samples), "ms", 20, scale),
                  "search_p50_ms": figure(round(statistics.median(samples), 2), "ms", None, scale)}, engine  # fmt: skip


# ---------------------------------------------------------------------------------------------- trends
def bench_trends(scale: int, work: Path, dbs: Databases) -> dict:
    from whichmodel.store.db import make_engine

    trend_bench = bench_module("trends")
    synthetic, time_views = trend_bench.synthetic, trend_bench.time_views
    engine = make_engine(dbs.url("trends"))
    synthetic(engine, scale)
    settle(engine)
    views = time_views(engine, 8)
    worst = max(views, key=lambda v: views[v]["p95_ms"])
    out = {"trend_view_p95_ms": figure(views[worst]["p95_ms"], f"ms (worst view: {worst})", 200, scale)}
    for view, numbers in views.items():
        out[f"trend_{view.replace('-', '_')}_p95_ms"] = figure(numbers["p95_ms"], "ms", 200, scale)
    return out


# ---------------------------------------------------------------------------------------------- cards
def bench_cards(scale: int, work: Path, dbs: Databases) -> dict:
    import numpy as np
    from whichmodel.store.vectors import CardFilters, CardIndex, embedder

    chunks = min(scale, 100_000)
    index = CardIndex(dbs.settings(work / f"cards_home_{dbs.kind}"))
    rng = np.random.default_rng(5)
    words = "model fine tuned chat medical legal code sql anime diffusion llama mistral gemma phi license".split()
    # A realistic spread of words: with a handful only, every keyword query would match every chunk.
    lexicon = words + [f"{a}{b}{c}" for a in "bcdfgklmnprst" for b in "aeiou" for c in "lmnrst"]  # ~2,000 words
    batch = 5000
    for start in range(0, chunks, batch):
        n = min(batch, chunks - start)
        vectors = rng.normal(size=(n, 384)).astype(np.float32)
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        ids = [f"synthetic/m{i // 6}|s{i % 6}|{i:08x}" for i in range(start, start + n)]
        texts = [" ".join(random.Random(i).choices(lexicon, k=60)) for i in range(start, start + n)]
        metas = [{"model_id": i.split("|")[0], "section": "synthetic", "pipeline_tag": "text-generation",
                  "license_class": "permissive" if k % 2 else "custom", "size_class": "7B" if k % 3 else "13B"}
                 for k, i in enumerate(ids)]  # fmt: skip
        index.store(ids, texts, metas, vectors)
    index.optimize()  # as a sync ends
    queries = ["medical chat model", "sql code generation", "anime diffusion", "llama fine tuned license", "legal"]
    index.search("warm up")
    plain, filtered = [], []
    for _ in range(8):
        for q in queries:
            started = time.perf_counter()
            index.search(q, k=5)
            plain.append((time.perf_counter() - started) * 1000)
            started = time.perf_counter()
            index.search(q, CardFilters(license_class="permissive", size_class="7B"), k=5)
            filtered.append((time.perf_counter() - started) * 1000)
    model = embedder(index.cache_dir)
    texts = [f"## Training\n\nThis model was fine-tuned for {w} with DPO. " * 12 for w in words * 16]
    started = time.perf_counter()
    model.embed(texts)
    rate = len(texts) / (time.perf_counter() - started)
    return {
        "card_query_p95_ms": figure(p95(plain), "ms", 50, chunks),
        "card_query_filtered_p95_ms": figure(p95(filtered), "ms", 50, chunks),
        "chunks_embedded_per_s": figure(round(rate, 1), "chunks/s", None, len(texts)),
    }


# ---------------------------------------------------------------------------------------------- planner
def bench_ask(scale: int, engine, work: Path, dbs: Databases) -> dict:
    from langgraph.checkpoint.memory import InMemorySaver
    from test_planner_parse import CASES
    from whichmodel.agent.context import Context
    from whichmodel.agent.graph import build_graph, run_turn
    from whichmodel.config import Settings
    from whichmodel.tools import Services

    services = Services(engine, Settings(home=work / f"ask-home-{dbs.kind}"))
    context = Context()
    graph = build_graph(services, checkpointer=InMemorySaver())
    services.warm()  # start-up, as the UI does it
    run_turn(graph, context, "safest permissive 7B chat model", thread_id="warm")
    samples = []
    for i, case in enumerate(CASES):
        if case[1] == "cards":
            continue  # card search is measured above; here the planner and its store queries
        started = time.perf_counter()
        run_turn(graph, context, case[0], thread_id=f"q{i}")
        samples.append((time.perf_counter() - started) * 1000)
    return {"ask_p95_ms": figure(p95(samples), "ms", 300, scale),
            "ask_p50_ms": figure(round(statistics.median(samples), 1), "ms", None, scale)}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scale", type=int, default=10_000)
    parser.add_argument("--shared", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--only", default="ingest,search,ask,trends,cards,first-run")
    parser.add_argument("--engine", default="sqlite", help="sqlite, postgresql, or both: sqlite,postgresql")
    parser.add_argument("--child-ingest", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child_ingest:
        child_ingest(*args.child_ingest)
        return
    parts = set(args.only.split(","))
    engines = args.engine.split(",")
    unknown = set(engines) - {"sqlite", "postgresql"}
    if unknown:
        parser.error(f"unknown engine(s): {', '.join(sorted(unknown))}")
    results: dict[str, dict] = {}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for kind in engines:
            dbs = Databases(kind, work)
            out: dict = {}
            try:
                if "ingest" in parts:
                    out |= bench_ingest(args.scale, args.shared, work, dbs)
                engine = None
                if parts & {"search", "ask"}:
                    figures, engine = bench_search(args.scale, work, dbs)
                    out |= figures if "search" in parts else {}
                if "ask" in parts:
                    out |= bench_ask(args.scale, engine, work, dbs)
                if engine is not None:
                    engine.dispose()
                if "trends" in parts:
                    out |= bench_trends(args.scale, work, dbs)
                if "cards" in parts:
                    out |= bench_cards(args.scale, work, dbs)
            finally:
                dbs.close()
            results[kind] = out
        # The first run is the README's main command on the default store (SQLite, Chroma folder): once.
        first_run: dict = {}
        if "first-run" in parts:
            figures, home = bench_first_run(args.shared, work)
            first_run = figures | bench_cli(home)
    if len(engines) == 1:  # the shape every earlier run printed
        print(json.dumps(results[engines[0]] | first_run, indent=2))
        return
    side_by_side: dict = {}
    for kind, out in results.items():
        for name, value in out.items():
            entry = side_by_side.setdefault(name, {k: value[k] for k in ("unit", "target", "scale")})
            entry[kind] = value["value"]
    print(json.dumps(side_by_side | first_run, indent=2))


if __name__ == "__main__":
    main()
