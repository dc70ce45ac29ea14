"""Hostile leaderboard CSVs (issue 14, item 6): bad rows are skipped with their line, good rows all stored."""

import csv
import io
import json
import math
import sqlite3

import pytest
from whichmodel.cli.main import main
from whichmodel.cli.safe_output import clean, strict_json

SOURCE = "huggingface_v2_2025-03-21.csv"


def strict_loads(text: str):
    def refuse(name):
        raise ValueError(f"not strict JSON: {name}")

    return json.loads(text, parse_constant=refuse)


@pytest.fixture
def hostile_csv(tmp_path, shared_data):
    """40 real rows of a v2 export, with bad rows spliced in after row 30 (so after committed good rows)."""
    with (shared_data / "leaderboard" / SOURCE).open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        header = reader.fieldnames
        rows = [r for _, r in zip(range(40), reader, strict=False) if r["model_name"] != "baseline"]
    good = rows[:36]

    def variant(n: int, **changes) -> dict:
        return rows[36 + n % 4] | {"model_name": f"bad-org/bad-{n}"} | changes

    bad = [
        variant(0, model_average_score="inf"),
        variant(1, model_average_score="1e309"),
        variant(2, model_average_score="NaN"),
        variant(3, metadata_params_billions="-7"),
        variant(4, evaluations_ifeval_normalized_score="-inf"),
        variant(5, model_sha="x" * 200_000),  # over csv.field_size_limit()
        variant(6, metadata_hub_license="MARKER"),  # becomes a byte that is not UTF-8
    ]
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=header, lineterminator="\n")
    writer.writeheader()
    writer.writerows(good[:30] + bad + good[30:])
    data = out.getvalue().encode("utf-8").replace(b"MARKER", b"mit\xff")
    path = tmp_path / SOURCE
    path.write_bytes(data)
    return path, good


def test_bad_rows_are_skipped_with_their_line_and_every_good_row_is_stored(tmp_path, hostile_csv, capsys):
    path, good = hostile_csv
    home = tmp_path / "home"
    code = main(["--home", str(home), "ingest", "--leaderboard", str(path), "--json"])
    out = strict_loads(capsys.readouterr().out)
    assert code == 3
    [summary] = out["files"]
    assert summary["inserted"] == len(good)
    reasons = {s["line"]: s["reason"] for s in summary["skipped"]}
    assert sorted(reasons) == list(range(32, 39))  # records 32-38 of the file (the header is line 1)
    assert "average is not a finite number" in reasons[32] and "average is not a finite" in reasons[33]
    assert "average is not a finite" in reasons[34] and "negative parameter count" in reasons[35]
    assert "ifeval is not a finite" in reasons[36]
    assert "field larger than field limit" in reasons[37] and "not UTF-8" in reasons[38]
    with sqlite3.connect(home / "whichmodel.db") as conn:
        stored = {r[0] for r in conn.execute("SELECT repo_id FROM leaderboard")}
        flags = conn.execute("SELECT count(*) FROM leaderboard WHERE best_all").fetchone()[0]
    assert stored == {r["model_name"] for r in good}
    assert flags == len(stored)  # best-row flags were computed over everything stored
    code = main(["--home", str(home), "trends", "types", "--json"])
    assert code == 0 and strict_loads(capsys.readouterr().out)["view"] == "types"


def test_cli_json_output_is_strict_even_for_non_finite_values(capsys):
    from whichmodel.cli.common import emit

    emit({"average": math.inf, "scores": [math.nan, 7.5]})  # every --json command prints through emit
    assert strict_loads(capsys.readouterr().out) == {"average": None, "scores": [None, 7.5]}


def test_strict_json_maps_non_finite_numbers_to_null():
    data = {"a": math.inf, "b": [-math.inf, math.nan, 1.5], "c": {"d": (math.nan,)}, "e": "inf"}
    assert strict_loads(strict_json(data)) == {"a": None, "b": [None, None, 1.5], "c": {"d": [None]}, "e": "inf"}


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("evil/\x1b[31mred\x1b[0m", "evil/red"),
        ("title\x1b]0;pwned\x07 after", "title after"),
        ("osc \x1b]8;;http://x.invalid\x1b\\link\x1b]8;;\x1b\\", "osc link"),
        ("bell\x07 nul\x00 c1\x9b31m del\x7f", "bell nul c131m del"),
        ("keeps\ttabs\nand newlines", "keeps\ttabs\nand newlines"),
        ("lone escape \x1b", "lone escape "),
    ],
)
def test_clean_strips_control_sequences(raw, shown):
    assert clean(raw) == shown
