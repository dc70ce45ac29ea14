"""Engine and sessions: an SQLite file in the data directory by default, any SQLAlchemy URL by setting."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import event, insert, inspect, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.schema import CreateIndex
from sqlmodel import Session, SQLModel, create_engine
from whichmodel.config import Settings
from whichmodel.store import facets
from whichmodel.store.models import COVERAGE_COLUMNS, RANK_COLUMNS, SCHEMA_VERSION, SCORE_COLUMNS, Meta
from whichmodel.store.rollup import refresh_rollup


class SchemaMismatch(RuntimeError):
    """The database was written by another version of whichmodel's schema."""


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets readers (the UI, search) run while an ingest writes; NORMAL is durable at checkpoints in WAL.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def _fill_author_rollup(engine: Engine) -> str:
    """4 -> 5: ingest runs record their process; the author rollup tables are new, so rebuild the rollups.

    The authors view no longer reads `ix_lb_authors`, and a covering index replaced `ix_lb_family_params`.
    """
    have = {c["name"] for c in inspect(engine).get_columns("ingest_runs")}
    with engine.begin() as conn:
        for column in ("host VARCHAR", "pid INTEGER"):
            if column.split()[0] not in have:
                conn.exec_driver_sql(f"ALTER TABLE ingest_runs ADD COLUMN {column}")
        for index in ("ix_lb_authors", "ix_lb_family_params"):
            conn.exec_driver_sql(f"DROP INDEX IF EXISTS {index}")
    refresh_rollup(engine)
    return "5"


def _add_derived_facts(engine: Engine) -> str:
    """5 -> 6: the derived-fact, rank and coverage columns of `models`, and a `has_weights` search facet.

    Filled from what is stored: the declared class is the stored class, coverage and rank come from the
    stored scores of each model's newest observation (under the prior of the current method). Facts that
    need the new parser (effective license, weights present, size conflicts) arrive with `whichmodel rescore`,
    which the method version bump calls for anyway.
    """
    from whichmodel.scoring.method import load_method  # scoring is left of store: the prior lives in the method

    prior = float(load_method().ranking.get("prior", 5.0))
    have = {c["name"] for c in inspect(engine).get_columns("models")}
    added = {
        "license_class_declared": "VARCHAR", "license_conflict": "TEXT", "params_conflict": "TEXT",
        "params_active": "BIGINT", "adapter_params": "BIGINT", "has_weights": "BOOLEAN",
        **{c: "FLOAT" for c in COVERAGE_COLUMNS.values() if c != "coverage"},
        **{c: "FLOAT" for c in RANK_COLUMNS.values()},
    }  # fmt: skip
    with engine.begin() as conn:
        for column, kind in added.items():
            if column not in have:
                conn.exec_driver_sql(f"ALTER TABLE models ADD COLUMN {column} {kind}")
        conn.exec_driver_sql("UPDATE models SET license_class_declared = license_class")
        for category in SCORE_COLUMNS:
            coverage = COVERAGE_COLUMNS[category]
            stored = (
                "(SELECT {col} FROM scores s JOIN observations o ON o.id = s.observation_id "
                "WHERE o.id = models.latest_observation_id AND s.method_version = o.scored_version "
                f"AND s.category = '{category}')"
            )
            if coverage != "coverage":
                conn.exec_driver_sql(f"UPDATE models SET {coverage} = {stored.format(col='coverage')}")
            conn.exec_driver_sql(
                f"UPDATE models SET {RANK_COLUMNS[category]} = CASE WHEN {category} IS NULL THEN {prior} "
                f"ELSE round(coalesce({coverage}, 0) * {category} + (1 - coalesce({coverage}, 0)) * {prior}, 3) END "
                "WHERE latest_observation_id IS NOT NULL AND method_version IS NOT NULL"
            )
        if engine.dialect.name == "sqlite":
            facets.drop(conn)  # install() rebuilds it, with the new column, after the migrations
    return "6"


# Schema version -> the step that brings a database at that version to the next (additive changes only).
MIGRATIONS = {"4": _fill_author_rollup, "5": _add_derived_facts}


def make_engine(url: str) -> Engine:
    """An engine for `url` with the schema created; SQLite gets WAL and foreign keys."""
    if url.startswith("sqlite:///") and not url.startswith("sqlite:///:memory:"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    fresh = not inspect(engine).has_table("models")
    SQLModel.metadata.create_all(engine)
    meta = Meta.__table__
    with engine.begin() as conn:
        stored = conn.execute(select(meta.c.value).where(meta.c.key == "schema_version")).scalar()
        if stored is None and fresh:
            conn.execute(insert(meta).values(key="schema_version", value=SCHEMA_VERSION))
            stored = SCHEMA_VERSION
    if stored != SCHEMA_VERSION and stored not in MIGRATIONS:
        raise SchemaMismatch(
            f"the database at {engine.url.render_as_string(hide_password=True)} has schema "
            f"{stored or 'unversioned'}, this whichmodel needs {SCHEMA_VERSION}: point WHICHMODEL_HOME at a new "
            "folder and ingest again"
        )
    while stored in MIGRATIONS:  # new tables exist by now; a migration adds columns and fills them
        stored = MIGRATIONS[stored](engine)
        with engine.begin() as conn:
            conn.execute(update(meta).where(meta.c.key == "schema_version").values(value=stored))
    with engine.begin() as conn:  # create_all leaves an existing table's indexes alone: add the new ones
        for table in SQLModel.metadata.sorted_tables:
            for index in table.indexes:
                conn.execute(CreateIndex(index, if_not_exists=True))
    facets.install(engine)
    return engine


def engine_for(settings: Settings) -> Engine:
    """The engine the settings point at."""
    return make_engine(settings.effective_database_url)


def session(engine: Engine) -> Session:
    """A session that keeps loaded objects usable after commit."""
    return Session(engine, expire_on_commit=False)
