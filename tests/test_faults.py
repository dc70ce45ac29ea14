"""Faults: kill -9 in the middle of an ingest, and 20 chat sessions at once against the UI's handler."""

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def bench_module(name: str):
    """A bench/ script as a module, loaded by path (bench/ on sys.path would shadow the trends package)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(f"bench_{name}", ROOT / "bench" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _count(db: Path, sql: str) -> int:
    try:
        with sqlite3.connect(db, timeout=5) as conn:
            return conn.execute(sql).fetchone()[0]
    except sqlite3.OperationalError:
        return 0


def test_kill_9_during_ingest_then_rerun_is_consistent_complete_and_duplicate_free(tmp_path, shared_data):
    snap = bench_module("synth").write_snapshot(tmp_path / "synth", 3000, shared_data, seed=3)
    home = tmp_path / "home"
    db = home / "whichmodel.db"
    env = os.environ | {"WHICHMODEL_BATCH_SIZE": "100", "WHICHMODEL_HOME": str(home)}
    command = [sys.executable, "-m", "whichmodel.cli.main", "ingest", "--snapshot", str(snap), "--no-cards"]
    proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while _count(db, "SELECT count(*) FROM observations") < 500 and time.monotonic() < deadline:
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    stored = _count(db, "SELECT count(*) FROM observations")
    assert 500 <= stored < 3000, "killed part-way"
    assert stored % 100 == 0, "only whole batches were committed"
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"

    rerun = subprocess.run(command + ["--json"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    run = json.loads(rerun.stdout)["runs"][0]
    assert run["unchanged"] == stored and run["new_models"] == 3000 - stored
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        models = conn.execute("SELECT count(*), count(DISTINCT id) FROM models").fetchone()
        observations = conn.execute(
            "SELECT count(*), count(DISTINCT model_id || observed_at) FROM observations"
        ).fetchone()
        unscored = conn.execute("SELECT count(*) FROM observations WHERE scored_version IS NULL").fetchone()[0]
        scores = conn.execute("SELECT count(*) FROM scores WHERE category = 'overall'").fetchone()[0]
        orphans = conn.execute("SELECT count(*) FROM observations o LEFT JOIN facts f ON f.observation_id = o.id "
                               "WHERE f.observation_id IS NULL").fetchone()[0]  # fmt: skip
    assert models == (3000, 3000) and observations == (3000, 3000)
    assert unscored == 0 and scores == 3000 and orphans == 0
    with sqlite3.connect(db) as conn:
        runs = conn.execute("SELECT status, pid FROM ingest_runs ORDER BY id").fetchall()
    assert [status for status, _ in runs] == ["interrupted", "complete"], "the killed run does not stay running"
    assert runs[0][1] == proc.pid


@pytest.fixture(scope="module")
def app(ingested, tmp_path_factory):
    from whichmodel.config import Settings
    from whichmodel.ui.app import App

    engine, _, _ = ingested
    return App(Settings(home=tmp_path_factory.mktemp("concurrent"), database_url=str(engine.url)))


def _conversation(app, n: int) -> tuple[str, str, str]:
    """One session: a recommendation, then "the second one" on the same thread."""
    sizes = ["7B", "8B", "13B", "3B", "2B", "1B", "70B"]
    sorts = ["security", "popularity", "quality", "overall"]
    question = f"best {sizes[n % len(sizes)]} model by {sorts[n % len(sorts)]}"
    thread = None
    for history, _, thread in app.respond(question, [], None):
        pass
    first = history[-1].content
    for history, _, _ in app.respond("and the second one?", history, thread):
        pass
    return question, first, history[-1].content


def test_twenty_sessions_at_once_complete_without_cross_talk(app):
    with ThreadPoolExecutor(max_workers=20) as pool:
        results = list(pool.map(lambda n: _conversation(app, n), range(20)))
    threads_seen = set()
    for question, first, second in results:
        assert "model(s) match" in first, (question, first)
        listed = [line.split("[", 1)[1].split("]", 1)[0] for line in first.splitlines() if line[:3] in ("1. ", "2. ")]
        if len(listed) >= 2:
            assert listed[1] in second, f"the follow-up explains this session's second model: {question}"
        threads_seen.add(first)
    assert len(threads_seen) > 1
