"""Cut a model card into search chunks: one per section, long sections split to fit the embedder.

Chunk ids are stable (model id + section + content hash), so re-indexing a card embeds only the chunks
whose text changed and removes the ones that disappeared.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass

from whichmodel.hub.card import parse_card

MAX_TOKENS = 240  # under the embedder's 256, leaving room for [CLS]/[SEP] and the heading line
METADATA_KEYS = ("license", "license_name", "license_link", "base_model", "datasets", "language", "tags",
                 "pipeline_tag", "library_name", "metrics")  # fmt: skip


def approx_tokens(text: str) -> int:
    """A word-piece estimate (about 1.3 pieces per word) for when no tokenizer is at hand."""
    return int(len(re.findall(r"\w+|[^\w\s]", text)) * 1.3) + 2


@dataclass(frozen=True)
class Chunk:
    """A piece of a card to embed and index."""

    id: str
    model_id: str
    section: str
    text: str


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:48] or "top"


_LEVELS = (
    lambda t: [p for p in re.split(r"\n\s*\n", t) if p.strip()],  # paragraphs
    lambda t: [p for p in re.split(r"(?<=[.!?])\s+|\n", t) if p.strip()],  # sentences and lines
    lambda t: t.split(),  # words
)


def _split(text: str, budget: int, count: Callable[[str], int], level: int = 0) -> list[str]:
    """Split by paragraph, then sentence, then word, then characters, so each piece fits the budget.

    Each level only ever passes smaller units down, and the last cuts characters, so it always ends.
    """
    if count(text) <= budget:
        return [text]
    if level >= len(_LEVELS):
        width = max(16, budget * 2)  # a word piece is rarely under two characters
        return [text[i : i + width] for i in range(0, len(text), width)]
    joiner = (" ", "\n\n", " ", " ")[min(level, 3)] if level != 0 else "\n\n"
    pieces: list[str] = []
    current = ""
    for unit in _LEVELS[level](text):
        candidate = f"{current}{joiner}{unit}" if current else unit
        if count(candidate) <= budget:
            current = candidate
            continue
        if current:
            pieces.append(current)
            current = ""
        if count(unit) <= budget:
            current = unit
        else:
            pieces.extend(_split(unit, budget, count, level + 1))
    if current:
        pieces.append(current)
    return pieces


def chunk_card(model_id: str, text: str, count: Callable[[str], int] = approx_tokens) -> list[Chunk]:
    """The chunks of one card: a metadata chunk from the front matter, then each section with content."""
    card = parse_card(text)
    chunks: list[Chunk] = []
    seen: set[str] = set()

    def add(section: str, body: str) -> None:
        body = body.strip()
        if not body:
            return
        for part in _split(body, MAX_TOKENS - count(section), count):
            content = f"{section}\n{part}" if section else part
            digest = hashlib.sha1(content.encode("utf-8", "surrogatepass")).hexdigest()[:12]
            chunk_id = f"{model_id}|{_slug(section)}|{digest}"
            if chunk_id not in seen:
                seen.add(chunk_id)
                chunks.append(Chunk(chunk_id, model_id, section or "(top)", content))

    meta = [f"{k}: {card.front_matter[k]}" for k in METADATA_KEYS if card.front_matter.get(k) not in (None, "", [])]
    if meta:
        add("metadata", "\n".join(meta))
    code_by_section: dict[str, list[str]] = {}
    for block in card.code_blocks:
        code_by_section.setdefault(block.section, []).append(block.code[:1500])
    for section in card.prose_sections:
        prose = "\n".join(
            line for line in section.text.splitlines() if line.strip() and not line.lstrip().startswith("<")
        )
        code = "\n".join(code_by_section.get(section.heading, []))
        add(section.heading, f"{prose}\n{code}" if code else prose)
    return chunks
