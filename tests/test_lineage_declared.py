"""Lineage from every base a card declares: the Hub's tags keep one base, a card's `base_model:` may list several."""

import json
from collections import defaultdict

from whichmodel.store.queries import SearchFilters, resolve_model, search_models


def _declared_children(snapshot_dirs) -> dict[str, set[str]]:
    """Base id -> models whose newest record's card declares it but whose tags do not (read from the raw files)."""
    newest: dict[str, dict] = {}
    for folder in snapshot_dirs:  # sorted by date: later records replace earlier ones
        for line in (folder / "models.jsonl").read_text().splitlines():
            record = json.loads(line)
            if record.get("cardData") is not None or record["id"] not in newest:
                newest[record["id"]] = record
    children = defaultdict(set)
    for model_id, record in newest.items():
        declared = (record.get("cardData") or {}).get("base_model")
        tagged = {t.split(":")[-1] for t in record.get("tags") or [] if t.startswith("base_model:")}
        for base in declared if isinstance(declared, list) else [declared]:
            if isinstance(base, str) and "/" in base and base not in tagged:
                children[base].add(model_id)
    return children


def test_a_base_only_a_card_declares_is_found_with_its_descendants(ingested, snapshot_dirs):
    engine, _, _ = ingested
    children = _declared_children(snapshot_dirs)
    assert children, "the shared data has cards declaring bases their tags leave out"
    base, expected = max(children.items(), key=lambda item: len(item[1]))
    found = resolve_model(engine, base.split("/")[-1], bases=True)
    assert found.model_id == base
    result = search_models(engine, SearchFilters(base=base, include_no_weights=True, limit=1000))
    assert expected <= {r["model_id"] for r in result["results"]}
