"""Ingest every shared snapshot into a fresh data directory; print throughput and peak memory as JSON.

    python bench/ingest.py [--shared ../shared/data] [--repeat 1]

Also times a parse-only pass over the same files (json.loads per line), so the ingest cost reads as a
ratio to merely parsing the input.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from whichmodel.hub.snapshot import open_snapshot, read_snapshot  # noqa: E402
from whichmodel.store.db import make_engine  # noqa: E402
from whichmodel.store.ingest import ingest_items, score_pending  # noqa: E402


def parse_only(folders: list[Path]) -> tuple[int, float]:
    started = time.perf_counter()
    count = 0
    for folder in folders:
        with (folder / "models.jsonl").open("rb") as handle:
            for line in handle:
                if line.strip():
                    json.loads(line)
                    count += 1
    return count, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--shared", type=Path, default=ROOT.parent / "shared" / "data")
    args = parser.parse_args()
    folders = sorted(p for p in (args.shared / "hub-snapshots").iterdir() if p.is_dir())
    records, parse_s = parse_only(folders)
    with tempfile.TemporaryDirectory() as home:
        engine = make_engine(f"sqlite:///{home}/bench.db")
        started = time.perf_counter()
        stored = 0
        for snap in sorted((open_snapshot(f) for f in folders), key=lambda s: s.observed_at):
            summary = ingest_items(engine, read_snapshot(snap), source=str(snap.path), kind="snapshot",
                                   observed_at=snap.observed_at)  # fmt: skip
            stored += summary.new_models + summary.new_observations
        facts_s = time.perf_counter() - started
        scored = score_pending(engine)
        total_s = time.perf_counter() - started
        db_mb = Path(f"{home}/bench.db").stat().st_size / 2**20
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({
        "records": records,
        "observations_stored": stored,
        "observations_scored": scored,
        "parse_only_s": round(parse_s, 3),
        "ingest_facts_s": round(facts_s, 3),
        "ingest_and_score_s": round(total_s, 3),
        "models_per_s": round(records / total_s, 1),
        "ingest_to_parse_ratio": round(total_s / parse_s, 1),
        "peak_rss_mb": round(peak_mb, 1),
        "db_mb": round(db_mb, 1),
    }, indent=2))  # fmt: skip


if __name__ == "__main__":
    main()
