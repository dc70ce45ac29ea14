"""Card embedding speed and agreement, fp32 against int8, on a fixed sample of the shared cards' real chunks.

    python bench/embedding.py [--sample 400] [--rounds 3]

The two graphs run in turns in one process (fp32, int8, fp32, int8 ...), so a machine shared with other
work slows both alike; the figure is each one's best round. Agreement is the cosine between the two vectors
of each chunk.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from whichmodel.cards.chunking import chunk_card  # noqa: E402
from whichmodel.cards.embedding import MiniLM  # noqa: E402


def shared_chunks(shared: Path, count_tokens) -> list[str]:
    """Every chunk of the newest card of each model in the shared snapshots, in a fixed order."""
    cards: dict[str, str] = {}
    for folder in sorted((shared / "hub-snapshots").iterdir()):
        path = folder / "cards.jsonl"
        if path.is_file():
            for line in path.open(encoding="utf-8"):
                record = json.loads(line)
                cards[record["id"]] = record["readme"]
    return [c.text for model_id in sorted(cards) for c in chunk_card(model_id, cards[model_id], count_tokens)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--shared", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--sample", type=int, default=400, help="chunks, spread evenly over all of them")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        models = {p: MiniLM(Path(tmp), precision=p) for p in ("fp32", "int8")}
        chunks = shared_chunks(args.shared, models["fp32"].count_tokens)
        step = max(1, len(chunks) // args.sample)
        sample = chunks[::step][: args.sample]
        rates: dict[str, list[float]] = {p: [] for p in models}
        vectors = {}
        for _ in range(args.rounds):
            for precision, model in models.items():
                started = time.perf_counter()
                vectors[precision] = model.embed(sample)
                rates[precision].append(len(sample) / (time.perf_counter() - started))
    cosine = (vectors["fp32"] * vectors["int8"]).sum(axis=1)
    best = {p: max(r) for p, r in rates.items()}
    print(json.dumps({
        "chunks_total": len(chunks),
        "sample": len(sample),
        "fp32_chunks_per_s": round(best["fp32"], 1),
        "int8_chunks_per_s": round(best["int8"], 1),
        "int8_speedup": round(best["int8"] / best["fp32"], 2),
        "rounds": {p: [round(r, 1) for r in v] for p, v in rates.items()},
        "cosine_fp32_int8": {"min": round(float(cosine.min()), 4), "median": round(float(np.median(cosine)), 4),
                             "mean": round(statistics.fmean(cosine.tolist()), 4)},
    }, indent=2))  # fmt: skip


if __name__ == "__main__":
    main()
