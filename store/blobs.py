"""Compact forms of what the store keeps per observation: packed facts and findings, lasting vs volatile facts.

A record's lasting facts are split from the counters that move every day.

Facts and findings are stored as compressed JSON (zstd), primed with a dictionary: each model's first facts
(and first findings) as JSON, themselves primed with a dictionary the database trains on its first models
(`store.records.shared_zdict`). A later observation of the model differs from its
first in a few values, so it compresses to the differences: tens of bytes instead of kilobytes. The
dictionaries are rows of their own and never change once written (`zdicts`), so a stored blob always
decodes; the facts and findings themselves may be rewritten (a rescore) without touching them.
"""

from __future__ import annotations

import hashlib
import threading
import zlib

import orjson
import zstandard

# Facts that move from one day to the next without the repo changing: kept on the observation, not in the
# content-addressed facts (`last_modified` moves only with a commit, which changes `sha` as well).
VOLATILE_FACTS = ("downloads", "downloads_all_time", "likes", "observed_at")

# One character per finding outcome, in `assessments.outcomes` and `models.outcomes` (SQL filters read them).
OUTCOME_CODES = {"pass": "p", "fail": "f", "not_available": "n", "not_applicable": "x"}
CODE_OUTCOMES = {v: k for k, v in OUTCOME_CODES.items()}

# First byte of a blob: zlib alone, zlib with the row's dictionary (both as earlier versions wrote them), or
# zstd, with or without one. zstd is what is written now: with the same dictionaries it packs a model's facts
# or findings in a tenth of zlib's time (~10 us), and a later observation against the model's first one in
# about 20 bytes where zlib took 90 (its frames are written without magic number, checksum or dictionary id:
# the row says which dictionary, and the blob is never read alone).
_PLAIN, _PRIMED, _ZSTD = b"z", b"d", b"s"
# A blob that is its dictionary: a model's first facts and first findings are that model's dictionaries, and
# their rows hold this one byte instead of a ~16-byte frame that took a dictionary load and a compression.
_SAME = b"="
_LEVEL = 6
_ZSTD_LEVEL = 3
# Blobs written once and kept for good (a model's dictionaries, card texts) are packed harder: zstd's level 7
# (lazy matching) packs a model's first facts and findings in ~190 bytes where level 3 took ~290 (synthetic
# 100k: 645 -> ~450 bytes a model of `zdicts`), for ~20 us more each. Level does not change how a blob unpacks.
LASTING_LEVEL = 7
# JSON as stored elsewhere: non-string keys allowed; what orjson cannot encode goes through str().
_OPTIONS = orjson.OPT_NON_STR_KEYS | orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS


def dumps(value) -> bytes:
    """JSON bytes as the store writes them (orjson; str() for what it cannot encode)."""
    return orjson.dumps(value, default=str, option=_OPTIONS)


# (De)compressors are not thread-safe: each thread keeps its own, for the large dictionaries that serve many
# blobs (the database's shared ones); a model's own dictionary serves a blob or two and is loaded each time.
_CACHE_FROM = 16 * 1024
_CACHE_SIZE = 8
_local = threading.local()


def _cached(kind: str, zdict: bytes | None, make):
    if zdict is not None and len(zdict) < _CACHE_FROM:
        return make(zdict)
    cache = _local.__dict__.setdefault(kind, {})
    found = cache.get(zdict)
    if found is None:
        if len(cache) >= _CACHE_SIZE:
            cache.pop(next(iter(cache)))
        found = cache[zdict] = make(zdict)
    return found


def _zstd_dict(zdict: bytes | None):
    # A trained dictionary starts with zstd's dictionary magic; anything else (JSON) primes as raw content.
    return zstandard.ZstdCompressionDict(zdict, dict_type=zstandard.DICT_TYPE_AUTO) if zdict else None


def _compressor(zdict: bytes | None, level: int = _ZSTD_LEVEL):
    params = zstandard.ZstdCompressionParameters.from_level(
        level, format=zstandard.FORMAT_ZSTD1_MAGICLESS, write_checksum=0, write_dict_id=0,
        write_content_size=1)  # fmt: skip
    return zstandard.ZstdCompressor(dict_data=_zstd_dict(zdict), compression_params=params)


def _decompressor(zdict: bytes | None):
    return zstandard.ZstdDecompressor(dict_data=_zstd_dict(zdict), format=zstandard.FORMAT_ZSTD1_MAGICLESS)


def pack(value, zdict: bytes | None = None, level: int = _ZSTD_LEVEL) -> bytes:
    """`value` as compressed JSON, primed with `zdict` when given (the same bytes are needed to unpack it)."""
    raw = value if isinstance(value, bytes) else dumps(value)
    if zdict and raw == zdict:
        return _SAME
    if level == _ZSTD_LEVEL:
        return _ZSTD + _cached("c", zdict or None, _compressor).compress(raw)
    return _ZSTD + _cached(f"c{level}", zdict or None, lambda z: _compressor(z, level)).compress(raw)


def unpack_bytes(blob: bytes, zdict: bytes | None = None) -> bytes:
    """The JSON bytes of a packed blob."""
    blob = bytes(blob)  # PostgreSQL drivers hand back memoryview
    kind, body = blob[:1], blob[1:]
    if kind == _ZSTD:
        return _cached("d", zdict or None, _decompressor).decompress(body)
    if kind == _SAME and not body:
        if not zdict:
            raise ValueError("this blob is its dictionary; none was given")
        return bytes(zdict)
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


# The key a stored facts row keeps the fingerprint of the rules that derived it under (`hub.facts.derivation_id`):
# scoring need not derive such facts again. A row scoring rewrote (lineage filled it in) has none.
DERIVED_BY = "derived_by"


def join_facts(lasting: dict, volatile: dict) -> dict:
    """The facts dict `split_facts` took apart (`not_available` lists the missing volatile fields again)."""
    data = dict(lasting)
    data.pop(DERIVED_BY, None)
    data.update({k: volatile.get(k) for k in VOLATILE_FACTS})
    if "not_available" in lasting:
        missing = [k for k in VOLATILE_FACTS if data[k] is None]
        data["not_available"] = sorted(lasting["not_available"] + missing)
    return data


def content_hash(lasting: dict) -> str:
    """A hash of the lasting facts: equal for two observations of a repo that did not change in between."""
    return hashlib.blake2b(orjson.dumps(lasting, default=str, option=_OPTIONS | orjson.OPT_SORT_KEYS),
                           digest_size=16).hexdigest()  # fmt: skip


# An assessment names the weights file it was scored with by the first 16 hex digits of its SHA-256 (64 bits:
# two weights files of one method version never collide by chance); the full digest is the method's own.
WEIGHTS_DIGITS = 16


def stored_weights(weights_hash: str) -> str:
    """The weights hash as an assessment stores it."""
    return weights_hash[:WEIGHTS_DIGITS]


def encode_outcomes(outcomes: list[str]) -> str:
    """One character per outcome, in the findings' order."""
    return "".join(OUTCOME_CODES[o] for o in outcomes)
