"""Model counts per combination of the search's equality filters, kept exact by triggers.

`search` reports how many models match. Counting half a million index entries for a filter such as
task=text-generation took 36 ms at 1M models; summing this table's few thousand rows takes well under one.
The triggers follow every insert, update and delete of `models`, whatever code runs it. SQLite has row
triggers; PostgreSQL has statement triggers over transition tables, so a batch of 500 inserted models is one
grouped upsert, taken in key order (concurrent writers lock the shared count rows in one order: no deadlock).
Other databases get no table, and search counts `models` directly.
"""

from __future__ import annotations

from sqlalchemy import Connection, text
from sqlalchemy.engine import Engine

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


def _pg_upsert(parts: list[tuple[str, int]]) -> str:
    """Add each transition table's rows (with sign +1 or -1) to the counts, grouped and in key order."""
    keys = ", ".join(COLUMNS)
    rows = " UNION ALL ".join(f"SELECT {_pg_values(name)}, {sign} AS d FROM {name}" for name, sign in parts)
    return (
        f"INSERT INTO model_facets AS f ({keys}, models) SELECT {keys}, sum(d) FROM ({rows}) AS x ({keys}, d) "
        f"GROUP BY {keys} HAVING sum(d) <> 0 ORDER BY {keys} "
        "ON CONFLICT ({keys}) DO UPDATE SET models = f.models + excluded.models".replace("{keys}", keys)
    )


_PG_EVENTS = {  # trigger event -> (transition tables it declares, their rows' signs)
    "insert": ("NEW TABLE AS new_rows", [("new_rows", 1)]),
    "delete": ("OLD TABLE AS old_rows", [("old_rows", -1)]),
    "update": ("OLD TABLE AS old_rows NEW TABLE AS new_rows", [("old_rows", -1), ("new_rows", 1)]),
}
PG_DDL = [
    "CREATE TABLE IF NOT EXISTS model_facets (pipeline_tag TEXT NOT NULL, size_class TEXT NOT NULL, "
    "license_class TEXT NOT NULL, chat INTEGER NOT NULL, gated TEXT NOT NULL, has_weights INTEGER NOT NULL, "
    f"models BIGINT NOT NULL, PRIMARY KEY ({', '.join(COLUMNS)}))",
    *(
        statement
        for event, (referencing, parts) in _PG_EVENTS.items()
        for statement in (
            f"CREATE OR REPLACE FUNCTION model_facets_{event}() RETURNS trigger LANGUAGE plpgsql AS $$ "
            f"BEGIN {_pg_upsert(parts)}; RETURN NULL; END $$",
            f"CREATE OR REPLACE TRIGGER model_facets_{event} AFTER {event.upper()} ON models "
            f"REFERENCING {referencing} FOR EACH STATEMENT EXECUTE FUNCTION model_facets_{event}()",
        )
    ),
]


def install(engine: Engine) -> None:
    """Create the table and triggers where missing; a table created now is filled from `models`."""
    if engine.dialect.name not in DIALECTS:
        return
    sqlite = engine.dialect.name == "sqlite"
    with engine.begin() as conn:
        if sqlite:
            existed = conn.exec_driver_sql("SELECT 1 FROM sqlite_master WHERE name = 'model_facets'").first()
        else:
            # Several processes may open a new database at once: one creates the triggers, the others wait.
            conn.exec_driver_sql("SELECT pg_advisory_xact_lock(7316001)")
            existed = conn.exec_driver_sql("SELECT to_regclass('model_facets')").scalar()
        if existed and not sqlite:
            return  # CREATE OR REPLACE would take a lock on `models` that waits for any running ingest
        for statement in DDL if sqlite else PG_DDL:
            conn.exec_driver_sql(statement)
        if not existed:
            values = _values("models") if sqlite else _pg_values("models")
            ordinals = ", ".join(str(n) for n in range(1, len(COLUMNS) + 1))
            conn.exec_driver_sql(f"INSERT INTO model_facets SELECT {values}, count(*) FROM models GROUP BY {ordinals}")


def drop(conn: Connection) -> None:
    """Remove the table and its triggers (a schema upgrade that changes the facet columns rebuilds them)."""
    postgres = conn.dialect.name == "postgresql"
    for trigger in TRIGGERS:
        conn.exec_driver_sql(f"DROP TRIGGER IF EXISTS {trigger}" + (" ON models" if postgres else ""))
    conn.exec_driver_sql("DROP TABLE IF EXISTS model_facets")


class Not(tuple):
    """A facet value to exclude rather than match: `Not((False,))` counts true and unknown alike."""


def count(conn: Connection, equal: dict[str, object]) -> int:
    """Models whose facet columns equal `equal` (column -> value; True/False for booleans; `Not` excludes)."""
    unknown = set(equal) - set(COLUMNS)
    if unknown:
        raise ValueError(f"not facet columns: {', '.join(sorted(unknown))}")
    where = " AND ".join(f"{c} {'!=' if isinstance(v, Not) else '='} :{c}" for c, v in equal.items()) or "1 = 1"
    values = {}
    for c, v in equal.items():
        v = v[0] if isinstance(v, Not) else v
        values[c] = int(v) if isinstance(v, bool) else v
    # int(): PostgreSQL's sum over a bigint is a numeric (Decimal), which JSON would print as a string.
    query = text(f"SELECT coalesce(sum(models), 0) FROM model_facets WHERE {where}")
    return int(conn.execute(query, values).scalar_one())
