"""Compact forms of what the store keeps per observation: packed facts and findings, lasting vs volatile facts.

A record's lasting facts are split from the counters that move every day.

Facts and findings are stored as zlib-compressed JSON, primed with a dictionary (zlib's preset dictionary):
each model's first facts (and first findings) as JSON. A later observation of the model differs from its
first in a few values, so it compresses to the differences: tens of bytes instead of kilobytes. The
dictionaries are rows of their own and never change once written (`zdicts`), so a stored blob always
decodes; the facts and findings themselves may be rewritten (a rescore) without touching them.
"""

from __future__ import annotations

import hashlib
import zlib

import orjson

# Facts that move from one day to the next without the repo changing: kept on the observation, not in the
# content-addressed facts (`last_modified` moves only with a commit, which changes `sha` as well).
VOLATILE_FACTS = ("downloads", "downloads_all_time", "likes", "observed_at")

# One character per finding outcome, in `assessments.outcomes` and `models.outcomes` (SQL filters read them).
OUTCOME_CODES = {"pass": "p", "fail": "f", "not_available": "n", "not_applicable": "x"}
CODE_OUTCOMES = {v: k for k, v in OUTCOME_CODES.items()}

_PLAIN, _PRIMED = b"z", b"d"  # first byte of a blob: compressed alone, or with the row's dictionary
_LEVEL = 6
# JSON as stored elsewhere: non-string keys allowed; what orjson cannot encode goes through str().
_OPTIONS = orjson.OPT_NON_STR_KEYS | orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS


def dumps(value) -> bytes:
    """JSON bytes as the store writes them (orjson; str() for what it cannot encode)."""
    return orjson.dumps(value, default=str, option=_OPTIONS)


# A compressor primed with a large dictionary is kept and copied: priming with the database's 32 KB shared
# dictionaries costs more than compressing a model's facts, and every first observation is packed with one.
_PRIMED_CACHE: dict[bytes, zlib._Compress] = {}
_CACHE_FROM = 16 * 1024  # smaller dictionaries (a model's own) serve a blob or two: primed afresh
_CACHE_SIZE = 8


def _packer(zdict: bytes):
    if len(zdict) < _CACHE_FROM:
        return zlib.compressobj(_LEVEL, zdict=zdict)
    primed = _PRIMED_CACHE.get(zdict)
    if primed is None:
        if len(_PRIMED_CACHE) >= _CACHE_SIZE:
            _PRIMED_CACHE.pop(next(iter(_PRIMED_CACHE)))
        primed = _PRIMED_CACHE[zdict] = zlib.compressobj(_LEVEL, zdict=zdict)
    return primed.copy()


def pack(value, zdict: bytes | None = None) -> bytes:
    """`value` as compressed JSON, primed with `zdict` when given (the same bytes are needed to unpack it)."""
    raw = value if isinstance(value, bytes) else dumps(value)
    if zdict:
        packer = _packer(zdict)
        return _PRIMED + packer.compress(raw) + packer.flush()
    return _PLAIN + zlib.compress(raw, _LEVEL)


def unpack_bytes(blob: bytes, zdict: bytes | None = None) -> bytes:
    """The JSON bytes of a packed blob."""
    blob = bytes(blob)  # PostgreSQL drivers hand back memoryview
    kind, body = blob[:1], blob[1:]
    if kind == _PLAIN:
        return zlib.decompress(body)
    if kind == _PRIMED:
        if not zdict:
            raise ValueError("this blob was packed with a dictionary; none was given")
        unpacker = zlib.decompressobj(zdict=zdict)
        return unpacker.decompress(body) + unpacker.flush()
    raise ValueError(f"unknown blob kind {kind!r}")


def unpack(blob: bytes, zdict: bytes | None = None):
    """The value of a packed blob."""
    return orjson.loads(unpack_bytes(blob, zdict))


def split_facts(data: dict) -> tuple[dict, dict]:
    """(lasting facts, volatile facts) of a facts dict (`ModelFacts.to_dict`).

    The lasting part's `not_available` leaves the volatile fields out, so that a count going from unknown to
    known does not make the repo's content look changed.
    """
    lasting = {k: v for k, v in data.items() if k not in VOLATILE_FACTS}
    if "not_available" in lasting:
        lasting["not_available"] = [k for k in lasting["not_available"] if k not in VOLATILE_FACTS]
    return lasting, {k: data.get(k) for k in VOLATILE_FACTS}


def join_facts(lasting: dict, volatile: dict) -> dict:
    """The facts dict `split_facts` took apart (`not_available` lists the missing volatile fields again)."""
    data = dict(lasting)
    data.update({k: volatile.get(k) for k in VOLATILE_FACTS})
    if "not_available" in lasting:
        missing = [k for k in VOLATILE_FACTS if data[k] is None]
        data["not_available"] = sorted(lasting["not_available"] + missing)
    return data


def content_hash(lasting: dict) -> str:
    """A hash of the lasting facts: equal for two observations of a repo that did not change in between."""
    return hashlib.blake2b(orjson.dumps(lasting, default=str, option=_OPTIONS | orjson.OPT_SORT_KEYS),
                           digest_size=16).hexdigest()  # fmt: skip


def encode_outcomes(outcomes: list[str]) -> str:
    """One character per outcome, in the findings' order."""
    return "".join(OUTCOME_CODES[o] for o in outcomes)
