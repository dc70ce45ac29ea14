"""SQLModel tables.

`models` holds one row per Hub repo with the newest observation's facts and scores copied into indexed
columns, so that search is one indexed query. Everything else is history: each ingest run, each observation
of a model, its facts, and its assessment (findings and scores) per method version.

Storage is change-only where it can be: facts are stored once per distinct content (a repo that did not change
between two observations shares one facts row), counters that move daily (downloads, likes) sit on the narrow
observation row, and facts and findings are compressed JSON primed with the model's first ones (see
`store.blobs`), so a day that changed a few values costs a few bytes.
Dates are stored as ISO-8601 UTC strings ("2025-04-22T00:00:00Z"), which sort as they read.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Index, LargeBinary, Text, UniqueConstraint, func, text
from sqlmodel import Field, SQLModel
from whichmodel.scoring.method import CATEGORIES

SCORE_COLUMNS = ("overall", *CATEGORIES)  # the `models` table's denormalized score columns
# Beside each score: its confidence-aware rank value and its coverage (the overall coverage is `coverage`).
RANK_COLUMNS = {c: f"{c}_rank" for c in SCORE_COLUMNS}
COVERAGE_COLUMNS = {c: ("coverage" if c == "overall" else f"{c}_coverage") for c in SCORE_COLUMNS}
# 2: search indexes; 3: leaderboard rollup; 4: lower-cased id and name columns; 5: author rollup, run host/pid.
# Frozen at 5, the Alembic baseline: a schema change is now a revision in store/migrations/versions
# (0006: derived facts, rank and coverage columns).
SCHEMA_VERSION = "5"
# The keys of `models.lists`: the newest facts' lists that search filters read (tags; the card's languages
# and declared base models, which the Hub's tags keep only one of).
LIST_KEYS = ("tags", "language", "base_model", "formats")  # formats: the weight formats its files are in


class Meta(SQLModel, table=True):
    """Key-value facts about the database itself (its schema version)."""

    __tablename__ = "meta"

    key: str = Field(primary_key=True)
    value: str


class ModelRow(SQLModel, table=True):
    """A Hub model and the search-relevant facts and scores of its newest observation."""

    __tablename__ = "models"
    # Search filters on a few low-selectivity columns and sorts by one score: composite indexes let SQLite
    # answer the common filter sets from one index, and the (rank, coverage, downloads) indexes return the top
    # rows in order without sorting (at 1M models: 191 ms -> under 1 ms for a sort-only search). A minimum
    # score reads the (score, has_weights) count indexes (`store.search_indexes`); the (score, downloads)
    # indexes that sorted by score before ranks did were dropped in revision 0016.
    __table_args__ = (
        Index("ix_models_size_license_chat", "size_class", "license_class", "chat"),
        Index("ix_models_task_license_chat", "pipeline_tag", "license_class", "chat"),
        Index("ix_models_license_chat", "license_class", "chat"),
        Index("ix_models_likes_downloads", "likes", "downloads"),
        # Rankings: rank value, then coverage, then downloads (see scoring.engine.rank_value).
        *(Index(f"ix_models_{c}_ranked", RANK_COLUMNS[c], COVERAGE_COLUMNS[c], "downloads") for c in SCORE_COLUMNS),
        Index("ix_models_downloads", "downloads"),
    )  # fmt: skip

    id: str = Field(primary_key=True)
    # Lower-cased repo name, indexed (the id's lower case is an expression index, below): users type 'phi-2' or
    # 'GOOGLE/GEMMA-7B'.
    name_lower: str = Field(index=True)
    author: str | None = Field(default=None, index=True)
    first_seen: str
    last_seen: str  # not indexed (revision 0018): every day rewrote an entry per model; see queries.newest_observed_at
    # Not indexed (revision 0020): read through the model's own row, and each day moved an entry per model.
    latest_observation_id: int | None = None
    pipeline_tag: str | None = None
    library_name: str | None = None
    # 64-bit: parameter counts pass 2^31 (a 20B model), and so do download totals.
    params: int | None = Field(default=None, index=True, sa_type=BigInteger)
    size_class: str | None = None
    license: str | None = None
    # The effective class (the strictest along the lineage): what filters and "commercial use" read.
    license_class: str | None = None
    license_class_declared: str | None = None  # the declared license's own class
    license_conflict: str | None = Field(default=None, sa_column=Column(Text))
    params_conflict: str | None = Field(default=None, sa_column=Column(Text))
    params_active: int | None = Field(default=None, sa_column=Column(BigInteger))
    adapter_params: int | None = Field(default=None, sa_column=Column(BigInteger))
    has_weights: bool | None = None  # False: README/config/code only, not a usable model
    chat: bool | None = None
    gated: str | None = Field(default=None, index=True)
    downloads: int | None = Field(default=None, sa_type=BigInteger)
    likes: int | None = Field(default=None, sa_type=BigInteger)
    base_model: str | None = Field(default=None, index=True)
    base_relation: str | None = None
    created_at: str | None = None
    last_modified: str | None = None  # the Hub's last commit to the repo (ISO timestamp)
    overall: float | None = None
    popularity: float | None = None
    activity: float | None = None
    operational: float | None = None
    security: float | None = None
    quality: float | None = None
    coverage: float | None = None
    popularity_coverage: float | None = None
    activity_coverage: float | None = None
    operational_coverage: float | None = None
    security_coverage: float | None = None
    quality_coverage: float | None = None
    overall_rank: float | None = None
    popularity_rank: float | None = None
    activity_rank: float | None = None
    operational_rank: float | None = None
    security_rank: float | None = None
    quality_rank: float | None = None
    method_version: str | None = None
    # The newest facts' lists that search filters read (tags, the card's base models and languages), as JSON.
    lists: str | None = Field(default=None, sa_column=Column(Text))
    # The newest findings' outcomes, one character each in the method's check order (see `method_checks`).
    outcomes: str | None = None
    # The newest record's hash (hub.snapshot.record_hash): a record with the same hash is not parsed again.
    record_hash: str | None = None
    # The facts row whose scoring last wrote the columns scoring derives (lineage: the effective license, a
    # base's size); None while they are as parsed. A carried observation needs them derived from its facts.
    scored_facts_id: int | None = Field(default=None, sa_type=BigInteger)
    facts_zdict: int | None = None  # the dictionaries this model's facts and findings are compressed with
    findings_zdict: int | None = None


# `search --license mit` compares lower-cased names: without this index it read every row.
Index("ix_models_license_lower", func.lower(ModelRow.__table__.c.license))
# A typed id in any case ('GOOGLE/GEMMA-7B'): an index on the expression, not a lower-cased copy of every id
# (revision 0019; the copy cost ~27 bytes a model).
Index("ix_models_id_lower", func.lower(ModelRow.__table__.c.id))


class IngestRun(SQLModel, table=True):
    """One `whichmodel ingest` of one source."""

    __tablename__ = "ingest_runs"

    id: int | None = Field(default=None, primary_key=True)
    source: str
    kind: str  # snapshot | hub | model
    observed_at: str
    started_at: str
    finished_at: str | None = None
    status: str = "running"  # running | complete | failed | interrupted (its process ended without finishing)
    host: str | None = None  # where the run's process ran, and its pid: a run whose process is gone is interrupted
    pid: int | None = None
    parsed: int = 0
    new_models: int = 0
    new_observations: int = 0
    unchanged: int = 0
    skipped: int = 0
    skipped_detail: str | None = Field(default=None, sa_column=Column(Text))  # JSON list, capped


class Observation(SQLModel, table=True):
    """A model as seen at one time; (model_id, observed_at) is unique, which makes ingest idempotent."""

    __tablename__ = "observations"
    # The unique (model, date) index also serves lookups by model; the run's own index serves its deletion.
    # (Range filters on the date alone scan: an index of it cost ~30 bytes an observation, a day's ingest.)
    # The unscored index holds only what is waiting to be scored (an observation scored under an older method
    # version is set back to unscored first: `store.ingest.score_pending`).
    __table_args__ = (
        UniqueConstraint("model_id", "observed_at", name="uq_observation"),
        Index("ix_observations_unscored", "scored_version", sqlite_where=text("scored_version IS NULL"),
              postgresql_where=text("scored_version IS NULL")),
    )  # fmt: skip

    id: int | None = Field(default=None, primary_key=True)
    model_id: str = Field(foreign_key="models.id")
    observed_at: str
    ingest_run_id: int = Field(foreign_key="ingest_runs.id")
    facts_id: int | None = Field(default=None, foreign_key="facts.id")
    downloads: int | None = Field(default=None, sa_type=BigInteger)
    downloads_all_time: int | None = Field(default=None, sa_type=BigInteger)
    likes: int | None = Field(default=None, sa_type=BigInteger)
    card_hash: str | None = None
    scored_version: str | None = None
    # Its scores under `scored_version`, in hundredths (scores have two decimals; a small integer is 1-2 bytes
    # where a float is 8), and the observation whose `assessments` row holds its findings: its own, or an
    # earlier one of the model's whose findings equal its own but for the checks read from the counters and
    # the date (`store.records.OBSERVATION_CHECKS`, recomputed from this row when its findings are read).
    assessed_by: int | None = None
    overall_x100: int | None = None
    popularity_x100: int | None = None
    activity_x100: int | None = None
    operational_x100: int | None = None
    security_x100: int | None = None
    quality_x100: int | None = None


# An observation's score columns, by score name.
OBSERVATION_SCORES = {c: f"{c}_x100" for c in SCORE_COLUMNS}


class FactsRow(SQLModel, table=True):
    """A model's lasting facts (`ModelFacts` less the volatile counters), once per distinct content.

    `data` is packed JSON (`store.blobs`), primed with the dictionary `zdict` when it has one. `hash` is the
    content hash of the facts as ingested; the stored data may add what scoring derived along the lineage.
    """

    __tablename__ = "facts"

    id: int | None = Field(default=None, primary_key=True)
    hash: str = Field(unique=True)
    zdict: int | None = None
    data: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    # Copied from the facts so history, alerts and ingest read them in SQL without decoding the JSON (once per
    # distinct content, not per observation: revision 0013 moved them here from `observations`).
    sha: str | None = None
    license: str | None = None
    gated: str | None = None
    pickle_files: int | None = None


class Zdict(SQLModel, table=True):
    """A compression dictionary: a model's first facts or findings as JSON. Never changed once written.

    A model's dictionary is itself packed with the database's shared one for its kind (`base`), a sample of
    the first models' facts or findings (named in `meta` as `zdict:facts` / `zdict:findings`).
    """

    __tablename__ = "zdicts"

    id: int | None = Field(default=None, primary_key=True)
    base: int | None = None
    data: bytes = Field(sa_column=Column(LargeBinary, nullable=False))


class AssessmentRow(SQLModel, table=True):
    """An observation's findings and coverages under one method version, shared by later observations.

    Observations of a model whose findings differ only in the checks read from the counters and the date
    point at one row (`Observation.assessed_by`), which `content_hash` identifies; each observation keeps its
    own scores. The score columns here are those of rows written before revision 0013 (readers use the
    observation's). `findings` is the packed list of findings, each [check, category, outcome, points,
    max_points, evidence, reason, remediation], primed with the dictionary `zdict`; `outcomes` repeats their
    outcomes one character each (see `store.blobs.OUTCOME_CODES`) so that SQL can filter and compare them.
    """

    __tablename__ = "assessments"

    observation_id: int = Field(foreign_key="observations.id", primary_key=True)
    method_version: str = Field(primary_key=True)
    weights_hash: str
    overall: float | None = None
    popularity: float | None = None
    activity: float | None = None
    operational: float | None = None
    security: float | None = None
    quality: float | None = None
    coverage: float
    popularity_coverage: float
    activity_coverage: float
    operational_coverage: float
    security_coverage: float
    quality_coverage: float
    outcomes: str
    zdict: int | None = None
    findings: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    content_hash: int | None = Field(default=None, sa_type=BigInteger)  # see store.records.content_key
    # What a later observation of the same content is scored from without its checks (JSON, see
    # `scoring.engine.carry_state`); None on rows written before revision 0015.
    carry: bytes | None = Field(default=None, sa_column=Column(LargeBinary))


class MethodCheck(SQLModel, table=True):
    """Where each check's outcome sits in the `outcomes` strings of one method version (1-based)."""

    __tablename__ = "method_checks"

    method_version: str = Field(primary_key=True)
    check: str = Field(primary_key=True)
    position: int


class CardRow(SQLModel, table=True):
    """A model card's text, stored once per distinct content, packed (see `store.records.card_texts`).

    Packed with the database's shared card dictionary (`zdict`): cards repeat the same templates.
    """

    __tablename__ = "cards"

    hash: str = Field(primary_key=True)
    model_id: str  # the model whose record brought it first (cards are read by hash only: not indexed, 0017)
    zdict: int | None = None
    data: bytes = Field(sa_column=Column(LargeBinary, nullable=False))


class LeaderboardRow(SQLModel, table=True):
    """One normalized Open LLM Leaderboard row.

    `best` marks the row that stands for its repo on its board (the best-performing unflagged submission, as
    the trend study deduplicated); `best_all` the same with flagged rows allowed. Both are refreshed on ingest.
    Dates are pre-bucketed (`day`, `week` = the Monday, `month`) so trend views group on indexed columns.
    """

    __tablename__ = "leaderboard"
    __table_args__ = (
        Index("ix_lb_best_day", "board", "best", "day"),
        Index("ix_lb_best_all_day", "board", "best_all", "day"),
        Index("ix_lb_repo", "board", "repo_id", "average"),
        # base-models: family and size ranges are index seeks, and the index alone answers them. PostgreSQL also
        # carries the type (a types filter read every row from the heap otherwise; revision 0009); SQLite has
        # no INCLUDE and meets its figure without it.
        Index("ix_lb_family_params_cover", "board", "best", "arch_family", "params_b", "day", "average", "repo_id",
              postgresql_include=["type"]),
    )

    key: str = Field(primary_key=True)  # hash of source file and raw row: re-ingesting a file adds nothing
    source: str = Field(index=True)
    line: int
    board: str  # v1 | v2
    repo_id: str
    author: str = Field(index=True)
    type: str = Field(index=True)
    arch_class: str | None = None
    arch_family: str = Field(index=True)
    params_b: float | None = None
    day: str | None = None
    week: str | None = None
    month: str | None = None
    average: float | None = None
    benchmarks: str = Field(sa_column=Column(Text, nullable=False))  # JSON {name: score}
    license: str | None = None
    likes: int | None = None
    merged: bool | None = None
    moe: bool | None = None
    flagged: bool = False
    precision: str | None = None
    sha: str | None = None
    base_model: str | None = Field(default=None, index=True)
    best: bool = False
    best_all: bool = False


class LlmInteraction(SQLModel, table=True):
    """One request to an LLM, kept so that extractions can be reviewed: prompt, raw answer, parsed result."""

    __tablename__ = "llm_interactions"

    id: int | None = Field(default=None, primary_key=True)
    purpose: str = Field(index=True)
    model_id: str = Field(index=True)
    card_hash: str | None = None
    llm_model: str
    attempt: int
    prompt: str = Field(sa_column=Column(Text, nullable=False))
    raw_response: str | None = Field(default=None, sa_column=Column(Text))
    parsed: str | None = Field(default=None, sa_column=Column(Text))
    status: str  # ok | invalid | error
    error: str | None = Field(default=None, sa_column=Column(Text))
    latency_ms: int
    created_at: str


class _Rollup(SQLModel):
    """What each rollup row holds besides its key: its periods, and counts and sums over its rows."""

    week: str
    month: str
    models: int
    scored: int  # rows with an average
    sum_average: float | None = None
    max_average: float | None = None


class LeaderboardDaily(_Rollup, table=True):
    """Leaderboard rows rolled up per (board, mode, day, type, family), rebuilt on every leaderboard load.

    `mode` is "best" (the row standing for its repo, flagged rows left out) or "best_all" (flagged kept).
    The types, architectures, benchmarks and releases views read this instead of every row.
    """

    __tablename__ = "leaderboard_daily"
    __table_args__ = (Index("ix_lb_daily_period", "board", "mode", "day"),)

    board: str = Field(primary_key=True)
    mode: str = Field(primary_key=True)
    day: str = Field(primary_key=True)
    type: str = Field(primary_key=True)
    arch_family: str = Field(primary_key=True)
    max_repo: str | None = None  # the repo with max_average (the first by id on a tie)


class LeaderboardAuthorDaily(_Rollup, table=True):
    """The daily rollup with the author kept, for the authors view.

    Prolific authors collapse to a row per (day, type, family); `leaderboard_authors` holds each author's total.
    """

    __tablename__ = "leaderboard_author_daily"
    # Rows stored in key order, so one author's rows are read together (a quarter faster at 1M rows).
    __table_args__ = {"sqlite_with_rowid": False}

    board: str = Field(primary_key=True)
    mode: str = Field(primary_key=True)
    author: str = Field(primary_key=True)
    day: str = Field(primary_key=True)
    type: str = Field(primary_key=True)
    arch_family: str = Field(primary_key=True)


class LeaderboardAuthor(SQLModel, table=True):
    """Each author's dated rows summed.

    The unfiltered authors view reads it as is; a filtered one visits candidate authors in its order.
    """

    __tablename__ = "leaderboard_authors"
    __table_args__ = (Index("ix_lb_authors_rank", "board", "mode", "models", "author"),)

    board: str = Field(primary_key=True)
    mode: str = Field(primary_key=True)
    author: str = Field(primary_key=True)
    models: int
    scored: int
    sum_average: float | None = None
    max_average: float | None = None
    first: str
    last: str
