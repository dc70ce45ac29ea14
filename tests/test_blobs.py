"""Packed blobs: what earlier versions wrote still reads, what is written now round-trips, in any thread."""

from __future__ import annotations

import json
import threading
import zlib
from pathlib import Path

import pytest
from whichmodel.store.blobs import LASTING_LEVEL, dumps, pack, unpack, unpack_bytes
from whichmodel.store.records import shared_dictionary


@pytest.fixture(scope="module")
def records(shared_data: Path) -> list[bytes]:
    """400 real Hub records (JSON bytes) from the shared snapshots."""
    found: list[bytes] = []
    for folder in sorted(p for p in (shared_data / "hub-snapshots").iterdir() if p.is_dir()):
        with (folder / "models.jsonl").open("rb") as handle:
            found += [line.strip() for line in handle if line.strip()]
    assert len(found) >= 400
    return found[:400]


def test_blobs_written_by_zlib_versions_still_read(records):
    """Blobs of the earlier zlib kinds (alone; primed with a dictionary) decode to what was packed."""
    zdict = records[0]
    for raw in records[1:50]:
        packer = zlib.compressobj(6, zdict=zdict)
        assert unpack_bytes(b"d" + packer.compress(raw) + packer.flush(), zdict) == raw
        assert unpack_bytes(b"z" + zlib.compress(raw, 6)) == raw
    with pytest.raises(ValueError, match="dictionary"):
        unpack_bytes(b"d" + zlib.compress(records[1]))


def test_round_trip_with_each_kind_of_dictionary(records):
    """No dictionary, a model's own JSON (raw content), the database's trained one: the value comes back."""
    trained = shared_dictionary(records[:300])
    assert trained[:4] == b"\x37\xa4\x30\xec"  # zstd's dictionary magic: 300 real records are enough to train on
    for zdict in (None, records[0], trained):
        for raw in records[300:]:
            assert unpack(pack(raw, zdict), zdict) == json.loads(raw)
    # Too few samples to train on: the samples themselves prime the packing.
    few = shared_dictionary(records[:2])
    assert few == b"\n".join(records[:2])[-len(few):]
    assert unpack(pack(records[5], few), few) == json.loads(records[5])


def test_lasting_blobs_pack_harder_and_read_the_same(records):
    """A model's dictionaries and card texts are packed at a higher level: smaller in all, same value back,
    read by the same unpacking (the level is not stored)."""
    trained = shared_dictionary(records[:300])
    plain = [pack(raw, trained) for raw in records[300:]]
    hard = [pack(raw, trained, LASTING_LEVEL) for raw in records[300:]]
    assert sum(map(len, hard)) < sum(map(len, plain))
    for raw, blob in zip(records[300:], hard, strict=True):
        assert unpack_bytes(blob, trained) == raw


def test_a_blob_that_is_its_dictionary_is_one_byte(records):
    """A model's first facts or findings packed with themselves as the dictionary (what the store writes for a
    first observation) take one byte and read back; without the dictionary they cannot be read."""
    for raw in records[:50]:
        blob = pack(raw, raw)
        assert len(blob) == 1 and unpack_bytes(blob, raw) == raw and unpack(blob, raw) == json.loads(raw)
    assert len(pack(records[1], records[0])) > 1  # another record is packed, not taken for its dictionary
    with pytest.raises(ValueError, match="dictionary"):
        unpack_bytes(pack(records[0], records[0]))


def test_a_later_record_packs_to_its_differences(records):
    """Primed with a model's first record, a record that differs in a few values packs to a few bytes."""
    first = json.loads(records[0])
    later = dict(first, downloads=(first.get("downloads") or 0) + 12345, likes=(first.get("likes") or 0) + 7)
    alone, primed = pack(later), pack(later, dumps(first))
    assert len(primed) < len(alone) / 4
    assert unpack(primed, dumps(first)) == later


def test_threads_pack_and_unpack_at_once(records):
    """Compressors are kept per thread: threads packing with the same large dictionary do not mix streams."""
    zdict = shared_dictionary(records[:300])
    errors: list[str] = []

    def work(offset: int) -> None:
        for raw in records[offset::4]:
            if unpack_bytes(pack(raw, zdict), zdict) != raw:
                errors.append(raw[:40].decode())

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
