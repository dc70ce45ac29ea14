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
from whichmodel.hub.formats import load_class
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
        classes = {load_class(k) for k in facts["file_kinds"] if load_class(k) and k != "training-state"}
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
