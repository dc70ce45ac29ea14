"""Model counts per combination of the search's equality filters, kept exact by triggers.

`search` reports how many models match. Counting half a million index entries for a filter such as
task=text-generation took 36 ms at 1M models; summing this table's few thousand rows takes well under one.
The triggers follow every insert, update and delete of `models`, whatever code runs it. SQLite has row
triggers; PostgreSQL has statement triggers over transition tables, so a batch of 500 inserted models is one
grouped upsert, taken in key order (concurrent writers lock the shared count rows in one order: no deadlock).
Other databases get no table, and search counts `models` directly.

PostgreSQL also keeps `model_score_facets`: the same counts split by score category and whole-number band
(the floor of the score), so a minimum score beside equality filters is a sum as well. `--min-score
security=8` at 1M models matched 200k rows, and PostgreSQL's index-only count of them took 40 ms (twice per
search: with and without the repos that have no weights); SQLite counts the same index entries several times
faster and keeps no such table (its row triggers would add six upserts per model written).
"""

from __future__ import annotations

from sqlalchemy import Connection, text
from sqlalchemy.engine import Engine
from whichmodel.store.models import SCORE_COLUMNS

# Facet column -> the `models` column it mirrors; a NULL is stored as '' (or -1 for chat), since NULLs in
# a key never conflict and would break the upserts. No filter asks for an empty value.
COLUMNS = {
    "pipeline_tag": "''", "size_class": "''", "license_class": "''", "chat": "-1", "gated": "''", "has_weights": "-1",
}  # fmt: skip
TRIGGERS = ("model_facets_insert", "model_facets_delete", "model_facets_update")
BOOLEANS = ("chat", "has_weights")


def _values(row: str) -> str:
    return ", ".join(f"ifnull({row}.{c}, {empty})" for c, empty in COLUMNS.items())


def _match(row: str) -> str:
    return " AND ".join(f"{c} = ifnull({row}.{c}, {empty})" for c, empty in COLUMNS.items())


DIALECTS = ("sqlite", "postgresql")

_ADD = "INSERT INTO model_facets VALUES ({values}, 1) ON CONFLICT DO UPDATE SET models = models + 1;"
_REMOVE = "UPDATE model_facets SET models = models - 1 WHERE {match};"
_CHANGED = " OR ".join(f"OLD.{c} IS NOT NEW.{c}" for c in COLUMNS)

DDL = [
    "CREATE TABLE IF NOT EXISTS model_facets (pipeline_tag TEXT NOT NULL, size_class TEXT NOT NULL, "
    "license_class TEXT NOT NULL, chat INTEGER NOT NULL, gated TEXT NOT NULL, has_weights INTEGER NOT NULL, "
    "models INTEGER NOT NULL, "
    f"PRIMARY KEY ({', '.join(COLUMNS)})) WITHOUT ROWID",
    "CREATE TRIGGER IF NOT EXISTS model_facets_insert AFTER INSERT ON models BEGIN "
    + _ADD.format(values=_values("NEW"))
    + " END",
    "CREATE TRIGGER IF NOT EXISTS model_facets_delete AFTER DELETE ON models BEGIN "
    + _REMOVE.format(match=_match("OLD"))
    + " END",
    f"CREATE TRIGGER IF NOT EXISTS model_facets_update AFTER UPDATE OF {', '.join(COLUMNS)} ON models "
    f"WHEN {_CHANGED} BEGIN " + _REMOVE.format(match=_match("OLD")) + " " + _ADD.format(values=_values("NEW")) + " END",
]



def _pg_values(row: str) -> str:
    # PostgreSQL's booleans (chat, has_weights): the count table keeps the integer (1, 0, -1 for unknown) SQLite has.
    return ", ".join(f"coalesce({row}.{c}{'::int' if c in BOOLEANS else ''}, {e})" for c, e in COLUMNS.items())


SCORE_TABLE = "model_score_facets"
SCORE_KEYS = ("category", "band", *COLUMNS)


def _pg_score_rows(row: str) -> str:
    """One row per score category a model has: category, band (the floor of the score), facet values."""
    pairs = ", ".join(f"('{c}', {row}.{c})" for c in SCORE_COLUMNS)
    return (f"SELECT s.category, floor(s.score)::int, {_pg_values(row)} FROM {row} "
            f"CROSS JOIN LATERAL (VALUES {pairs}) AS s(category, score) WHERE s.score IS NOT NULL")  # fmt: skip


def _pg_grouped_upsert(table: str, keys: tuple[str, ...], rows: str) -> str:
    """Add the signed rows (keys..., d) to `table`'s counts, grouped and in key order."""
    names = ", ".join(keys)
    return (
        f"INSERT INTO {table} AS f ({names}, models) SELECT {names}, sum(d) FROM ({rows}) AS x ({names}, d) "
        f"GROUP BY {names} HAVING sum(d) <> 0 ORDER BY {names} "
        f"ON CONFLICT ({names}) DO UPDATE SET models = f.models + excluded.models"
    )


def _pg_score_upsert(parts: list[tuple[str, int]]) -> str:
    """The score bands' counts, as `_pg_upsert` for the facets."""
    rows = " UNION ALL ".join(f"SELECT *, {sign} FROM ({_pg_score_rows(name)}) AS r{n}"
                              for n, (name, sign) in enumerate(parts))  # fmt: skip
    return _pg_grouped_upsert(SCORE_TABLE, SCORE_KEYS, rows)


def _pg_upsert(parts: list[tuple[str, int]]) -> str:
    """Add each transition table's rows (with sign +1 or -1) to the counts, grouped and in key order."""
    rows = " UNION ALL ".join(f"SELECT {_pg_values(name)}, {sign} AS d FROM {name}" for name, sign in parts)
    return _pg_grouped_upsert("model_facets", tuple(COLUMNS), rows)


_PG_EVENTS = {  # trigger event -> (transition tables it declares, their rows' signs)
    "insert": ("NEW TABLE AS new_rows", [("new_rows", 1)]),
    "delete": ("OLD TABLE AS old_rows", [("old_rows", -1)]),
    "update": ("OLD TABLE AS old_rows NEW TABLE AS new_rows", [("old_rows", -1), ("new_rows", 1)]),
}
PG_DDL = [
    "CREATE TABLE IF NOT EXISTS model_facets (pipeline_tag TEXT NOT NULL, size_class TEXT NOT NULL, "
    "license_class TEXT NOT NULL, chat INTEGER NOT NULL, gated TEXT NOT NULL, has_weights INTEGER NOT NULL, "
    f"models BIGINT NOT NULL, PRIMARY KEY ({', '.join(COLUMNS)}))",
    f"CREATE TABLE IF NOT EXISTS {SCORE_TABLE} (category TEXT NOT NULL, band INTEGER NOT NULL, "
    "pipeline_tag TEXT NOT NULL, size_class TEXT NOT NULL, license_class TEXT NOT NULL, chat INTEGER NOT NULL, "
    "gated TEXT NOT NULL, has_weights INTEGER NOT NULL, models BIGINT NOT NULL, "
    f"PRIMARY KEY ({', '.join(SCORE_KEYS)}))",
    *(
        statement
        for event, (referencing, parts) in _PG_EVENTS.items()
        for statement in (
            f"CREATE OR REPLACE FUNCTION model_facets_{event}() RETURNS trigger LANGUAGE plpgsql AS $$ "
            f"BEGIN {_pg_upsert(parts)}; {_pg_score_upsert(parts)}; RETURN NULL; END $$",
            f"CREATE OR REPLACE TRIGGER model_facets_{event} AFTER {event.upper()} ON models "
            f"REFERENCING {referencing} FOR EACH STATEMENT EXECUTE FUNCTION model_facets_{event}()",
        )
    ),
]


def install(engine: Engine) -> None:
    """Create the tables and triggers where missing; a table created now is filled from `models`."""
    if engine.dialect.name not in DIALECTS:
        return
    sqlite = engine.dialect.name == "sqlite"
    with engine.begin() as conn:
        if sqlite:
            existed = conn.exec_driver_sql("SELECT 1 FROM sqlite_master WHERE name = 'model_facets'").first()
            bands = True
        else:
            # Several processes may open a new database at once: one creates the triggers, the others wait.
            conn.exec_driver_sql("SELECT pg_advisory_xact_lock(7316001)")
            existed = conn.exec_driver_sql("SELECT to_regclass('model_facets')").scalar()
            bands = conn.exec_driver_sql(f"SELECT to_regclass('{SCORE_TABLE}')").scalar()
            if existed and bands:
                return  # CREATE OR REPLACE would take a lock on `models` that waits for any running ingest
            # The counts are filled and the triggers changed with writers held off, so no row is missed.
            conn.exec_driver_sql("LOCK TABLE models IN SHARE ROW EXCLUSIVE MODE")
        for statement in DDL if sqlite else PG_DDL:
            conn.exec_driver_sql(statement)
        if not existed:
            values = _values("models") if sqlite else _pg_values("models")
            ordinals = ", ".join(str(n) for n in range(1, len(COLUMNS) + 1))
            conn.exec_driver_sql(f"INSERT INTO model_facets SELECT {values}, count(*) FROM models GROUP BY {ordinals}")
        if not bands:  # PostgreSQL only (and a database from before the table)
            keys = ", ".join(SCORE_KEYS)
            conn.exec_driver_sql(f"INSERT INTO {SCORE_TABLE} ({keys}, models) SELECT {keys}, count(*) "
                                 f"FROM ({_pg_score_rows('models')}) AS r ({keys}) GROUP BY {keys}")


def drop(conn: Connection) -> None:
    """Remove the table and its triggers (a schema upgrade that changes the facet columns rebuilds them)."""
    postgres = conn.dialect.name == "postgresql"
    for trigger in TRIGGERS:
        conn.exec_driver_sql(f"DROP TRIGGER IF EXISTS {trigger}" + (" ON models" if postgres else ""))
    conn.exec_driver_sql("DROP TABLE IF EXISTS model_facets")
    conn.exec_driver_sql(f"DROP TABLE IF EXISTS {SCORE_TABLE}")


class Not(tuple):
    """A facet value to exclude rather than match: `Not((False,))` counts true and unknown alike."""


def _where(equal: dict[str, object]) -> tuple[str, dict]:
    """SQL conditions and values for facet columns equal to `equal` (or not, for a `Not`)."""
    unknown = set(equal) - set(COLUMNS)
    if unknown:
        raise ValueError(f"not facet columns: {', '.join(sorted(unknown))}")
    where = " AND ".join(f"{c} {'!=' if isinstance(v, Not) else '='} :{c}" for c, v in equal.items()) or "1 = 1"
    values = {}
    for c, v in equal.items():
        v = v[0] if isinstance(v, Not) else v
        values[c] = int(v) if isinstance(v, bool) else v
    return where, values


def count(conn: Connection, equal: dict[str, object]) -> int:
    """Models whose facet columns equal `equal` (column -> value; True/False for booleans; `Not` excludes)."""
    where, values = _where(equal)
    # int(): PostgreSQL's sum over a bigint is a numeric (Decimal), which JSON would print as a string.
    query = text(f"SELECT coalesce(sum(models), 0) FROM model_facets WHERE {where}")
    return int(conn.execute(query, values).scalar_one())


def has_score_bands(conn: Connection) -> bool:
    """Whether this engine keeps the score bands' counts (PostgreSQL)."""
    return conn.dialect.name == "postgresql"


def count_from_band(conn: Connection, equal: dict[str, object], category: str, band: int) -> int:
    """Models whose facet columns equal `equal` and whose `category` score is at least `band` (a whole number).

    Read from `model_score_facets` (PostgreSQL): the bands from `band` up.
    """
    if category not in SCORE_COLUMNS:
        raise ValueError(f"not a score category: {category}")
    where, values = _where(equal)
    query = text(f"SELECT coalesce(sum(models), 0) FROM {SCORE_TABLE} WHERE category = :category "
                 f"AND band >= :band AND {where}")  # fmt: skip
    return int(conn.execute(query, values | {"category": category, "band": band}).scalar_one())
