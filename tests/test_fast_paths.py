"""The fast paths of fact extraction and scoring answer exactly what the plain rules answer.

Each fast path is checked against an oracle that is not the code under test: Python's own IGNORECASE
matching for the case-folded patterns, `re.findall` for the word count, the uncached file-kind rule, a
single-process read for the parallel one.
"""

import dataclasses
import json
import pickle
import re
import subprocess
import sys
from pathlib import Path

import pytest
from factories import wire
from whichmodel.hub import card as card_mod
from whichmodel.hub import formats
from whichmodel.hub.card import _RULES, count_words, extract_card_facts, fold_case, parse_card, size_sentence
from whichmodel.hub.facts import _LINKS, _URL_GITHUB, ModelFacts, parse_record
from whichmodel.hub.snapshot import Parsed, Rejected, open_snapshot, read_snapshot
from whichmodel.scoring.checks import _TOPICS, _TOPICS_FOLDED
from whichmodel.scoring.findings import Finding, Result

ROOT = Path(__file__).resolve().parents[1]
# Characters IGNORECASE treats specially, and a few that look like letters but are not ASCII.
TRICKY = "\u0130\u0131\u017f\u212a\u00df\u0399\u03b9\u1e9e\u00c4K\u2028\x85\u00a0"


def _shared_cards(snapshot_dirs, limit=400) -> list[str]:
    texts = []
    for folder in snapshot_dirs:
        path = folder / "cards.jsonl"
        if path.is_file():
            texts += [json.loads(line)["readme"] for line in path.open(encoding="utf-8")]
    return texts[:limit]


def _corpus(snapshot_dirs) -> list[str]:
    cards = _shared_cards(snapshot_dirs)
    # The same cards shouted, and with the characters IGNORECASE folds to ASCII letters put in place of some.
    tricky = [c.upper().replace("I", "\u0130").replace("S", "\u017f").replace("K", "\u212a") for c in cards[:80]]
    odd = [
        "## LIMITATIONS\n\nIt has biases.", "trained\non data", "L\u0130MITAT\u0131ONS and \u212aNOWN risks",
        "accuracy:\n42", "Fine-Tuned  USING\tSFT", "n/a", "  TODO  ", "<!-- comment -->", "\u0130\u0307x", TRICKY,
        "see https://GitHub.com/Org/Repo.x and arXiv.org/abs/2401.12345 or huggingface.co/PAPERS/2312.00001",
    ]  # fmt: skip
    return cards + tricky + odd


def test_fold_case_maps_exactly_what_ignorecase_matches_to_ascii_letters():
    letter = re.compile("[a-z]", re.I)
    for code in range(0x110000):
        char = chr(code)
        folded_char = fold_case(char)
        assert len(folded_char) == 1, hex(code)
        if letter.fullmatch(char):
            assert re.fullmatch(folded_char, char, re.I) and folded_char in "abcdefghijklmnopqrstuvwxyz", hex(code)
        else:
            assert not ("a" <= folded_char <= "z"), hex(code)
        for cls in (r"\w", r"\d", r"\s"):
            assert bool(re.fullmatch(cls, char)) == bool(re.fullmatch(cls, folded_char)), (hex(code), cls)


def test_folded_patterns_find_the_same_spans_as_ignorecase(snapshot_dirs):
    patterns = [rule.exact for rule in _RULES.values()] + [card_mod._PLACEHOLDER] + [p for _, p in _TOPICS_FOLDED]
    patterns += list(_LINKS)
    texts = _corpus(snapshot_dirs)
    for pattern in patterns:
        oracle = re.compile(pattern.pattern, pattern.flags | re.I)
        for text in texts:
            low = fold_case(text)
            assert [m.span() for m in pattern.finditer(low)] == [m.span() for m in oracle.finditer(text)], (
                pattern.pattern,
                text[:80],
            )


def test_rules_with_a_loose_prefilter_find_the_first_match(snapshot_dirs):
    for original, rule in _RULES.items():
        for text in _corpus(snapshot_dirs):
            for piece in [text, *text.splitlines()[:40]]:
                expected = original.search(piece)
                found = rule.search(fold_case(piece))
                assert (found and found.span()) == (expected and expected.span()), (original.pattern, piece[:80])


def test_topics_searched_over_joined_headings_match_heading_by_heading():
    headings = ["Model Description", "Intended uses & LIMITATIONS", "Usage", "Tra\u0131ning", "Out-of-scope", "x"]
    for picked in (headings, headings[:1], headings[2:4], [], ["Result\u017f\nand more"]):
        low = fold_case("\n".join(picked))
        expected = [t for t, p in _TOPICS.items() if any(p.search(h) for h in picked)]
        assert [t for t, p in _TOPICS_FOLDED if p.search(low)] == expected


def test_count_words_is_the_number_of_word_runs(snapshot_dirs):
    for text in _corpus(snapshot_dirs) + ["", " ", "a", "_", "a b", " a_b-c9 ", "\u00e9t\u00e9 2024", "x\n\ny"]:
        assert count_words(text) == len(re.findall(r"\w+", text)), text[:80]


def test_size_sentence_reads_a_size_however_parameters_is_spelt():
    assert size_sentence("This is a 2.7 BILLION PARAMETERS model.")[0] == 2.7
    assert size_sentence("A 7B-Parameter chat model")[0] == 7
    assert size_sentence("a 13b pa\u0280am model") is None  # U+0280 is not an r, under any case rule
    assert size_sentence("No size here. Training hyperparameters: lr 2e-5.") is None


def test_card_headings_with_characters_ignorecase_folds_still_count():
    card = extract_card_facts(parse_card("# Model\n\nA model.\n\n## L\u0130MITATIONS\n\nIt is biased.\n"))
    assert card.facts["limitations"].present
    assert card.facts["limitations"].where == "section 'L\u0130MITATIONS'"


def test_links_keep_the_spelling_of_the_text():
    text = "Code at HTTPS://GitHub.com/Some-Org/Repo.Name, paper ARXIV.org/abs/2401.12345"
    facts = parse_record(wire(id="a/b", cardData=None), card_text=text)
    assert facts.github_urls == _URL_GITHUB.findall(text) == ["HTTPS://GitHub.com/Some-Org/Repo.Name"]
    assert "2401.12345" in facts.arxiv_ids


def test_file_kinds_are_the_same_from_the_cache_and_it_stays_bounded(monkeypatch):
    names = ["model.safetensors", "pytorch_model.bin", "training_args.bin", "ggml-model-q4_0.bin", "a/index.pkl",
             "m.gguf.part1of5", "x.py", "README.md", "y" * 300 + ".bin", ".gitattributes", "noext"]  # fmt: skip
    expected = [formats._file_kind(n) for n in names]
    monkeypatch.setattr(formats, "_KIND_CACHE", {})
    monkeypatch.setattr(formats, "_KIND_CACHE_MAX", 5)
    assert [formats.file_kind(n) for n in names] == expected
    assert [formats.file_kind(n) for n in names] == expected
    assert len(formats._KIND_CACHE) <= 5


def test_not_available_lists_an_attribute_set_beside_the_fields():
    facts = parse_record(wire(id="a/b"))
    plain = facts.to_dict()["not_available"]
    assert plain == sorted(plain)
    facts.zzz_extra = None  # an attribute that is no field still counts, as it always did
    assert facts.to_dict()["not_available"] == sorted([*plain, "zzz_extra"])
    assert ModelFacts.from_dict(parse_record(wire(id="a/b")).to_dict()) == parse_record(wire(id="a/b"))


def test_results_and_findings_stay_frozen_checked_and_comparable():
    with pytest.raises(ValueError):
        Result("maybe", 0.5, [], "why")
    with pytest.raises(ValueError):
        Result("pass", 1.5, [], "why")
    finding = Finding("c", "security", "pass", 1.0, 2.0, [{"field": "x", "value": 1}], "why", None)
    with pytest.raises(dataclasses.FrozenInstanceError):
        finding.points = 0.0
    same = Finding(check="c", category="security", outcome="pass", points=1.0, max_points=2.0,
                   evidence=[{"field": "x", "value": 1}], reason="why", remediation=None)  # fmt: skip
    assert finding == same and pickle.loads(pickle.dumps(finding)) == finding
    assert dataclasses.replace(finding, outcome="fail").outcome == "fail"
    assert finding.to_dict()["max_points"] == 2.0 and "category" not in finding.to_dict()


# ------------------------------------------------------------------------------------------------ parallel read
READ_IN_CHILD = """
import json, os, sys, itertools
from whichmodel.hub import snapshot
snapshot.PARALLEL_MIN_BYTES, snapshot.CHUNK_LINES = 1, 3
snap = snapshot.open_snapshot(sys.argv[1])
take, prepare = int(sys.argv[2]), sys.argv[3] == "prepare"
made_in = lambda parsed: [parsed.facts.id.upper(), os.getpid()]
items = itertools.islice(snapshot.read_snapshot(snap, workers=2, prepare=made_in if prepare else None), take or None)
out = []
for i in items:
    if isinstance(i, snapshot.Parsed):
        extra = [i.prepared[0], i.prepared[1] != os.getpid()] if prepare else []
        out.append(["P", i.line, i.facts.to_dict(), i.card_text, *extra])
    else:
        out.append(["R", i.line, i.reason, i.model_id])
items.close() if hasattr(items, "close") else None
print(json.dumps(out))
"""


@pytest.fixture
def mixed(tmp_path):
    rows = []
    for n in range(40):
        if n % 7 == 3:
            rows.append(b'{"id": "bad/json", "downloads": 3,\n')
        elif n % 11 == 5:
            rows.append((json.dumps(wire(id=f"bad/types-{n}", downloads="lots")) + "\n").encode())
        elif n % 13 == 0:
            rows.append(b"\n")
        else:
            rows.append((json.dumps(wire(id=f"org/m-{n}")) + "\n").encode())
    folder = tmp_path / "mixed"
    folder.mkdir()
    (folder / "manifest.json").write_text(json.dumps({"observed_at": "2025-05-01"}))
    (folder / "models.jsonl").write_bytes(b"".join(rows))
    cards = [{"id": f"org/m-{n}", "readme": f"# M{n}\n\nA {n}B parameter model.\n"} for n in range(0, 40, 4)]
    (folder / "cards.jsonl").write_text("".join(json.dumps(c) + "\n" for c in cards) + "not json\n")
    return folder


def _in_child(folder: Path, take: int = 0, prepare: bool = False) -> list:
    argv = [sys.executable, "-c", READ_IN_CHILD, str(folder), str(take), "prepare" if prepare else "-"]
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def _here(folder: Path) -> list:
    out = []
    for i in read_snapshot(open_snapshot(folder), workers=1):
        if isinstance(i, Parsed):
            out.append(["P", i.line, json.loads(json.dumps(i.facts.to_dict())), i.card_text])
        else:
            assert isinstance(i, Rejected)
            out.append(["R", i.line, i.reason, i.model_id])
    return out


def test_parallel_read_gives_the_same_items_in_the_same_order(mixed):
    here = _here(mixed)
    assert [kind for kind, *_ in here].count("R") == 1 + 6 + 3  # the bad card, bad JSON lines, bad types
    assert _in_child(mixed) == here


def test_parallel_read_stops_cleanly_when_the_reader_stops_early(mixed):
    assert _in_child(mixed, take=5) == _here(mixed)[:5]


def test_prepare_runs_in_the_workers_and_comes_back_with_each_record(mixed):
    here = _here(mixed)
    expected = [row + [row[2]["id"].upper(), True] if row[0] == "P" else row for row in here]
    assert _in_child(mixed, prepare=True) == expected
    items = read_snapshot(open_snapshot(mixed), prepare=lambda parsed: parsed.line)
    prepared = [i.prepared for i in items if isinstance(i, Parsed)]
    assert prepared == [row[1] for row in here if row[0] == "P"]


def test_derivation_id_is_a_stable_fingerprint():
    from whichmodel.hub.facts import derivation_id

    assert re.fullmatch("[0-9a-f]{16}", derivation_id()) and derivation_id() == derivation_id()


def _ingest_and_score(folder: Path, url: str, before_scoring=lambda: None) -> dict:
    """A first ingest of one shared snapshot: every model row and every assessment as stored."""
    from whichmodel.store.db import make_engine
    from whichmodel.store.ingest import KnownRecords, ingest_items, score_pending

    engine = make_engine(url)
    snapshot = open_snapshot(folder)
    items = read_snapshot(snapshot, known=KnownRecords(engine))
    ingest_items(engine, items, source=str(folder), kind="snapshot", observed_at=snapshot.observed_at)
    before_scoring()
    score_pending(engine, workers=1)
    with engine.connect() as conn:
        models = [tuple(r) for r in conn.exec_driver_sql("SELECT * FROM models ORDER BY id").all()]
        scores = conn.exec_driver_sql(
            "SELECT o.model_id, a.overall, a.security, a.outcomes, a.coverage FROM assessments a "
            "JOIN observations o ON o.id = a.observation_id ORDER BY o.model_id"
        ).all()
    engine.dispose()
    # Dictionary ids depend on write order only; everything else must be the same.
    return {"models": [r[:-2] for r in models], "scores": [tuple(r) for r in scores]}


def test_facts_parsed_by_todays_rules_are_not_derived_again_and_score_the_same(snapshot_dirs, tmp_path, monkeypatch):
    """The scoring pass skips `derive` (and the card read) for facts stored as parsed by the same rules.

    The oracle is the same ingest with the rules' fingerprint changed for the scoring pass, so that every
    stored row reads as derived by other rules and is derived again, as scoring always did before.
    """
    from whichmodel.store import ingest as ingest_mod
    from whichmodel.store.records import facts_of

    folder = max(snapshot_dirs, key=lambda d: (d / "models.jsonl").stat().st_size)
    calls = []
    real = ingest_mod.derive
    monkeypatch.setattr(ingest_mod, "derive", lambda facts, card=None: calls.append(facts.id) or real(facts, card))
    quick = _ingest_and_score(folder, f"sqlite:///{tmp_path / 'quick.db'}")
    assert quick["scores"] and calls == []  # nothing derived a second time

    def other_rules():
        monkeypatch.setattr(ingest_mod, "derivation_id", lambda: "another-version")

    slow = _ingest_and_score(folder, f"sqlite:///{tmp_path / 'slow.db'}", other_rules)
    assert len(calls) >= len(slow["scores"]) > 100  # every one derived again (sizeless ones twice)
    assert quick == slow

    # The fingerprint stays in the store: what a reader gets back is the facts alone.
    from whichmodel.store.db import make_engine

    engine = make_engine(f"sqlite:///{tmp_path / 'quick.db'}")
    with engine.connect() as conn:
        stored = conn.exec_driver_sql("SELECT latest_observation_id FROM models LIMIT 1").scalar_one()
        facts = facts_of(conn, stored)
    engine.dispose()
    assert set(facts) <= {f.name for f in dataclasses.fields(ModelFacts)} | {"not_available"}
