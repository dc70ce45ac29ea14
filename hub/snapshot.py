"""Read a recorded snapshot folder: `manifest.json`, `models.jsonl`, `cards.jsonl`.

Records stream one line at a time. A bad line (invalid UTF-8, malformed or truncated JSON, wrong field types,
an oversized line, nesting deeper than 1,024 levels, a lone surrogate escape, an integer beyond 64 bits, an id
that is not a Hub repo id, a negative count) becomes a `Rejected` item with its line number and reason; the
lines around it still go through. Lines are parsed with orjson: fast, non-recursive (its depth limit is 1,024)
and strict about surrogates and numbers.
"""

from __future__ import annotations

import hashlib
import multiprocessing
import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
from whichmodel.hub.facts import (
    ModelFacts,
    RecordError,
    derivation_id,
    iso_utc,
    parse_date,
    parse_record,
    read_counters,
)
from whichmodel.hub.workers import forkable, start_worker, worker_count

MAX_LINE_BYTES = 8 * 1024 * 1024
# A snapshot dated later than this ahead of the clock would stay "latest" forever: it is refused.
MAX_CLOCK_SKEW = timedelta(days=1)
# Parallel reading: lines per task, and the smallest models file worth a pool (forking costs a few ms a worker).
CHUNK_LINES = 256
PARALLEL_MIN_BYTES = 1 << 20


class SnapshotError(Exception):
    """A snapshot folder that cannot be read at all (missing folder or models file, bad manifest)."""


@dataclass(frozen=True)
class Parsed:
    """A record that became facts; `prepared` is what the reader's `prepare` made of it (in the worker)."""

    line: int
    facts: ModelFacts
    card_text: str | None
    prepared: Any = None
    record_hash: str | None = None  # see `record_hash`: the store keeps it to know the record again


@dataclass(frozen=True)
class Unchanged:
    """A record whose content, all but its counters, is what the store holds for the model (`record_hash`)."""

    line: int
    model_id: str
    record_hash: str
    downloads: int | None
    downloads_all_time: int | None
    likes: int | None


@dataclass(frozen=True)
class Rejected:
    """A record that did not, and why."""

    line: int
    reason: str
    model_id: str | None = None


@dataclass(frozen=True)
class Snapshot:
    """A snapshot folder and its observation time."""

    path: Path
    observed_at: str
    manifest: dict

    @property
    def models_path(self) -> Path:
        """The records file."""
        return self.path / "models.jsonl"

    @property
    def cards_path(self) -> Path:
        """The cards file (may be empty or absent)."""
        return self.path / "cards.jsonl"


def open_snapshot(path: str | Path, now: datetime | None = None) -> Snapshot:
    """Read a snapshot folder's manifest; the folder's name stands in for a missing `observed_at`.

    Raises:
        SnapshotError: no folder or models file; a manifest that is not a JSON object; an `observed_at` (or
            date-like folder name) that is not a valid date, or lies in the future.
    """
    folder = Path(path)
    if not folder.is_dir():
        raise SnapshotError(f"{folder}: not a folder")
    if not (folder / "models.jsonl").is_file():
        raise SnapshotError(f"{folder}: no models.jsonl")
    manifest: dict = {}
    manifest_path = folder / "manifest.json"
    if manifest_path.is_file():
        try:
            manifest = orjson.loads(manifest_path.read_bytes())
        except orjson.JSONDecodeError as err:
            raise SnapshotError(f"{manifest_path}: not valid JSON ({err})") from err
        if not isinstance(manifest, dict):
            raise SnapshotError(f"{manifest_path}: should be a JSON object, got {type(manifest).__name__}")
    observed = manifest.get("observed_at")
    if observed is not None and not isinstance(observed, str):
        raise SnapshotError(f"{manifest_path}: observed_at should be a date string, got {type(observed).__name__}")
    where = f"{manifest_path}: observed_at" if observed else f"{folder}: folder name"
    observed = observed or folder.name
    try:
        moment = parse_date(observed)
    except ValueError as err:
        if manifest.get("observed_at") or _looks_like_date(observed):
            raise SnapshotError(f"{where} {observed[:40]!r} is not a valid date ({err})") from err
        moment = datetime.fromtimestamp((folder / "models.jsonl").stat().st_mtime, UTC)
    if moment > (now or datetime.now(UTC)) + MAX_CLOCK_SKEW:
        raise SnapshotError(f"{where} {iso_utc(moment)} is in the future")
    return Snapshot(path=folder, observed_at=iso_utc(moment), manifest=manifest)


def _looks_like_date(text: str) -> bool:
    """A name shaped like a date ('2025-13-45'): a typo to report, not a name to replace with the file time."""
    return len(text) >= 8 and text[:4].isdigit() and text[4:5] in "-/." and text[5:6].isdigit()


def _lines(path: Path) -> Iterator[tuple[int, bytes | None, int]]:
    """Numbered raw lines with their length in bytes; None stands for a line over MAX_LINE_BYTES.

    An oversized line is drained in bounded chunks, never held, and its full length still counts, so byte
    offsets of the lines after it stay right.
    """
    with path.open("rb") as handle:
        number = 0
        while True:
            chunk = handle.readline(MAX_LINE_BYTES + 1)
            if not chunk:
                return
            number += 1
            if len(chunk) > MAX_LINE_BYTES and not chunk.endswith(b"\n"):
                size = len(chunk)
                while chunk and not chunk.endswith(b"\n"):  # drain the rest of the oversized line
                    chunk = handle.readline(MAX_LINE_BYTES)
                    size += len(chunk)
                yield number, None, size
                continue
            yield number, chunk, len(chunk)


class CardFile:
    """Byte offsets of each model's card in `cards.jsonl`, so card text is read only when needed.

    Each entry packs a line's offset and length into one int (a smaller index than a tuple); a card is read
    with `os.pread` on one descriptor, which forked readers share safely (no shared file position).
    """

    _SIZE_BITS = 32

    def __init__(self, path: Path):
        self._path = path
        self._fd: int | None = None
        self._offsets: dict[str, int] = {}
        self.rejected: list[Rejected] = []
        if not path.is_file():
            return
        offset = 0
        for number, raw, size in _lines(path):
            start, offset = offset, offset + size
            if raw is None:
                self.rejected.append(Rejected(number, f"cards.jsonl line over {MAX_LINE_BYTES} bytes"))
                continue
            if not raw.strip():
                continue
            try:
                # Only the id is kept here; the text is decoded again on demand. A card that does not parse
                # (bad UTF-8, a lone surrogate, too deep) is reported here, so `get` never meets it.
                head = orjson.loads(raw)
                card_id = head.get("id") if isinstance(head, dict) else None
            except orjson.JSONDecodeError as err:
                self.rejected.append(Rejected(number, f"cards.jsonl: not a valid card record ({err})"))
                continue
            if isinstance(card_id, str):
                self._offsets[card_id] = (start << self._SIZE_BITS) | size

    def __len__(self) -> int:
        return len(self._offsets)

    def get(self, model_id: str) -> str | None:
        """The card text of a model, or None when the snapshot has none."""
        entry = self._offsets.get(model_id)
        if entry is None:
            return None
        if self._fd is None:
            self._fd = os.open(self._path, os.O_RDONLY)
        size = entry & ((1 << self._SIZE_BITS) - 1)
        record = orjson.loads(os.pread(self._fd, size, entry >> self._SIZE_BITS))
        readme = record.get("readme")
        return readme if isinstance(readme, str) else None

    def close(self) -> None:
        """Close the descriptor cards are read with (reading again reopens it)."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


# Record keys that move from one day to the next while the repo stays as it is: `record_hash` leaves them out.
VOLATILE_KEYS = frozenset({"downloads", "downloadsAllTime", "likes", "trendingScore"})
# Model ids -> the record hash the store holds for each of them (those it holds; see `read_snapshot`).
Known = Callable[[list[str]], dict[str, str]]


def record_hash(record: dict, card_text: str | None) -> str:
    """A hash of all a record says but its counters, of its card, and of the rules its facts are derived by.

    Two records with the same hash give the same facts but for the counters, so a store that holds one need
    not parse the other (a new whichmodel with other derivation rules hashes differently and parses again).
    """
    lasting = {k: v for k, v in record.items() if k not in VOLATILE_KEYS}
    # 64 bits: the hash is only ever compared with the one stored for the same model, never looked up among
    # all models, so two records of a model meet by chance once in 2**64 (16 hex digits a model, not 32).
    digest = hashlib.blake2b(orjson.dumps(lasting, option=orjson.OPT_SORT_KEYS), digest_size=8)
    digest.update(b"\x00card\x00" + (card_text or "").encode("utf-8", "surrogatepass"))
    digest.update(derivation_id().encode())
    return digest.hexdigest()


def read_snapshot(
    snapshot: Snapshot,
    with_cards: bool = True,
    workers: int | None = 1,
    prepare: Callable[[Parsed], Any] | None = None,
    known: Known | None = None,
) -> Iterator[Parsed | Unchanged | Rejected]:
    """Stream a snapshot's records as `Parsed` facts, `Unchanged` counters or `Rejected` lines, in file order.

    With `workers` above 1 (None: one per available core), records are parsed in that many forked processes,
    `CHUNK_LINES` lines a task and at most two tasks a worker in flight (memory stays flat in the file's size);
    the items still come in file order, each bad record still a `Rejected` of its own. A process running
    other threads, a platform without fork, or a models file under `PARALLEL_MIN_BYTES` parses here.

    `prepare`, when given, runs on each `Parsed` where it was parsed (a worker, or here) and its answer comes
    back as `Parsed.prepared`: a caller's per-record work (say, the row it stores) spread over the workers too.
    An exception it raises ends the read, as an exception of the caller's own would.

    `known`, when given, is asked once per chunk for the stored record hashes of the chunk's ids: a record
    whose own `record_hash` (which every `Parsed` then carries) is the stored one comes as `Unchanged`, its
    counters read but nothing parsed. It runs where the chunk is parsed, so it must work in a forked process.
    """
    cards = CardFile(snapshot.cards_path) if with_cards else None
    try:
        if cards:
            yield from cards.rejected
        lines = ((number, raw) for number, raw, _size in _lines(snapshot.models_path))
        count = worker_count(workers)
        if count > 1 and forkable() and snapshot.models_path.stat().st_size >= PARALLEL_MIN_BYTES:
            yield from _read_parallel(lines, cards, snapshot.observed_at, count, prepare, known)
            return
        chunk: list[tuple[int, bytes | None]] = []
        for line in lines:
            chunk.append(line)
            if len(chunk) >= CHUNK_LINES:
                yield from _parse_lines(chunk, cards, snapshot.observed_at, prepare, known)
                chunk = []
        yield from _parse_lines(chunk, cards, snapshot.observed_at, prepare, known)
    finally:
        if cards is not None:
            cards.close()


def _parse_lines(
    chunk: list[tuple[int, bytes | None]],
    cards: CardFile | None,
    observed_at: str,
    prepare: Callable[[Parsed], Any] | None = None,
    known: Known | None = None,
) -> list[Parsed | Unchanged | Rejected]:
    """Lines of `models.jsonl` as facts, counters of known records, or why not (blank lines left out)."""
    decoded: list[tuple[int, Any] | Rejected] = []
    for number, raw in chunk:
        if raw is None:
            decoded.append(Rejected(number, f"line longer than {MAX_LINE_BYTES} bytes"))
        elif raw.strip():
            try:
                decoded.append((number, orjson.loads(raw)))
            except orjson.JSONDecodeError as err:
                decoded.append(Rejected(number, _decode_reason(raw, err)))
    hashes: dict[int, tuple[str, str]] = {}  # line -> (model id, record hash)
    if known is not None:
        for entry in decoded:
            if isinstance(entry, Rejected) or not isinstance(entry[1], dict):
                continue
            model_id = entry[1].get("id")
            if isinstance(model_id, str):
                card_text = cards.get(model_id) if cards is not None else None
                hashes[entry[0]] = (model_id, record_hash(entry[1], card_text))
    stored = known(sorted({m for m, _ in hashes.values()})) if hashes else {}
    items: list[Parsed | Unchanged | Rejected] = []
    for entry in decoded:
        if isinstance(entry, Rejected):
            items.append(entry)
            continue
        number, record = entry
        model_id, digest = hashes.get(number, (None, None))
        if digest is not None and stored.get(model_id) == digest:  # per line: an id may come twice, changed
            try:
                items.append(Unchanged(number, model_id, digest, *read_counters(record)))
                continue
            except RecordError:
                pass  # parsed below, which rejects it with the same words
        items.append(_parse_record(number, record, cards, observed_at, prepare, digest))
    return items


def _parse_record(
    number: int,
    record: Any,
    cards: CardFile | None,
    observed_at: str,
    prepare: Callable[[Parsed], Any] | None,
    digest: str | None,
) -> Parsed | Rejected:
    """One decoded record as facts, or why not."""
    model_id = record.get("id") if isinstance(record, dict) else None
    try:
        card_text = cards.get(model_id) if cards is not None and isinstance(model_id, str) else None
        facts = parse_record(record, card_text=card_text, observed_at=observed_at)
    except RecordError as err:
        return Rejected(number, str(err), model_id if isinstance(model_id, str) else None)
    parsed = Parsed(number, facts, card_text, None, digest)
    return Parsed(number, facts, card_text, prepare(parsed), digest) if prepare is not None else parsed


# What a forked reader needs, set once per worker (inherited, never pickled).
_READER: dict = {}


def _read_parallel(
    lines: Iterable[tuple[int, bytes | None]],
    cards: CardFile | None,
    observed_at: str,
    workers: int,
    prepare: Callable[[Parsed], Any] | None,
    known: Known | None,
) -> Iterator[Parsed | Unchanged | Rejected]:
    """`_parse_lines` over chunks of lines in forked workers, yielded in input order."""
    pool = ProcessPoolExecutor(
        max_workers=workers,
        mp_context=multiprocessing.get_context("fork"),
        initializer=_start_reader,
        initargs=(cards, observed_at, prepare, known, os.getpid()),
    )
    in_flight: deque = deque()
    chunk: list[tuple[int, bytes | None]] = []
    try:
        for line in lines:
            chunk.append(line)
            if len(chunk) < CHUNK_LINES:
                continue
            in_flight.append(pool.submit(_parse_chunk, chunk))
            chunk = []
            while len(in_flight) > 2 * workers:
                yield from in_flight.popleft().result()
        if chunk:
            in_flight.append(pool.submit(_parse_chunk, chunk))
        while in_flight:
            yield from in_flight.popleft().result()
    finally:
        pool.shutdown(cancel_futures=True)


def _start_reader(
    cards: CardFile | None, observed_at: str, prepare: Callable | None, known: Known | None, parent: int
) -> None:
    _READER.update(cards=cards, observed_at=observed_at, prepare=prepare, known=known)
    start_worker(parent)


def _parse_chunk(chunk: list[tuple[int, bytes | None]]) -> list[Parsed | Unchanged | Rejected]:
    return _parse_lines(chunk, _READER["cards"], _READER["observed_at"], _READER["prepare"], _READER["known"])


def _decode_reason(raw: bytes, err: orjson.JSONDecodeError) -> str:
    """A line's parse error in words: bad UTF-8 with its byte, else the parser's message and column."""
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as bad:
        return f"invalid UTF-8 at byte {bad.start}"
    hint = " (truncated last line?)" if not raw.endswith(b"\n") else ""
    return f"malformed JSON: {err.msg} at column {err.colno}{hint}"
