"""Helpers for scale benchmarks: fill the search table with synthetic models without the full ingest."""

from __future__ import annotations

import random

from sqlalchemy import Table, insert
from sqlalchemy.engine import Engine
from whichmodel.store.models import ModelRow

TASKS = ["text-generation"] * 6 + ["text-to-image", "text-classification", "sentence-similarity", "translation", None]
SIZES = ["7B", "8B", "13B", "3B", "1B", "70B", "2B", "350M", None]
LICENSE_CLASSES = ["permissive"] * 5 + ["custom", "custom", "responsible-ai", "non-commercial", "unknown", "copyleft"]


def bulk_insert(engine: Engine, table: Table, rows: list[dict]) -> None:
    """Insert rows in one transaction: PostgreSQL's COPY there, an executemany INSERT elsewhere.

    COPY fills a million rows in a fraction of the time of batched INSERT statements; statement triggers
    (the facet counts) fire for it as for an INSERT. Columns a row leaves out get the model's Python-side
    default, which COPY would not apply.
    """
    if not rows:
        return
    if engine.dialect.name != "postgresql":
        with engine.begin() as conn:
            conn.execute(insert(table), rows)
        return
    columns = [c for c in table.columns if c.name in rows[0] or (c.default is not None and c.default.is_scalar)]
    defaults = {c.name: c.default.arg for c in columns if c.default is not None and c.default.is_scalar}
    names = [c.name for c in columns]
    with engine.begin() as conn:
        cursor = conn.connection.driver_connection.cursor()
        with cursor.copy(f"COPY {table.name} ({', '.join(names)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row([row[n] if n in row else defaults.get(n) for n in names])


def fill_models(engine, count: int, seed: int = 11, batch: int = 20_000) -> None:
    """Insert `count` synthetic rows into `models` (ids synthetic-scale-N), with scores and search columns."""
    rng = random.Random(seed)
    rows = []
    for n in range(count):
        scores = {c: round(rng.uniform(0, 10), 2) for c in ("popularity", "activity", "operational", "security",
                                                            "quality")}  # fmt: skip
        size = rng.choice(SIZES)
        rows.append({
            "id": f"synthetic-scale-{n % 5000}/model-{n}", "author": f"synthetic-scale-{n % 5000}",
            "name_lower": f"model-{n}",
            "first_seen": "2026-01-01T00:00:00Z", "last_seen": "2026-01-01T00:00:00Z",
            "pipeline_tag": rng.choice(TASKS), "size_class": size,
            "params": int(float(size[:-1]) * (1e9 if size.endswith("B") else 1e6)) if size else None,
            "license": "apache-2.0", "license_class": rng.choice(LICENSE_CLASSES), "chat": rng.random() < 0.3,
            "gated": "false" if rng.random() < 0.9 else "manual", "downloads": int(rng.paretovariate(0.8)),
            "likes": int(rng.paretovariate(1.5)), **scores, "overall": round(sum(scores.values()) / 5, 2),
            "coverage": round(rng.uniform(0.4, 1.0), 3), "method_version": "synthetic",
        })  # fmt: skip
        if len(rows) == batch:
            bulk_insert(engine, ModelRow.__table__, rows)
            rows.clear()
    bulk_insert(engine, ModelRow.__table__, rows)
