"""A small hand-written database for use-case, tool and CLI tests: every expected value is known from these records."""

from __future__ import annotations

import json

from factories import files, wire
from test_snapshot_faults import write_snapshot

SAFE = "acme/safe-7b-chat"  # safetensors, apache-2.0, chat
TWIN = "acme/twin-7b-chat"  # the same record under another name: every score ties with SAFE
NONCOMMERCIAL = "nc/better-7b-chat"  # more downloads and likes, but non-commercial
PICKLE = "lab/pickle-7b-chat"  # pickle weights only
UNSCORED = "late/unscored-7b-chat"  # ingested after the rest, never scored
MIRROR = "mirror/safe-7b-chat"  # a re-upload of SAFE's name with few downloads: the bare name is ambiguous
MODELS = 6  # stored models, UNSCORED included

FIRST_DAY, SECOND_DAY = "2025-05-01", "2025-06-01"
SAFE_DOWNLOADS = (5000, 9000)  # SAFE's downloads in the first and the second snapshot

CARD = "---\nlicense: apache-2.0\n---\n# {name}\n\nA chat model for customer support, fine-tuned with DPO.\n"


def records(day: int) -> list[dict]:
    """The records of snapshot `day` (0 or 1)."""
    chat = ["transformers", "safetensors", "conversational", "text-generation", "license:apache-2.0"]
    return [
        wire(id=SAFE, downloads=SAFE_DOWNLOADS[day], tags=chat),
        wire(id=TWIN, downloads=SAFE_DOWNLOADS[day], tags=chat),
        wire(id=NONCOMMERCIAL, downloads=50_000, likes=500, cardData={"license": "cc-by-nc-4.0"},
             tags=[t for t in chat if not t.startswith("license:")] + ["license:cc-by-nc-4.0"]),
        wire(id=PICKLE, tags=["transformers", "pytorch", "conversational", "license:apache-2.0"],
             siblings=files(".gitattributes", "README.md", "config.json", "pytorch_model.bin")),
        wire(id=MIRROR, downloads=10, likes=0, tags=chat),
    ]  # fmt: skip


def snapshot(tmp_path, day: int, extra: list[dict] | None = None):
    """Write snapshot `day` (with a card for each model) under tmp_path."""
    rows = records(day) + (extra or [])
    lines = [(json.dumps(r) + "\n").encode() for r in rows]
    cards = [{"id": r["id"], "readme": CARD.format(name=r["id"])} for r in rows]
    name = (FIRST_DAY, SECOND_DAY)[day]
    return write_snapshot(tmp_path / name, lines, cards, observed=name)


def build(tmp_path, with_cards: bool = False):
    """A data directory holding both snapshots, scored, plus UNSCORED stored but not scored.

    Returns (settings, engine).
    """
    from whichmodel.cli.main import main
    from whichmodel.config import Settings
    from whichmodel.hub.snapshot import open_snapshot, read_snapshot
    from whichmodel.store.db import engine_for
    from whichmodel.store.ingest import ingest_items

    home = tmp_path / "home"
    args = ["--home", str(home), "ingest", "--snapshot", str(snapshot(tmp_path, 0)), str(snapshot(tmp_path, 1))]
    assert main(args + ([] if with_cards else ["--no-cards"])) == 0
    settings = Settings(home=home)
    engine = engine_for(settings)
    late = write_snapshot(tmp_path / "late", [(json.dumps(wire(id=UNSCORED)) + "\n").encode()], observed="2025-07-01")
    snap = open_snapshot(late)
    ingest_items(engine, read_snapshot(snap), source=str(late), kind="snapshot", observed_at=snap.observed_at)
    return settings, engine
