"""Hostile and careless input to ingest (issue 14): one bad record is reported and skipped, never a lost batch."""

import json
import sqlite3
from dataclasses import replace

import pytest
from factories import wire
from whichmodel.cli.main import main
from whichmodel.hub.facts import parse_record
from whichmodel.hub.snapshot import MAX_LINE_BYTES, Parsed, Rejected, SnapshotError, open_snapshot, read_snapshot
from whichmodel.store.ingest import ingest_items

OBSERVED = "2025-05-01T00:00:00Z"


def line(**overrides) -> bytes:
    return (json.dumps(wire(**overrides)) + "\n").encode()


def card_line(model_id: str, text: str) -> bytes:
    return (json.dumps({"id": model_id, "readme": text}) + "\n").encode()


def write_folder(folder, models: list[bytes], cards: list[bytes] = (), manifest: bytes | None = None):
    folder.mkdir(parents=True)
    (folder / "manifest.json").write_bytes(manifest if manifest is not None else b'{"observed_at": "2025-05-01"}')
    (folder / "models.jsonl").write_bytes(b"".join(models))
    (folder / "cards.jsonl").write_bytes(b"".join(cards))
    return folder


def stored_ids(home) -> set[str]:
    with sqlite3.connect(home / "whichmodel.db") as conn:
        return {r[0] for r in conn.execute("SELECT id FROM models")}


def ingest_json(home, *folders, capsys) -> tuple[int, dict]:
    code = main(["--home", str(home), "ingest", "--snapshot", *map(str, folders), "--no-cards", "--json"])
    return code, json.loads(capsys.readouterr().out)


DEEP = b"[" * 100_000 + b"]" * 100_000


def bad_lines() -> dict[str, bytes]:
    """One line per fault of issue 14, items 1-3 and 7, each a record nobody should store."""
    return {
        "huge/int": b'{"id": "huge/int", "downloads": 18446744073709551616}\n',
        "huge/int63": b'{"id": "huge/int63", "likes": 9223372036854775808}\n',  # fits no signed 64-bit column
        "lone/surrogate": b'{"id": "lone/surrogate", "author": "\\ud800"}\n',
        "deep/array": b'{"id": "deep/array", "cardData": ' + DEEP + b"}\n",
        "deep/line": DEEP + b"\n",
        "../../etc/passwd": line(id="../../etc/passwd"),
        "/": line(id="/"),
        "a/b/c": line(id="a/b/c"),
        "a\\b": line(id="a\\b"),
        "nul/id": b'{"id": "nul/i\\u0000d"}\n',
        "esc/id": b'{"id": "esc/\\u001b[31mred"}\n',
        "negative/count": line(id="negative/count", downloads=-5),
        "negative/likes": line(id="negative/likes", likes=-1),
    }


@pytest.mark.parametrize("name", list(bad_lines()))
def test_each_bad_record_is_rejected_with_its_line_and_the_good_ones_parse(tmp_path, name):
    folder = write_folder(tmp_path / "snap", [line(id="good/before"), bad_lines()[name], line(id="good/after")])
    items = list(read_snapshot(open_snapshot(folder)))
    assert [i.facts.id for i in items if isinstance(i, Parsed)] == ["good/before", "good/after"]
    rejected = [i for i in items if isinstance(i, Rejected)]
    assert [r.line for r in rejected] == [2] and rejected[0].reason


def test_every_bad_input_in_one_folder_still_stores_every_good_record(tmp_path, capsys):
    """The issue's acceptance test: one folder holding all the bad inputs plus good records."""
    goods = [f"good/model-{n}" for n in range(12)]
    bads = list(bad_lines().values())
    models = []
    for n, model_id in enumerate(goods):  # good and bad records interleaved, in one batch and across batches
        models.append(line(id=model_id))
        if n < len(bads):
            models.append(bads[n])
    models += bads[len(goods) :]
    big_card = "# Big\n\n" + "word " * (50 * 1024 * 1024 // 5)  # a 50 MB card, not the last line
    cards = [
        card_line("good/model-0", "# Zero\n\nThe card of model zero.\n"),
        card_line("good/model-1", big_card),
        b'{"id": "good/model-2", "readme": "bad \\udc80 text"}\n',  # lone surrogate in card text
        b'{"id": "good/model-3", "readme": ' + DEEP + b"}\n",
        card_line("good/model-4", "# Four\n\nThe card of model four, after the big one.\n"),
        card_line("good/model-5", "# a" + " " * 20_000 + "x\n\nheading bomb\n"),
        card_line("good/model-6", "---\n" + _alias_bomb() + "---\n\n# Six\n\nAlias bomb in the front matter.\n"),
    ]
    folder = write_folder(tmp_path / "2025-05-01", models, cards)
    home = tmp_path / "home"
    code, out = ingest_json(home, folder, capsys=capsys)
    assert code == 3
    assert stored_ids(home) == set(goods)
    run = out["runs"][0]
    assert run["new_models"] == len(goods) and run["status"] == "complete"
    assert out["scored"] == len(goods)
    # Every bad line is reported; cards that could not be read are reported too.
    reported = {(s["line"]) for s in run["skipped"]}
    assert len(run["skipped"]) == len(bads) + 3  # 13 records + the 50 MB card, the surrogate card, the deep card
    assert None not in reported
    from whichmodel.store.db import make_engine
    from whichmodel.store.records import card_texts

    engine = make_engine(f"sqlite:///{home / 'whichmodel.db'}")
    with engine.connect() as conn:
        by_hash = dict(conn.exec_driver_sql("SELECT hash, model_id FROM cards").all())
        texts = {by_hash[h]: text for h, text in card_texts(conn, by_hash).items()}
    engine.dispose()
    # Offsets after the oversized card are right: model four's card is its own.
    assert texts["good/model-4"].startswith("# Four") and texts["good/model-0"].startswith("# Zero")
    assert "good/model-1" not in texts and "good/model-2" not in texts
    # The second run changes nothing and reports the same bad lines.
    code, again = ingest_json(home, folder, capsys=capsys)
    assert code == 3 and again["runs"][0]["unchanged"] == len(goods) and again["runs"][0]["new_models"] == 0


def _alias_bomb(levels: int = 9) -> str:
    lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for n in range(1, levels):
        lines.append(f"a{n}: &a{n} [{', '.join([f'*a{n - 1}'] * 9)}]")
    return "\n".join(lines) + "\n"


def test_a_record_that_fails_in_the_database_costs_only_itself(tmp_path, engine):
    """Records that got past parsing but cannot be written (a live-Hub dict, say): isolated per record."""
    good = [Parsed(n, parse_record(wire(id=f"ok/m{n}")), None) for n in range(1, 6)]
    too_big = Parsed(6, replace(parse_record(wire(id="bad/overflow")), downloads=2**64), None)
    surrogate = Parsed(7, parse_record(wire(id="bad/surrogate")), "card \ud800 text")
    items = [good[0], too_big, good[1], good[2], surrogate, good[3], good[4]]
    summary = ingest_items(engine, items, source="t", kind="snapshot", observed_at=OBSERVED, batch_size=500)
    assert summary.new_models == 5
    assert {s.model_id for s in summary.skipped} == {"bad/overflow", "bad/surrogate"}
    assert all(s.reason.startswith("cannot be stored") for s in summary.skipped)
    with engine.connect() as conn:
        assert {r[0] for r in conn.exec_driver_sql("SELECT id FROM models")} == {f"ok/m{n}" for n in range(1, 6)}


@pytest.mark.parametrize(
    ("manifest", "message"),
    [
        (b"[1, 2]", "should be a JSON object, got list"),
        (b'"2025-05-01"', "should be a JSON object, got str"),
        (b'{"observed_at": 20250501}', "should be a date string"),
        (b'{"observed_at": "2099-01-01"}', "in the future"),
        (b'{"observed_at": "2025-13-45"}', "not a valid date"),
    ],
)
def test_bad_manifests_are_refused_clearly(tmp_path, capsys, manifest, message):
    folder = write_folder(tmp_path / "snap", [line(id="a/b")], manifest=manifest)
    with pytest.raises(SnapshotError, match=message):
        open_snapshot(folder)
    code, out = ingest_json(tmp_path / "home", folder, capsys=capsys)
    assert code == 1 and message in out["error"]


def test_a_date_shaped_folder_name_that_is_no_date_is_refused(tmp_path):
    folder = write_folder(tmp_path / "2025-13-45", [line(id="a/b")], manifest=b"{}")
    with pytest.raises(SnapshotError, match="folder name '2025-13-45' is not a valid date"):
        open_snapshot(folder)


def test_same_id_same_date_different_data_is_a_conflict(tmp_path, capsys):
    first = write_folder(tmp_path / "one", [line(id="a/b", downloads=10), line(id="a/c")])
    second = write_folder(tmp_path / "two", [line(id="a/b", downloads=99), line(id="a/c")])
    home = tmp_path / "home"
    assert ingest_json(home, first, capsys=capsys)[0] == 0
    code, out = ingest_json(home, second, capsys=capsys)
    assert code == 3
    run = out["runs"][0]
    assert run["unchanged"] == 1
    [conflict] = run["skipped"]
    assert conflict["model_id"] == "a/b" and conflict["reason"].startswith("conflict")
    assert "downloads" in conflict["reason"]
    with sqlite3.connect(home / "whichmodel.db") as conn:
        assert conn.execute("SELECT downloads FROM models WHERE id = 'a/b'").fetchone()[0] == 10


def test_an_oversized_card_line_does_not_shift_the_cards_after_it(tmp_path):
    big = card_line("m/big", "x" * (MAX_LINE_BYTES + 100))
    folder = write_folder(
        tmp_path / "snap",
        [line(id="m/big"), line(id="m/next")],
        [card_line("m/first", "first"), big, card_line("m/next", "# Next\n\nits own card\n")],
    )
    items = list(read_snapshot(open_snapshot(folder)))
    nxt = next(i for i in items if isinstance(i, Parsed) and i.facts.id == "m/next")
    assert nxt.card_text == "# Next\n\nits own card\n"
    assert any(isinstance(i, Rejected) and i.line == 2 and "over" in i.reason for i in items)


def test_heading_lines_padded_with_spaces_parse_in_linear_time():
    from whichmodel.hub.card import parse_card

    # At 20,000 spaces the old heading regex backtracked for hours; the title is read the same way as before.
    card = parse_card("# a" + " " * 20_000 + "x ##\n\nSome prose.\n\n## Usage ##\n\nMore.\n")
    assert [(s.level, s.heading) for s in card.sections] == [(1, "a" + " " * 20_000 + "x"), (2, "Usage")]


def test_front_matter_with_yaml_aliases_is_reported_not_expanded():
    from whichmodel.hub.card import parse_card

    card = parse_card("---\n" + _alias_bomb(12) + "license: mit\n---\n\n# Title\n\nProse.\n")
    assert card.front_matter == {} and "aliases" in card.front_matter_error
    assert [s.heading for s in card.prose_sections] == ["Title"]
    facts = parse_record(wire(id="a/bomb", cardData=None), card_text="---\n" + _alias_bomb(12) + "---\n# T\n\nx\n")
    assert facts.card is not None and facts.card.front_matter_keys == []
    # Plain front matter still reads; so do anchors that nothing refers to.
    plain = parse_card("---\nlicense: &l mit\ntags: [a, b]\n---\n# T\n")
    assert plain.front_matter == {"license": "mit", "tags": ["a", "b"]}


@pytest.mark.parametrize("bad_id", ["a/b/c", "../../etc/passwd", "org/na me", "org/x\x00y"])
def test_score_refuses_an_id_the_hub_could_never_hold_before_asking_it(tmp_path, monkeypatch, capsys, bad_id):
    """A malformed id is an unknown model (exit 4, the JSON error shape) with the Hub's own rule named; no request."""
    import json

    from fake_hub import FakeHub
    from whichmodel.cli.main import main

    with FakeHub() as hub:
        monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{hub.port}")
        assert main(["--home", str(tmp_path), "score", bad_id, "--json"]) == 4
        assert hub.requests == [], "nothing reached the Hub"
    error = json.loads(capsys.readouterr().out)
    assert error["model_id"] == bad_id and "not a Hugging Face repo id" in error["error"]
