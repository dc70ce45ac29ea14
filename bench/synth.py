"""Synthetic Hub records shaped like the shared snapshots, for scale benchmarks.

    python bench/synth.py --models 100000 --out /tmp/synth-100k

The distributions (downloads, likes, licenses, pipeline tags, libraries, gating, file lists, card lengths and
which records have a card) are sampled from ../shared/data/hub-snapshots at run time; the records themselves
are new: ids `synthetic-org-N/model-M`, a `synthetic` tag, generated card text, and a manifest that says so.
"""

from __future__ import annotations

import argparse
import json
import random
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SENTENCES = [
    "This model is a fine-tuned version of a base language model for {task}.",
    "It was trained for {n} epochs with a learning rate of 2e-5 and a batch size of {b}.",
    "Evaluation on the held-out set gives an accuracy of {acc}.",
    "The training data is a mix of public instruction datasets and synthetic dialogues.",
    "The model may reproduce biases present in its training data and is not intended for medical advice.",
    "Use it with the transformers pipeline API; see the example below.",
]
HEADINGS = ["Model description", "Intended uses & limitations", "Training procedure", "Training hyperparameters",
            "Evaluation results", "How to use", "Framework versions"]  # fmt: skip


class Profile:
    """Empirical distributions read from the shared snapshots."""

    def __init__(self, shared: Path):
        self.records: list[dict] = []
        self.card_words: list[int] = []
        with_card = total = 0
        for folder in sorted((shared / "hub-snapshots").iterdir()):
            cards = folder / "cards.jsonl"
            card_ids = set()
            if cards.is_file():
                for line in cards.open(encoding="utf-8"):
                    card = json.loads(line)
                    card_ids.add(card["id"])
                    self.card_words.append(len(card["readme"].split()))
            for line in (folder / "models.jsonl").open(encoding="utf-8"):
                record = json.loads(line)
                if "siblings" in record:
                    self.records.append(record)
                    total += 1
                    with_card += record["id"] in card_ids
        self.card_share = with_card / max(1, total)

    def pick(self, rng: random.Random, key: str):
        return rng.choice(self.records).get(key)


def _card(rng: random.Random, words: int, task: str) -> str:
    front = f"---\nlicense: apache-2.0\ntags:\n- synthetic\npipeline_tag: {task}\n---\n\n# Synthetic model\n\n"
    parts, count = [front], 0
    while count < words:
        heading = rng.choice(HEADINGS)
        values = {"task": task, "n": rng.randint(1, 5), "b": rng.choice([8, 16, 32]),
                  "acc": round(rng.uniform(0.5, 0.95), 3)}  # fmt: skip
        body = " ".join(rng.choice(SENTENCES).format(**values) for _ in range(4))
        parts.append(f"## {heading}\n\n{body}\n\n")
        count += len(body.split()) + 3
        if heading == "How to use":
            parts.append("```python\nfrom transformers import pipeline\npipe = pipeline('text-generation')\n```\n\n")
    return "".join(parts)


def records(profile: Profile, count: int, seed: int = 7, with_cards: bool = True) -> Iterator[tuple[dict, str | None]]:
    """(record, card text or None) pairs."""
    rng = random.Random(seed)
    orgs = max(10, count // 15)
    for n in range(count):
        template = rng.choice(profile.records)
        org = f"synthetic-org-{int(rng.paretovariate(1.1)) % orgs}"
        model_id = f"{org}/model-{n}"
        task = profile.pick(rng, "pipeline_tag") or "text-generation"
        tags = [t for t in profile.pick(rng, "tags") or [] if not t.startswith(("base_model:", "dataset:", "arxiv:"))]
        record = {
            "id": model_id, "modelId": model_id, "author": org, "sha": f"{n:040x}",
            "createdAt": template.get("createdAt"), "lastModified": profile.pick(rng, "lastModified"),
            "private": False, "gated": profile.pick(rng, "gated"), "disabled": False,
            "downloads": profile.pick(rng, "downloads"), "likes": profile.pick(rng, "likes"),
            "library_name": profile.pick(rng, "library_name"), "tags": ["synthetic"] + tags, "pipeline_tag": task,
            "config": template.get("config"), "cardData": {"license": "apache-2.0", "tags": ["synthetic"]},
            "siblings": profile.pick(rng, "siblings"), "spaces": [], "safetensors": template.get("safetensors"),
            "usedStorage": template.get("usedStorage"),
        }  # fmt: skip
        card = None
        if with_cards and rng.random() < profile.card_share:
            card = _card(rng, rng.choice(profile.card_words), task)
        yield record, card


def write_snapshot(out: Path, count: int, shared: Path, seed: int = 7, observed: str = "2026-01-01",
                   counts_seed: int | None = None) -> Path:  # fmt: skip
    """A snapshot folder of `count` synthetic records (manifest marks it synthetic).

    With `counts_seed`, the same records as `seed` gives, except that downloads and likes moved (as they do
    from one day to the next on the Hub): the re-ingest benchmark's second day.
    """
    profile = Profile(shared)
    out.mkdir(parents=True, exist_ok=True)
    cards = 0
    moved = random.Random(counts_seed)
    with (
        (out / "models.jsonl").open("w", encoding="utf-8") as models,
        (out / "cards.jsonl").open("w", encoding="utf-8") as card_file,
    ):
        for record, card in records(profile, count, seed):
            if counts_seed is not None:
                for key in ("downloads", "likes"):
                    if isinstance(record[key], int):
                        record[key] = int(record[key] * moved.uniform(0.9, 1.2)) + moved.randint(0, 3)
            models.write(json.dumps(record) + "\n")
            if card:
                card_file.write(json.dumps({"id": record["id"], "readme": card}) + "\n")
                cards += 1
    notes = "synthetic records generated by bench/synth.py from the shared snapshots' distributions"
    manifest = {"observed_at": observed, "models": count, "cards": cards, "synthetic": True, "notes": notes}
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--models", type=int, default=10_000)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--shared", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    print(write_snapshot(args.out, args.models, args.shared, args.seed))


if __name__ == "__main__":
    main()
