"""Merges by their tags: the Hub tags a mergekit repo's single card base as a finetune, the repo's tags say merge."""

import json

from sqlalchemy import select
from whichmodel.store.models import ModelRow
from whichmodel.store.queries import SearchFilters, search_models

M = ModelRow.__table__


def _newest(snapshot_dirs) -> dict[str, dict]:
    """Each model's newest raw record (the folders are sorted by date)."""
    newest: dict[str, dict] = {}
    for folder in snapshot_dirs:
        for line in (folder / "models.jsonl").read_text().splitlines():
            record = json.loads(line)
            newest[record["id"]] = record
    return newest


def _expected_merges(newest: dict[str, dict]) -> set[str]:
    """Read from the raw tags: a `base_model:merge:` relation, or a merge/mergekit tag on a default finetune link."""
    found = set()
    for model_id, record in newest.items():
        tags = record.get("tags") or []
        relations = {t.split(":")[1] for t in tags if t.startswith("base_model:") and t.count(":") >= 2}
        explicit = (record.get("cardData") or {}).get("base_model_relation")
        tagged = "merge" in tags or "mergekit" in tags
        if "merge" in relations or (tagged and relations == {"finetune"} and not explicit):
            found.add(model_id)
    return found


def _parents(record: dict) -> set[str]:
    return {t.split(":")[-1] for t in record.get("tags") or [] if t.startswith("base_model:")}


def test_mergekit_repos_are_merges_and_found_by_their_base(ingested, snapshot_dirs):
    engine, _, _ = ingested
    newest = _newest(snapshot_dirs)
    expected = _expected_merges(newest)
    assert {"arcee-ai/gemma-7b-slerp", "mlabonne/gemma-7b-dare"} <= expected, "the raw data holds tagged merges"
    with engine.connect() as conn:
        stored = set(conn.execute(select(M.c.id).where(M.c.base_relation == "merge")).scalars())
    assert stored == expected

    # `search --base google/gemma-7b --relation merge`: the merges whose raw base links lead to gemma-7b.
    def leads_to(model_id: str, base: str, seen: frozenset = frozenset()) -> bool:
        parents = _parents(newest.get(model_id, {}))
        return base in parents or any(leads_to(p, base, seen | {model_id}) for p in parents - seen)

    base = "google/gemma-7b"
    under = {m for m in expected if leads_to(m, base)}
    assert {"arcee-ai/gemma-7b-slerp", "mlabonne/gemma-7b-dare"} <= under
    result = search_models(engine, SearchFilters(base=base, relation="merge", include_no_weights=True, limit=1000))
    assert {r["model_id"] for r in result["results"]} == under
    finetunes = search_models(engine, SearchFilters(base=base, relation="finetune", include_no_weights=True,
                                                    limit=1000))  # fmt: skip
    assert not under & {r["model_id"] for r in finetunes["results"]}, "a merge is no longer listed as a finetune"
