import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"
sys.path.insert(0, str(Path(__file__).resolve().parent))

# The store, ingest, trends, cards and agent tests run once per database engine, with the same assertions.
# WHICHMODEL_TEST_ENGINES=sqlite narrows a quick local run; CI runs both.
ENGINES = [e for e in os.environ.get("WHICHMODEL_TEST_ENGINES", "sqlite,postgresql").split(",") if e]


def bench_module(name: str):
    """A bench/ script as a module, loaded by path (bench/ on sys.path would shadow the trends package)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(f"bench_{name}", ROOT / "bench" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def pytest_sessionstart(session):
    # The shared data is part of the test contract: a missing folder is a failure, never a skip.
    if not SHARED_DATA.is_dir():
        pytest.exit(f"shared data not found at {SHARED_DATA}: tests need ../shared/data beside the project", 1)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    return SHARED_DATA


@pytest.fixture(scope="session")
def snapshot_dirs(shared_data) -> list[Path]:
    return sorted(p for p in (shared_data / "hub-snapshots").iterdir() if p.is_dir())


@pytest.fixture(scope="session")
def postgres():
    """One real PostgreSQL cluster for the session (started at first use)."""
    from servers import PostgresServer

    server = PostgresServer()
    yield server
    server.stop()


@pytest.fixture(scope="session", params=ENGINES)
def db_kind(request) -> str:
    return request.param


@pytest.fixture(scope="session")
def new_db_url(db_kind, request, tmp_path_factory):
    """Makes the URL of a new, empty database of the engine under test."""

    def make(name: str = "db") -> str:
        if db_kind == "postgresql":
            return request.getfixturevalue("postgres").new_database(name)
        return f"sqlite:///{tmp_path_factory.mktemp(name) / 'test.db'}"

    return make


@pytest.fixture
def db_url(new_db_url, monkeypatch) -> str:
    """A new database's URL, also set as WHICHMODEL_DATABASE_URL for code that reads the settings."""
    url = new_db_url("t")
    if not url.startswith("sqlite"):
        monkeypatch.setenv("WHICHMODEL_DATABASE_URL", url)
    return url


@pytest.fixture
def engine(db_url):
    from whichmodel.store.db import make_engine

    engine = make_engine(db_url)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def ingested(new_db_url, snapshot_dirs):
    """A database holding every shared snapshot, ingested and scored once per engine for the session."""
    from whichmodel.hub.snapshot import open_snapshot, read_snapshot
    from whichmodel.store.db import make_engine
    from whichmodel.store.ingest import ingest_items, score_pending

    engine = make_engine(new_db_url("ingested"))
    summaries = []
    for snap in sorted((open_snapshot(p) for p in snapshot_dirs), key=lambda s: s.observed_at):
        summaries.append(
            ingest_items(
                engine, read_snapshot(snap), source=str(snap.path), kind="snapshot", observed_at=snap.observed_at
            )
        )
    scored = score_pending(engine)
    return engine, summaries, scored


@pytest.fixture
def hub(monkeypatch, tmp_path):
    """A fake Hub on 127.0.0.1 (tests/fake_hub.py), with huggingface_hub's cache in the test's folder."""
    from fake_hub import FakeHub

    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    with FakeHub() as fake:
        yield fake
