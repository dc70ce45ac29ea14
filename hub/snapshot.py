"""Read a recorded snapshot folder: `manifest.json`, `models.jsonl`, `cards.jsonl`.

Records stream one line at a time. A bad line (invalid UTF-8, malformed or truncated JSON, wrong field types,
an oversized line) becomes a `Rejected` item with its line number and reason; the lines around it still go
through.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from whichmodel.hub.facts import ModelFacts, RecordError, iso_utc, parse_date, parse_record

MAX_LINE_BYTES = 8 * 1024 * 1024


class SnapshotError(Exception):
    """A snapshot folder that cannot be read at all (missing folder or models file, bad manifest)."""


@dataclass(frozen=True)
class Parsed:
    """A record that became facts."""

    line: int
    facts: ModelFacts
    card_text: str | None


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


def open_snapshot(path: str | Path) -> Snapshot:
    """Read a snapshot folder's manifest; the folder's name stands in for a missing `observed_at`."""
    folder = Path(path)
    if not folder.is_dir():
        raise SnapshotError(f"{folder}: not a folder")
    if not (folder / "models.jsonl").is_file():
        raise SnapshotError(f"{folder}: no models.jsonl")
    manifest: dict = {}
    manifest_path = folder / "manifest.json"
    if manifest_path.is_file():
        try:
            manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as err:
            raise SnapshotError(f"{manifest_path}: not valid JSON ({err})") from err
    observed = manifest.get("observed_at") or folder.name
    try:
        observed_at = iso_utc(parse_date(str(observed)))
    except ValueError:
        stamp = datetime.fromtimestamp((folder / "models.jsonl").stat().st_mtime, UTC)
        observed_at = iso_utc(stamp)
    return Snapshot(path=folder, observed_at=observed_at, manifest=manifest)


def _lines(path: Path) -> Iterator[tuple[int, bytes | None]]:
    """Numbered raw lines; None stands for a line over MAX_LINE_BYTES (skipped without holding it)."""
    with path.open("rb") as handle:
        number = 0
        while True:
            chunk = handle.readline(MAX_LINE_BYTES + 1)
            if not chunk:
                return
            number += 1
            if len(chunk) > MAX_LINE_BYTES and not chunk.endswith(b"\n"):
                while chunk and not chunk.endswith(b"\n"):  # drain the rest of the oversized line
                    chunk = handle.readline(MAX_LINE_BYTES)
                yield number, None
                continue
            yield number, chunk


class CardFile:
    """Byte offsets of each model's card in `cards.jsonl`, so card text is read only when needed."""

    def __init__(self, path: Path):
        self._path = path
        self._offsets: dict[str, int] = {}
        self.rejected: list[Rejected] = []
        if not path.is_file():
            return
        offset = 0
        for number, raw in _lines(path):
            if raw is None:
                self.rejected.append(Rejected(number, f"cards.jsonl line over {MAX_LINE_BYTES} bytes"))
                continue
            start, offset = offset, offset + len(raw)
            if not raw.strip():
                continue
            try:
                # Only the id is needed here; the text is decoded again on demand.
                head = json.loads(raw)
                card_id = head.get("id") if isinstance(head, dict) else None
            except (json.JSONDecodeError, UnicodeDecodeError) as err:
                self.rejected.append(Rejected(number, f"cards.jsonl: {err.__class__.__name__}: {err}"))
                continue
            if isinstance(card_id, str):
                self._offsets[card_id] = start

    def __len__(self) -> int:
        return len(self._offsets)

    def get(self, model_id: str) -> str | None:
        """The card text of a model, or None when the snapshot has none."""
        start = self._offsets.get(model_id)
        if start is None:
            return None
        with self._path.open("rb") as handle:
            handle.seek(start)
            record = json.loads(handle.readline())
        readme = record.get("readme")
        return readme if isinstance(readme, str) else None


def read_snapshot(snapshot: Snapshot, with_cards: bool = True) -> Iterator[Parsed | Rejected]:
    """Stream a snapshot's records as `Parsed` facts or `Rejected` lines, in file order."""
    cards = CardFile(snapshot.cards_path) if with_cards else None
    if cards:
        yield from cards.rejected
    for number, raw in _lines(snapshot.models_path):
        if raw is None:
            yield Rejected(number, f"line longer than {MAX_LINE_BYTES} bytes")
            continue
        if not raw.strip():
            continue
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as err:
            yield Rejected(number, f"invalid UTF-8 at byte {err.start}")
            continue
        try:
            record = json.loads(text)
        except json.JSONDecodeError as err:
            truncated = not raw.endswith(b"\n")
            hint = " (truncated last line?)" if truncated else ""
            yield Rejected(number, f"malformed JSON: {err.msg} at column {err.colno}{hint}")
            continue
        model_id = record.get("id") if isinstance(record, dict) else None
        try:
            card_text = cards.get(model_id) if cards is not None and isinstance(model_id, str) else None
            facts = parse_record(record, card_text=card_text, observed_at=snapshot.observed_at)
        except RecordError as err:
            yield Rejected(number, str(err), model_id if isinstance(model_id, str) else None)
            continue
        yield Parsed(number, facts, card_text)
