"""Model counts per combination of the search's equality filters, kept exact by SQLite triggers.

`search` reports how many models match. Counting half a million index entries for a filter such as
task=text-generation took 36 ms at 1M models; summing this table's few thousand rows takes well under one.
The triggers follow every insert, update and delete of `models`, whatever code runs it. Other databases
(a database URL) get no table and no triggers, and search counts `models` directly.
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


def _values(row: str) -> str:
    return ", ".join(f"ifnull({row}.{c}, {empty})" for c, empty in COLUMNS.items())


def _match(row: str) -> str:
    return " AND ".join(f"{c} = ifnull({row}.{c}, {empty})" for c, empty in COLUMNS.items())


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


def install(engine: Engine) -> None:
    """Create the table and triggers where missing; a table created now is filled from `models`."""
    if engine.dialect.name != "sqlite":
        return
    with engine.begin() as conn:
        existed = conn.exec_driver_sql("SELECT 1 FROM sqlite_master WHERE name = 'model_facets'").first()
        for statement in DDL:
            conn.exec_driver_sql(statement)
        if not existed:
            conn.exec_driver_sql(
                f"INSERT INTO model_facets SELECT {_values('models')}, count(*) FROM models "
                f"GROUP BY {', '.join(f'ifnull(models.{c}, {e})' for c, e in COLUMNS.items())}"
            )


def drop(conn: Connection) -> None:
    """Remove the table and its triggers (a schema upgrade that changes the facet columns rebuilds them)."""
    for trigger in TRIGGERS:
        conn.exec_driver_sql(f"DROP TRIGGER IF EXISTS {trigger}")
    conn.exec_driver_sql("DROP TABLE IF EXISTS model_facets")


class Not(tuple):
    """A facet value to exclude rather than match: `Not((False,))` counts true and unknown alike."""


def count(conn: Connection, equal: dict[str, object]) -> int:
    """Models whose facet columns equal `equal` (column -> value; True/False for booleans; `Not` excludes)."""
    unknown = set(equal) - set(COLUMNS)
    if unknown:
        raise ValueError(f"not facet columns: {', '.join(sorted(unknown))}")
    where = " AND ".join(f"{c} {'!=' if isinstance(v, Not) else '='} :{c}" for c, v in equal.items()) or "1"
    values = {}
    for c, v in equal.items():
        v = v[0] if isinstance(v, Not) else v
        values[c] = int(v) if isinstance(v, bool) else v
    return conn.execute(text(f"SELECT coalesce(sum(models), 0) FROM model_facets WHERE {where}"), values).scalar_one()
