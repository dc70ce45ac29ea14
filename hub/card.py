"""Model cards: parse README text into front matter, sections and code, and extract card facts with quotes.

The heuristic extractor here is the offline default. Each fact it reports carries the quoted text that
supports it and where that text stands, so a score built on it can be audited.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cached_property

import yaml

CARD_FACT_KINDS = (
    "description",
    "metrics",
    "datasets",
    "base_model",
    "training",
    "evaluation",
    "example_code",
    "limitations",
)

# Text that template generators leave in place of content; it is not prose.
PLACEHOLDERS = re.compile(
    r"^\s*(\[?more information needed\]?|\[?needs more information\]?|todo|tbd|n/?a|coming soon\.?|"
    r"\{\{.*\}\}|<!--.*-->)\s*$",
    re.IGNORECASE,
)


def fold_case(text: str) -> str:
    r"""`text` with each character that IGNORECASE matches to an ASCII letter replaced by that letter in lower case.

    The result has the same length and positions, and `\w`, `\d`, `\s` read it as they read `text`: a pattern
    of lowercase ASCII literals compiled without IGNORECASE finds in it exactly the spans that the IGNORECASE
    pattern finds in `text`, several times faster (IGNORECASE defeats the regex engine's literal-prefix scan).
    Besides A-Z, IGNORECASE matches four characters to ASCII letters: U+0130 and U+0131 to i, U+017F to s and
    U+212A (Kelvin) to k; `str.lower` already maps the last, and lowers U+0130 to two characters.
    """
    if text.isascii():
        return text.lower()
    if "\u0130" in text:
        text = text.replace("\u0130", "i")
    return text.lower().replace("\u0131", "i").replace("\u017f", "s")


def folded(pattern: re.Pattern) -> re.Pattern:
    """The IGNORECASE `pattern` compiled to run on `fold_case` text (its literals are lowercase ASCII)."""
    return re.compile(pattern.pattern, pattern.flags & ~re.IGNORECASE)


_PLACEHOLDER = folded(PLACEHOLDERS)
# libyaml's loader when PyYAML was built with it (about ten times faster), else the pure-Python one.
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
# Only the marker is matched by a regex; the closing #s are stripped in Python (`_heading`). The old one-regex
# form, `(.*?)\s*#*\s*$`, backtracked cubically on a heading line padded with spaces.
_HEADING = re.compile(r"(#{1,6})[ \t]+")
_FENCE = re.compile(r"^\s*(```|~~~)\s*([\w+-]*)")
_QUOTE_MAX = 240


@dataclass
class Section:
    """A heading with the prose under it (code blocks and sub-headings excluded)."""

    heading: str
    level: int
    text: str
    code_blocks: int = 0

    @cached_property
    def folded(self) -> str:
        """`text` through `fold_case`, for the card patterns (worked out once per section)."""
        return fold_case(self.text)

    @cached_property
    def folded_heading(self) -> str:
        """`heading` through `fold_case`."""
        return fold_case(self.heading)

    @property
    def has_prose(self) -> bool:
        """A heading counts only when real prose (or code, which is content too) follows it."""
        return self.code_blocks > 0 or any(
            line.strip() and not _PLACEHOLDER.match(line) for line in self.folded.splitlines()
        )


@dataclass
class CodeBlock:
    """A fenced code block and the section it stands in."""

    lang: str
    code: str
    section: str


@dataclass
class ParsedCard:
    """A model card split into its parts."""

    front_matter: dict
    front_matter_error: str | None
    sections: list[Section]
    code_blocks: list[CodeBlock]
    words: int
    body: str

    @cached_property
    def prose_sections(self) -> list[Section]:
        """Sections whose heading is followed by prose (worked out once: every fact lookup reads them)."""
        return [s for s in self.sections if s.has_prose]


@dataclass
class CardFact:
    """One answer read from a card: whether it is there, the quote that says so, and where it stands."""

    present: bool
    quote: str | None = None
    where: str | None = None
    extractor: str = "heuristic"

    def to_dict(self) -> dict:
        """Plain-dict form for JSON."""
        return {"present": self.present, "quote": self.quote, "where": self.where, "extractor": self.extractor}


@dataclass
class CardFacts:
    """The card facts of one model."""

    words: int
    prose_sections: list[str]
    code_blocks: int
    front_matter_keys: list[str]
    facts: dict[str, CardFact] = field(default_factory=dict)

    def to_dict(self) -> dict:
        """Plain-dict form for JSON."""
        return {
            "words": self.words,
            "prose_sections": self.prose_sections,
            "code_blocks": self.code_blocks,
            "front_matter_keys": self.front_matter_keys,
            "facts": {k: v.to_dict() for k, v in self.facts.items()},
        }

    @classmethod
    def from_dict(cls, data: dict) -> CardFacts:
        """Inverse of `to_dict`."""
        return cls(
            words=data["words"],
            prose_sections=list(data["prose_sections"]),
            code_blocks=data["code_blocks"],
            front_matter_keys=list(data["front_matter_keys"]),
            facts={k: CardFact(**v) for k, v in data.get("facts", {}).items()},
        )


def _uses_aliases(raw: str) -> bool:
    """Whether YAML text refers to an anchor (`*name`). Read as events only, so nothing is expanded.

    A few hundred bytes of nested aliases expand to gigabytes once the front matter is copied, printed or
    serialized ("billion laughs"); a model card has no need for them, so front matter with aliases is
    reported and not used.
    """
    if "*" not in raw:  # the cheap common case: no alias can be present
        return False
    return any(isinstance(event, yaml.AliasEvent) for event in yaml.parse(raw, Loader=_YAML_LOADER))


def split_front_matter(text: str, parsed: dict | None = None) -> tuple[dict, str | None, str]:
    """Split YAML front matter from the body. Bad YAML is reported, never raised.

    `parsed` is the front matter as already parsed elsewhere (the Hub's `cardData`): then the YAML is not
    parsed again.
    """
    if not text.startswith("---"):
        return {}, None, text
    end = text.find("\n---", 3)
    if end < 0:
        return {}, "front matter is not closed", text
    raw = text[3:end]
    body = text[end + 4 :].lstrip("-\n")
    if parsed is not None:
        return parsed, None, body
    try:
        if _uses_aliases(raw):
            return {}, "front matter uses YAML aliases, which are not expanded", body
        data = yaml.load(raw, Loader=_YAML_LOADER)  # noqa: S506 (a safe loader)
    except yaml.YAMLError as err:
        first = str(err).splitlines()[0] if str(err) else "invalid YAML"
        return {}, f"front matter is not valid YAML: {first}", body
    except RecursionError:
        return {}, "front matter is nested too deeply", body
    if data is None:
        return {}, None, body
    if not isinstance(data, dict):
        return {}, "front matter is not a mapping", body
    return data, None, body


def _heading(line: str) -> tuple[int, str] | None:
    """An ATX heading's level and title ('## Usage ##' -> (2, 'Usage')), or None; linear in the line."""
    marker = _HEADING.match(line)
    if marker is None:
        return None
    return len(marker.group(1)), line[marker.end() :].rstrip().rstrip("#").strip()


def parse_card(text: str, front_matter: dict | None = None) -> ParsedCard:
    """Parse a model card's Markdown into front matter, sections and code blocks.

    Pass `front_matter` when it is already known (the Hub's `cardData` is the parsed front matter).
    """
    front, error, body = split_front_matter(text or "", front_matter)
    sections: list[Section] = []
    blocks: list[CodeBlock] = []
    current = Section(heading="", level=0, text="")
    prose: list[str] = []
    fence: str | None = None
    lang = ""
    code: list[str] = []
    for line in body.splitlines():
        if fence is not None:
            if line.strip().startswith(fence):
                blocks.append(CodeBlock(lang=lang, code="\n".join(code), section=current.heading))
                current.code_blocks += 1
                fence, code = None, []
            else:
                code.append(line)
            continue
        opened = _FENCE.match(line) if "```" in line or "~~~" in line else None
        if opened:
            fence, lang, code = opened.group(1), opened.group(2).lower(), []
            continue
        heading = _heading(line) if line.startswith("#") else None
        if heading:
            current.text = "\n".join(prose)
            sections.append(current)
            current = Section(heading=heading[1], level=heading[0], text="")
            prose = []
            continue
        prose.append(line)
    if fence is not None:  # an unclosed fence still holds code
        blocks.append(CodeBlock(lang=lang, code="\n".join(code), section=current.heading))
        current.code_blocks += 1
    current.text = "\n".join(prose)
    sections.append(current)
    words = count_words(body)
    return ParsedCard(
        front_matter=front,
        front_matter_error=error,
        sections=[s for s in sections if s.heading or s.text.strip()],
        code_blocks=blocks,
        words=words,
        body=body,
    )


_WORD = re.compile(r"\w+")
# ASCII word characters (what `\w` matches below 128) to "w", everything else to a space.
_WORD_BYTES = bytes(ord("w") if chr(b).isalnum() or chr(b) == "_" else ord(" ") for b in range(128)) + b" " * 128


def count_words(text: str) -> int:
    r"""How many runs of word characters (`\w+`) the text holds."""
    if text.isascii():  # count the starts of runs in a byte mask, without making a string per word
        mask = text.encode("ascii").translate(_WORD_BYTES)
        return mask.count(b" w") + mask.startswith(b"w")
    return len(_WORD.findall(text))


def _quote(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _QUOTE_MAX else text[: _QUOTE_MAX - 1] + "…"


def _first_line(section: Section) -> str:
    for line, low in zip(section.text.splitlines(), section.folded.splitlines(), strict=True):
        if line.strip() and not _PLACEHOLDER.match(low):
            return line
    return section.text


def _find_section(card: ParsedCard, pattern: _Rule) -> Section | None:
    """The first prose section whose heading matches `pattern`."""
    for section in card.prose_sections:
        if section.heading and pattern.search(section.folded_heading):
            return section
    return None


def _find_line(card: ParsedCard, pattern: _Rule) -> tuple[str, str] | None:
    """The first prose line that `pattern` matches, and its section's heading."""
    for section in card.prose_sections:
        # One search of the whole section skips it when no line can match (the patterns have no anchors, so
        # a match in a line is a match in the text); only a section that matches is read line by line.
        if not pattern.search(section.folded):
            continue
        for line, low in zip(section.text.splitlines(), section.folded.splitlines(), strict=True):
            if pattern.search(low) and not _PLACEHOLDER.match(low):
                return line, section.heading or "(top)"
    return None


def _front(card: ParsedCard, *keys: str) -> tuple[str, object] | None:
    for key in keys:
        value = card.front_matter.get(key)
        if value not in (None, "", [], {}):
            return key, value
    return None


_H_METRICS = re.compile(r"metric|result|benchmark|evaluat|performance|score", re.I)
_L_METRICS = re.compile(
    r"\b(accuracy|acc|f1|bleu|rouge|wer|cer|perplexity|exact match|mmlu|hellaswag|arc|gsm8k|truthfulqa|"
    r"winogrande|humaneval|ndcg|auc|recall|pass@1)\b[^\n]{0,40}\d",
    re.I,
)
_H_DATASETS = re.compile(r"data ?set|training data|corpus|data\b", re.I)
_L_DATASETS = re.compile(
    r"(trained|fine-?tuned|pre-?trained)\s+(on|using)\b|\bdataset\b|huggingface\.co/datasets/", re.I
)
_L_BASE = re.compile(
    r"fine-?tuned (version|variant) of|based on\b|derived from|merge of|quantiz\w+ (version )?of|"
    r"finetune of|adapter for|lora (for|of|on)",
    re.I,
)
_H_TRAINING = re.compile(r"train|fine-?tun|procedure|hyper-?param|alignment|rlhf|dpo|sft", re.I)
_L_TRAINING = re.compile(
    r"\b(learning[_ ]rate|epochs?|batch[_ ]size|optimizer|rlhf|dpo|orpo|sft|supervised fine-?tuning|"
    r"trained (with|using|for)|fine-?tuned (with|using|for|on))\b",
    re.I,
)
_H_EVAL = re.compile(r"evaluat|result|benchmark|performance|leaderboard", re.I)
_H_LIMITS = re.compile(r"limitation|bias|risk|intended use|out[- ]of[- ]scope|ethic|misuse|safety|responsible", re.I)
_L_LIMITS = re.compile(r"\b(limitations?|biases|not intended|should not be used|out-of-scope)\b", re.I)


class _Rule:
    r"""A card pattern as run: on `fold_case` text, without IGNORECASE, behind an optional looser pattern.

    The looser pattern matches wherever the exact one does (it drops a leading `\b` or spreads a group over
    its alternatives) and starts with a literal, which the regex engine finds by a fast scan; the exact pattern
    is then tried only from the first place the looser one matched.
    """

    def __init__(self, exact: re.Pattern, loose: str | None = None):
        self.exact = folded(exact)
        self.loose = re.compile(loose) if loose else None

    def search(self, text: str) -> re.Match | None:
        """The exact pattern's first match in `fold_case` text, or None."""
        if self.loose is None:
            return self.exact.search(text)
        hit = self.loose.search(text)
        return hit and self.exact.search(text, hit.start())


def _without_leading_boundary(pattern: re.Pattern) -> str:
    if not pattern.pattern.startswith(r"\b"):
        raise ValueError(f"{pattern.pattern!r} does not start with \\b")
    return pattern.pattern[2:]


_RULES = {
    _H_METRICS: _Rule(_H_METRICS),
    _L_METRICS: _Rule(_L_METRICS, _without_leading_boundary(_L_METRICS)),
    _H_DATASETS: _Rule(_H_DATASETS),
    _L_DATASETS: _Rule(
        _L_DATASETS,
        r"trained\s+(on|using)\b|fine-?tuned\s+(on|using)\b|pre-?trained\s+(on|using)\b|dataset\b|"
        r"huggingface\.co/datasets/",
    ),
    _L_BASE: _Rule(_L_BASE),
    _H_TRAINING: _Rule(_H_TRAINING),
    _L_TRAINING: _Rule(_L_TRAINING, _without_leading_boundary(_L_TRAINING)),
    _H_EVAL: _Rule(_H_EVAL),
    _H_LIMITS: _Rule(_H_LIMITS),
    _L_LIMITS: _Rule(_L_LIMITS, _without_leading_boundary(_L_LIMITS)),
}
_CODE_LANGS = {"python", "py", "bash", "sh", "shell", "console", "javascript", "js", "ts", ""}
_CODE_HINT = re.compile(r"\b(import|from|pipeline|from_pretrained|pip install|generate|curl|model)\b")


def _model_index_results(card: ParsedCard) -> list:
    index = card.front_matter.get("model-index")
    results: list = []
    if isinstance(index, list):
        for entry in index:
            if isinstance(entry, dict) and isinstance(entry.get("results"), list):
                results.extend(entry["results"])
    return results


def extract_card_facts(card: ParsedCard) -> CardFacts:
    """The heuristic extractor: headings, keywords, front-matter fields and code fences."""
    facts: dict[str, CardFact] = {}

    def from_front(kind: str, *keys: str) -> bool:
        hit = _front(card, *keys)
        if hit:
            facts[kind] = CardFact(True, _quote(f"{hit[0]}: {hit[1]}"), f"front matter `{hit[0]}`")
        return bool(hit)

    def from_text(kind: str, heading: re.Pattern | None, line: re.Pattern | None) -> bool:
        section = _find_section(card, _RULES[heading]) if heading else None
        if section is not None:
            facts[kind] = CardFact(True, _quote(_first_line(section)), f"section '{section.heading}'")
            return True
        found = _find_line(card, _RULES[line]) if line else None
        if found:
            facts[kind] = CardFact(True, _quote(found[0]), f"section '{found[1]}'")
            return True
        return False

    results = _model_index_results(card)
    if results:
        first = results[0] if isinstance(results[0], dict) else {}
        metrics = first.get("metrics") if isinstance(first, dict) else None
        quote = _quote(f"model-index: {metrics[0] if isinstance(metrics, list) and metrics else first}")
        facts["evaluation"] = CardFact(True, quote, "front matter `model-index`")
    for kind, keys, heading, line in (
        ("metrics", ("metrics",), _H_METRICS, _L_METRICS),
        ("datasets", ("datasets",), _H_DATASETS, _L_DATASETS),
        ("base_model", ("base_model",), None, _L_BASE),
        ("training", (), _H_TRAINING, _L_TRAINING),
        ("evaluation", (), _H_EVAL, _L_METRICS),
        ("limitations", (), _H_LIMITS, _L_LIMITS),
    ):
        if kind in facts:
            continue
        if not (keys and from_front(kind, *keys)) and not from_text(kind, heading, line):
            facts[kind] = CardFact(False)
    if "metrics" in facts and not facts["metrics"].present and results:
        facts["metrics"] = CardFact(True, facts["evaluation"].quote, "front matter `model-index`")

    example = next(
        (b for b in card.code_blocks if b.lang in _CODE_LANGS and _CODE_HINT.search(b.code)),
        None,
    )
    facts["example_code"] = (
        CardFact(True, _quote(example.code), f"code block in '{example.section or '(top)'}'")
        if example
        else CardFact(False)
    )
    intro = next((s for s in card.prose_sections if s.level <= 1 and s.text.strip()), None)
    facts["description"] = (
        CardFact(True, _quote(_first_line(intro)), f"section '{intro.heading or '(top)'}'")
        if intro
        else CardFact(False)
    )
    return CardFacts(
        words=card.words,
        prose_sections=[s.heading for s in card.prose_sections if s.heading],
        code_blocks=len(card.code_blocks),
        front_matter_keys=sorted(str(k) for k in card.front_matter),
        facts=facts,
    )


# ------------------------------------------------------------------------------------------------ size sentences
_SIZE_MENTION = re.compile(r"(?<![\w./-])(\d{1,4}(?:\.\d{1,2})?)\s?(b|m|billion|million)(?:[\s-]+param)", re.I)
# Words before the number that make it a bound, a range or a comparison rather than this model's size.
_NOT_OWN_SIZE = re.compile(
    r"\b(less|fewer|more|smaller|larger|bigger|greater)\s+than\b|\bthan\b|\bup\s+to\b|\bat\s+(most|least)\b|"
    r"\b(under|over|below|above|between|ranging|range|ranges|from|sizes|families|collection|suite|compared|"
    r"versus|vs|outperform\w*)\b",
    re.I,
)
# Every size mention holds this word (IGNORECASE): a card without it states no size.
_SIZE_WORD = "param"
_BOUND_AFTER = re.compile(r"^\w*\W+(?:(or|and)\s+(more|fewer|less|above|below)|than)\b", re.I)
_SENTENCE = re.compile(r"[^.!?\n|]+(?:\.(?=\d)[^.!?\n|]*)*")


def size_sentence(text: str) -> tuple[float, str] | None:
    """This model's size in billions as a card sentence states it, with the sentence; None when none does.

    A number counts only when its sentence states one parameter count and no bound, range, family or
    comparison before it:
    "a 2.7 billion parameter model" counts, "among models with less than 13 billion parameters" and
    "ranging from 7 billion to 70 billion parameters" do not. Table rows and URLs are skipped.
    """
    low = fold_case(text)
    if _SIZE_WORD not in low:
        return None
    for line, low_line in zip(text.splitlines(), low.splitlines(), strict=True):
        if _SIZE_WORD not in low_line:
            continue  # no sentence of this line can mention a size
        if line.lstrip().startswith("|") and line.count("|") > 3:
            continue  # a table row compares sizes (a two-column "| Model Size | 8B |" row is read below)
        for sentence in _SENTENCE.findall(line):
            match = _SIZE_MENTION.search(sentence)
            if not match or len(_SIZE_MENTION.findall(sentence)) != 1:
                continue
            if _NOT_OWN_SIZE.search(sentence[: match.start()]) or _BOUND_AFTER.search(sentence[match.end() :]):
                continue
            unit = match.group(2).lower()
            value = float(match.group(1)) / (1000 if unit.startswith("m") else 1)
            if value > 0:
                return value, " ".join(sentence.split())[:240]
    return None
