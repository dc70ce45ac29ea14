"""Bad snapshot input: every good record is stored, every bad one reported with its line and reason."""

import json

import pytest
from factories import wire
from whichmodel.cli.main import main
from whichmodel.hub.snapshot import MAX_LINE_BYTES, Parsed, Rejected, SnapshotError, open_snapshot, read_snapshot


def write_snapshot(folder, lines: list[bytes], cards: list[dict] | None = None, observed="2025-05-01"):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "manifest.json").write_text(json.dumps({"observed_at": observed}))
    (folder / "models.jsonl").write_bytes(b"".join(lines))
    (folder / "cards.jsonl").write_text("".join(json.dumps(c) + "\n" for c in cards or []))
    return folder


def line(**overrides) -> bytes:
    return (json.dumps(wire(**overrides)) + "\n").encode()


@pytest.fixture
def messy(tmp_path):
    lines = [
        line(id="good/one"),
        b'{"id": "bad/json", "downloads": 3,\n',  # malformed
        line(id="bad/types", downloads="lots"),  # wrong type
        b'{"id": "bad/utf8", "author": "\xff\xfe"}\n',  # invalid UTF-8
        line(id="good/two"),
        b"\n",  # blank lines are not records
        line(id="good/one"),  # duplicate id
        (json.dumps(wire(id="big/string", author="x" * (MAX_LINE_BYTES + 10))) + "\n").encode(),  # huge line
        b"[1, 2, 3]\n",  # not an object
        line(id="good/three"),
        b'{"id": "cut/off", "downloads": 1',  # truncated last line, no newline
    ]
    cards = [{"id": "good/two", "readme": "# Two\n\nA card about model two.\n"}]
    return write_snapshot(tmp_path / "messy", lines, cards)


def test_reader_reports_each_bad_line_and_keeps_the_good(messy):
    items = list(read_snapshot(open_snapshot(messy)))
    good = [i.facts.id for i in items if isinstance(i, Parsed)]
    bad = {i.line: i.reason for i in items if isinstance(i, Rejected)}
    assert good == ["good/one", "good/two", "good/one", "good/three"]  # the store rejects the duplicate
    assert set(bad) == {2, 3, 4, 8, 9, 11}
    assert bad[2].startswith("malformed JSON")
    assert "'downloads' should be an integer" in bad[3]
    assert bad[4].startswith("invalid UTF-8")
    assert "longer than" in bad[8]
    assert "JSON object" in bad[9]
    assert "truncated" in bad[11]
    two = next(i for i in items if isinstance(i, Parsed) and i.facts.id == "good/two")
    assert two.card_text.startswith("# Two") and two.facts.card is not None


def test_cli_ingest_stores_good_records_and_exits_3(messy, tmp_path, capsys):
    home = tmp_path / "home"
    code = main(["--home", str(home), "ingest", "--snapshot", str(messy), "--json"])
    out = json.loads(capsys.readouterr().out)
    assert code == 3
    run = out["runs"][0]
    assert (run["new_models"], run["parsed"]) == (3, 4)
    skipped = {s["line"]: s["reason"] for s in run["skipped"]}
    assert set(skipped) == {2, 3, 4, 7, 8, 9, 11}
    assert "duplicate id" in skipped[7]
    assert out["scored"] == 3
    # The good records answer like any other.
    assert main(["--home", str(home), "score", "good/three", "--no-fetch", "--json"]) == 0


def test_clean_snapshot_exits_0_and_missing_folder_exits_1(tmp_path, capsys):
    clean = write_snapshot(tmp_path / "clean", [line(id="a/b"), line(id="a/c")])
    assert main(["--home", str(tmp_path / "h"), "ingest", "--snapshot", str(clean)]) == 0
    capsys.readouterr()
    assert main(["--home", str(tmp_path / "h"), "ingest", "--snapshot", str(tmp_path / "nope"), "--json"]) == 1
    assert "not a folder" in json.loads(capsys.readouterr().out)["error"]


def test_unreadable_snapshot_folders_raise_clear_errors(tmp_path):
    with pytest.raises(SnapshotError, match="not a folder"):
        open_snapshot(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(SnapshotError, match="no models.jsonl"):
        open_snapshot(tmp_path / "empty")
    bad = write_snapshot(tmp_path / "badmanifest", [line()])
    (bad / "manifest.json").write_text("{oops")
    with pytest.raises(SnapshotError, match="not valid JSON"):
        open_snapshot(bad)


def test_folder_name_stands_in_for_a_missing_observed_at(tmp_path):
    folder = write_snapshot(tmp_path / "2025-06-30", [line()])
    (folder / "manifest.json").write_text("{}")
    assert open_snapshot(folder).observed_at == "2025-06-30T00:00:00Z"
