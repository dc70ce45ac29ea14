"""Trend-view latency: p50/p95 per view on the shared leaderboard data and on a synthetic table.

    python bench/trends.py [--rows 1000000] [--repeat 20]

The synthetic rows are shaped like v1 (types, families, authors with a long tail, dates over two years,
about one repo in five resubmitted) and marked with source "synthetic".
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))  # scale.py, the bulk loader (rooms are whichmodel.*: nothing shadowed)

from scale import bulk_insert  # noqa: E402
from whichmodel.store.db import make_engine  # noqa: E402
from whichmodel.store.models import LeaderboardRow  # noqa: E402
from whichmodel.trends.leaderboard import FAMILIES, TYPES, buckets, load_file, order_files, refresh_best  # noqa: E402
from whichmodel.trends.views import TrendParams, run_view  # noqa: E402

VIEWS = ("types", "authors", "benchmarks", "architectures", "base-models", "releases")


def synthetic(engine, rows: int, seed: int = 7) -> None:
    rng = random.Random(seed)
    start = date(2023, 6, 1)
    authors = [f"author{i}" for i in range(max(10, rows // 20))]
    batch = []
    for n in range(rows):
        repo_n = n if rng.random() > 0.2 else rng.randrange(max(1, n))  # about 1 in 5 is a resubmission
        author = (
            authors[min(len(authors) - 1, int(rng.paretovariate(1.2)) - 1)]
            if rng.random() < 0.5
            else rng.choice(authors)
        )
        day = start + timedelta(days=rng.randrange(730))
        family = rng.choice(FAMILIES)
        batch.append({
            "key": f"syn{n}", "source": "synthetic", "line": n, "board": "v1", "repo_id": f"{author}/model-{repo_n}",
            "author": author, "type": rng.choice(TYPES), "arch_class": f"{family}ForCausalLM", "arch_family": family,
            "params_b": rng.choice([1.0, 2.0, 7.0, 8.0, 13.0, 46.0, 70.0, None]), **buckets(day),
            "average": round(rng.uniform(30, 80), 2), "benchmarks": "{}", "flagged": rng.random() < 0.02,
        })  # fmt: skip
        if len(batch) == 20000:
            bulk_insert(engine, LeaderboardRow.__table__, batch)
            batch.clear()
    bulk_insert(engine, LeaderboardRow.__table__, batch)
    refresh_best(engine)


def time_views(engine, repeat: int) -> dict:
    results = {}
    params = [
        TrendParams(),
        TrendParams(unit="week", start="2024-01-01", end="2024-06-30"),
        TrendParams(types=["chat", "fine_tuned"], archs=["Llama", "Mistral"]),
    ]
    for view in VIEWS:
        samples = []
        for i in range(repeat):
            started = time.perf_counter()
            run_view(engine, view, params[i % len(params)])
            samples.append((time.perf_counter() - started) * 1000)
        samples.sort()
        results[view] = {"p50_ms": round(statistics.median(samples), 1),
                         "p95_ms": round(samples[min(len(samples) - 1, int(0.95 * len(samples)))], 1)}  # fmt: skip
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--shared", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    out = {}
    with tempfile.TemporaryDirectory() as home:
        engine = make_engine(f"sqlite:///{home}/shared.db")
        for path in order_files(sorted((args.shared / "leaderboard").glob("*.csv"))):
            load_file(engine, path)
        out["shared"] = time_views(engine, args.repeat)
        engine = make_engine(f"sqlite:///{home}/synthetic.db")
        started = time.perf_counter()
        synthetic(engine, args.rows)
        out["synthetic_rows"] = args.rows
        out["synthetic_load_s"] = round(time.perf_counter() - started, 1)
        out["synthetic"] = time_views(engine, max(5, args.repeat // 4))
    out["target_p95_ms"] = 200
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
