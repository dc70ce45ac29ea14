import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"
sys.path.insert(0, str(Path(__file__).resolve().parent))


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


@pytest.fixture
def engine(tmp_path):
    from whichmodel.store.db import make_engine

    return make_engine(f"sqlite:///{tmp_path / 'test.db'}")


@pytest.fixture(scope="session")
def ingested(tmp_path_factory, snapshot_dirs):
    """A database holding every shared snapshot, ingested and scored once for the session."""
    from whichmodel.hub.snapshot import open_snapshot, read_snapshot
    from whichmodel.store.db import make_engine
    from whichmodel.store.ingest import ingest_items, score_pending

    engine = make_engine(f"sqlite:///{tmp_path_factory.mktemp('ingested') / 'all.db'}")
    summaries = []
    for snap in sorted((open_snapshot(p) for p in snapshot_dirs), key=lambda s: s.observed_at):
        summaries.append(
            ingest_items(
                engine, read_snapshot(snap), source=str(snap.path), kind="snapshot", observed_at=snap.observed_at
            )
        )
    scored = score_pending(engine)
    return engine, summaries, scored
