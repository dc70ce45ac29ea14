"""Engine and sessions: an SQLite file in the data directory by default, any SQLAlchemy URL by setting.

Opening a database brings its schema up to date, the same way on every engine: a new database is created
from the models and stamped with the newest Alembic revision; an existing one gets the revisions it lacks
(`store/migrations/versions`). Databases from before Alembic carry a schema version in `meta` and first go
through the steps in LEGACY_STEPS to the Alembic baseline.
"""

from __future__ import annotations

import ast
import re
import warnings
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Connection, create_engine, event, insert, inspect, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SAWarning
from sqlalchemy.schema import CreateIndex
from sqlmodel import SQLModel
from whichmodel.config import Settings
from whichmodel.store import facets, search_indexes
from whichmodel.store.models import COVERAGE_COLUMNS, RANK_COLUMNS, SCHEMA_VERSION, SCORE_COLUMNS, Meta
from whichmodel.store.rollup import refresh_rollup

if TYPE_CHECKING:
    from alembic.config import Config
    from sqlmodel import Session

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
BASELINE_REVISION = "0005"  # the Alembic revision standing for the legacy schema version SCHEMA_VERSION
# Any number, the same in every process: schema set-up takes this PostgreSQL advisory lock, so two
# processes opening one new database do not both create it.
_SCHEMA_LOCK = 7316000


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


def add_derived_facts(conn: Connection) -> None:
    """Revision 0006: the derived-fact, rank and coverage columns of `models`, and a `has_weights` search facet.

    Filled from what is stored: the declared class is the stored class, coverage and rank come from the
    stored scores of each model's newest observation (under the prior of the current method). Facts that
    need the new parser (effective license, weights present, size conflicts) arrive with `whichmodel rescore`,
    which the method version bump calls for anyway.
    """
    from whichmodel.scoring.method import CATEGORIES, load_method  # scoring is left of store: the prior is there

    method = load_method()
    prior = float(method.ranking.get("prior", 5.0))
    have = {c["name"] for c in inspect(conn).get_columns("models")}
    added = {
        "license_class_declared": "VARCHAR", "license_conflict": "TEXT", "params_conflict": "TEXT",
        "params_active": "BIGINT", "adapter_params": "BIGINT", "has_weights": "BOOLEAN",
        **{c: "FLOAT" for c in COVERAGE_COLUMNS.values() if c != "coverage"},
        **{c: "FLOAT" for c in RANK_COLUMNS.values()},
    }  # fmt: skip
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
            f"ELSE round(CAST(coalesce({coverage}, 0) * {category} + (1 - coalesce({coverage}, 0)) * {prior} "
            "AS NUMERIC), 3) END "
            "WHERE latest_observation_id IS NOT NULL AND method_version IS NOT NULL"
        )
    weights = {c: float(method.categories[c]["weight"]) for c in CATEGORIES}
    mean = " + ".join(f"{w} * {RANK_COLUMNS[c]}" for c, w in weights.items())
    conn.exec_driver_sql(  # the overall rank is the category-weighted mean of the category ranks
        f"UPDATE models SET overall_rank = round(CAST(({mean}) / {sum(weights.values())} AS NUMERIC), 3) "
        "WHERE latest_observation_id IS NOT NULL AND method_version IS NOT NULL"
    )
    facets.drop(conn)  # install() rebuilds it, with the new column, after the migrations


# Schema version from before Alembic -> the step that brings such a database to the next (additive only).
# Frozen: a schema change now is an Alembic revision.
LEGACY_STEPS = {"4": _fill_author_rollup}


def alembic_config(connection: Connection | None = None) -> Config:
    """Alembic's configuration for whichmodel's revisions, bound to `connection` when given."""
    from alembic.config import Config  # Alembic is imported only to migrate (see `_is_current`)

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    """The newest revision this whichmodel knows."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config()).get_current_head()


_REVISION_LINE = re.compile(r"^(down_revision|revision)\b[^=\n]*=\s*(.+)$", re.MULTILINE)


def _head_from_files() -> str | None:
    """The newest revision, read from the revision files' `revision`/`down_revision` lines without Alembic.

    None when that reading is not conclusive (no file, several heads, a line it cannot read): the caller
    then asks Alembic.
    """
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in (MIGRATIONS_DIR / "versions").glob("*.py"):
        found = dict(m.groups() for m in _REVISION_LINE.finditer(path.read_text(encoding="utf-8")))
        try:
            revision, down = ast.literal_eval(found["revision"]), ast.literal_eval(found.get("down_revision", "None"))
        except (KeyError, ValueError, SyntaxError):
            return None
        if not isinstance(revision, str):
            return None
        revisions.add(revision)
        parents.update([down] if isinstance(down, str) else down or ())
    heads = revisions - parents
    return heads.pop() if len(heads) == 1 else None


def _is_current(engine: Engine) -> bool:
    """Whether the database is at the newest revision and holds every table: then opening it changes nothing.

    One query for the stored revision and one for the table names, so that a command opening a current
    database (every read) does not import Alembic, which costs more than the command itself.
    """
    head = _head_from_files()
    if head is None:
        return False
    tables = inspect(engine).get_table_names()
    if "alembic_version" not in tables or not set(SQLModel.metadata.tables) <= set(tables):
        return False
    with engine.connect() as conn:
        stored = conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalars().all()
    return stored == [head]


@contextmanager
def _schema_lock(engine: Engine):
    """Hold the schema set-up lock (PostgreSQL) for the duration; SQLite's own write lock serializes the rest."""
    if engine.dialect.name != "postgresql":
        yield
        return
    with engine.connect() as conn:
        conn.exec_driver_sql(f"SELECT pg_advisory_lock({_SCHEMA_LOCK})")
        conn.commit()
        try:
            yield
        finally:
            conn.exec_driver_sql(f"SELECT pg_advisory_unlock({_SCHEMA_LOCK})")
            conn.commit()


def _create_missing_indexes(engine: Engine) -> None:
    """Indexes the models declare that an older database lacks (create_all leaves existing tables alone)."""
    existing = inspect(engine)
    with engine.begin() as conn, warnings.catch_warnings():
        # SQLite's reflection skips expression indexes with a warning; such an index is created IF NOT EXISTS.
        warnings.simplefilter("ignore", SAWarning)
        for table in SQLModel.metadata.sorted_tables:
            have = {i["name"] for i in existing.get_indexes(table.name)}
            columns = {c["name"] for c in existing.get_columns(table.name)}
            for index in table.indexes:
                # An index on columns a later revision adds is created after that revision runs.
                if index.name not in have and {c.name for c in index.columns} <= columns:
                    conn.execute(CreateIndex(index, if_not_exists=True))


def _refuse(engine: Engine, found: str) -> SchemaMismatch:
    return SchemaMismatch(
        f"the database at {engine.url.render_as_string(hide_password=True)} has schema {found}, this whichmodel "
        f"needs schema {SCHEMA_VERSION} or a revision up to {head_revision()}: point WHICHMODEL_HOME (or "
        "WHICHMODEL_DATABASE_URL) at a new database and ingest again"
    )


def migrate(engine: Engine) -> None:
    """Bring the database's schema to the newest revision (see the module docstring)."""
    from alembic import command
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(alembic_config())
    meta = Meta.__table__
    fresh = not inspect(engine).has_table("models")
    with engine.connect() as conn:
        current = MigrationContext.configure(conn).get_current_revision()
        stored = None if fresh else conn.execute(select(meta.c.value).where(meta.c.key == "schema_version")).scalar()
    if current is not None and current not in {r.revision for r in script.walk_revisions()}:
        raise _refuse(engine, f"revision {current}")  # written by a newer whichmodel
    if not fresh and current is None and stored != SCHEMA_VERSION and stored not in LEGACY_STEPS:
        raise _refuse(engine, stored or "unversioned")  # checked before anything is written
    SQLModel.metadata.create_all(engine)  # new tables only; columns come from revisions
    if fresh:
        with engine.begin() as conn:
            conn.execute(insert(meta).values(key="schema_version", value=SCHEMA_VERSION))
            search_indexes.upgrade(conn)  # what revisions create beyond the models' declarations
            command.stamp(alembic_config(conn), "head")
        return
    if current is None:  # from before Alembic: the legacy steps, then the baseline
        _create_missing_indexes(engine)
        while stored in LEGACY_STEPS:
            stored = LEGACY_STEPS[stored](engine)
            with engine.begin() as conn:
                conn.execute(update(meta).where(meta.c.key == "schema_version").values(value=stored))
        with engine.begin() as conn:
            command.stamp(alembic_config(conn), BASELINE_REVISION)
        current = BASELINE_REVISION
    if current != script.get_current_head():
        with engine.begin() as conn:
            command.upgrade(alembic_config(conn), "head")
        _create_missing_indexes(engine)


def make_engine(url: str) -> Engine:
    """An engine for `url` with the schema brought up to date; SQLite gets WAL and foreign keys."""
    if url.startswith("sqlite:///") and not url.startswith("sqlite:///:memory:"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, pool_pre_ping=not url.startswith("sqlite"))
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    with _schema_lock(engine):
        if not _is_current(engine):
            migrate(engine)
        facets.install(engine)
    return engine


def engine_for(settings: Settings) -> Engine:
    """The engine the settings point at."""
    return make_engine(settings.effective_database_url)


def session(engine: Engine) -> Session:
    """A session that keeps loaded objects usable after commit."""
    from sqlmodel import Session

    return Session(engine, expire_on_commit=False)
