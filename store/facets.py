"""Model counts per combination of the search's equality filters, kept exact by triggers.

`search` reports how many models match. Counting half a million index entries for a filter such as
task=text-generation took 36 ms at 1M models; summing this table's few thousand rows takes well under one.
The triggers follow every insert, update and delete of `models`, whatever code runs it. SQLite has row
triggers; PostgreSQL has statement triggers over transition tables, so a batch of 500 inserted models is one
grouped upsert, taken in key order (concurrent writers lock the shared count rows in one order: no deadlock).
Other databases get no table, and search counts `models` directly.

PostgreSQL also keeps `model_score_facets` (revision 0011): counts per score category, whole-number band (the
floor of the score) and weights flag, so a minimum score's total is a sum as well. `--min-score security=8` at
1M models matched 200k rows, and PostgreSQL's index-only count of them took 40 ms (twice per search: with and
without the repos that have no weights); SQLite counts the same index entries several times faster and keeps
no such table (its row triggers would add six upserts per model written). An update adds and takes away only
the rows whose counted columns moved (see `_PG_EVENTS`), and ingest writes `models` a batch per statement
(`store.ingest.update_rows`), so the triggers run once per batch.
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



def _pg_values(row: str, columns: tuple[str, ...] = tuple(COLUMNS)) -> str:
    # PostgreSQL's booleans (chat, has_weights): the count table keeps the integer (1, 0, -1 for unknown) SQLite has.
    return ", ".join(f"coalesce({row}.{c}{'::int' if c in BOOLEANS else ''}, {COLUMNS[c]})" for c in columns)


SCORE_TABLE = "model_score_facets"
# The bands are split by the weights flag only, which nearly every search has (repos without weights are left
# out unless asked for). Split by all six facet columns, a batch of 500 scored models touched ~3,000 band rows
# (about six upserts per model: +10% on PostgreSQL's first ingest at 10k); with the flag alone, ~100. A minimum
# score beside other equality filters (a task, a license class) is counted from rows, as before the bands.
SCORE_FACETS = ("has_weights",)
SCORE_KEYS = ("category", "band", *SCORE_FACETS)


def _pg_score_rows(source: str, row: str) -> str:
    """Per model of `source` (named `row`), a row per score it has: category, band (the score's floor), facets."""
    pairs = ", ".join(f"('{c}', {row}.{c})" for c in SCORE_COLUMNS)
    # Clamped, so that no float (infinite, NaN) fails the trigger: PostgreSQL orders NaN above every number, as
    # the clamp does, and a bar far outside the scores is counted from rows (`store.queries`).
    return (f"SELECT s.category, floor(least(greatest(s.score, -1e9), 1e9))::int, {_pg_values(row, SCORE_FACETS)} "
            f"FROM {source} AS {row} CROSS JOIN LATERAL (VALUES {pairs}) AS s(category, score) "
            "WHERE s.score IS NOT NULL")  # fmt: skip


def _pg_grouped_upsert(table: str, keys: tuple[str, ...], rows: str) -> str:
    """Add the signed rows (keys..., d) to `table`'s counts, grouped and in key order."""
    names = ", ".join(keys)
    return (
        f"INSERT INTO {table} AS f ({names}, models) SELECT {names}, sum(d) FROM ({rows}) AS x ({names}, d) "
        f"GROUP BY {names} HAVING sum(d) <> 0 ORDER BY {names} "
        f"ON CONFLICT ({names}) DO UPDATE SET models = f.models + excluded.models"
    )


def _pg_upserts(parts: list[tuple[str, int]]) -> str:
    """Add each source's rows (with sign +1 or -1) to the facet counts and to the score bands."""
    facet_rows = " UNION ALL ".join(f"SELECT {_pg_values(f'r{n}')}, {sign} FROM {source} AS r{n}"
                                    for n, (source, sign) in enumerate(parts))  # fmt: skip
    band_rows = " UNION ALL ".join(f"SELECT *, {sign} FROM ({_pg_score_rows(source, f'r{n}')}) AS b{n}"
                                   for n, (source, sign) in enumerate(parts))  # fmt: skip
    return (f"{_pg_grouped_upsert('model_facets', tuple(COLUMNS), facet_rows)}; "
            f"{_pg_grouped_upsert(SCORE_TABLE, SCORE_KEYS, band_rows)};")  # fmt: skip


# The columns the counts read. An update adds what its new rows have and the old ones lack, and takes away the
# reverse (multiset differences, EXCEPT ALL): the same change as adding all new rows and taking away all old
# ones, but most updates (last seen, counts, dictionaries) move none of these columns and then nothing is
# grouped or written. Grouping every model's six score rows for them instead cost ~40 ms a 500-row statement.
_COUNTED = ", ".join((*SCORE_COLUMNS, *COLUMNS))
_PG_EVENTS = {  # trigger event -> (transition tables it declares, the row sources with their signs)
    "insert": ("NEW TABLE AS new_rows", [("new_rows", 1)]),
    "delete": ("OLD TABLE AS old_rows", [("old_rows", -1)]),
    "update": ("OLD TABLE AS old_rows NEW TABLE AS new_rows", [
        (f"(SELECT {_COUNTED} FROM old_rows EXCEPT ALL SELECT {_COUNTED} FROM new_rows)", -1),
        (f"(SELECT {_COUNTED} FROM new_rows EXCEPT ALL SELECT {_COUNTED} FROM old_rows)", 1),
    ]),
}  # fmt: skip
PG_DDL = [
    "CREATE TABLE IF NOT EXISTS model_facets (pipeline_tag TEXT NOT NULL, size_class TEXT NOT NULL, "
    "license_class TEXT NOT NULL, chat INTEGER NOT NULL, gated TEXT NOT NULL, has_weights INTEGER NOT NULL, "
    f"models BIGINT NOT NULL, PRIMARY KEY ({', '.join(COLUMNS)}))",
    f"CREATE TABLE IF NOT EXISTS {SCORE_TABLE} (category TEXT NOT NULL, band INTEGER NOT NULL, "
    f"has_weights INTEGER NOT NULL, models BIGINT NOT NULL, PRIMARY KEY ({', '.join(SCORE_KEYS)}))",
    *(
        statement
        for event, (referencing, parts) in _PG_EVENTS.items()
        for statement in (
            f"CREATE OR REPLACE FUNCTION model_facets_{event}() RETURNS trigger LANGUAGE plpgsql AS $$ "
            f"BEGIN {_pg_upserts(parts)} RETURN NULL; END $$",
            f"CREATE OR REPLACE TRIGGER model_facets_{event} AFTER {event.upper()} ON models "
            f"REFERENCING {referencing} FOR EACH STATEMENT EXECUTE FUNCTION model_facets_{event}()",
        )
    ),
]


def install(engine: Engine) -> None:
    """Create the tables and triggers where missing; a table created now is filled from `models`."""
    if engine.dialect.name not in DIALECTS:
        return
    with engine.begin() as conn:
        install_on(conn)


def install_on(conn: Connection) -> None:
    """`install` in the caller's transaction (revision 0011 adds the score bands to an existing database)."""
    if conn.dialect.name not in DIALECTS:
        return
    sqlite = conn.dialect.name == "sqlite"
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
                             f"FROM ({_pg_score_rows('models', 'm')}) AS r ({keys}) GROUP BY {keys}")


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


def count_from_band(conn: Connection, equal: dict[str, object], category: str, band: int) -> int | None:
    """Models whose facet columns equal `equal` and whose `category` score is at least `band` (a whole number).

    Read from `model_score_facets` (PostgreSQL): the bands from `band` up. None when `equal` names a facet
    column the bands are not split by (`SCORE_FACETS`).
    """
    if category not in SCORE_COLUMNS:
        raise ValueError(f"not a score category: {category}")
    if set(equal) - set(SCORE_FACETS):
        return None
    where, values = _where(equal)
    query = text(f"SELECT coalesce(sum(models), 0) FROM {SCORE_TABLE} WHERE category = :category "
                 f"AND band >= :band AND {where}")  # fmt: skip
    return int(conn.execute(query, values | {"category": category, "band": band}).scalar_one())
