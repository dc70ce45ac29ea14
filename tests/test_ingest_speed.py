"""The fast paths of ingest: scoring in worker processes, line progress, the int8 embedder, background card sync."""

import fcntl
import io
import json
import re
import sqlite3
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import bench_module

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).parent / "fixtures"



def _ingest(home: Path, snap: Path, workers: int):
    from whichmodel.config import Settings
    from whichmodel.hub.snapshot import open_snapshot, read_snapshot
    from whichmodel.store.db import engine_for
    from whichmodel.store.ingest import ingest_items, score_pending

    engine = engine_for(Settings(home=home))
    opened = open_snapshot(snap)
    ingest_items(engine, read_snapshot(opened), source="s", kind="snapshot", observed_at=opened.observed_at,
                 batch_size=100)  # fmt: skip
    scored = score_pending(engine, batch_size=100, workers=workers)
    return engine, scored


def _rows(db: Path, sql: str) -> list:
    with sqlite3.connect(db) as conn:
        return conn.execute(sql).fetchall()


PARALLEL = """
import json, resource, sys
from pathlib import Path
sys.path.insert(0, sys.argv[3])
from test_ingest_speed import _ingest
_, scored = _ingest(Path(sys.argv[1]), Path(sys.argv[2]), workers=2)
print(json.dumps({"scored": scored, "children_cpu_s": resource.getrusage(resource.RUSAGE_CHILDREN).ru_utime}))
"""


def test_scoring_in_worker_processes_stores_the_same_rows_as_in_one(tmp_path, shared_data):
    import subprocess
    import sys

    snap = bench_module("synth").write_snapshot(tmp_path / "synth", 700, shared_data, seed=5)
    _, serial = _ingest(tmp_path / "one", snap, workers=1)
    # In a fresh process: this one may run threads (earlier tests'), and then scoring never forks.
    run = subprocess.run([sys.executable, "-c", PARALLEL, str(tmp_path / "two"), str(snap), str(ROOT / "tests")],
                         cwd=ROOT, capture_output=True, text=True, timeout=600)  # fmt: skip
    assert run.returncode == 0, run.stderr[-2000:]
    parallel = json.loads(run.stdout)
    assert serial == parallel["scored"] == 700
    assert parallel["children_cpu_s"] > 0, "the checks ran in worker processes"
    scores = ("SELECT o.model_id, a.overall, a.popularity, a.activity, a.operational, a.security, a.quality, "
              "a.coverage, a.outcomes FROM assessments a JOIN observations o ON o.id = a.observation_id ORDER BY 1")
    models = "SELECT id, overall, security, quality, method_version FROM models ORDER BY id"
    for sql in (scores, models):
        one, two = _rows(tmp_path / "one" / "whichmodel.db", sql), _rows(tmp_path / "two" / "whichmodel.db", sql)
        assert one == two and len(one) == 700
    assert _findings(tmp_path / "one") == _findings(tmp_path / "two")


def _findings(home: Path) -> dict:
    """Every model's newest findings, decoded (dictionary ids differ between databases; findings must not)."""
    from whichmodel.store.db import make_engine
    from whichmodel.store.queries import stored_findings

    engine = make_engine(f"sqlite:///{home / 'whichmodel.db'}")
    try:
        ids = [r[0] for r in _rows(home / "whichmodel.db", "SELECT id FROM models")]
        return {m: [f.to_dict() for f in stored_findings(engine, m)[0]] for m in ids}
    finally:
        engine.dispose()


def test_line_progress_prints_count_rate_and_eta():
    from whichmodel.cli.progress import LineProgress

    out = io.StringIO()
    bar = LineProgress("scoring", every=0.0, stream=out)
    bar.set_total(1000)
    bar.update(250)
    bar.started -= 10  # as if the 250 took ten seconds: 25/s, 750 left
    bar.update(0)
    bar.close()
    lines = out.getvalue().splitlines()
    assert lines[0] == "scoring: 1,000 models to do"
    assert re.fullmatch(r"scoring: 250 / 1,000 models \(25%\), 25/s, ETA 30 s", lines[-2]), lines[-2]
    assert lines[-1].startswith("scoring: 250 models in 10 s")


def test_ingest_prints_progress_lines_when_stderr_is_not_a_terminal(tmp_path, capsys):
    from factories import wire
    from test_snapshot_faults import write_snapshot
    from whichmodel.cli.main import main

    ids = [f"org/m{i}" for i in range(7)]
    snap = write_snapshot(tmp_path / "snap", [(json.dumps(wire(id=i)) + "\n").encode() for i in ids])
    assert main(["--home", str(tmp_path / "home"), "ingest", "--snapshot", str(snap), "--no-cards"]) == 0
    err = capsys.readouterr().err
    assert "snap: 7 models to do" in err, err
    assert "scoring: 7 models to do" in err and "scoring: 7 models in" in err, err


@pytest.fixture(scope="module")
def int8(tmp_path_factory):
    from whichmodel.cards.embedding import MiniLM

    return MiniLM(tmp_path_factory.mktemp("models"), precision="int8")


def test_int8_graph_is_quantized_and_close_to_sentence_transformers(int8):
    import onnx

    ops = {n.op_type for n in onnx.load(str(int8.graph_path)).graph.node}
    assert {"MatMulInteger", "DynamicQuantizeLinear"} <= ops
    fp32_path = next(p for p in int8.graph_path.parent.glob("*.onnx") if "int8" not in p.name)
    # The word-embedding table (47 MB) stays fp32; the 36 weight matrices shrink to a quarter.
    assert int8.graph_path.stat().st_size < 0.8 * fp32_path.stat().st_size
    reference = json.loads((FIXTURES / "minilm_reference.json").read_text())
    ours = int8.embed(reference["texts"])
    theirs = np.array(reference["vectors"], dtype=np.float32)
    cosine = (ours * theirs).sum(axis=1) / np.linalg.norm(theirs, axis=1)
    assert cosine.min() > 0.97, cosine
    # What retrieval needs: each text is still nearest to its own reference vector.
    assert list((ours @ (theirs / np.linalg.norm(theirs, axis=1, keepdims=True)).T).argmax(axis=1)) == list(
        range(len(theirs))
    )


def test_an_unknown_precision_is_refused(tmp_path):
    from whichmodel.cards.embedding import ensure_graph

    with pytest.raises(ValueError, match="int4"):
        ensure_graph(tmp_path, "int4")


def _card_home(tmp_path, precision=None):
    from test_cards_search import MODELS, _snapshot
    from whichmodel.cli.main import main

    home = tmp_path / "home"
    snap = _snapshot(tmp_path, "2025-05-01", MODELS)
    assert main(["--home", str(home), "ingest", "--snapshot", str(snap), "--cards-later"]) == 0
    return home


def test_index_precision_is_fixed_when_the_index_is_created(tmp_path):
    from whichmodel.config import Settings
    from whichmodel.store.vectors import CardIndex

    home = _card_home(tmp_path)
    assert CardIndex(Settings(home=home, embedding_precision="fp32")).precision == "fp32"
    # Later settings do not change an existing index: its vectors and its queries stay one model.
    assert CardIndex(Settings(home=home, embedding_precision="int8")).precision == "fp32"
    legacy = tmp_path / "legacy"
    legacy.mkdir()
    with sqlite3.connect(legacy / "cards_fts.db") as conn:  # an index from before precisions were recorded
        conn.execute("CREATE VIRTUAL TABLE chunks USING fts5(text, section, model_id, id UNINDEXED, "
                     "pipeline_tag UNINDEXED, license_class UNINDEXED, size_class UNINDEXED, facets)")  # fmt: skip
        conn.execute("INSERT INTO chunks VALUES ('t', 's', 'm', 'm|s|1', '', '', '', '')")
    assert CardIndex(Settings(home=legacy, embedding_precision="int8")).precision == "fp32"


def test_ui_embeds_deferred_cards_in_the_background_and_the_data_tab_shows_it(tmp_path):
    from whichmodel.config import Settings
    from whichmodel.ui.app import App

    home = _card_home(tmp_path)
    app = App(Settings(home=home))
    assert app.services.cards.is_empty(), "--cards-later embedded nothing"
    app.start_card_sync()
    from whichmodel.store.vectors import background_sync

    state = background_sync(home)
    deadline = time.monotonic() + 120
    while not (state.finished or state.error) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert state.error is None and state.finished
    chunks = app.services.cards.count()
    assert state.total == state.done == chunks > 0
    assert f"cards: {chunks:,} / {chunks:,} embedded" in app.status()
    assert app.services.cards.search("SQL queries over relational databases", k=1)[0]["model_id"] == "lab/sql-coder-7b"


def test_a_background_sync_is_refused_while_another_syncs_and_a_cli_sync_waits(tmp_path):
    import threading

    from whichmodel.config import Settings
    from whichmodel.store.db import engine_for
    from whichmodel.store.vectors import CARDS_LOCK, CardIndex, SyncBusy

    home = _card_home(tmp_path)
    settings = Settings(home=home)
    index = CardIndex(settings)
    with (home / CARDS_LOCK).open("a") as held:  # what a sync in another process holds
        fcntl.flock(held, fcntl.LOCK_EX)
        with pytest.raises(SyncBusy):
            index.sync(engine_for(settings), wait=False)
        assert index.count() == 0
        waited: dict = {}
        waiting = threading.Thread(target=lambda: waited.update(s=index.sync(engine_for(settings))))
        waiting.start()
        time.sleep(1.0)
        assert waiting.is_alive() and not waited, "a waiting sync does not start while the lock is held"
        fcntl.flock(held, fcntl.LOCK_UN)
    waiting.join(120)
    assert waited["s"].chunks_embedded == index.count() > 0


def test_kill_9_while_embedding_then_rerun_leaves_both_stores_agreeing(tmp_path, shared_data):
    """Chroma and the keyword index hold the same chunk ids after a killed sync and a re-run, none twice."""
    import os
    import signal
    import subprocess
    import sys

    source = shared_data / "hub-snapshots" / "2025-04-22"
    cards = [json.loads(line) for line in (source / "cards.jsonl").open(encoding="utf-8")][:40]
    wanted = {c["id"] for c in cards}
    lines = [line for line in (source / "models.jsonl").open(encoding="utf-8") if json.loads(line)["id"] in wanted]
    snap = tmp_path / "2025-04-22"
    snap.mkdir()
    (snap / "manifest.json").write_text(json.dumps({"observed_at": "2025-04-22"}))
    (snap / "models.jsonl").write_text("".join(lines))
    (snap / "cards.jsonl").write_text("".join(json.dumps(c) + "\n" for c in cards))
    home = tmp_path / "home"
    env = os.environ | {"WHICHMODEL_HOME": str(home)}
    command = [sys.executable, "-m", "whichmodel.cli.main", "ingest", "--snapshot", str(snap)]
    assert subprocess.run(command + ["--cards-later"], cwd=ROOT, env=env, capture_output=True).returncode == 0
    proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 300
    fts = home / "cards_fts.db"
    while time.monotonic() < deadline and proc.poll() is None:
        if fts.exists():
            try:
                with sqlite3.connect(fts, timeout=1) as conn:
                    if conn.execute("SELECT count(*) FROM chunks").fetchone()[0] > 0:
                        break
            except sqlite3.OperationalError:
                pass
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    with sqlite3.connect(fts) as conn:
        stored = conn.execute("SELECT count(*) FROM chunks").fetchone()[0]
    rerun = subprocess.run(command + ["--json"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    summary = json.loads(rerun.stdout)["cards"]

    from whichmodel.config import Settings
    from whichmodel.store.vectors import CardIndex

    index = CardIndex(Settings(home=home))
    with sqlite3.connect(fts) as conn:
        keyword_ids = [r[0] for r in conn.execute("SELECT id FROM chunks")]
    vector_ids = index.collection.get(include=[])["ids"]
    assert len(keyword_ids) == len(set(keyword_ids)) == len(vector_ids) == len(set(vector_ids))
    assert set(keyword_ids) == set(vector_ids)
    assert summary["chunks_embedded"] + summary["chunks_unchanged"] == len(keyword_ids) > stored, "the re-run completed"
    assert stored < len(keyword_ids), "killed part-way"


def test_kill_9_while_scoring_in_workers_leaves_no_worker_holding_the_data_directory(tmp_path, shared_data):
    import os
    import signal
    import subprocess
    import sys

    snap = bench_module("synth").write_snapshot(tmp_path / "synth-kill-scoring", 2000, shared_data, seed=9)
    home = tmp_path / "home"
    env = os.environ | {"WHICHMODEL_BATCH_SIZE": "100", "WHICHMODEL_HOME": str(home), "WHICHMODEL_WORKERS": "2"}
    command = [sys.executable, "-m", "whichmodel.cli.main", "ingest", "--snapshot", str(snap), "--no-cards"]
    proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    db = home / "whichmodel.db"
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            if db.exists() and _rows(db, "SELECT count(*) FROM assessments")[0][0] > 0:
                break
        except sqlite3.OperationalError:
            pass
        time.sleep(0.05)
    assert proc.poll() is None, "still scoring when killed"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()

    def workers_left() -> list[int]:
        found = []
        for entry in Path("/proc").iterdir():
            try:
                if entry.name.isdigit() and str(snap).encode() in (entry / "cmdline").read_bytes():
                    found.append(int(entry.name))
            except OSError:
                pass
        return found

    deadline = time.monotonic() + 10
    while workers_left() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert workers_left() == [], "forked scoring workers end with their parent"
    rerun = subprocess.run(command + ["--json"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    assert _rows(db, "SELECT count(*) FROM observations WHERE scored_version IS NULL") == [(0,)]
    assert _rows(db, "SELECT count(*), count(DISTINCT observation_id) FROM assessments") == [(2000, 2000)]
