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


def test_identical_measured_counts_have_one_size_class_and_the_family_is_found_by_its_name(ingested, snapshot_dirs):
    """Repos whose raw safetensors hold the same unquantized count (F16/BF16/F32 only, no quantization config)
    get one size class in the store; gemma-7b's count is the family's "7B", so `size=7B` finds every repo that
    holds it, and each keeps the size its own name reads."""
    newest: dict[str, dict] = {}
    for folder in snapshot_dirs:  # sorted by date: the store's model row follows the newest record
        for line in (folder / "models.jsonl").read_text().splitlines():
            record = json.loads(line)
            newest[record["id"]] = record
    by_count: dict[int, set[str]] = defaultdict(set)
    for record in newest.values():
        dtypes = (record.get("safetensors") or {}).get("parameters") or {}
        quantized = "quantization_config" in (record.get("config") or {})
        if dtypes and set(dtypes) <= {"F16", "BF16", "F32"} and not quantized:
            by_count[sum(dtypes.values())].add(record["id"])
    gemma = by_count[8_537_680_896]
    assert "google/gemma-7b" in gemma and "hyokwan/familidata_gemma7b" in gemma and len(gemma) > 50
    engine, _, _ = ingested
    from sqlalchemy import select
    from whichmodel.store.models import ModelRow

    with engine.connect() as conn:
        stored = dict(conn.execute(select(ModelRow.id, ModelRow.size_class)).all())
    for count, ids in by_count.items():
        classes = {stored[i] for i in ids if i in stored}
        assert len(classes) == 1, (count, classes)
    assert {stored[i] for i in gemma} == {"7B"}
    found = search_models(engine, SearchFilters(size="7B", base="google/gemma-7b", include_no_weights=True,
                                                limit=2000))  # fmt: skip
    assert "hyokwan/familidata_gemma7b" in {r["model_id"] for r in found["results"]}
    from whichmodel.store.queries import stored_card

    _, facts = stored_card(engine, "shisa-ai/shisa-v1-gemma-8b")
    assert facts["size_class"] == "7B" and facts["size_named"] == "8B"


def test_commercial_filter_agrees_with_each_rows_answer_and_follows_the_base(ingested, snapshot_dirs):
    """The search filter (SQL) and the answer each row shows (Python) agree for every stored model; a derivative
    declaring a permissive license on a Llama 2 base (raw: license mit/apache-2.0, base_model:...Llama-2...)
    is allowed commercial use only with conditions; "allowed" is exactly yes plus yes-with-conditions."""
    engine, _, _ = ingested
    answers = {}
    for value in ("yes", "yes-with-conditions", "no", "unknown"):
        found = search_models(engine, SearchFilters(commercial=value, include_no_weights=True, limit=5000))
        assert found["total_matched"] == len(found["results"])
        for row in found["results"]:
            assert row["commercial_use"] in (value, None), row["model_id"]
            answers[row["model_id"]] = value
    allowed = search_models(engine, SearchFilters(commercial="allowed", include_no_weights=True, limit=5000))
    assert {r["model_id"] for r in allowed["results"]} == {
        m for m, v in answers.items() if v in ("yes", "yes-with-conditions")
    }
    newest: dict[str, dict] = {}
    for folder in snapshot_dirs:
        for line in (folder / "models.jsonl").read_text().splitlines():
            record = json.loads(line)
            if "siblings" in record:  # full records (a partial one has no card data)
                newest[record["id"]] = record
    llama_children = [
        m for m, r in newest.items()
        if (r.get("cardData") or {}).get("license") in ("mit", "apache-2.0")
        and any(t.startswith("base_model:") and "Llama-2-7b" in t for t in r.get("tags") or [])
    ]  # fmt: skip
    assert llama_children, "the shared data has permissively licensed Llama 2 fine-tunes"
    known = [m for m in llama_children if m in answers]
    assert known and all(answers[m] == "yes-with-conditions" for m in known), known
    assert answers["google/gemma-7b"] == "yes-with-conditions" and answers["microsoft/phi-2"] == "yes"
