"""Reading and writing the packed per-observation records: facts, findings and their dictionaries.

The encoding is in `store.blobs`; this module knows the tables. Dictionaries never change once written, so
one read of a dictionary serves every blob packed with it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

import zstandard
from sqlalchemy import insert, select
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError
from whichmodel.scoring.findings import Finding
from whichmodel.store.blobs import LASTING_LEVEL, VOLATILE_FACTS, dumps, join_facts, pack, unpack, unpack_bytes
from whichmodel.store.models import AssessmentRow, CardRow, FactsRow, Meta, MethodCheck, Observation, Zdict

F = FactsRow.__table__
A = AssessmentRow.__table__
O = Observation.__table__  # noqa: E741
Z = Zdict.__table__
MC = MethodCheck.__table__
META = Meta.__table__
C = CardRow.__table__


def load_zdicts(conn: Connection, ids: Iterable[int | None], into: dict[int, bytes] | None = None) -> dict[int, bytes]:
    """The dictionaries `ids` (None and those in `into` skipped), unpacked, added to `into`."""
    found = into if into is not None else {}
    wanted = {i for i in ids if i is not None and i not in found}
    if wanted:
        rows = conn.execute(select(Z.c.id, Z.c.base, Z.c.data).where(Z.c.id.in_(sorted(wanted)))).all()
        load_zdicts(conn, (r.base for r in rows), found)  # shared dictionaries are plain: one level
        for zid, base, data in rows:
            found[zid] = unpack_bytes(data, found.get(base))
    return found


SHARED_ZDICT_BYTES = 64 * 1024


def shared_dictionary(samples: list[bytes]) -> bytes:
    """A zstd dictionary trained on `samples`; the samples' end as raw content when they are too few to train on."""
    try:
        return zstandard.train_dictionary(SHARED_ZDICT_BYTES, samples).as_bytes()
    except zstandard.ZstdError:
        return b"\n".join(samples)[-SHARED_ZDICT_BYTES:]


def shared_zdict(conn: Connection, kind: str, samples: Iterable[bytes]) -> tuple[int, bytes]:
    """The database's shared dictionary for `kind` (facts, findings, cards), made from `samples` if there is none.

    Made once per database from the first batch: those models' JSON shows the keys, values and sentences
    that every later model repeats.
    """
    key = f"zdict:{kind}"
    stored = conn.execute(select(META.c.value).where(META.c.key == key)).scalar()
    if stored is not None:
        zid = int(stored)
        return zid, load_zdicts(conn, [zid])[zid]
    raw = shared_dictionary(list(samples))
    # SQLite: writers take turns (an ingest holds its data directory's lock); a lost race fails the statement,
    # and the batch, retried record by record, then finds the winner's. SQLite's driver makes savepoints commit.
    if conn.dialect.name != "postgresql":
        zid = conn.execute(insert(Z).values(base=None, data=pack(raw))).inserted_primary_key[0]
        conn.execute(insert(META).values(key=key, value=str(zid)))
        return zid, raw
    try:
        with conn.begin_nested():  # another writer making the first one at the same moment wins; use its
            zid = conn.execute(insert(Z).values(base=None, data=pack(raw))).inserted_primary_key[0]
            conn.execute(insert(META).values(key=key, value=str(zid)))
    except IntegrityError:
        return shared_zdict(conn, kind, ())
    return zid, raw


def store_zdicts(conn: Connection, raws: list[bytes], shared: tuple[int, bytes] | None = None) -> list[int]:
    """Store each of `raws` (JSON bytes) as a new dictionary, packed with the `shared` one (id, bytes); their ids.

    One statement for the lot: a first ingest makes two dictionaries per model, and a statement each was a
    third of its writer's time.
    """
    if not raws:
        return []
    base, base_raw = shared if shared else (None, None)
    rows = [{"base": base, "data": pack(raw, base_raw, LASTING_LEVEL)} for raw in raws]
    return list(conn.execute(insert(Z).returning(Z.c.id, sort_by_parameter_order=True), rows).scalars())


def facts_of(conn: Connection, observation_id: int) -> dict | None:
    """An observation's full facts (`ModelFacts.to_dict` shape): its lasting facts and its own counters."""
    row = conn.execute(
        select(F.c.data, F.c.zdict, *(O.c[k] for k in VOLATILE_FACTS))
        .join(F, F.c.id == O.c.facts_id)
        .where(O.c.id == observation_id)
    ).first()
    if row is None:
        return None
    zdicts = load_zdicts(conn, [row.zdict])
    lasting = unpack(row.data, zdicts.get(row.zdict))
    return join_facts(lasting, {k: getattr(row, k) for k in VOLATILE_FACTS})


def findings_from(blob: bytes, zdict: bytes | None) -> list[Finding]:
    """The findings of a packed list (see `AssessmentRow`)."""
    return [Finding(*item) for item in unpack(blob, zdict)]


def findings_of(conn: Connection, observation_id: int, version: str) -> list[Finding]:
    """An observation's findings under method `version`, in method order ([] when it has none).

    An observation that shares an earlier one's findings (`Observation.assessed_by`) gets that row's, with the
    checks read from the counters and the date recomputed from its own facts (`observation_findings`).
    """
    holder = conn.execute(select(O.c.assessed_by).where(O.c.id == observation_id)).scalar()
    holder = holder if holder is not None else observation_id
    row = conn.execute(
        select(A.c.findings, A.c.zdict).where(A.c.observation_id == holder, A.c.method_version == version)
    ).first()
    if row is None:
        return []
    findings = findings_from(row.findings, load_zdicts(conn, [row.zdict]).get(row.zdict))
    if holder == observation_id:
        return findings
    # Imported here: the engine brings every check, which reading a holder's own findings never needs.
    from whichmodel.hub.facts import ModelFacts
    from whichmodel.scoring.engine import observation_findings
    from whichmodel.scoring.method import load_method

    # With the shipped method: an observation is shared only under the version it was scored with, and a
    # method change has every observation scored again (`score_pending`).
    own = observation_findings(ModelFacts.from_dict(facts_of(conn, observation_id)), load_method())
    return [own.get(f.check, f) for f in findings]


def content_key(findings: list[Finding], coverages: Iterable[float]) -> int:
    """What identifies an assessment a later observation may share.

    The findings and coverages but for the points, evidence and reasons of the checks read from the counters
    and the date (their outcomes count).

    A signed 64-bit integer (the column is BIGINT on both engines).
    """
    from whichmodel.scoring.checks import OBSERVATION_CHECKS

    items = [[f.check, f.outcome] if f.check in OBSERVATION_CHECKS else
             [f.check, f.category, f.outcome, f.points, f.max_points, f.evidence, f.reason, f.remediation]
             for f in findings]  # fmt: skip
    digest = hashlib.blake2b(dumps([items, list(coverages)]), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def finding_items(findings: Iterable[Finding]) -> list[list]:
    """Findings as the packed list's items."""
    return [[f.check, f.category, f.outcome, f.points, f.max_points, f.evidence, f.reason, f.remediation]
            for f in findings]  # fmt: skip


def record_method_checks(conn: Connection, version: str, checks: list[str]) -> None:
    """Note where each check's outcome sits in `outcomes` under `version` (once per version)."""
    if conn.execute(select(MC.c.check).where(MC.c.method_version == version).limit(1)).first() is None:
        conn.execute(insert(MC), [{"method_version": version, "check": c, "position": i + 1}
                                  for i, c in enumerate(checks)])  # fmt: skip


def card_texts(conn: Connection, hashes: Iterable[str | None]) -> dict[str, str]:
    """The card texts stored under `hashes` (those stored), by hash."""
    wanted = sorted({h for h in hashes if h})
    if not wanted:
        return {}
    rows = conn.execute(select(C.c.hash, C.c.zdict, C.c.data).where(C.c.hash.in_(wanted))).all()
    zdicts = load_zdicts(conn, (r.zdict for r in rows))
    return {h: unpack_bytes(data, zdicts.get(zid)).decode("utf-8") for h, zid, data in rows}


def pack_cards(conn: Connection, cards: dict[str, tuple[str, str]]) -> list[dict]:
    """Rows for new cards ({hash: (model id, text)}), packed with the shared card dictionary.

    Text that is not valid Unicode (a lone surrogate) raises, as a text column would: that record is not stored.
    """
    raws = {h: text.encode("utf-8") for h, (_, text) in cards.items()}
    zid, zdict = shared_zdict(conn, "cards", raws.values())
    return [{"hash": h, "model_id": model_id, "zdict": zid, "data": pack(raws[h], zdict, LASTING_LEVEL)}
            for h, (model_id, _) in cards.items()]  # fmt: skip
