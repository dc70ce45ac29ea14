"""Third-party text on its way out (issue 14, items 13-15): inert in the UI, control-free on a terminal, one writer."""

import os
import re
import subprocess
import sys
from pathlib import Path

from test_hostile_input import line, write_folder
from whichmodel.cli.main import main
from whichmodel.ui.adapter import compare_markdown, facts_markdown, linkify, model_link

ROOT = Path(__file__).resolve().parents[1]
N_MODELS = 3000
PIXEL = "![](http://tracker.invalid/pixel.png)"


def link_targets(markdown: str) -> list[str]:
    """Where Markdown links and images would point: `[..](target)` with unescaped brackets."""
    return re.findall(r"(?<!\\)\[(?:[^\]\\]|\\.)*(?<!\\)\]\(([^)]*)\)", markdown)


def test_card_markup_in_an_answer_is_shown_as_text_and_only_valid_ids_are_linked():
    answer = (f"The card says {PIXEL} and [log in](https://example.invalid/login) <img src=x onerror=alert(1)> "
              "see www.example.invalid or https://example.invalid; microsoft/phi-2 is **better**.")  # fmt: skip
    shown = linkify(answer, ["microsoft/phi-2", "evil/b](https://example.invalid/login)[microsoft/phi-2"])
    assert link_targets(shown) == ["?model=microsoft/phi-2"], "the only link is built from a validated id"
    assert "<img" not in shown and "://" not in shown and "www." not in shown, "no HTML, no bare URL autolinks"
    assert "**better**" in shown and "tracker.invalid/pixel.png" in shown, "the text itself is still shown"


def test_an_invalid_model_id_never_becomes_a_link_in_compare_or_facts():
    evil = "evil/b](https://example.invalid/login)[microsoft/phi-2"
    assert link_targets(model_link(evil)) == [] and link_targets(model_link("microsoft/phi-2")) != []
    scores = {c: {evil: 5.0, "microsoft/phi-2": 6.0} for c in
              ("popularity", "activity", "operational", "security", "quality", "overall")}  # fmt: skip
    table = compare_markdown({"models": [evil, "microsoft/phi-2"], "scores": scores,
                              "facts": {evil: {"license": PIXEL}}})  # fmt: skip
    assert link_targets(table) == ["?model=microsoft/phi-2"]
    card = {"model_id": "a/b", "overall": 5.0, "coverage": 0.5, "observed_at": "2025-05-01", "method_version": "1",
            "facts": {"license": PIXEL, "card": {"facts": {"description": {"present": True, "where": "top",
                                                                            "quote": f"hi {PIXEL}"}}}}}  # fmt: skip
    assert link_targets(facts_markdown(card)) == []


def test_control_sequences_from_cards_and_ids_never_reach_the_terminal(tmp_path, capsys):
    from test_cards_search import _snapshot

    hostile = "# Title \x1b]0;pwned\x07 here\n\nA chat model \x1b[31mred\x1b[0m for \x9b2J support questions.\n"
    snap = _snapshot(tmp_path, "2025-05-01", [{"record": {"id": "acme/support-7b", "author": "acme\x1b[5m"},
                                               "card": hostile}])  # fmt: skip
    home = tmp_path / "home"
    assert main(["--home", str(home), "ingest", "--snapshot", str(snap)]) == 0
    capsys.readouterr()
    for argv in (["cards", "search", "support questions"], ["search"], ["score", "acme/support-7b", "--no-fetch"]):
        assert main(["--home", str(home), *argv]) == 0
        out = capsys.readouterr()
        printed = out.out + out.err
        assert "acme/support-7b" in printed
        assert not any(c in printed for c in "\x1b\x07\x9b"), argv


def test_two_ingests_at_once_on_a_new_home_both_succeed_without_duplicates(tmp_path):
    folder = write_folder(tmp_path / "2025-05-01", [line(id=f"org/model-{n}") for n in range(N_MODELS)])
    home = tmp_path / "home"
    env = os.environ | {"WHICHMODEL_HOME": str(home), "WHICHMODEL_BATCH_SIZE": "20"}
    cmd = [sys.executable, "-m", "whichmodel.cli.main", "ingest", "--snapshot", str(folder), "--no-cards", "--json"]
    procs = [subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(2)]  # fmt: skip
    results = [(p.wait(timeout=300), *p.communicate()) for p in procs]
    assert [code for code, _, _ in results] == [0, 0], [err[-2000:] for _, _, err in results]
    import json

    runs = [json.loads(out)["runs"][0] for _, out, _ in results]
    assert sorted(r["new_models"] for r in runs) == [0, N_MODELS]
    assert sorted(r["unchanged"] for r in runs) == [0, N_MODELS]


def test_an_ingest_waits_for_the_lock_and_says_so(tmp_path):
    from whichmodel.store.lock import data_lock

    folder = write_folder(tmp_path / "2025-05-01", [line(id="org/one"), line(id="org/two")])
    home = tmp_path / "home"
    env = os.environ | {"WHICHMODEL_HOME": str(home)}
    cmd = [sys.executable, "-m", "whichmodel.cli.main", "ingest", "--snapshot", str(folder), "--no-cards", "--json"]
    with data_lock(home):  # another writer holds the data directory
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        said = ""
        while "waiting" not in said and (line_ := proc.stderr.readline()):  # any warnings first are skipped
            said = line_
        assert "another ingest" in said and "waiting" in said
        assert proc.poll() is None, "it waits; it does not fail"
    out, _ = proc.communicate(timeout=300)
    assert proc.returncode == 0
    import json

    assert json.loads(out)["runs"][0]["new_models"] == 2


def test_card_sync_repairs_a_keyword_index_that_disagrees_with_the_vectors(tmp_path):
    """Two syncs that raced left every keyword row twice; a later sync repairs it, and twice changes nothing."""
    import sqlite3

    from test_cards_search import MODELS, _snapshot
    from whichmodel.config import Settings
    from whichmodel.store.db import engine_for
    from whichmodel.store.vectors import CardIndex

    home = tmp_path / "home"
    assert main(["--home", str(home), "ingest", "--snapshot", str(_snapshot(tmp_path, "2025-05-01", MODELS))]) == 0
    settings = Settings(home=home)
    index = CardIndex(settings)
    before = sorted(r for r in index.keywords.conn.execute("SELECT id, model_id, text FROM chunks"))
    assert before and index.collection.count() == len(before)
    # The damage a race left: every keyword row twice, and one chunk's vector missing.
    with sqlite3.connect(home / "cards_fts.db") as conn:
        conn.execute("INSERT INTO chunks SELECT * FROM chunks")
    index.collection.delete(ids=[before[0][0]])
    index = CardIndex(settings)
    summary = index.sync(engine_for(settings))
    after = sorted(r for r in index.keywords.conn.execute("SELECT id, model_id, text FROM chunks"))
    assert after == before and index.collection.count() == len(before)
    assert summary.chunks_embedded >= 1, "the chunk whose vector was lost is embedded again"
    again = index.sync(engine_for(settings))
    assert (again.chunks_embedded, again.chunks_removed) == (0, 0)
