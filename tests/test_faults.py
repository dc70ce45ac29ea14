"""Faults: kill -9 in the middle of an ingest, and 20 chat sessions at once against the UI's handler."""

import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from conftest import bench_module

ROOT = Path(__file__).resolve().parents[1]



def _count(url: str, sql: str) -> int:
    """A count read from outside the ingesting process (0 while the table does not exist yet)."""
    from sqlalchemy import create_engine
    from sqlalchemy.exc import DBAPIError

    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return conn.exec_driver_sql(sql).scalar_one()
    except DBAPIError:
        return 0
    finally:
        engine.dispose()


def _integrity_ok(url: str) -> bool:
    if not url.startswith("sqlite"):
        return True  # PostgreSQL's write-ahead log: a killed client cannot damage the server's files
    with sqlite3.connect(url.removeprefix("sqlite:///")) as conn:
        return conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_kill_9_during_ingest_then_rerun_is_consistent_complete_and_duplicate_free(tmp_path, shared_data, db_url):
    from sqlalchemy import create_engine

    snap = bench_module("synth").write_snapshot(tmp_path / "synth", 3000, shared_data, seed=3)
    home = tmp_path / "home"
    env = os.environ | {"WHICHMODEL_BATCH_SIZE": "100", "WHICHMODEL_HOME": str(home), "WHICHMODEL_DATABASE_URL": db_url}
    command = [sys.executable, "-m", "whichmodel.cli.main", "ingest", "--snapshot", str(snap), "--no-cards"]
    proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while _count(db_url, "SELECT count(*) FROM observations") < 500 and time.monotonic() < deadline:
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    stored = _count(db_url, "SELECT count(*) FROM observations")
    assert 500 <= stored < 3000, "killed part-way"
    assert stored % 100 == 0, "only whole batches were committed"
    assert _integrity_ok(db_url)

    rerun = subprocess.run(command + ["--json"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    run = json.loads(rerun.stdout)["runs"][0]
    assert run["unchanged"] == stored and run["new_models"] == 3000 - stored
    assert _integrity_ok(db_url)
    engine = create_engine(db_url)
    with engine.connect() as conn:
        sql = conn.exec_driver_sql
        models = tuple(sql("SELECT count(*), count(DISTINCT id) FROM models").one())
        observations = tuple(sql("SELECT count(*), count(DISTINCT model_id || observed_at) FROM observations").one())
        unscored = sql("SELECT count(*) FROM observations WHERE scored_version IS NULL").scalar_one()
        scores = sql("SELECT count(*) FROM assessments").scalar_one()
        orphans = sql("SELECT count(*) FROM observations o LEFT JOIN facts f ON f.id = o.facts_id "
                      "WHERE f.id IS NULL").scalar_one()  # fmt: skip
        facet_total = sql("SELECT sum(models) FROM model_facets").scalar_one()
        runs = [tuple(r) for r in sql("SELECT status, pid FROM ingest_runs ORDER BY id")]
    engine.dispose()
    assert models == (3000, 3000) and observations == (3000, 3000)
    assert unscored == 0 and scores == 3000 and orphans == 0
    assert facet_total == 3000, "the facet counts survived the kill: no batch counted twice or lost"
    assert [status for status, _ in runs] == ["interrupted", "complete"], "the killed run does not stay running"
    assert runs[0][1] == proc.pid


@pytest.fixture(scope="module")
def app(ingested, tmp_path_factory):
    from whichmodel.config import Settings
    from whichmodel.ui.app import App

    engine, _, _ = ingested
    url = engine.url.render_as_string(hide_password=False)
    return App(Settings(home=tmp_path_factory.mktemp("concurrent"), database_url=url))


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


def _table_counts(url: str) -> dict:
    from sqlalchemy import create_engine

    engine = create_engine(url)
    with engine.connect() as conn:
        counts = {t: conn.exec_driver_sql(f"SELECT count(*) FROM {t}").scalar_one()
                  for t in ("models", "observations", "facts", "zdicts", "assessments", "cards")}  # fmt: skip
        counts["facet_total"] = conn.exec_driver_sql("SELECT sum(models) FROM model_facets").scalar_one()
        counts["scored"] = conn.exec_driver_sql("SELECT count(*) FROM models WHERE overall IS NOT NULL").scalar_one()
    engine.dispose()
    return counts


def test_postgresql_ingest_while_two_app_processes_serve_twenty_chats(postgres, shared_data, tmp_path):
    """Two app processes share one PostgreSQL database (scores and threads) while an ingest writes to it."""
    from whichmodel.agent.graph import checkpointer_for
    from whichmodel.config import Settings
    from whichmodel.hub.snapshot import open_snapshot, read_snapshot
    from whichmodel.store.db import make_engine
    from whichmodel.store.ingest import ingest_items, score_pending
    from whichmodel.ui.adapter import as_text

    first = shared_data / "hub-snapshots" / "2025-04-22"
    synth = bench_module("synth").write_snapshot(tmp_path / "synth", 3000, shared_data, seed=5, observed="2025-05-01")

    def ingest_first(url: str) -> None:
        engine = make_engine(url)
        snap = open_snapshot(first)
        ingest_items(engine, read_snapshot(snap), source=str(first), kind="snapshot", observed_at=snap.observed_at)
        score_pending(engine)
        engine.dispose()

    url = postgres.new_database("shared")
    ingest_first(url)
    env = os.environ | {"WHICHMODEL_BATCH_SIZE": "100", "WHICHMODEL_HOME": str(tmp_path / "home"),
                        "WHICHMODEL_DATABASE_URL": url}  # fmt: skip
    ingest = subprocess.Popen([sys.executable, "-m", "whichmodel.cli.main", "ingest", "--snapshot", str(synth),
                               "--no-cards", "--json"], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)  # fmt: skip
    worker = Path(__file__).with_name("chat_worker.py")
    apps = [subprocess.Popen([sys.executable, str(worker), url, str(tmp_path / f"app{i}"), str(10 * i), "10"],
                             env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for i in range(2)]  # fmt: skip
    outputs = [app.communicate(timeout=600) for app in apps]
    ingest_out, ingest_err = ingest.communicate(timeout=600)
    assert ingest.returncode == 0, ingest_err[-2000:] + ingest_out[-3000:]
    for app, (out, err) in zip(apps, outputs, strict=True):
        assert app.returncode == 0, err[-3000:]
    chats = [chat for out, _ in outputs for chat in json.loads(out)]
    assert len(chats) == 20 and len({c["thread"] for c in chats}) == 20

    for chat in chats:
        assert "model(s) match" in chat["first"], chat
        listed = [line.split("[", 1)[1].split("]", 1)[0] for line in chat["first"].splitlines()
                  if line[:3] in ("1. ", "2. ")]  # fmt: skip
        if len(listed) >= 2:
            assert listed[1] in chat["second"], f"the follow-up explains this conversation's second model: {chat}"
    # Each stored thread holds its own two questions and answers, nothing from another conversation.
    graph_store = checkpointer_for(Settings(home=tmp_path / "reader", database_url=url))
    for chat in chats:
        state = graph_store.get_tuple({"configurable": {"thread_id": chat["thread"]}}).checkpoint
        messages = state["channel_values"]["messages"]
        humans = [m.content for m in messages if m.type == "human"]
        assert humans == [chat["question"], "and the second one?"]
        # The UI shows answers made inert for Markdown (`as_text`: "->" as "-&gt;"), with model ids linked.
        answers = [as_text(m.content) for m in messages if m.type == "ai" and not m.tool_calls]
        shown = [re.sub(r"\[([^\]]+)\]\(\?model=[^)]+\)", r"\1", chat[k]) for k in ("first", "second")]
        assert answers == shown, "the UI showed this thread's own answers (model links aside)"

    clean = postgres.new_database("clean")
    ingest_first(clean)
    engine = make_engine(clean)
    snap = open_snapshot(synth)
    ingest_items(engine, read_snapshot(snap), source=str(synth), kind="snapshot", observed_at=snap.observed_at)
    score_pending(engine)
    engine.dispose()
    concurrent, expected = _table_counts(url), _table_counts(clean)
    assert concurrent == expected
    assert concurrent["facet_total"] == concurrent["models"] == concurrent["scored"]


def test_a_process_waiting_its_turn_to_set_up_threads_does_not_block_the_one_setting_up(postgres):
    """Two app processes starting together on PostgreSQL: the second waits for the saver's set-up lock while the
    first builds its indexes with CREATE INDEX CONCURRENTLY, which waits for every open transaction to end. A
    waiter that sat in a statement (pg_advisory_lock) was such a transaction: both waited forever."""
    import threading

    import psycopg
    from whichmodel.agent.offline import _LOCK, checkpointer_for
    from whichmodel.config import Settings

    url = postgres.new_database("turns")
    plain = url.replace("+psycopg", "")
    with psycopg.connect(plain, autocommit=True) as holder:
        holder.execute(f"SELECT pg_advisory_lock({_LOCK})")  # the first process, mid set-up
        holder.execute("CREATE TABLE probe (n integer)")
        outcome: list = []

        def second_process() -> None:
            try:
                outcome.append(checkpointer_for(Settings(database_url=url)))
            except Exception as err:  # noqa: BLE001 - reported by the assertion below
                outcome.append(err)

        waiter = threading.Thread(target=second_process, daemon=True)
        waiter.start()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:  # until the second process is waiting its turn
            asked = holder.execute("SELECT count(*) FROM pg_stat_activity WHERE pid <> pg_backend_pid() AND "
                                   f"query LIKE '%advisory_lock({_LOCK})%'").fetchone()[0]  # fmt: skip
            if asked:
                break
            time.sleep(0.1)
        time.sleep(0.3)
        holder.execute("SET statement_timeout = '20s'")  # a hang fails the test instead of stalling the run
        holder.execute("CREATE INDEX CONCURRENTLY probe_n ON probe (n)")
        holder.execute(f"SELECT pg_advisory_unlock({_LOCK})")
    waiter.join(timeout=60)
    assert not waiter.is_alive() and len(outcome) == 1
    assert not isinstance(outcome[0], Exception), f"the waiting process got its turn and set up: {outcome[0]!r}"
