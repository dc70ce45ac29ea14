"""Change-only storage: facts once per distinct content, one packed assessment per observation and version.

`facts` (one JSON text per observation) becomes content-addressed packed facts that observations point at;
`findings` (a row per check) and `scores` (a row per category) become one `assessments` row per observation
and method version, with the findings packed and their outcomes in a string SQL can read (`method_checks`
says where each check's character sits). Counters that move daily stay on the observation (it gains
`downloads_all_time`). Models gain the lists search filters read and their newest outcomes. Card texts are
packed too.

Existing data is carried over model by model; nothing is re-scored.

Revision ID: 0007
Revises: 0006
"""

from collections.abc import Sequence

import orjson
import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CATEGORIES = ("popularity", "activity", "operational", "security", "quality")
SCORES = ("overall", *CATEGORIES)
COVERAGE = {c: ("coverage" if c == "overall" else f"{c}_coverage") for c in SCORES}
MODELS_PER_STEP = 500


def _create(name: str, *columns) -> None:
    # Opening a database creates the tables it lacks before the revisions run (store.db.migrate).
    if not sa.inspect(op.get_bind()).has_table(name):
        op.create_table(name, *columns)


def _tables() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    for table in ("facts", "cards"):
        op.execute(f"ALTER TABLE {table} RENAME TO {table}_0006")
        if postgresql:  # its key's index keeps the old name, which the new table needs
            op.execute(f"ALTER INDEX {table}_pkey RENAME TO {table}_0006_pkey")
    op.execute("DROP INDEX IF EXISTS ix_cards_model_id")  # index names are the schema's, not the table's
    _create(
        "cards",
        sa.Column("hash", sa.String, primary_key=True),
        sa.Column("model_id", sa.String, nullable=False),  # its index: store.db._create_missing_indexes
        sa.Column("zdict", sa.Integer),
        sa.Column("data", sa.LargeBinary, nullable=False),
    )
    _create(
        "zdicts",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("base", sa.Integer),
        sa.Column("data", sa.LargeBinary, nullable=False),
    )
    _create(
        "facts",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("hash", sa.String, nullable=False, unique=True),
        sa.Column("zdict", sa.Integer),
        sa.Column("data", sa.LargeBinary, nullable=False),
    )
    _create(
        "assessments",
        sa.Column("observation_id", sa.Integer, sa.ForeignKey("observations.id"), primary_key=True),
        sa.Column("method_version", sa.String, primary_key=True),
        sa.Column("weights_hash", sa.String, nullable=False),
        *(sa.Column(c, sa.Float) for c in SCORES),
        *(sa.Column(COVERAGE[c], sa.Float, nullable=False) for c in SCORES),
        sa.Column("outcomes", sa.String, nullable=False),
        sa.Column("zdict", sa.Integer),
        sa.Column("findings", sa.LargeBinary, nullable=False),
    )
    _create(
        "method_checks",
        sa.Column("method_version", sa.String, primary_key=True),
        sa.Column("check", sa.String, primary_key=True),
        sa.Column("position", sa.Integer, nullable=False),
    )
    op.execute("ALTER TABLE observations ADD COLUMN facts_id INTEGER REFERENCES facts(id)")
    op.execute("ALTER TABLE observations ADD COLUMN downloads_all_time BIGINT")
    for column in ("lists TEXT", "outcomes VARCHAR", "record_hash VARCHAR", "facts_zdict INTEGER",
                   "findings_zdict INTEGER"):
        op.execute(f"ALTER TABLE models ADD COLUMN {column}")


def _carry_over(conn: sa.Connection) -> None:
    from whichmodel.store.blobs import content_hash, dumps, encode_outcomes, pack, split_facts

    after = ""  # cards in steps, by hash: their texts together can be larger than memory
    while True:
        cards = conn.execute(sa.text("SELECT hash, model_id, text FROM cards_0006 WHERE hash > :a ORDER BY hash "
                                     "LIMIT :n"), {"a": after, "n": MODELS_PER_STEP}).all()  # fmt: skip
        if not cards:
            break
        after = cards[-1][0]
        # Packed alone: a shared dictionary comes with new cards.
        conn.execute(sa.text("INSERT INTO cards (hash, model_id, zdict, data) VALUES (:h, :m, NULL, :d)"),
                     [{"h": h, "m": m, "d": pack(t.encode("utf-8"))} for h, m, t in cards])  # fmt: skip
    models = [r[0] for r in conn.execute(sa.text("SELECT id FROM models ORDER BY id"))]
    positions: dict[str, list[str]] = {}
    for start in range(0, len(models), MODELS_PER_STEP):
        step = models[start : start + MODELS_PER_STEP]
        ids = sa.bindparam("ids", expanding=True)
        observations = conn.execute(
            sa.text("SELECT o.id, o.model_id, f.data FROM observations o JOIN facts_0006 f ON f.observation_id = o.id "
                    "WHERE o.model_id IN :ids ORDER BY o.model_id, o.observed_at").bindparams(ids), {"ids": step}
        ).all()  # fmt: skip
        zdicts: dict[str, tuple[int, bytes]] = {}
        hashes: dict[str, int] = {}
        latest_facts: dict[int, dict] = {}
        for obs_id, model_id, text in observations:
            data = orjson.loads(text)
            lasting, volatile = split_facts(data)
            raw, digest = dumps(lasting), content_hash(lasting)
            if model_id not in zdicts:
                zid = conn.execute(sa.text("INSERT INTO zdicts (data) VALUES (:d) RETURNING id"),
                                   {"d": pack(raw)}).scalar_one()  # fmt: skip
                zdicts[model_id] = (zid, raw)
            if digest not in hashes:
                zid, zdict = zdicts[model_id]
                hashes[digest] = conn.execute(
                    sa.text("INSERT INTO facts (hash, zdict, data) VALUES (:h, :z, :d) RETURNING id"),
                    {"h": digest, "z": zid, "d": pack(raw, zdict)},
                ).scalar_one()
            conn.execute(sa.text("UPDATE observations SET facts_id = :f, downloads_all_time = :d WHERE id = :o"),
                         {"f": hashes[digest], "d": volatile.get("downloads_all_time"), "o": obs_id})  # fmt: skip
            latest_facts[obs_id] = data
        for model_id, (zid, _) in zdicts.items():
            conn.execute(sa.text("UPDATE models SET facts_zdict = :z WHERE id = :m"), {"z": zid, "m": model_id})
        lists = conn.execute(sa.text("SELECT id, latest_observation_id FROM models WHERE id IN :ids")
                             .bindparams(ids), {"ids": step}).all()  # fmt: skip
        for model_id, obs_id in lists:
            data = latest_facts.get(obs_id)
            if data is None:
                continue
            card = data.get("card_data") if isinstance(data.get("card_data"), dict) else {}
            values = {"tags": data.get("tags"), "language": card.get("language"), "base_model": card.get("base_model")}
            values = {k: v for k, v in values.items() if v}
            conn.execute(sa.text("UPDATE models SET lists = :l WHERE id = :m"),
                         {"l": dumps(values).decode() if values else None, "m": model_id})  # fmt: skip
        _carry_assessments(conn, step, positions, pack, dumps, encode_outcomes)
    for version, checks in positions.items():
        for i, check in enumerate(checks):
            conn.execute(sa.text("INSERT INTO method_checks (method_version, \"check\", position) VALUES (:v, :c, :p)"),
                         {"v": version, "c": check, "p": i + 1})  # fmt: skip


def _carry_assessments(conn, step, positions, pack, dumps, encode_outcomes) -> None:
    ids = sa.bindparam("ids", expanding=True)
    scores: dict[tuple[int, str], dict] = {}
    for obs_id, version, weights, category, score, coverage in conn.execute(
        sa.text("SELECT s.observation_id, s.method_version, s.weights_hash, s.category, s.score, s.coverage "
                "FROM scores s JOIN observations o ON o.id = s.observation_id WHERE o.model_id IN :ids")
        .bindparams(ids), {"ids": step}
    ):  # fmt: skip
        row = scores.setdefault((obs_id, version), {"weights_hash": weights})
        if category in COVERAGE:
            row[category], row[COVERAGE[category]] = score, coverage
    findings: dict[tuple[int, str], list] = {}
    model_of: dict[int, str] = {}
    for obs_id, model_id, version, *item in conn.execute(
        sa.text('SELECT f.observation_id, o.model_id, f.method_version, f."check", f.category, f.outcome, f.points, '
                "f.max_points, f.evidence, f.reason, f.remediation FROM findings f "
                "JOIN observations o ON o.id = f.observation_id WHERE o.model_id IN :ids "
                "ORDER BY o.model_id, o.observed_at, f.id").bindparams(ids), {"ids": step}
    ):  # fmt: skip
        item[5] = orjson.loads(item[5])
        findings.setdefault((obs_id, version), []).append(item)
        model_of[obs_id] = model_id
    zdicts: dict[str, tuple[int, bytes]] = {}
    for key, items in findings.items():
        obs_id, version = key
        model_id = model_of[obs_id]
        raw = dumps(items)
        if model_id not in zdicts:
            zid = conn.execute(sa.text("INSERT INTO zdicts (data) VALUES (:d) RETURNING id"),
                               {"d": pack(raw)}).scalar_one()  # fmt: skip
            zdicts[model_id] = (zid, raw)
            conn.execute(sa.text("UPDATE models SET findings_zdict = :z WHERE id = :m"), {"z": zid, "m": model_id})
        zid, zdict = zdicts[model_id]
        positions.setdefault(version, [i[0] for i in items])
        row = scores.get(key, {"weights_hash": ""})
        values = {c: row.get(c) for c in SCORES} | {COVERAGE[c]: row.get(COVERAGE[c]) or 0.0 for c in SCORES}
        outcomes = encode_outcomes([i[2] for i in items])
        conn.execute(
            sa.text(f"INSERT INTO assessments (observation_id, method_version, weights_hash, {', '.join(values)}, "
                    f"outcomes, zdict, findings) VALUES (:o, :v, :w, {', '.join(':' + k for k in values)}, "
                    ":oc, :z, :f)"),
            {"o": obs_id, "v": version, "w": row["weights_hash"], **values, "oc": outcomes, "z": zid,
             "f": pack(raw, zdict)},
        )  # fmt: skip
        conn.execute(sa.text("UPDATE models SET outcomes = :oc WHERE latest_observation_id = :o AND "
                             "method_version = :v"), {"oc": outcomes, "o": obs_id, "v": version})  # fmt: skip


def upgrade() -> None:
    """Create the new tables, carry the data over, drop the old tables and the indexes nothing reads."""
    _tables()
    _carry_over(op.get_bind())
    for table in ("findings", "scores", "facts_0006", "cards_0006"):
        op.drop_table(table)
    for index in ("ix_observations_model_id", "ix_observations_ingest_run_id"):
        op.execute(f"DROP INDEX IF EXISTS {index}")


def downgrade() -> None:
    """Not supported: point whichmodel at a new database instead."""
    raise NotImplementedError("whichmodel does not downgrade schemas")
