"""The truth table: derived facts of real models from the shared snapshots, checked by hand.

`tests/data/truth_table.csv` holds one row per model, picked to cover every rule in README's "Derived
facts" (adapters, quantized repos, GGML/GGUF, llamafile, other weight formats, merges, name-vs-measurement
conflicts, decimal sizes in names, license conflicts, repos without weights, card-stated sizes, partial
records). Each row was written from the raw record and card (`note` says what was read) and is compared here
with what ingesting every shared snapshot derived. An empty cell is not checked for that row.
"""

import csv
from pathlib import Path

import pytest
from whichmodel.hub.formats import PICKLED_NON_WEIGHTS, load_class
from whichmodel.store.queries import scorecard

TABLE = Path(__file__).parent / "data" / "truth_table.csv"
ROWS = list(csv.DictReader(TABLE.open()))


def test_the_table_covers_every_rule():
    rules = {r["rule"] for r in ROWS}
    expected = {"adapter", "quantized", "ggml", "llamafile", "merge", "license-conflict", "no-weights", "card-size",
                "name-vs-measured", "name-decimal", "formats", "gguf", "partial-record"}  # fmt: skip
    assert expected <= rules, expected - rules
    assert len(ROWS) >= 150
    assert len({r["model_id"] for r in ROWS}) == len(ROWS)
    assert all(r["note"].strip() for r in ROWS), "every row says what was checked"


@pytest.fixture(scope="module")
def cards(ingested):
    engine, _, _ = ingested
    return {row["model_id"]: scorecard(engine, row["model_id"]) for row in ROWS}


@pytest.mark.parametrize("row", ROWS, ids=[r["model_id"] for r in ROWS])
def test_derived_facts_match_the_table(row, cards):
    card = cards[row["model_id"]]
    assert card is not None, "every table row is a stored model"
    facts = card["facts"]
    why = f"{row['rule']}: {row['note']}"
    if row["params_b"] == "none":
        assert facts["params"] is None, why
    elif row["params_b"]:
        expected = float(row["params_b"])
        assert facts["params"] is not None, why
        assert abs(facts["params"] / 1e9 - expected) <= 0.01 * expected + 0.005, (facts["params"], why)
    if row["has_weights"]:
        assert facts["has_weights"] is (row["has_weights"] == "true"), why
    else:
        assert facts["has_weights"] is None, why
    if facts["file_kinds"] is not None:
        classes = {load_class(k) for k in facts["file_kinds"] if load_class(k) and k not in PICKLED_NON_WEIGHTS}
        assert classes == set(filter(None, row["load_classes"].split(";"))), why
    assert (facts["base_relation"] == "adapter") is (row["adapter"] == "true"), why
    assert facts["license_class"] == row["license_declared"], why
    assert facts["license_class_effective"] == row["license_effective"], why
    if row["license_declared"] != row["license_effective"]:
        assert facts["license_conflict"] and row["license_effective"] in facts["license_conflict"], why
    else:
        assert facts["license_conflict"] is None, why
    if row["has_weights"] == "false":  # not a usable model: security says so and cannot win
        security = card["categories"]["security"]
        assert security["score"] == 0.0 and security["rank"] == 0.0, why


def test_repos_whose_only_pickles_are_vector_stores_hold_no_weights(cards, ingested, snapshot_dirs):
    """From the raw records: a repo whose only weight-like files are pickles under a vector-store folder (or
    LangChain's FAISS `index.pkl`) holds no weights, cannot pass on security, and its pickles still count."""
    import json
    import re

    store = re.compile(r"(?:^|/)index\.pkl$|(?:vector[_-]?store|faiss|chroma)[^/]*/", re.I)
    weight_ext = re.compile(r"\.(?:safetensors|gguf|ggml|bin|pt|pth|ckpt|pkl|pickle|onnx|h5|keras|msgpack|llamafile)$")
    expected = {}
    for snap in snapshot_dirs:
        for line in (snap / "models.jsonl").open(encoding="utf-8"):
            record = json.loads(line)
            names = [s.get("rfilename", "") for s in (record.get("siblings") or []) if isinstance(s, dict)]
            weightish = [n for n in names if weight_ext.search(n.lower())]
            if weightish and all(store.search(n) for n in weightish):
                expected[record["id"]] = sum(n.lower().endswith(".pkl") for n in weightish)
    assert expected, "the shared snapshots hold such a repo"
    engine, _, _ = ingested
    for model, pickles in expected.items():
        card = scorecard(engine, model)
        assert card["facts"]["has_weights"] is False, model
        findings = {f["check"]: f for c in card["categories"].values() for f in c["findings"]}
        assert findings["weights_present"]["outcome"] == "fail", model
        assert card["categories"]["security"]["score"] == 0.0, model
        assert findings["unsafe_files"]["outcome"] == "fail", model
        assert sum(len(v) for k, v in card["facts"]["file_kinds"].items() if load_class(k) == "pickle") == pickles
