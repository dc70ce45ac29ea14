"""Parse a question into an intent, slots and the requirements that were not understood, for the offline planner.

Intents: recommend, compare, explain, trend, cards, score, help, out_of_scope (and `followup` handling in the
planner). Slots: size ("7B", or a parameter range for "under 3B", "small"), memory ("fits a 24 GB GPU", with
its precision), license words (permissive, commercial use, apache, MIT, non-commercial ...), task words from
`data/vocabulary.yaml`, language, lineage ("fine-tunes of phi-2"), findings ("which might be typosquats"),
access ("not gated"), minimum downloads, the ranking criterion (safest, most popular, best documented ...),
model names (full ids, bare, spaced or misspelt names resolved against the database by the caller), periods
("in 2024", "since Llama 3"), trend view, unit, families and what-if targets ("reach 9 overall").

Every requirement a question states becomes a slot or an entry of `Plan.not_applied` with the reason, so the
answer can say "Not applied: 'for my phone' (no per-device data)". Questions are limited to
`MAX_QUESTION_CHARS`; every pattern here is linear in the input (no unbounded wildcard between two literals).
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from importlib import resources

import yaml
from rapidfuzz.distance import OSA

INTENTS = ("recommend", "compare", "explain", "trend", "cards", "score", "followup", "help", "out_of_scope")
MAX_QUESTION_CHARS = 1000


class QuestionTooLong(ValueError):
    """A question over `MAX_QUESTION_CHARS`; the message says the limit."""


# Terminal control sequences (CSI "ESC [ ... m", OSC "ESC ] ... BEL", two-byte escapes) and the other control
# characters a pasted question can carry: read as a space, so "\x1b[31m" leaves no "31m" to read as a size.
_CONTROLS = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[@-_]?|\x9b[0-?]*[ -/]*[@-~]|"
                       r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def strip_controls(text: str) -> str:
    """The question without terminal control sequences and control characters (tabs and newlines stay)."""
    return _CONTROLS.sub(" ", text)


def check_length(text: str) -> None:
    """Refuse a question longer than the limit, before any pattern reads it."""
    if len(text) > MAX_QUESTION_CHARS:
        raise QuestionTooLong(
            f"Questions are limited to {MAX_QUESTION_CHARS:,} characters; this one has {len(text):,}. "
            "Ask about one thing at a time."
        )


@dataclass
class NotApplied:
    """A requirement of the question that no filter, sort or reference answers."""

    phrase: str
    reason: str

    def line(self) -> str:
        """The answer's line for it."""
        return f"Not applied: '{self.phrase}' ({self.reason})."


@dataclass
class Plan:
    """What the planner understood, and what it did not."""

    intent: str
    slots: dict = field(default_factory=dict)
    models: list[str] = field(default_factory=list)
    unresolved: list[str] = field(default_factory=list)
    not_applied: list[NotApplied] = field(default_factory=list)


# libyaml's loader where PyYAML has it: the same data, parsed five times faster (40 ms saved on a CLI `ask`).
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@lru_cache(maxsize=1)
def vocabulary() -> dict:
    """The word tables (tasks, languages, findings, unsupported requests) from `data/vocabulary.yaml`."""
    text = resources.files("whichmodel.agent").joinpath("data/vocabulary.yaml").read_text(encoding="utf-8")
    return yaml.load(text, Loader=_YAML_LOADER)


def load_releases() -> list[dict]:
    """The big releases the trend views know ("since Llama 3"); the views module is loaded on first use."""
    from whichmodel.trends import views

    return views.load_releases()


_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af\uf900-\ufaff]")


def _phrase_pattern(words: list[str]) -> re.Pattern:
    """One alternation of literal phrases, longest first, on word boundaries (linear: no nested repeats).

    Chinese, Japanese and Korean phrases match inside a run of their script: it has no spaces between words
    ("最好的中文文本生成模型" holds 中文 and 文本生成).
    """
    ordered = sorted({w.lower() for w in words}, key=len, reverse=True)
    spaced = "|".join(re.escape(w).replace(r"\ ", r"[\s-]") for w in ordered if not _CJK.search(w))
    unspaced = "|".join(re.escape(w) for w in ordered if _CJK.search(w))
    body = r"(?<![\w.])(?:" + (spaced or "(?!)") + r")(?![\w])"
    return re.compile(body + (f"|(?:{unspaced})" if unspaced else ""))


@lru_cache(maxsize=1)
def _tables() -> dict:
    vocab = vocabulary()

    def index(entries: list[dict], value: Callable[[dict], object]) -> tuple[re.Pattern, dict]:
        lookup = {}
        for entry in entries:
            for word in entry["words"]:
                lookup[re.sub(r"[\s-]+", " ", word.lower())] = value(entry)
        return _phrase_pattern(list(lookup)), lookup

    langs = {name: code for name, code in vocab["languages"].items()}
    gpus = {str(name).lower(): float(gb) for name, gb in vocab["gpus"].items()}
    return {
        "tasks": index(vocab["tasks"], lambda e: e),
        "findings": index(vocab["findings"], lambda e: e["finding"]),
        "formats": index(vocab["formats"], lambda e: (e["kinds"], bool(e.get("runtime")))),
        "unsupported": index(vocab["unsupported"], lambda e: e["reason"]),
        "languages": (_phrase_pattern(list(langs)), langs),
        "gpus": (_phrase_pattern(list(gpus)), gpus),
    }


@lru_cache(maxsize=1)
def _keywords() -> frozenset[str]:
    """Words a misspelling may be corrected to: `keywords` and the single words of the task and finding tables.

    Languages count too; only words of 5 letters or more (shorter ones are too close to too many others).
    """
    vocab = vocabulary()
    words = set(vocab["keywords"]) | set(vocab["languages"])
    for table in ("tasks", "findings"):
        for entry in vocab[table]:
            for phrase in entry["words"]:
                words.update(re.findall(r"[a-z]+", phrase.lower()))
    return frozenset(w for w in words if len(w) >= 5 and w.isalpha())


_WORD = re.compile(r"(?<![\w/.\-])[a-z]{5,}(?![\w/\-])", re.I)


def correct_typos(text: str, keep: Callable[[str], bool] | None = None) -> str:
    """The question with misspelt filter words corrected ("most downlaoded" -> "most downloaded").

    A word of 5+ letters that is not a keyword, a filler word or a stop word is replaced by the one keyword
    within one edit (a swap of two neighbours counts as one; two edits for words of 9+ letters; only a swap for
    5-letter keywords, which sit one substitution from many English words); a word with
    two equally close keywords, or for which `keep` says it names something (a model), stays. Linear in the
    question: each word is compared with a fixed vocabulary.
    """
    keywords = _keywords()
    known = keywords | _FILLER | _STOP

    def fix(match: re.Match) -> str:
        word = match[0]
        lower = word.lower()
        if lower in known or lower.rstrip("s") in known:
            return word
        limit = 2 if len(lower) >= 9 else 1

        def near(k: str) -> bool:
            if abs(len(k) - len(lower)) > limit or OSA.distance(lower, k) > limit:
                return False
            # A 5-letter keyword is one substitution from many English words ("store" / "story"): only a swap.
            return len(k) > 5 or sorted(k) == sorted(lower)

        close = [k for k in keywords if near(k)]
        if not close:
            return word
        best = min(OSA.distance(lower, k) for k in close)
        nearest = [k for k in close if OSA.distance(lower, k) == best]
        if len(nearest) != 1 or (keep is not None and keep(lower)):
            return word
        return nearest[0]

    return _WORD.sub(fix, text)


def expand_aliases(text: str) -> str:
    """The question with family abbreviations spelt out before a version ('sd 3' -> 'stable diffusion 3')."""
    aliases = vocabulary().get("aliases") or {}
    if not aliases:
        return text
    pattern = re.compile(r"(?<![\w/.-])(" + "|".join(map(re.escape, aliases)) + r")[ -](?=v?\d)", re.I)
    return pattern.sub(lambda m: aliases[m[1].lower()] + " ", text)


def _key(phrase: str) -> str:
    return re.sub(r"[\s-]+", " ", phrase.lower())


_WORD_NUMBERS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "seven": 7, "eight": 8, "ten": 10,
                 "thirteen": 13, "seventy": 70}  # fmt: skip
# "7B", "1.5 billion", and "350M" (millions written attached to the number, never before "downloads").
_SIZE = re.compile(
    r"(?<![\w.])(\d{1,3}(?:\.\d)?)\s?(b|bn|billion)\b(?!-)|(?<![\w.])(\d{2,3})(m)\b(?!-|\s?downloads)", re.I
)
# "monthly" asks for a trend, unless it counts users ("1 billion monthly users": a license question).
_MONTHLY = r"\bmonthly\b(?!\s(?:active\s)?(?:users|customers|visitors|subscribers))"
# A number of something else, not parameters: "1 billion monthly users", "2B tokens", "1B requests a day".
_COUNTED = re.compile(r"\s?(?:(?:monthly|daily|weekly|yearly|annual|active|unique|paying|end|total|training|"
                      r"pretraining)[\s-])*(?:users?|customers?|people|persons|requests?|queries|visitors?|tokens?|"
                      r"downloads?|installs?|devices?|calls?|messages?|dollars?|usd|eur|rows?|examples?|samples?|"
                      r"words?|images?|documents?|pages?|sessions?|subscribers?|mau|dau|views?)\b")
_EXPERTS = re.compile(r"\b(\d{1,2})x(\d{1,3})b\b", re.I)
# A range of sizes: "between 1B and 3B", "from 1 to 3 billion", "1-3B", "500M-2B" ("7B and 13B" alone is two
# sizes, not a range: "and" needs "between").
_SIZE_RANGE = re.compile(
    r"(?<![\w.])(?:(?P<from>between|from)\s)?(?P<low>\d{1,3}(?:\.\d+)?)\s?(?P<low_unit>b|bn|billion|m|million)?"
    r"(?:\sparam(?:eter)?s?)?(?P<sep>\s?[-\u2013]\s?|\sto\s|\sand\s)(?P<high>\d{1,3}(?:\.\d+)?)\s?"
    r"(?P<high_unit>b|bn|billion|m|million)\b(?!-)", re.I)


def _billions(number: str, unit: str) -> float:
    value = float(number)
    return value / 1000 if unit.lower() in ("m", "million") else value
_MEMORY = re.compile(
    r"(?<![\w.])(\d{1,3}(?:\.\d)?)\s?(gb|gib|gigs?|g)\b(?:\s(?:of\s)?(?:v?ram|memory|gpu|card))?", re.I
)
# Formats whose repos hold weights quantized for running (a memory fit reads them at 4 bits unless told).
QUANTIZED_FORMATS = {"gguf", "ggml", "gptq", "awq", "exl2"}
_PRECISION = (
    (r"\b(fp32|float32|full precision|32[- ]?bit)\b", "fp32"),
    (r"\b(fp16|bf16|float16|bfloat16|half precision|16[- ]?bit)\b", "fp16"),
    (r"\b(int8|8[- ]?bit|q8)\b", "int8"),
    (r"\b(int4|4[- ]?bit|q4|4bit)\b", "int4"),
)

LICENSES = (  # (pattern, slots)
    (r"\bnon[- ]?commercial\b|\bresearch[- ]only\b|\bcc[- ]by[- ]nc\b", {"license_class": "non-commercial"}),
    (r"\bapache\b(?:[- ]2(?:\.0)?)?", {"license": "apache-2.0"}),
    (r"\bmit\b(?![-\w])", {"license": "mit"}),
    (r"\bcopyleft\b|\bgpl\b", {"license_class": "copyleft"}),
    (r"\bopen\s?rail\b|\bresponsible[- ]ai\b", {"license_class": "responsible-ai"}),
    (r"\bpermissive(?:ly)?(?: licen[cs]ed?)?\b|\bopen[- ]source\b|\bopen licen[cs]ed?\b|\bfree to use\b|"
     r"\bunrestricted\b|\bfree licen[cs]ed?\b|\bliberal licen[cs]ed?\b", {"license_class": "permissive"}),
    # Commercial use is wider than permissive: Llama 2/3, Gemma, OpenRAIL and copyleft allow it with conditions
    # (hub.licenses.commercial_use); the search filter keeps both and the answer says the conditions.
    (r"\b(?:free )?for commercial use\b|\bcommercial(?:ly)?(?:[- ](?:use|friendly|usable))?\b|\bbusiness\b",
     {"commercial": "allowed"}),
)  # fmt: skip
CRITERIA = (
    (r"\bsafe(?:st|r)?\b|\bsecur(?:e|ity|est)\b|\btrust(?:worthy|ed)?\b|\brisk(?:s|y)?\b|\bleast risky\b", "security"),
    # raw downloads, not the capped popularity score
    (r"\bmost[- ]downloaded\b|\bdownloads\b|\bmost downloads\b", "downloads"),
    (r"\bmost (?:popular|used)\b|\bpopular(?:ity)?\b|\bwidely used\b", "popularity"),
    (r"\b(?:best|well|most|better)[- ]documented\b|\bdocumentation\b|\bcard quality\b|\bquality\b|"
     r"\bbest card\b", "quality"),
    (r"\bmost active\b|\bactively maintained\b|\bmaintained\b|\bactivity\b", "activity"),
    (r"\boperational\b|\bcompliance\b|\blicen[cs]e[- ]clean\b", "operational"),
    (r"\bmost liked\b|\blikes\b|\bmost hearts\b", "likes"),
    # A date order (not a period: "updated recently" keeps meaning the last half year, a filter).
    (r"\bmost recently (?:updated|changed|modified|committed)\b|\b(?:updated|changed|modified) most recently\b|"
     r"\bfreshest\b|\bmost recent (?:commit|update)\b", "updated"),
    (r"\bnewest\b|\byoungest\b|\bmost recently (?:created|released|published|uploaded|added)\b|"
     r"\b(?:created|released|published|uploaded|added) most recently\b", "newest"),
    (r"\boldest\b", "oldest"),
    (r"\b(?:smallest|tiniest|lightest)\b", "smallest"),
    (r"\b(?:largest|biggest)\b", "largest"),
    (r"\bbest overall\b|\bbest\b|\btop\b|\bhighest\b|\boverall\b|\bbetter\b|\bgood\b|\brecommended\b|"
     r"\bmeilleure?s?\b|\bmejor(?:es)?\b|\bmelhor(?:es)?\b|\bmigliore\b|\bbeste[nr]?\b|最好|最佳|推荐|おすすめ|최고",
     "overall"),
)
_MOVE_UP = r"gained|gain|gains|gaining|rose|grew|increased|climbed|jumped|rising|growing|won"
_MOVE_DOWN = r"lost|lose|loses|losing|dropped|drop|fell|declined|decreased|shrank|falling|dropping"
_METRICS = r"downloads|likes|score|scores|security|quality|popularity|activity|operational|overall"
# "lost the most downloads", "whose security score dropped", "the biggest drop in likes": verb, then metric
# (groups 1, 2), or metric, then verb (groups 4, 3 ... read by `_moved`).
_MOVED = re.compile(r"\b(" + _MOVE_UP + "|" + _MOVE_DOWN + r"|gains?|drops?|rises?|falls?|increases?|decreases?)\b"
                    r"(?:\s\w{1,20}){0,3}?\s(" + _METRICS + r")\b|\b(" + _METRICS + r")(?:\s(?:score|count))?"
                    r"(?:\s(?:has|have|had))?\s(" + _MOVE_UP + "|" + _MOVE_DOWN + r")\b")


def _moved(lowered: str) -> tuple[str, str] | None:
    """(metric, direction) of a movers question."""
    match = _MOVED.search(lowered)
    if not match:
        return None
    verb, metric = (match[1], match[2]) if match[1] else (match[4], match[3])
    metric = "overall" if metric in ("score", "scores") else metric
    down = re.fullmatch(_MOVE_DOWN + r"|drops?|falls?|decreases?", verb)
    return metric, "drop" if down else "gain"
VIEWS = (
    (_MOVED.pattern, "movers"),
    (r"\balerts?\b|(?:added|new) (?:pickle|unsafe)|pickle files? (?:appear|added)|licen[cs]e changes?|"
     r"changed (?:their |its )?licen[cs]e|became gated|newly gated|between snapshots", "alerts"),
    (r"\bmovers?\b|\bgain(?:ed|s)?\b[\w ]{0,30}\bdownloads\b|biggest (?:gain|drop|change)|\bdropped\b", "movers"),
    (r"\bmerges?\b|\bmerged models?\b", "merges"),
    (r"\bhistory\b|(?:over|across) (?:the )?snapshots|scores? (?:change|move)d?|changed over time", "history"),
    (r"\bafter\b[\w .-]{0,40}\b(?:came out|release[ds]?|launch(?:ed)?)\b|before and after|"
     r"(?:effect|impact) of\b[\w .-]{0,40}\brelease|since\b[\w .-]{0,40}\brelease|"
     r"\brelease\b[\w ]{0,20}\b(?:change|changed|affect|affected|impact|boost|boosted|increase|drive|drove)\b",
     "releases"),
    (r"\bauthors?\b|\bwho (?:publishes|released|uploads)\b|most prolific", "authors"),
    (r"\bbest (?:leaderboard )?models?\b[\w ]{0,20}\b(?:in|during) 20\d\d|\bbenchmarks?\b|leaderboard scores?|"
     r"average scores?|scores? per type|\btop of the leaderboard\b|\bbest on the leaderboard\b|"
     r"\bbest leaderboard\b|\bhighest[- ]scoring\b", "benchmarks"),
    (r"base[- ]models?|derivatives?|fine-?tunes? of\b[\w .-]{0,40}\b(?:improved|evolved)|evolution", "base-models"),
    (r"\barchitectures?\b|\bfamil(?:y|ies)\b", "architectures"),
    (r"\btypes?\b|new models|how many models|per month|per week", "types"),
)
# The leaderboards' benchmarks as users write them (v1: ARC ... GSM8K; v2: IFEval ... MMLU-Pro).
_BENCHMARK = re.compile(r"\b(?:gsm\s?8k|mmlu[- ]?pro|mmlu|hellaswag|truthful\s?qa|winogrande|arc(?:[- ]challenge)?|"
                        r"ifeval|bbh|big[- ]bench[- ]hard|math[- ]?(?:lvl|level)[- ]?5|gpqa|musr)\b")
BENCHMARK_NAMES = {"gsm8k": "gsm8k", "mmlupro": "mmlupro", "truthfulqa": "truthfulqa", "arcchallenge": "arc",
                   "bigbenchhard": "bbh", "mathlvl5": "math_lvl_5"}  # fmt: skip
# Leaderboard model types as users name them (trends.leaderboard's types).
_TYPE_WORDS = (("merge", r"\bmerg(?:e|es|ed|ing)\b"), ("pretrained", r"\bpre-?trained\b|\bbase models?\b"),
               ("fine_tuned", r"\bfine-?tun(?:ed|es)\b"), ("chat", r"\bchat\b|\binstruct"))  # fmt: skip
_V2_BENCHMARKS = {"ifeval", "bbh", "math_lvl_5", "gpqa", "musr", "mmlupro"}  # trends.leaderboard.V2_BENCH
FAMILIES = {
    "llama": "Llama", "mixtral": "Mixtral", "mistral": "Mistral", "qwen": "Qwen2", "gemma": "Gemma", "phi": "Phi",
    "opt": "OPT", "gpt2": "GPT2", "gpt-2": "GPT2", "neox": "GPT-NeoX", "gpt-neox": "GPT-NeoX",
}  # fmt: skip
ORDINALS = {"first": 0, "1st": 0, "#1": 0, "top one": 0, "second": 1, "2nd": 1, "#2": 1, "third": 2, "3rd": 2,
            "#3": 2, "fourth": 3, "4th": 3, "last": -1}  # fmt: skip
_ORDINAL = re.compile(r"(?<![\w#])(" + "|".join(re.escape(w) for w in ORDINALS) + r")(?!\w)")
_ID = re.compile(r"(?<![\w/])([A-Za-z0-9][\w.-]{0,95}/[\w.-]{1,96})(?![\w/])")
# Tokens that may be bare model names: letters and digits joined by - _ or . (gemma-7b, phi-2, Llama-2-7b-hf).
_NAME = re.compile(r"(?<![\w/.-])([A-Za-z][A-Za-z0-9]*(?:[-_.][A-Za-z0-9]+)+|[A-Za-z]+\d[\w.-]*)(?![\w/-])")
# Names typed with spaces: a word, then one to four parts that look like versions, sizes or variants
# ("gemma 7b", "deepseek r1", "llama 2 7b chat", "mistral 7b instruct v0.2").
_PART = r"(?:\d[\w.]{0,8}|v\d[\w.]{0,6}|[a-z]\d[\w.]{0,6}|chat|instruct|it|hf|base|coder|mini|medium|pro|distill)"
_SPACED = re.compile(r"(?<![\w/.-])([a-z][a-z]{1,20}(?: [a-z]{2,20})?(?:[ -]" + _PART + r"){1,4})(?![\w/-])", re.I)
_NOT_NAMES = {"e.g", "i.e", "open-source", "non-commercial", "text-to-image", "text-to-video", "text-generation",
              "side-by-side", "fine-tuned", "fine-tune", "fine-tunes", "well-documented", "best-documented",
              "research-only", "cc-by-nc", "gpt-4", "state-of-the-art", "mit", "apache-2.0", "x-ray",
              "text-to-speech", "speech-to-text", "image-to-image", "look-alike", "pickle-free", "cc-by-4.0",
              "trust_remote_code", "fp16", "bf16", "int8", "int4", "fp32", "q4", "q8", "m1", "m2", "m3", "128k",
              "32k", "4-bit", "8-bit", "16-bit", "what-if", "what-ifs", "open-weight", "open-weights",
              "follow-up", "up-to-date", "non-gated", "un-gated", "co-pilot", "real-time"}  # fmt: skip
# Words whose presence with "which/what ... models" makes a question about models at all (the rest is out of scope).
_ABOUT_MODELS = re.compile(
    r"\bmodels?\b|\bllms?\b|\bcheckpoints?\b|\bweights\b|\brepos?\b|\bhugging ?face\b|\bhub\b|\bfine-?tunes?\b|"
    r"\bscores?\b|\bleaderboard\b|\blicen[cs]es?\b|\bgated\b|\bdownloads?\b|\bparams?\b|\bparameters\b|"
    r"\bembeddings?\b|\bclassifiers?\b|\bmerges?\b|\bquanti[sz]ed\b|\badapters?\b|\bloras?\b|\bcards?\b|"
    r"\bchatbots?\b|\btypo ?squat"
)
_LINEAGE = re.compile(
    r"\b(fine[- ]?tunes?|fine[- ]?tuned|finetunes?|finetuned|adapters?|loras?|merges?|merged|quanti[sz]ations?|"
    r"quanti[sz]ed|derivatives?|derived|descendants?|children|variants?|versions?|gguf|ggml|gptq|awq|exl2)"
    r"(?:\s(?:models?|versions?|variants?|repos?))?(?:\s(?:exist|are there|are stored|are available|do you have|"
    r"do you know|are known|can i find|are in the database))?\s(?:of|from|for|off)\s|"
    r"\b(based|built)\s(?:on|off|upon)\s",
    re.I,
)
_LINEAGE_AFTER = re.compile(
    r"\s(fine[- ]?tunes?|finetunes?|adapters?|loras?|merges?|quants?|quanti[sz]ations?|derivatives?|descendants?|"
    r"variants?|distills?|"
    r"(?:quanti[sz]ed|fine[- ]?tuned|merged)\s(?:versions?|copies|models?|variants?|builds?|repos?))\b",
    re.I,
)
RELATION_OF = {"fine": "finetune", "finetune": "finetune", "adapter": "adapter", "lora": "adapter",
               "merge": "merge", "quant": "quantized", "gguf": "quantized", "ggml": "quantized", "gptq": "quantized",
               "awq": "quantized", "exl2": "quantized"}  # fmt: skip
# Filler words that a requirement phrase may hold without asking for anything.
_FILLER = set(
    "a an the my me our i we you it its this that these those some any one ones model models llm llms use used "
    "declare declares declared declaring have has ship ships shipping contain contains containing include "
    "includes including "
    "using want need looking for with which what who is are be can could should would will do does to of in on "
    "and or please me good best great nice top something thing things work works working project projects app "
    "apps application applications purpose purposes stuff kind type sort very really most more less than so as "
    "at by from like just only also well it's that's there their them they him her his out get got make run "
    "running runs task tasks job jobs case cases help helps team company startup business production prod "
    "might may be been being have has had get gets give gives support supports supporting claim claims say says "
    "mention mentions document documents ship ships come comes uses allow allows let lets offer offers provide "
    "provides contain contains include includes handle handles did done made makes built trained tuned released "
    "published is are was were isn't aren't not don't doesn't no any all both each other others one's ones' "
    "small large big new old available there here now license licensed licence licenced text texts speak speaks "
    "speaking spoken need needed needs publish publishes ruled out language languages written data version "
    "versions weights database db hub hugging face huggingface hf pick choose should highest lowest score scores "
    "rated rating ranking ranked rank right now today currently repo repos repository repositories look looks "
    "looking like seem seems appear appears but yet though parameters params param file files".split()
)  # fmt: skip
_REQUIREMENT = re.compile(
    r"\b(for|with|that|which|supports?|supporting|good at|able to|capable of|trained on|in|runs? on|fits?|"
    r"without|under|below|on)\s((?:[\w'+#.$-]{1,30}\s?){1,5})",
    re.I,
)


class _Scan:
    """The lowered question and the character spans that a slot or a name has used."""

    def __init__(self, text: str):
        self.text = text
        self.lowered = text.lower()
        self.used: list[tuple[int, int]] = []
        self.lineage: tuple[int, int] = (0, 0)  # the lineage phrase ("GGUF versions of"), whose format words count

    def use(self, start: int, end: int) -> None:
        self.used.append((start, end))

    def search(self, pattern: str | re.Pattern, mark: bool = True) -> re.Match | None:
        """The first match outside used spans; every such match is marked used (they state one requirement)."""
        matches = [m for m in re.finditer(pattern, self.lowered) if not self.is_used(m.start(), m.end())]
        if mark:
            for match in matches:
                self.use(match.start(), match.end())
        return matches[0] if matches else None

    def is_used(self, start: int, end: int) -> bool:
        return any(a < end and start < b for a, b in self.used)


def _years(scan: _Scan) -> dict:
    slots: dict = {}
    lowered = scan.lowered
    match = scan.search(r"\b(in|during|for|of)\s+(20\d\d)\b")
    if match:
        slots["start"], slots["end"] = f"{match[2]}-01-01", f"{match[2]}-12-31"
    match = scan.search(r"\bbetween\s+(20\d\d(?:-\d\d(?:-\d\d)?)?)\s+and\s+(20\d\d(?:-\d\d(?:-\d\d)?)?)")
    if match:
        slots["start"], slots["end"] = _pad(match[1], start=True), _pad(match[2], start=False)
    _named_days(scan, slots)
    match = scan.search(r"\b(since|from|after)\s+(20\d\d(?:-\d\d(?:-\d\d)?)?)\b")
    if match:  # "after 2024": the year is over first; "after 2025-03-01": the day too
        if match[1] == "after" and len(match[2]) == 4:
            slots["start"] = f"{int(match[2]) + 1}-01-01"
        elif match[1] == "after" and len(match[2]) == 10 and _day(match[2]):
            slots["start"] = _shift(_day(match[2]), 1)
        else:
            slots["start"] = _pad(match[2], start=True)
    match = scan.search(r"\b(until|before|to|through)\s+(20\d\d(?:-\d\d(?:-\d\d)?)?)\b")
    if match:  # "before 2024": the year has not begun; "before 2025-03-01": nor has the day
        if match[1] == "before" and len(match[2]) == 4:
            slots["end"] = f"{int(match[2]) - 1}-12-31"
        elif match[1] == "before" and len(match[2]) == 10 and _day(match[2]):
            slots["end"] = _shift(_day(match[2]), -1)
        else:
            slots["end"] = _pad(match[2], start=False)
    match = scan.search(r"\b(since|from|after|before|until|through|in)\s+(" + _MONTH_WORDS + r")\.?,?\s+(20\d\d)\b")
    if match:  # "since March 2024", "before Sept 2024", "in May 2025"
        month = _MONTHS[match[2]]
        first = date(int(match[3]), month, 1)
        last = date.fromordinal(date(int(match[3]) + (month == 12), month % 12 + 1, 1).toordinal() - 1)
        if match[1] in ("since", "from", "in"):
            slots["start"] = first.isoformat()
        if match[1] == "after":
            slots["start"] = _shift(last, 1)
        if match[1] in ("until", "through", "in"):
            slots["end"] = last.isoformat()
        if match[1] == "before":
            slots["end"] = _shift(first, -1)
    for release in load_releases():  # "since Llama 3", "after Mixtral came out"
        name = release["name"].lower()
        if name in lowered:
            found = scan.search(r"\b(since|after|following)\s+(the\s+)?" + re.escape(name) + r"\b")
            if found:
                slots.setdefault("start", str(release["date"]))
    return slots


_MONTHS = {name: i + 1 for i, name in enumerate(
    "january february march april may june july august september october november december".split())}
_MONTHS |= {name[:3]: i for name, i in list(_MONTHS.items())} | {"sept": 9}
_MONTH_WORDS = "|".join(sorted(_MONTHS, key=len, reverse=True))
_DAY_NUMBER = r"(\d{1,2})(?:st|nd|rd|th)?"
# "after March 1 2025", "before 15 Feb, 2025", "since the 1st of March 2025", "on Mar 3rd, 2025".
_NAMED_DAY = re.compile(r"\b(since|from|after|before|until|through|on)\s+(?:the\s+)?(?:" + _DAY_NUMBER +
                        r"\s+(?:of\s+)?(" + _MONTH_WORDS + r")|(" + _MONTH_WORDS + r")\.?\s+" + _DAY_NUMBER +
                        r")(?![\w])\.?,?\s+(20\d\d)\b")


def _day(value: str) -> date | None:
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


def _shift(day: date, days: int) -> str:
    return date.fromordinal(day.toordinal() + days).isoformat()


def _named_days(scan: _Scan, slots: dict) -> None:
    """Days written with a month's name: "after March 1 2025" is from 2025-03-02, "before it" to 2025-02-28."""
    for match in _NAMED_DAY.finditer(scan.lowered):
        if scan.is_used(match.start(), match.end()):
            continue
        word, number = (match[3], match[2]) if match[3] else (match[4], match[5])
        try:
            day = date(int(match[6]), _MONTHS[word], int(number))
        except ValueError:  # "February 30": not a day; left for the rest of the question
            continue
        scan.use(match.start(), match.end())
        cue = match[1]
        if cue in ("since", "from", "on"):
            slots["start"] = day.isoformat()
        if cue == "after":
            slots["start"] = _shift(day, 1)
        if cue in ("until", "through", "on"):
            slots["end"] = day.isoformat()
        if cue == "before":
            slots["end"] = _shift(day, -1)


def _pad(value: str, start: bool) -> str:
    parts = value.split("-")
    if len(parts) == 1:
        return f"{value}-01-01" if start else f"{value}-12-31"
    if len(parts) == 2:
        return f"{value}-01" if start else f"{value}-28"
    return value


@lru_cache(maxsize=1)
def _license_patterns() -> tuple[re.Pattern, re.Pattern, frozenset[str]]:
    """License id patterns: ids that name a license anywhere, ids that need the word "license" beside them.

    Ids with a dot, + or hyphen are unambiguous; mit, gemma, llama2 ... could be other words or model names.
    """
    ids = [str(i).lower() for i in vocabulary().get("license_ids") or []]
    strong = [i for i in ids if re.search(r"[+.-]", i) and not i.startswith("llama")]  # "llama2": also a name
    # "OpenRAIL license", "a GPL license": the family (LICENSES reads them as a class), not the one bare id
    weak = [i for i in ids if i not in strong and i not in ("openrail", "gpl", "lgpl", "bsd", "cc", "other")]

    def alternation(words: list[str]) -> str:
        return "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))

    near = r"licen[cs]e[ds]?"
    weak_body = (rf"(?<![\w.-])(?:{near}\s(?:is\s|of\s|under\s)?(?:the\s|an?\s)?({alternation(weak)})(?![\w+-])|"
                 rf"({alternation(weak)})\s(?:community\s)?{near})")  # fmt: skip
    llama = r"|(?<![\w.-])llama[\s-]?([234](?:\.\d)?)\s(?:community\s)?" + near
    strong_body = rf"(?<![\w.-])({alternation(strong)})(?![\w+-]|\.\d)"
    return re.compile(strong_body), re.compile(weak_body + llama), frozenset(ids)


def exact_license(scan: _Scan) -> str | None:
    """An exact Hub license id the question names ("cc-by-nc-4.0", "a gemma license", "Llama 2 license")."""
    strong, weak, _ = _license_patterns()
    found = None
    for pattern in (strong, weak):
        for match in pattern.finditer(scan.lowered):
            if scan.is_used(match.start(), match.end()):
                continue
            group = next(g for g in range(1, (match.re.groups or 1) + 1) if match[g])
            value = match[group] if pattern is strong or group < 3 else f"llama{match[group]}"
            if found is None:
                found = value
            scan.use(match.start(), match.end())
    if found is not None:  # "under the ... license": the words around the id state nothing else
        scan.search(r"\blicen[cs]e[ds]?(?:\sunder)?\b")
    return found


# "models by TheBloke", "uploaded by google", "from the org mistralai", "TheBloke's models": a Hub author.
_AUTHOR = re.compile(
    r"\b(?:models?|llms?|repos?|repositories|uploads?|checkpoints?|weights|ones|quants?|quanti[sz]ations?|"
    r"fine-?tunes?|finetunes?|anything|something|published|uploaded|released|made|created|trained|built|owned|"
    r"maintained|put out)\s(?:by|from)\s(?:the\s)?(?:(?:hub\s|hf\s)?(?:user|org|organi[sz]ation|author|"
    r"account|team|company|lab)\s)?@?([a-z0-9][\w.-]{0,95})(?![\w/.-])|"
    r"\b(?:by|from)\s(?:the\s)?(?:user|org|organi[sz]ation|author|account)\s@?([a-z0-9][\w.-]{0,95})(?![\w/.-])|"
    r"\bauthor(?:ed)?\s(?:is\s|=\s?|:\s?)?@?([a-z0-9][\w.-]{0,95})(?![\w/.-])|"
    r"(?<![\w/.-])@?([a-z0-9][\w.-]{1,95})'s\s(?:models|repos|uploads|checkpoints)\b|"
    # "what models has PrunaAI published", "which repos did TheBloke upload"
    r"\b(?:models?|llms?|repos?|repositories|uploads?|checkpoints?|quants?|fine-?tunes?)\s(?:has|have|did|does)\s"
    r"(?:the\s)?(?:(?:user|org|organi[sz]ation|author|account|team|company|lab)\s)?@?([a-z0-9][\w.-]{0,95})\s"
    r"(?:\w+\s)?(?:published|publish|uploaded|upload|released|release|made|make|created|create|put out|trained|"
    r"train|built|build|shared|share|posted|post)\b",
    re.I,
)
_NOT_AUTHORS = {"downloads", "likes", "popularity", "score", "scores", "security", "quality", "activity",
                "overall", "size", "date", "name", "hand", "scratch", "default", "far", "now", "hugging", "huggingface",
                "hub", "people", "users", "someone", "anyone", "others", "companies", "default", "me", "us",
                "january", "february", "march", "april", "june", "july", "august", "september", "october",
                "november", "december", "last", "past", "this", "next", "big", "small", "known", "trusted",
                "reputable", "official", "popular", "month", "months", "week", "weeks", "day", "days", "year",
                "years", "quarter", "period", "type", "types", "family", "families", "architecture"}  # fmt: skip


# Any other "by X" / "from X" left over ("at most 3B parameters from google"): an author when one is stored.
_BY_FROM = re.compile(r"\b(?:by|from)\s(?:the\s)?@?([a-z0-9][\w.-]{1,95})(?![\w/.-])", re.I)


def company_orgs(name: str) -> list[str]:
    """The Hub organisations a company publishes under (`companies` in the vocabulary); [] for other names."""
    return list(vocabulary().get("companies", {}).get(re.sub(r"[\s-]+", " ", name.lower().strip()), []))


# Words that make the "from" after them a lineage ("derived from", "fine-tuned from"), not an author.
_LINEAGE_FROM = r"\b(?:derived|descended|fine-?tuned|trained|based|distill(?:ed)?|quantized|merged|converted)\s$"


@lru_cache(maxsize=1)
def _company_pattern() -> re.Pattern:
    """A company name after "by"/"from", or before "'s models": several words ("Mistral AI", "Hugging Face")."""
    names = _phrase_pattern(list(vocabulary().get("companies", {}))).pattern
    return re.compile(r"\b(?:by|from)\s(?:the\s)?(" + names + r")(?:'s)?(?:\s(?:team|labs?|inc|corp))?\b|"
                      r"(?<![\w/.-])(" + names + r")(?:'s)?\s(?:own\s)?(?:models|repos|checkpoints|llms?)\b")


# "not made by Meta", "excluding Mistral", "other than TheBloke's", "excluding author X": an author (or a
# company) to leave out; "excluding unsloth and deepseek-ai", "not by X, Y or Z": several.
_AUTHOR_NOUN = r"(?:(?:the\s)?(?:authors?|organi[sz]ations?|orgs?|users?|accounts?|publishers?|uploaders?)\s)?"
_NOT_BY = re.compile(r"\b(?:not|n't|never)\s(?:(?:made|published|released|built|trained|created|uploaded)\s)?"
                     r"(?:by|from)\s(?:the\s)?" + _AUTHOR_NOUN +
                     r"@?([a-z0-9][\w.-]{1,95}(?:\s(?:ai|labs?|research))?)(?![\w/.-])|"
                     r"\b(?:excluding|exclude|excludes|except(?:\sfor)?|other than|apart from|besides|leaving out|"
                     r"leave out|without (?=(?:any\s)?(?:models?|repos?|those|the ones|ones|anything)\s(?:made\s)?"
                     r"(?:by|from)\s))\s?"
                     r"(?:(?:any\s)?(?:models?|repos?|those|the ones|ones|anything)\s(?:made\s)?(?:by|from)\s)?"
                     r"(?:the\s)?" + _AUTHOR_NOUN +
                     r"@?([a-z0-9][\w.-]{1,95}(?:\s(?:ai|labs?|research))?)(?:'s)?(?![\w/.-])", re.I)
# After a first excluded author: ", Y", " and Y", " or Y", ", and Y" (each a name, not the next clause's word).
_MORE_AUTHORS = re.compile(r"(?:,\s?(?:and\s|or\s|nor\s)?|\s(?:and|or|nor)\s)(?:(?:not\s)?(?:by|from)\s)?@?"
                           r"([a-z0-9][\w.-]{1,95})(?:'s)?(?![\w/.-])")
_CLAUSE_WORDS = {"with", "without", "that", "which", "who", "under", "over", "below", "above", "for", "in", "on",
                 "sorted", "ranked", "order", "ordered", "licensed", "than", "but", "only", "also", "then", "not",
                 "sort", "rank", "show", "list", "give", "tell", "at", "by", "from", "to", "is", "are",
                 "its"}  # fmt: skip


def _an_author_word(word: str) -> bool:
    return not (word in _NOT_AUTHORS or word in _FILLER or word in _STOP or word in _CLAUSE_WORDS or
                re.fullmatch(r"[a-z]+(?:ed|ing|ly)|[\d.,]+[kmb]?|20\d\d", word))  # fmt: skip


def excluded_authors(scan: _Scan) -> list[str]:
    """The authors a question leaves out, as typed ("not made by meta" -> ["meta"]); the planner maps companies.

    Every negation counts ("not from TheBloke, excluding author NousResearch"), each with its list.
    """
    names: list[str] = []
    for match in _NOT_BY.finditer(scan.lowered):
        group = 1 if match[1] else 2
        word = scan.lowered[match.start(group) : match.end(group)].rstrip(".")
        if not _an_author_word(word) or scan.is_used(match.start(), match.end()):
            continue
        names.append(scan.text[match.start(group) : match.start(group) + len(word)])
        end = match.start(group) + len(word)
        while more := _MORE_AUTHORS.match(scan.lowered, end):
            word = more[1].rstrip(".")
            if not _an_author_word(word) or scan.is_used(more.start(), more.end()):
                break
            names.append(scan.text[more.start(1) : more.start(1) + len(word)])
            end = more.start(1) + len(word)
        scan.use(match.start(), end)
    return list(dict.fromkeys(names))


def author_slot(scan: _Scan) -> str | None:
    """The Hub author a question restricts to, as typed (the planner checks that one is stored)."""
    lowered = scan.lowered
    for company in _company_pattern().finditer(lowered):
        group = 1 if company[1] else 2
        # "derived from DeepSeek R1", "fine-tunes from Meta Llama 3": a lineage naming a model, not an author.
        naming = re.match(r"[\s-]?(?:[a-z]{0,12}[\s-]?)?v?\d|[\s-](?:llama|gemma|qwen|mistral|mixtral|phi|r1)\b",
                          lowered[company.end(group) :])  # fmt: skip
        lineage = re.search(_LINEAGE_FROM, lowered[max(0, company.start() - 20) : company.start()])
        if not scan.is_used(company.start(group), company.end(group)) and not naming and not lineage:
            scan.use(company.start(), company.end())
            return scan.text[company.start(group) : company.end(group)]
    for pattern in (_AUTHOR, _BY_FROM):
        for match in pattern.finditer(scan.lowered):
            group = next(g for g in range(1, pattern.groups + 1) if match[g])
            start, end = match.start(group), match.end(group)
            word = scan.lowered[start:end].rstrip(".")
            if pattern is _AUTHOR and group == pattern.groups and company_orgs(word) and \
                    not scan.is_used(start, end):  # "what models has Meta published": a company's orgs
                scan.use(match.start(), match.end())
                return scan.text[start:end]
            if scan.is_used(match.start() if pattern is _BY_FROM else start, end) or word in _NOT_AUTHORS or \
                    company_orgs(word) or \
                    word in _FILLER or word in _STOP or _tables()["languages"][1].get(word) or \
                    re.fullmatch(r"[\d.,]+[kmb]?|20\d\d(-\d\d)*|v?\d[\w.]*", word):  # fmt: skip
                continue
            scan.use(match.start(), start + len(word))
            return scan.text[start : start + len(word)]
    return None


_NUMBER_WORDS = {"a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
                 "eight": 8, "nine": 9, "ten": 10, "twelve": 12, "eighteen": 18, "few": 3, "couple of": 2}  # fmt: skip
_RECENT = (r"(?:(?:in|within|over|during)\s)?(?:the\s)?(?:last|past)\s(\d{1,3}|" + "|".join(_NUMBER_WORDS) +
           r")?\s?(days?|weeks?|months?|years?)\b|\bthis\s(year|month|week)\b|\brecently\b|\blately\b")
_CREATED_WORD = r"\b(?:created|released|published|uploaded|launched|came out|added|made|first seen|new)\b"
_UPDATED_WORD = (r"\b(?:updated|modified|maintained|changed|committed|touched|last commit|last update|"
                 r"last modified|edited)\b")  # fmt: skip


def _span(match: re.Match) -> str:
    """A relative period as the planner counts it back from the newest snapshot (`span_start`).

    "6 months", "14 days", "this year" (since its first day); "recently" is half a year. Months and years are
    calendar ones.
    """
    if match[3]:
        return f"this {match[3]}"
    if match[2] is None:
        return "6 months"  # "recently": half a year
    count = match[1] or "1"
    number = int(count) if count.isdigit() else _NUMBER_WORDS[count]
    unit = match[2].rstrip("s")
    if unit == "week":
        return f"{number * 7} days"
    if unit == "year":
        return f"{number * 12} months"
    return f"{number} {unit}s"


def span_start(newest: date, span: str) -> date:
    """The first day of a span (`_span`'s words) counted back from `newest`, calendar months as calendar months.

    "6 months" from 2025-04-26 is 2024-10-26 (a day that does not exist, 31 March - 1 month, is the month's last);
    "this year" is the year's first day, "this month" the month's, "this week" its Monday.
    """
    count, _, unit = span.partition(" ")
    if count == "this":
        if unit == "year":
            return newest.replace(month=1, day=1)
        if unit == "month":
            return newest.replace(day=1)
        return date.fromordinal(newest.toordinal() - newest.weekday())
    number = int(count)
    if unit.startswith("day"):
        return date.fromordinal(newest.toordinal() - number)
    months = newest.year * 12 + newest.month - 1 - number
    year, month = divmod(months, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(newest.day, last))


def date_slots(scan: _Scan, slots: dict) -> None:
    """Creation dates ("released after 2024", "created in the last 6 months") and last-update dates.

    The last update ("updated in the last 6 months", "maintained since March 2024") becomes `updated_after` /
    `updated_before` days, or `updated_within` (a span: "6 months") counted back from the newest snapshot by
    the planner; a
    phrase whose period cannot be read stays in `updated`, which is said not applied.
    """
    lowered = scan.lowered
    updated = re.search(_UPDATED_WORD + r"(?:\s(?:on\s)?(?:the\s)?hub)?\s?(?:" + _RECENT + r"|(?:in|during|since|after|"
                        r"before|from|until)\s(?:\S{1,10}\s){0,3}20\d\d(?:-\d\d(?:-\d\d)?)?)", lowered)  # fmt: skip
    if updated and not scan.is_used(updated.start(), updated.end()):
        phrase = scan.text[updated.start() : updated.end()]
        scan.use(updated.start(), updated.end())
        recent = re.search(_RECENT, phrase.lower())
        period = _years(_Scan(phrase)) if not recent else {}
        if recent:
            slots["updated_within"] = _span(recent)
        elif period:
            if period.get("start"):
                slots["updated_after"] = period["start"]
            if period.get("end"):
                day = date.fromisoformat(period["end"])
                slots["updated_before"] = date.fromordinal(day.toordinal() + 1).isoformat()
        else:
            slots["updated"] = phrase
    created = re.search(_CREATED_WORD, lowered)
    recent = re.search(_RECENT, lowered)
    if recent and not scan.is_used(recent.start(), recent.end()):
        before = lowered[max(0, recent.start() - 40) : recent.start()]
        if created or re.search(r"\bmodels?\s$|\bfrom\s$", before):
            slots["within"] = _span(recent)
            scan.use(recent.start(), recent.end())
    if created:
        slots["created"] = True
        scan.use(created.start(), created.end())


def _size_slots(scan: _Scan, slots: dict) -> None:
    lowered = scan.lowered
    experts = _EXPERTS.search(lowered)
    if experts and not scan.is_used(experts.start(), experts.end()):
        slots["size"] = f"{experts[1]}x{experts[2]}B"
        scan.use(experts.start(), experts.end())
    words = re.search(r"\bbetween (" + "|".join(_NUMBER_WORDS) + r") and (" + "|".join(_NUMBER_WORDS) +
                      r") (billion|million)\b", lowered)  # fmt: skip
    if words and not scan.is_used(words.start(), words.end()):  # "between two and three billion parameters"
        low, high = (_billions(str(_NUMBER_WORDS[w]), words[3]) for w in (words[1], words[2]))
        if low < high:
            slots["min_params_b"], slots["max_params_b"] = low, high
            scan.use(words.start(), words.end())
    for match in _SIZE_RANGE.finditer(lowered):  # "between 1B and 3B", "from 1 to 3B", "1-3B", "500M-2B"
        worded = match["from"] or match["sep"].strip() not in ("and",)
        low, high = _billions(match["low"], match["low_unit"] or match["high_unit"]), _billions(
            match["high"], match["high_unit"])  # fmt: skip
        if worded and low < high and not scan.is_used(match.start(), match.end()) and "size" not in slots:
            slots["min_params_b"], slots["max_params_b"] = low, high
            scan.use(match.start(), match.end())
            break
    sizes = [m for m in _SIZE.finditer(lowered) if not scan.is_used(m.start(), m.end()) and
             not _COUNTED.match(lowered, m.end()) and not lowered[max(0, m.start() - 1) : m.start()] == "$"]
    plain = None
    # Each size with a bound ("at least 1B and at most 3B": both); the first plain one is the size class.
    for match in sizes:
        if "size" in slots:
            break
        value = float(match[1]) if match[1] else float(match[3]) / 1000
        before = lowered[max(0, match.start() - 24) : match.start()]
        after = lowered[match.end() : match.end() + 24]
        below = re.search(r"(under|below|less than|smaller than|at most|up to|<=?|max(imum)?|no more than)\s*$", before)
        above = re.search(r"(over|above|more than|larger than|bigger than|at least|>=?|min(imum)?)\s*$", before)
        if not below and not above:  # "7B or smaller", "3B or more", "13B+"
            below = re.match(r"\s?(?:param(?:eter)?s?\s)?or (?:smaller|less|fewer|under|below)\b", after)
            above = re.match(r"\s?(?:param(?:eter)?s?\s)?or (?:bigger|larger|more|above|over)\b|\+", after)
            if below or above:
                taken = (below or above).end()
                scan.use(match.start(), match.end() + taken)
                slots["max_params_b" if below else "min_params_b"] = value
                continue
        if below and "max_params_b" not in slots:
            slots["max_params_b"] = value
            scan.use(match.start() - len(before) + below.start(), match.end())
        elif above and "min_params_b" not in slots:
            slots["min_params_b"] = value
            scan.use(match.start() - len(before) + above.start(), match.end())
        elif not below and not above and plain is None and not slots.keys() & {"min_params_b", "max_params_b"}:
            plain = match
    if plain is not None and not slots.keys() & {"size", "min_params_b", "max_params_b"}:
        value = float(plain[1]) if plain[1] else float(plain[3]) / 1000
        slots["size"] = f"{value:g}B"
        scan.use(plain.start(), plain.end())
    memory = [m for m in _MEMORY.finditer(lowered) if not scan.is_used(m.start(), m.end())]
    pattern, gpus = _tables()["gpus"]
    gpu = next((m for m in pattern.finditer(lowered) if not scan.is_used(m.start(), m.end())), None)
    if memory or gpu:
        match = memory[0] if memory else gpu
        slots["max_memory_gb"] = float(match[1]) if memory else gpus[_key(match[0])]
        scan.use(match.start(), match.end())
        scan.search(r"\b(?:runs? on|fits?(?: on| in| into)?|within|under|for|on|with)\s(?:an?\s|my\s|the\s)?(?=\d)")
        scan.search(r"\b(?:gpu|vram|laptop|ram|memory|graphics card|card|machine|computer|pc|desktop)\b")
        slots["precision"] = "fp16"
        slots["precision_said"] = False  # fp16 unless the question says (or asks for a quantized format)
        for pattern, precision in _PRECISION:
            if scan.search(pattern):
                slots["precision"], slots["precision_said"] = precision, True
                break
    if not slots.keys() & {"size", "max_params_b", "min_params_b", "max_memory_gb"}:
        if scan.search(r"\b(tiny|on[- ]device|edge|phone|mobile)\b"):
            slots["max_params_b"] = 1.5
        elif scan.search(r"\b(small|smaller|lightweight|laptop|cpu|consumer gpu|consumer hardware)\b"
                         r"(?!\s(?:team|company|business|startup|project|budget))"):  # fmt: skip
            slots["max_params_b"] = 4.0
        elif scan.search(r"\b(large|big|huge)\b"):
            slots["min_params_b"] = 30.0


def _lineage(scan: _Scan) -> tuple[str | None, int | None]:
    """The relation a lineage phrase asks for and where its base model name starts (None: none asked)."""
    match = _LINEAGE.search(scan.lowered)
    if match:
        scan.use(match.start(), match.end())
        scan.lineage = (match.start(), match.end())
        relation = _relation(match[1] or match[2])
        if match[2]:  # "merges built on phi-2", "adapters based on gemma": the kind is the word before
            before = re.search(r"\b(fine[- ]?tunes?|finetunes?|adapters?|loras?|merges?|quanti[sz]ations?|quants?)"
                               r"(?:\s(?:models?|versions?|variants?|repos?))?\s(?:that are\s|which are\s)?$",
                               scan.lowered[: match.start()])  # fmt: skip
            if before:
                relation = _relation(before[1])
                scan.use(before.start(), before.end())
        return relation, match.end()
    return None, None


def _relation(word: str) -> str:
    word = word.lower().replace("-", "")
    for prefix, relation in RELATION_OF.items():
        if word.startswith(prefix):
            return relation
    return "any"


# A finding phrase said in the negative: "no", "without", "not", "free of", "avoid", directly before it or
# through a verb of having or needing ("do not need remote code", "without any custom code"). Words that join
# clauses ("no license and remote code") end the reach: the negation is another phrase's.
_NEGATED = re.compile(r"(?:\bno|\bnot|n't|\bwithout|\bnever|\bfree of|\bavoid(?:s|ing)?|\bexclud(?:e|es|ing))\s"
                      r"(?:(?:need|needs|needing|require|requires|requiring|use|uses|using|have|has|having|ship|"
                      r"ships|contain|contains|containing|rely|relies|on|include|includes|any|a|an|the|to|load|"
                      r"loading|call|for|with)\s){0,3}$")


def parse_slots(text: str, scan: _Scan | None = None, pre: dict | None = None) -> dict:
    """Every slot the text states (no model names: the caller resolves those); `pre`: slots read before names."""
    scan = scan or _Scan(text)
    lowered = scan.lowered
    slots: dict = dict(pre or {})
    if "license" not in slots:
        license_id = exact_license(scan)
        if license_id:
            slots["license"] = license_id
    if "author" not in slots:
        author = author_slot(scan)
        if author:
            slots["author"] = author
    _size_slots(scan, slots)
    scan.search(r"(?:(?<=\db)|(?<=\dm)|(?<=billion)|(?<=million))\s(?:parameters|params)\b")
    explicit = scan.search(r"\bfinding\s([a-z_]+)\s?=\s?(pass|fail|not_available|not_applicable)\b")
    if explicit:
        slots["finding"] = f"{explicit[1]}={explicit[2]}"
    downloads = scan.search(r"\b(?:at least|over|more than|above|min(?:imum)?|>=?)\s?(\d[\d,.]*)\s?(k|m|thousand|"
                            r"million)?\s(?:monthly\s)?downloads\b")  # fmt: skip
    if downloads:
        number = float(downloads[1].replace(",", ""))
        scale = {"k": 1e3, "thousand": 1e3, "m": 1e6, "million": 1e6}.get(downloads[2] or "", 1)
        slots["min_downloads"] = int(number * scale)
    top = scan.search(r"\b(?:top|best|first)\s+(\d{1,2}|" + "|".join(_WORD_NUMBERS) + r")\b")
    if top:
        slots["top"] = int(top[1]) if top[1].isdigit() else _WORD_NUMBERS[top[1]]
    target = scan.search(r"\b(?:reach|get to|hit|score|get|above|to)\s(?:an?\s)?(\d{1,2}(?:\.\d)?)(?![\d.,-])"
                         r"(?:\s?/\s?10|\sout of 10)?", mark=False)  # fmt: skip
    if target and scan.search(r"\bwhat would it take\b|\bwhat (?:does|would) it need\b|\bhow (?:can|could|would) "
                              r"(?:it|\w[\w.-]{0,60}) (?:reach|get|score|improve)|\bwhat would (?:raise|improve)|"
                              r"\bto (?:reach|get to|hit)\b|\bscore higher\b|\bimprove\b|"
                              r"\bneeds? to (?:reach|get to|score|hit)\b"):  # fmt: skip
        slots["target"] = float(target[1])
        scan.use(target.start(), target.end())
    counted = scan.search(r"\b(?:the\s)?(?:most|fewest|least|more|fewer)\s(?:pickle|pickled|unsafe|code-carrying|"
                          r"weight|\.bin\s)?\s?files\b", mark=False)  # fmt: skip
    if counted:  # "the most pickle files": the finding filters below; the count itself is no ranking search has
        slots["unranked"] = scan.text[counted.start() : counted.end()]
    pattern, findings = _tables()["findings"]
    wanted = [slots["finding"]] if "finding" in slots else []
    for match in pattern.finditer(lowered):
        if not scan.is_used(match.start(), match.end()):
            found = findings[_key(match[0])]  # one finding, or several that the phrase means together
            negated = _NEGATED.search(lowered[max(0, match.start() - 40) : match.start()])
            if negated and isinstance(found, str) and found.endswith(("=pass", "=fail")):
                # "do not need remote code", "without custom code": the phrase's finding, turned over
                found = found.removesuffix("=pass") + "=fail" if found.endswith("=pass") else \
                    found.removesuffix("=fail") + "=pass"  # fmt: skip
                scan.use(match.start() - len(negated[0]), match.start())
            wanted.extend([found] if isinstance(found, str) else found)
            scan.use(match.start(), match.end())
    wanted = list(dict.fromkeys(wanted))
    # "with safetensors" asks for .safetensors files (a weight format), not any format that loads safely.
    file_formats = [w.removeprefix("format:") for w in wanted if w.startswith("format:")]
    wanted = [w for w in wanted if not w.startswith("format:")]
    checks = [w.split("=")[0] for w in wanted]
    wanted = [w for w, c in zip(wanted, checks, strict=True) if checks.count(c) == 1 or w == wanted[0]]
    if wanted:
        slots["finding"] = wanted[0]
    if len(wanted) > 1:  # "pickle files and no safetensors": every finding, all of them
        slots["findings"] = wanted
    pattern, kinds = _tables()["formats"]
    named, runtimes = [], []
    for match in pattern.finditer(lowered):  # "GGUF or GGML versions of phi-2": quantizations in those formats
        in_lineage = scan.lineage[0] <= match.start() and match.end() <= scan.lineage[1]
        if in_lineage or not scan.is_used(match.start(), match.end()):
            found, runtime = kinds[_key(match[0])]
            (runtimes if runtime else named).extend(found)
            scan.use(match.start(), match.end())
    if named or runtimes or file_formats:  # "GGUF or ONNX models": any of them
        slots["formats"] = list(dict.fromkeys(file_formats + (named or runtimes)))
    if slots.pop("precision_said", True) is False and set(slots.get("formats", ())) & QUANTIZED_FORMATS:
        # "a GGUF model for 8 GB": such repos are run at a quantized precision; 4-bit is the usual one
        slots["precision"] = "int4"
    for pattern, values in LICENSES:
        found = [m for m in re.finditer(pattern, lowered) if not scan.is_used(m.start(), m.end())]
        for extra in found[1:]:  # "permissive ... for commercial use": one requirement said twice
            scan.use(extra.start(), extra.end())
        match = found[0] if found else None
        if match:
            if "license" in values and "license" not in slots:
                slots.update(values)
                scan.use(match.start(), match.end())
            elif ("license_class" in values or "commercial" in values) and not slots.keys() & {
                    "license", "license_class", "commercial"}:
                slots.update(values)
                scan.use(match.start(), match.end())
            elif "license_class" in values or "commercial" in values:
                scan.use(match.start(), match.end())  # a second license word: the first one stands
    if scan.search(r"\b(?:any|an?)\s(?:open|free)\slicen[cs]e\b|\bopen licen[cs]es?\b"):
        slots.setdefault("license_class", "permissive")
    if scan.search(r"\bchat(?:bot|bots|s|ting)?\b|\binstruct(?:ion)?[- ]?(?:tuned|following)?\b|\bassistants?\b|"
                   r"\bconversation(?:al)?\b|\bdialog(?:ue)?\b"):  # fmt: skip
        slots["chat"] = True  # no task filter: many chat models carry no pipeline tag
    # "our legal team", "our security team asked": who asks, not a topic or a ranking of the model.
    scan.search(r"\b(?:legal|law|security|compliance|infosec|it)\s(?:team|department|dept|counsel|review|folks|"
                r"people|firm|office|officers?)s?\b")
    # "anything that could run arbitrary code when loaded": the load-safety finding, not a coding task.
    runs_code = scan.search(r"(?:\b(?:cannot|can't|can\snot|could\snot|couldn't|won't|will\snot|doesn't|does\snot|"
                            r"don't|do\snot|never|not)\s(?:be\sable\sto\s)?)?"
                            r"(?:\b(?:run|runs|running|execute|executes|executing)\s(?:arbitrary\s|malicious\s)?"
                            r"code\b|\barbitrary code\b|\bcode execution\b)(?:\s(?:when|on|at|while)\s"
                            r"(?:it\sis\s|they\sare\s)?(?:loaded|load|loading|import|imported|opened))?")
    if runs_code:
        avoid = re.search(r"\b(?:avoid|no|not|without|never|nothing|safe from|free of|cannot|can't|won't|n't)\b",
                          lowered[max(0, runs_code.start() - 40) : runs_code.end()])
        slots.setdefault("finding", "unsafe_files=pass" if avoid else "unsafe_files=fail")
    pattern, lookup = _tables()["tasks"]
    for match in pattern.finditer(lowered):
        if scan.is_used(match.start(), match.end()):
            continue
        entry = lookup[_key(match[0])]
        scan.use(match.start(), match.end())
        tags = entry.get("pipeline_tags") or []
        # The first task word stands, and the first topic: a topic ("medical") does not take a task's place.
        if tags and "task" not in slots:
            slots["task"] = tags[0]
            if len(tags) > 1:
                slots["tasks"] = list(tags)
            if entry.get("topics"):
                slots["topics"] = list(entry["topics"])
        elif not tags and entry.get("topics") and "topics" not in slots:
            slots["topics"] = list(entry["topics"])
        slots["task_words"] = match[0]
    pattern, codes = _tables()["languages"]
    for match in pattern.finditer(lowered):
        if not scan.is_used(match.start(), match.end()):
            slots.setdefault("language", codes[match[0]])
            scan.use(match.start(), match.end())
    code = scan.search(r"\blanguage[:= ]([a-z]{2})\b")
    if code:
        slots["language"] = code[1]
    for pattern, criterion in CRITERIA:
        match = re.search(pattern, lowered)
        if match and not scan.is_used(match.start(), match.end()):
            if "sort" in slots and criterion != "overall":  # "the safest smallest": one ranking at a time
                slots.setdefault("other_sorts", []).append(scan.text[match.start() : match.end()])
            slots.setdefault("sort", criterion)
            scan.use(match.start(), match.end())
    if scan.search(_UNGATED):
        slots["exclude_gated"] = True
    elif scan.search(_MANUAL):  # approved by hand: narrower than any gate
        slots["gated_manual"] = True
        scan.search(_GATED)
    elif scan.search(_GATED):
        slots["gated_only"] = True
    if scan.search(r"\bscore higher\b|\bimprove (?:its|the|their) score\b|\bwhat would it take\b|\bwhat[- ]ifs?\b|"
                   r"\braise (?:its|the) score\b"):  # fmt: skip
        slots["what_if"] = True
    date_slots(scan, slots)
    slots.update(_years(scan))
    if scan.search(r"\b(weekly|per week|by week|each week|week by week)\b"):
        slots["unit"] = "week"
    elif scan.search(r"\b(daily|per day|by day|each day|day by day)\b"):
        slots["unit"] = "day"
    found = {key: [m.span() for m in re.finditer(r"\b" + re.escape(key) + r"\b", lowered)] for key in FAMILIES}
    keys = [key for key, spans in found.items() if spans]
    if keys:
        slots["archs"] = list(dict.fromkeys(FAMILIES[key] for key in keys))
        # Words no other slot read ("llama.cpp" is a runtime, "Mistral AI" a company): a search's topic.
        free = [key for key in keys if any(not scan.is_used(a, b) for a, b in found[key])]
        if free:
            slots["family_words"] = free
    return slots


def mentioned_names(text: str) -> list[str]:
    """Candidate model names in the order they appear: full ids first-class, then name-like tokens."""
    return [name for _, _, name in _name_spans(text)]


def _name_spans(text: str) -> list[tuple[int, int, str]]:
    found: list[tuple[int, int, str]] = [(m.start(), m.end(), m[1].rstrip(".,?!")) for m in _ID.finditer(text)]
    taken = [(a, b) for a, b, _ in found]
    for m in _NAME.finditer(text):
        token = m[1].rstrip(".,?!")
        if any(a <= m.start() < b for a, b in taken):
            continue
        low = token.lower()
        if low in _NOT_NAMES or _SIZE.fullmatch(low) or _EXPERTS.fullmatch(low) or re.fullmatch(r"20\d\d(-\d\d)*", low):
            continue
        if re.fullmatch(r"(under|over|top)\d+|\d+(gb|k|m)|v?\d[\d.]*", low) or _MEMORY.fullmatch(low):
            continue
        found.append((m.start(), m.start() + len(token), token))
    return sorted(found)


def ordinal(text: str) -> int | None:
    """The list position a follow-up points at ('the second one' -> 1)."""
    lowered = text.lower()
    match = _ORDINAL.search(lowered)
    if match:
        return ORDINALS[match[1]]
    match = re.search(r"\b(number|no\.?|#)\s?(\d)\b", lowered)
    return int(match[2]) - 1 if match else None


_FOLLOW_PRONOUN = re.compile(r"\b(them|those|these|it|its|it's|that one|this one|that model|this model|the same|"
                             r"ruled[- ]out|the ruled|the others?|they|their|the rest)\b")  # fmt: skip
_FOLLOW_START = re.compile(r"^(and|what about|how about|same|now|ok|okay|and what about|what if|only|just|but|also|"
                           r"then|instead|narrow|filter|restrict|limit|exclude|drop|remove|keep|show only|"
                           r"make it|with|without|sort|rank|order|any of them|which of them|of those)\b")  # fmt: skip


_HOW_CHANGED = r"history|over time|\bhow (?:much |far )?(?:did|has|have|do|does)\b"
_INJECTION = re.compile(r"\bignore (?:all |any |the )?(?:previous|prior|above|earlier|your) (?:instructions|prompts?|"
                        r"rules)|\bsystem prompt\b|\bdrop table\b|\bselect \* from\b|\bdelete from\b|<script\b|"
                        r"\byou are now\b|\bdisregard (?:all |the )?(?:previous|prior|above)\b")


def classify(text: str, has_models: int, slots: dict, memory: dict) -> str:
    """The intent of a question."""
    lowered = text.lower().strip()
    if _INJECTION.search(lowered) and not slots.keys() - {"sort", "top"}:
        return "out_of_scope"  # "ignore previous instructions; DROP TABLE models": no filter, nothing asked
    if re.fullmatch(r"(help|\?+|hi|hello|hey)[.!?]*|what can you do\??|how (does this|do you) work\??", lowered) or \
            re.search(r"\bwhat can you\b|\bwhat do you know\b|\bwhat do you answer\b", lowered):  # fmt: skip
        return "help"
    follow = bool(memory.get("models")) and (
        ordinal(text) is not None
        or _FOLLOW_PRONOUN.search(lowered)
        or _FOLLOW_START.match(lowered)
        or (lowered.startswith("why") and not has_models)
    )
    comparing = re.search(r"\bcomp(?:are|re|air|ar|ere|aer)\b|\bcomapre\b|\bvs\.?\b|\bversus\b|side[- ]by[- ]side|"
                          r"difference between|\bbetter than\b|"
                          r"\bor\b|\bwhich (?:one |of (?:the|these|them) )?(?:is|has|scores)\b|\bbetween\b|"
                          r"\b(?:safer|better|more popular|more secure|better documented|riskier|worse|more active|"
                          r"less risky|more maintained|more trustworthy)\b|\bwhich of\b|"
                          r"\bhow do\b[\w ,.-]{0,80}\bcompare\b", lowered)  # fmt: skip
    lineage = slots.get("base") is not None or slots.get("base_unresolved") is not None
    if comparing and not lineage and (has_models >= 2 or (memory.get("models") and re.search(
            r"\bcomp(?:are|re|air|ar|ere|aer)\b|\bvs\.?\b|\bversus\b|side[- ]by[- ]side", lowered))):  # fmt: skip
        return "compare"
    if follow and not has_models and not lineage:
        return "followup"
    if re.search(r"\bwhy\b|\bexplain\b|how come|\breasons?\b|what makes|\bbreakdown\b|what('s| is) (hurting|dragging)|"
                 r"\brisks? (?:of|in|with|when) (?:loading|using|running|deploying)\b|\bis it safe to\b|"
                 r"low(er)? score|so (low|high)|what would it take|score higher|what would (raise|improve)|"
                 r"\bwhat[- ]ifs?\b|\bhow (can|could) \S{1,80} (reach|get|improve)|\bneeds? to (reach|get to|score)\b",
                 lowered) and \
            (has_models or memory.get("models")) and not lineage:  # fmt: skip
        return "explain"
    trend = (
        r"\btrends?\b|over time|leaderboard|" + _MONTHLY + r"|\bper (month|week|day)\b|\bby (month|week)\b|came out|"
        r"\breleases?\b|\b(?:gsm\s?8k|mmlu|hellaswag|truthful\s?qa|winogrande|ifeval|bbh|gpqa|musr)\b|"
        r"\bmost (?:fine-?tunes|finetunes|derivatives|descendants|adapters|quanti[sz]ations|quants|merges)\b|"
        r"\bmost (?:fine-?tuned|derived|adapted|quanti[sz]ed|merged) (?:base )?models?\b|"
        r"\barchitectures?\b|\bhistory\b|\bmovers?\b|\balerts?\b|popularity (of|move|change)|"
        r"how (?:much |far )?(did|has|have|do|does) \S[\w' ./-]{0,80}\b(move|moved|change|changed|grow|grew|evolve|"
        r"evolved|drop|dropped|rise|rose|fall|fell|develop|developed|trend|trended)\b|"
        r"(?:across|over) (?:the )?snapshots|"
        r"\bevolution\b|\bnew (\w+ )?models\b|took off|take off|\btaking off\b|became gated|newly gated|"
        r"\bsince (llama|mistral|mixtral|phi|gemma|qwen)|between snapshots|\bwhen did\b|"
        r"licen[cs]e changes|new pickle|which led|\bauthors? (on|of) the\b|\btop authors?\b|\bmost prolific\b"
    )
    # "models created in 2024": a year that dates creation is a search filter, not a leaderboard period
    dated = re.search(r"\bin 20\d\d\b", lowered) and _ABOUT_MODELS.search(lowered) and \
        not slots.get("created")  # fmt: skip
    if (re.search(trend, lowered) or dated or (_MOVED.search(lowered) and not has_models)) \
            and not lineage and not (has_models and re.search(r"\bscore\b", lowered)
                                                           and not re.search(_HOW_CHANGED, lowered)):
        return "trend"
    card_cue = re.search(r"\bcards?\b|\bmentions?\b|trained on|fine-?tuned on|\bdatasets?\b|"
                         r"\bdocumentation (about|on)\b|which models? (use|were trained|was trained|talk)|search for|"
                         r"look up|\bcite", lowered)  # fmt: skip
    # "trained on Korean text" is the language filter, not a card search.
    gpu_card = slots.get("max_memory_gb")
    if card_cue and not lineage and not gpu_card and not (slots.get("language") and card_cue[0] in ("trained on",
                                                                                                  "fine-tuned on")):
        return "cards"
    if has_models and not lineage and re.search(
            r"\bscore\b|\brating\b|\brate\b|how (safe|good|secure|trustworthy|popular|risky)|\bis\b\s\S{1,100}\s"
            r"(safe|secure|trustworthy|ok|good|risky|gated|legit)\b|\btrust\b|tell me about|\bcheck\b|\binfo\b|"
            r"\bdetails?\b|\bsecurity\b|\blicen[cs]e\b|\bfetch\b|\bwhat is\b|\bwhat's\b|\bis it\b",
            lowered):  # fmt: skip
        return "score"
    recommendish = re.search(r"\brecommend|\bsuggest|\bbest\b|\bsafest\b|\btop\b|which model|what model|\bfind\b|"
                             r"\bneed\b|looking for|\bpick\b|\bchoose\b|\bmost\b|\bgood\b|\bshould i use\b|"
                             r"\boptions?\b|\balternatives?\b|\bmodels?\b|\blist\b|\bshow\b|\bany\b|\bwhich\b|"
                             r"\bwhat\b", lowered)  # fmt: skip
    filters = slots.keys() & {"size", "max_params_b", "min_params_b", "license", "license_class", "commercial", "task",
                              "chat", "sort", "topics", "language", "finding", "exclude_gated", "min_downloads", "base",
                              "max_memory_gb", "base_unresolved"}  # fmt: skip
    generic = not (filters - {"sort"}) and slots.get("sort") in (None, "overall")  # only "good" or "best"
    if generic and not has_models and not _ABOUT_MODELS.search(lowered) and len(lowered.split()) > 2:
        return "out_of_scope"  # "a good recipe for pancakes": nothing about models at all
    if filters and (recommendish or not has_models or lineage):
        return "recommend"
    if has_models:
        return "score"
    if recommendish and _ABOUT_MODELS.search(lowered):
        return "recommend"
    if _ABOUT_MODELS.search(lowered):
        return "recommend" if recommendish else "help"
    return "out_of_scope" if len(lowered.split()) > 2 else "help"


_PLAIN_CUE = re.compile(
    r"(?:\b(?:about|of|for|score|check|compare|is|does|and|vs\.?|versus|with|than|or|rate)\s+)([a-z][a-z]{3,})"
    r"(?![\w.-])|(?<![\w.-])([a-z][a-z]{3,})'s\b|(?<![\w.-])([a-z][a-z]{3,})(?=,?\s(?:or|vs\.?|versus|and)\s)",
    re.I,
)
_STOP = set(
    "model models best safest safe secure license licensed score scores chat image text small large tiny popular "
    "this that these those which what there their them they your mine good very most more less with about under over "
    "than open source commercial permissive instruct assistant data dataset datasets card cards trend trends help "
    "security quality activity popularity overall operational leaderboard architecture authors history type types "
    "something anything everything other another same fine tunes tune tuned merges adapters base descendants "
    "derivatives variants versions quantized code coding speech translation summarization reasoning embeddings "
    "documented limitations license gated access weights korean english chinese french german spanish japanese "
    "russian arabic hindi laptop phone memory downloads safer better riskier worse pick choose".split()
)  # fmt: skip


def plain_names(text: str) -> list[tuple[int, int, str]]:
    """Plain-word names ('bloom') in possessive form or after a cue word, outside a stoplist, with their spans."""
    found = []
    for match in _PLAIN_CUE.finditer(text):
        group = next(g for g in (1, 2, 3) if match[g])
        word = match[group].lower()
        if word not in _STOP and word not in _FILLER:
            found.append((match.start(group), match.end(group), word))
    return found


def _spaced_names(text: str, taken: list[tuple[int, int]]) -> list[tuple[int, int, str]]:
    """Names typed with spaces, joined with hyphens ('llama 2 7b chat' -> 'llama-2-7b-chat')."""
    found = []
    for m in _SPACED.finditer(text):
        if any(a < m.end() and m.start() < b for a, b in taken):
            continue
        found.append((m.start(), m.end(), re.sub(r"\s+", "-", m[1])))
    return found


def _resolve_longest(name: str, resolve: Callable[[str], str | None]) -> tuple[str | None, int]:
    """Resolve a hyphen-joined spaced name, dropping trailing parts until one resolves: (id, parts used)."""
    parts = name.split("-")
    for skip in (0, 1):  # "compare llama 2 7b": the first word may be the verb, not the name
        for n in range(len(parts), skip + 1, -1):
            stored = resolve("-".join(parts[skip:n]))
            if stored:
                return stored, (skip, n)
    return None, (0, 0)


# Asking for repos without a gate (search's `exclude_gated`); a bare "gated" left over asks for gated ones only,
# which search cannot do (the vocabulary's unsupported table says so).
# Gated repos only ("which Meta models are gated", "models that need access approval"); "became gated" is an alert.
_GATED = (r"(?<!became )(?<!become )(?<!becomes )(?<!newly )(?<!got )(?<!gets )\bgated\b(?!\s(?:by|on))|"
          r"\b(?:need|needs|require|requires|requiring|needing) (?:access )?approval\b|\bbehind a gate\b")
_MANUAL = (r"\bmanual(?:ly)?[- ](?:access[- ])?(?:approv\w*|review\w*|gat\w*)|\b(?:approved|reviewed) (?:by hand|"
           r"manually|by (?:the )?authors?)\b|\bgated\s?=\s?manual\b")
_UNGATED = (r"\b(?:not|non|un)[- ]?gated\b|n'?t gated\b|\bwithout (?:gating|approval|an? access request|"
            r"access requests?|requesting access|asking for access|approval gates?|a gate|signing up)|"
            r"\bno (?:gating|gate|approval|access request)s?\b|\bopen[- ]weights?\b|"
            r"\b(?:exclude|excluding|drop|dropping|skip|skipping|remove|removing|without|no|leave out|leaving out|"
            r"except|not the) (?:the |any |all )?gated\b|"
            r"\bno (?:need to )?request(?:ing)? access\b|\bungated\b|\bfreely (?:downloadable|available)\b|"
            r"\bwithout (?:a )?login\b|\bnot behind a gate\b|\bdownload (?:right away|immediately)\b")


def unsupported_requirements(text: str) -> list[NotApplied]:
    """The requests in a question that no stored fact can answer (prices, speed, context length ...).

    The LLM path appends these to an answer that does not mention them; the planner reports them itself.
    """
    check_length(text)
    scan = _Scan(text)
    # "not gated" is a filter search applies, "became gated" an alert: neither asks for gated repos only
    scan.search(_UNGATED + r"|\b(?:became|become|becomes|becoming|newly|got|gets) gated\b")
    pattern, reasons = _tables()["unsupported"]
    found: list[NotApplied] = []
    for match in pattern.finditer(scan.lowered):
        if scan.is_used(match.start(), match.end()):
            continue
        reason = reasons[_key(match[0])]
        if found and found[-1].reason == reason:
            found[-1] = NotApplied(f"{found[-1].phrase}, {scan.text[match.start() : match.end()]}", reason)
        else:
            found.append(NotApplied(scan.text[match.start() : match.end()], reason))
    return found


def _not_applied(scan: _Scan, slots: dict) -> list[NotApplied]:
    """Requirements the question states that no slot used: known-unsupported words, then leftover phrases."""
    out: list[NotApplied] = []
    for phrase in slots.pop("other_sorts", []):
        out.append(NotApplied(phrase, f"search ranks by one thing at a time: here {slots['sort']}"))
    if slots.get("unranked"):
        out.append(NotApplied(slots.pop("unranked"), "search cannot rank by a count of files; it ranks by "
                                                     f"{slots.get('sort', 'overall')} among the models that have them"))
    pattern, reasons = _tables()["unsupported"]
    for match in pattern.finditer(scan.lowered):
        if scan.is_used(match.start(), match.end()):
            continue
        reason = reasons[_key(match[0])]
        if out and out[-1].reason == reason:  # "a mac m2": one requirement, one line
            out[-1] = NotApplied(f"{out[-1].phrase}, {scan.text[match.start() : match.end()]}", reason)
        else:
            out.append(NotApplied(scan.text[match.start() : match.end()], reason))
        scan.use(match.start(), match.end())
    for match in _REQUIREMENT.finditer(scan.lowered):
        if scan.is_used(match.start(1), match.end(1)):
            continue
        content = [w for w in re.finditer(r"[\w'+#.$-]+", match[2])
                   if w[0].strip(".") not in _FILLER and not w[0].isdigit()
                   and not scan.is_used(match.start(2) + w.start(), match.start(2) + w.end())]  # fmt: skip
        if not content:
            continue
        end = match.start(2) + content[-1].end()
        phrase = scan.text[match.start() : end].strip().rstrip("?.!,")
        out.append(NotApplied(phrase, "no such filter"))
        scan.use(match.start(), end)
    return out


def parse(text: str, resolve: Callable[[str], str | None], memory: dict | None = None,
          resolve_exact: Callable[[str], str | None] | None = None,
          resolve_base: Callable[[str], str | None] | None = None) -> Plan:  # fmt: skip
    """The plan for one question.

    `resolve` maps a typed name to a stored model id (or None), typos allowed; `resolve_exact` is used for
    plain words, which must match a well-known stored name exactly (so "model" or "best" never turn into a
    model); `resolve_base` may also know base models that are only named by stored models (lineage questions).
    Raises `QuestionTooLong` over `MAX_QUESTION_CHARS`.
    """
    check_length(text)
    keep = lambda word: (resolve_exact or resolve)(word) is not None  # noqa: E731 - a one-line predicate
    text = expand_aliases(correct_typos(strip_controls(text), keep=keep))
    memory = memory or {}
    scan = _Scan(text)
    relation, base_at = _lineage(scan)
    pre: dict = {}  # read before names: a license id or an author is not a model name ("llama2", "01-ai")
    license_id = exact_license(scan)
    if license_id:
        pre["license"] = license_id
    excluded = excluded_authors(scan)
    if excluded:
        pre["exclude_author"] = excluded
    author = author_slot(scan)
    if author:
        pre["author"] = author
    after = _LINEAGE_AFTER.search(scan.lowered)
    models, unresolved, spans, unknown = [], [], [], []
    exact = resolve_exact or resolve
    taken = []
    suffix = re.compile(r"[ -](" + "|".join(map(re.escape, vocabulary().get("name_suffixes") or ["-"])) + r")\b", re.I)
    for start, end, name in _name_spans(text):
        if scan.is_used(start, end):
            continue
        stored = None
        follows = suffix.match(text, end)
        if follows:  # "the phi-2 llamafile": the name with its format word, when that is a stored model
            stored = resolve(f"{name}-{follows[1]}")
            end = follows.end() if stored else end
        stored = stored or resolve(name)
        if stored:
            spans.append((start, end, stored))
            taken.append((start, end))
        elif "/" in name:
            if relation is not None and base_at is not None and start >= base_at:
                unknown.append((start, end, name))  # "fine-tunes of org/base": a base only cards name, resolved below
            else:
                unresolved.append(name)
            scan.use(start, end)
            taken.append((start, end))
        elif "-" in name and re.search(r"\d", name):
            scan.use(start, end)  # an unknown name ('Janus-Pro-7B'): its size is part of the name, not a filter
            unknown.append((start, end, name))
    for start, end, name in _spaced_names(text, taken):
        stored, (skip, used) = _resolve_longest(name, resolve)
        if stored:
            words = re.split(r"[ -]", text[start:end])
            first = start + len(" ".join(words[:skip])) + (1 if skip else 0)
            stop = start + len(" ".join(words[:used]))
            spans.append((first, stop, stored))
            taken.append((first, stop))
    for start, end, word in plain_names(text):
        if any(a < end and start < b for a, b in taken):
            continue
        stored = exact(word)
        if stored:
            spans.append((start, end, stored))
    spans.sort()
    base = None
    if relation is not None:  # "fine-tunes of deepseek r1", "derived from Janus-Pro-7B"
        following = [s for s in spans if s[0] >= base_at and len(scan.lowered[base_at : s[0]].split()) <= 2]
        base = following[0] if following else None
    if base is None and after:  # "gemma-7b fine-tunes", "the most downloaded phi-2 fine-tune"
        ahead = [s for s in spans if s[1] <= after.start() and not scan.lowered[s[1] : after.start()].strip(" -'s")]
        if not ahead:  # a family word ("gemma fine-tunes", "stable diffusion variants"): its best-known model
            words = re.findall(r"[a-z][\w.]*", scan.lowered[max(0, after.start() - 40) : after.start()])[-2:]
            for n in (2, 1):
                name = "-".join(words[-n:]) if len(words) >= n else ""
                stored = resolve(name) if len(name) >= 4 and name not in _FILLER and name not in _STOP else None
                if stored:
                    start = after.start() - len(" ".join(words[-n:]))
                    ahead = [(start, after.start(), stored)]
                    spans.append(ahead[0])
                    break
        if ahead:
            relation, base = _relation(after[1]), ahead[-1]
            scan.use(after.start(), after.end())
    spans = [s for s in spans if not any(a <= s[0] and s[1] <= b for a, b in scan.used)]
    if base is None and relation is None and len(spans) == 1:  # "which Llama 2 models ...": the model's family
        family = re.match(r"\s?(?:models|variants|checkpoints|family|derivatives)\b", scan.lowered[spans[0][1] :])
        if family:
            base, relation = spans[0], "any"
            scan.use(spans[0][1], spans[0][1] + family.end())
    for start, end, stored in spans:
        scan.use(start, end)
        if base and stored == base[2]:
            continue
        if stored not in models:
            models.append(stored)
    slots = parse_slots(text, scan, pre)
    if base:
        slots["base"] = base[2]
        if relation != "any":
            slots["relation"] = relation
    elif relation is not None and base_at is not None:
        named = [n for a, _, n in unknown if a >= base_at]
        typed = named[0] if named else text[base_at:].split("?")[0].strip()[:60]
        stored = resolve_base(typed) if resolve_base and named else None
        if stored:
            slots["base"] = stored
            if relation != "any":
                slots["relation"] = relation
        else:
            slots["base_unresolved"] = typed
    intent = classify(text, len(models) + len(unresolved), slots, memory)
    asked = _attribute_intent(text, intent, models, slots)
    if asked:
        intent = "score"
        slots["attributes"] = asked
    words = slots.pop("family_words", None)
    if intent == "recommend" and words and not (models or slots.keys() & {"author", "base", "base_unresolved",
                                                                              "topics", "exclude_author"}):
        slots["topics"] = words  # "gemma repos": the family's tag or a word of the repo name, as a topic
    if intent in ("recommend", "followup"):
        created_slots(slots)
    not_applied = _not_applied(scan, slots) if intent in ("recommend", "followup") else []
    slots.pop("other_sorts", None)  # said above for a search; a trend or a score card has no ranking to choose
    slots.pop("unranked", None)
    if intent == "recommend" and models:  # a name that neither a lineage nor a comparison used
        not_applied += [NotApplied(m, "a named model is not a search filter; ask for 'fine-tunes of' it, or compare "
                                      "it with another") for m in models]  # fmt: skip
    if slots.get("updated") and intent in ("recommend", "followup"):
        not_applied.insert(0, NotApplied(slots["updated"], "no period could be read from it; say e.g. 'updated in "
                                                           "the last 6 months' or 'updated since 2024'"))
    if intent == "trend":
        _trend_slots(text, scan, slots, models)
        not_applied += _not_for_trends(slots)
    if slots.get("base_unresolved") and intent == "recommend":
        not_applied.insert(0, NotApplied(slots["base_unresolved"], "no such base model in the database"))
    return Plan(intent, slots, models, unresolved, not_applied)


def created_slots(slots: dict) -> None:
    """A search's dates are creation dates: "released in 2024" is created from 2024-01-01, before 2025-01-01.

    "In the last 6 months" stays relative (`within`: the planner counts from the newest snapshot).
    """
    start, end = slots.pop("start", None), slots.pop("end", None)
    if start:
        slots["created_after"] = start
    if end:
        day = date.fromisoformat(end)
        slots["created_before"] = date.fromordinal(day.toordinal() + 1).isoformat()
    slots.pop("created", None)


# Search filters a trend view cannot apply: said not applied rather than dropped.
_SEARCH_ONLY = {"task_words": "task", "topics": "topic", "license": "license", "license_class": "license class",
                "commercial": "commercial use",
                "language": "language", "chat": "chat", "finding": "finding", "exclude_gated": "not gated",
                "gated_only": "gated only", "gated_manual": "gated with manual approval",
                "min_downloads": "minimum downloads", "max_memory_gb": "memory", "author": "author",
                "created_after": "created after", "created_before": "created before", "min_params_b": "at least",
                "updated_after": "updated after", "updated_before": "updated before", "formats": "format",
                "max_params_b": "at most", "size": "size"}  # fmt: skip


def _not_for_trends(slots: dict) -> list[NotApplied]:
    """The search filters a trend question states, which its view does not apply (size only for leaders)."""
    out = []
    view = slots.get("view")
    board = view not in ("history", "movers", "alerts")  # a leaderboard view: text-generation models only
    if board and slots.get("chat") and view in ("leaders", "benchmarks") and not slots.get("types"):
        slots["types"] = ["chat"]  # chat models are a type of the leaderboard
    for key, label in _SEARCH_ONLY.items():
        # "the Mistral 7B release": the size is part of the release's name, not a filter.
        if key == "size" and "size" in slots and view == "releases" and slots.get("release"):
            slots.pop("size")
            continue
        if key not in slots or (key == "size" and view == "leaders") or (key == "chat" and board) or \
                (key == "task_words" and board and slots.get("task") == "text-generation") or \
                (key == "finding" and view == "alerts" and slots[key].startswith("unsafe_files")):  # fmt: skip
            continue
        value = slots[key]
        if key in ("min_params_b", "max_params_b"):
            value = f"{value:g}B parameters"
        shown = label if value is True else f"{label} {value}"
        out.append(NotApplied(shown, f"the {slots.get('view', 'trend')} view does not filter on it"))
    return out


_BOARD = re.compile(r"\bleaderboard\s\(?(?:v|version\s?)([12])\b|\b(?:v|version\s?)([12])\s(?:of\s)?(?:the\s)?"
                    r"(?:open\s?llm\s)?leaderboard\b|\bopen\s?llm\s?leaderboard\s?([12])\b|"
                    r"\b(new|newer|current|old|older|original|first|second)\s(?:open\s?llm\s)?leaderboard\b")


# "compare X and Y on downloads", "in terms of their likes": the counters themselves, not the popularity score.
_ON_COUNT = r"\b(?:on|by|in terms of|with respect to|regarding)\s(?:(?:the|their|its|number of|total)\s)*"
# One fact of named models, asked directly ("which is bigger", "does it require approval"): answered with the
# fact's value, not with a score card. Checked in order; a question may ask several.
ATTRIBUTES = (
    (r"\bpickles?\b|\bunsafe (?:files|weights)\b|\bcode-carrying\b|\bcan run code\b", "finding:unsafe_files"),
    (r"\bsafetensors\b", "finding:safetensors"),
    (r"\bremote code\b|\btrust_remote_code\b|\bcustom code\b", "finding:remote_code"),
    (r"\bcode files?\b|\bpython files?\b|\.py files?\b|\bscripts?\b|\bexecutables?\b", "finding:code_files"),
    (r"\bbigger\b|\blarger\b|\bsmaller\b|\bhow (?:big|large|small)\b|\bhow many (?:parameters|params)\b|"
     r"\bparameter count\b|\bnumber of parameters\b|\bwhat size\b|\bsize of\b|\b(?:more|fewer|less) parameters\b|"
     r"\bparams\b|\bparameters\b", "size"),
    (r"\bbase model\b|\bbased on\b|\bparent model\b|\bbuilt on\b|\ba fine-?tune of\b|\bderived from\b|"
     r"\bwhat (?:model )?(?:is|was) \S{1,100} (?:fine-?tuned|trained) from\b", "base"),
    (r"\brequire[sd]? (?:an? )?(?:approval|access|login|account|sign|accepting)|\bneeds? (?:an? )?(?:approval|"
     r"access|to (?:request|ask for) access|login|account)|\bgated\b|\bgating\b|\baccess requests?\b|"
     r"\bapproval\b|\bfreely downloadable\b|\brequest(?:ing)? access\b|\baccess (?:to \S{1,100} )?(?:is )?"
     r"(?:restricted|limited|open)\b|\brestricted\b", "gated"),
    (r"\bcommercial(?:ly)?\b|\bin (?:a|an|my|our) (?:paid |commercial )?(?:product|business|company|app|"
     r"application|service|saas|startup)\b|\bfor business\b|\bsell\b|\bmoneti[sz]e\b|"
     r"\b(?:monthly )?active users\b|\bmonthly users\b|\bmau\b", "commercial"),
    (r"\bwhat licen[cs]es?\b|\bwhich licen[cs]es?\b|\blicen[cs]es? (?:does|do|is|are|of)\b|\bunder what licen|"
     r"\bits licen|\btheir licen[cs]es?\b|\bcompare (?:the |their )?licen[cs]es?\b|\blicen[cs]es? compare\b|"
     r"\b(?:more|less|most|least) (?:permissive|restrictive|liberal|open|free)\b[\w\s-]{0,20}\blicen[cs]e|"
     r"\b(?:freer|friendlier|looser|stricter) licen[cs]e", "license"),
    (r"\bhow many downloads\b|\b(?:more|fewer|most|less) downloads\b|\bdownload count\b|\bdownloaded more\b|"
     r"\b(?:more|most|less|least) downloaded\b|" + _ON_COUNT + r"(?:likes and )?downloads\b", "downloads"),
    (r"\bhow many likes\b|\b(?:more|fewer|most|less) likes\b|\blike count\b|\bliked more\b|"
     r"\b(?:more|most|less|least) liked\b|" + _ON_COUNT + r"(?:downloads and )?likes\b", "likes"),
    (r"\b(?:what|which) files\b|\bfiles? (?:does|do|are|is) (?:in|there)\b|\bfile list\b|\blist (?:the|its|of) "
     r"files\b|\bfiles does\b|\bwhat(?:'s| is) in (?:the|its|that) repo|\b(?:what|which) (?:weight |file )?formats?\b|"
     r"\bformats? does\b|\bin what format", "files"),
    (r"\b(?:what|which) (?:task|pipeline)\b|\bwhat (?:is|does) \S{1,100} (?:for|do)\b|\bwhat can \S{1,100} do\b",
     "task"),
    (r"\blast (?:updated|modified|changed|commit|update)\b|\bwhen was \S{1,100} (?:last )?(?:updated|modified|"
     r"changed)\b|\bupdated (?:when|last)\b|\bmost recently updated\b", "updated"),
    (r"\bwhen was \S{1,100} (?:created|released|published|uploaded|made)\b|\brelease date\b|\bcreation date\b|"
     r"\b(?:is|was) (?:\S{1,100} )?(?:newer|older)\b|\bwhich (?:one )?is (?:the )?(?:newer|older|more recent|"
     r"oldest|newest|most recent)(?: one)?\b|"
     r"\bhow old\b|\bcreated when\b|\breleased when\b", "created"),
    (r"\bwho (?:made|created|released|published|built|trained|owns|maintains|uploaded|is behind)\b|"
     r"\b(?:which|what) (?:company|org|organi[sz]ation|lab|team)\b|\bauthor of\b|\bmade by whom\b", "author"),
    (r"\bfits?\b|\brun (?:it )?on (?:a|an|my)\b|\benough (?:vram|memory)\b|\bhow much (?:vram|memory|gpu|ram)\b|"
     r"\b(?:less|more|least|most) (?:vram|memory|ram)\b", "memory"),
)  # fmt: skip


def attributes(text: str) -> list[str]:
    """The facts of named models a question asks for, in `ATTRIBUTES` order."""
    lowered = text.lower()
    return [name for pattern, name in ATTRIBUTES if re.search(pattern, lowered)]


def _attribute_intent(text: str, intent: str, models: list[str], slots: dict) -> list[str]:
    """The facts asked of the named models, when the question is about them, not a search or an explanation.

    "Which of phi-2 and gemma-7b has fewer pickle files" compares the two models; it lists no others.
    """
    if not models or intent not in ("score", "compare", "recommend") or slots.get("base") or \
            slots.get("base_unresolved"):  # fmt: skip
        return []
    lowered = text.lower()
    if len(models) < 2 and re.search(r"\b(?:models|ones|repos|fine-?tunes|variants|versions|alternatives)\b", lowered):
        return []  # "which Llama 2 models allow commercial use": a search
    return attributes(text)


def _trend_slots(text: str, scan: _Scan, slots: dict, models: list[str]) -> None:
    lowered = scan.lowered
    board = _BOARD.search(lowered)
    if board:
        word = board[1] or board[2] or board[3] or board[4]
        slots["board"] = "v2" if word in ("2", "new", "newer", "current", "second") else "v1"
        scan.use(board.start(), board.end())
    for pattern, view in VIEWS:
        if re.search(pattern, lowered):
            slots["view"] = view
            break
    else:
        slots["view"] = "history" if models else "types"
    if slots["view"] == "history" and not models and re.search(r"\bleaderboard\b|\bbenchmarks?\b|\baverage\b",
                                                                lowered):  # fmt: skip
        # "how has the average leaderboard score of chat models changed over time": no model's own history,
        # the leaderboard's scores per period
        slots["view"] = "benchmarks"
    named = _BENCHMARK.search(lowered)
    if named and slots["view"] in ("types", "benchmarks", "merges", "architectures"):
        # "how did GSM8K scores evolve for chat models": that benchmark's score per type over time.
        name = named[0].replace(" ", "").replace("-", "").replace("level", "lvl")
        slots["view"], slots["benchmark"] = "benchmarks", BENCHMARK_NAMES.get(name, name)
        if slots["benchmark"] in _V2_BENCHMARKS:
            slots["board"] = "v2"
        scan.use(named.start(), named.end())
    lineage_ask = re.search(r"\bmost (?:fine-?tunes|finetunes|derivatives|descendants|adapters|quanti[sz]ations|"
                            r"quants|merges|fine-?tuned|derived|adapted|quanti[sz]ed|merged)\b", lowered)
    if lineage_ask and not re.search(r"\bleaderboard\b|\bbenchmarks?\b|\bscores?\b", lowered):
        # "which base models have the most fine-tunes": the store's models counted per declared base.
        slots["view"] = "lineage"
        word = lineage_ask[0]
        for relation, pattern in (("adapter", r"adapt"), ("quantized", r"quant"), ("merge", r"merge")):
            if re.search(pattern, word):
                slots["metric"] = relation
        slots.pop("start", None), slots.pop("end", None)
    if slots["view"] == "base-models" and re.search(r"\bmost (?:fine-?tuned|derivatives|derived|descendants)\b|"
                                                    r"\bhow many (?:fine-?tunes|derivatives)\b|\bmost popular bases?\b",
                                                    lowered):  # fmt: skip
        slots["by_count"] = True  # "which base models were most fine-tuned": derivatives counted, not scores
    over_time = r"over time|evolv|month by month|week by week|\bper (?:month|week)\b|" + _MONTHLY + r"|\bweekly\b"
    if slots["view"] == "benchmarks" and re.search(over_time + r"|\btrend|\bchang|\bprogress|\bby (?:month|week)",
                                                   lowered):  # fmt: skip
        slots["series"] = True  # the score per period, not only the best of all
    if slots["view"] == "benchmarks":
        # The statistic asked for ("average GSM8K", "top MMLU") and the model types named ("for merges").
        if re.search(r"\baverage\b|\bmean\b|\btypical\b", lowered):
            slots["statistic"] = "average"
        elif re.search(r"\btop\b|\bbest\b|\bhighest\b|\bmax(?:imum)?\b|\brecord\b", lowered):
            slots["statistic"] = "best"
        named_types = [t for t, pattern in _TYPE_WORDS if re.search(pattern, lowered)]
        if named_types and not slots.get("types"):
            slots["types"] = named_types
    if slots["view"] == "movers":  # "lost the most downloads": the metric and the direction asked
        moved = _moved(lowered)
        if moved:
            slots["metric"], slots["direction"] = moved
        if models:  # "how much did X's downloads drop": that model's history of the metric
            slots["view"] = "history"
            slots.pop("direction", None)
    leaderboard = re.search(r"\bleaderboard\b", lowered)
    if leaderboard and slots.keys() & {"size", "min_params_b", "max_params_b"} and \
            re.search(r"\b(?:best|top|highest|strongest|leading)\b", lowered):  # fmt: skip
        slots["view"] = "leaders"  # "best 7B on the leaderboard v2": ranked rows of that size
    if slots["view"] == "merges" and re.search(r"\bbenchmarks?\b|\bscores?\b|\baverage\b", lowered):
        slots["view"], slots["types"] = "benchmarks", ["merge"]  # the scores of merges, not their share
    if slots["view"] == "history":  # the metric asked about ("how did the downloads of X change")
        metric = re.search(r"\b(downloads|likes|security|quality|popularity|activity|operational|overall)\b", lowered)
        if metric:
            slots["metric"] = metric[1]
    if slots["view"] == "merges":  # merges are a model type of the leaderboard: their share of all types
        slots["view"], slots["focus"] = "types", "merge"
    if re.search(r"\btook off\b|\btake off\b|\btaking off\b|\bwhen did\b|\bpeak", lowered):
        slots["when"] = True
    if slots["view"] == "architectures" and re.search(r"over time|which led|\bwhen\b|changed?|evolv", lowered):
        slots["when"] = True
    if slots["view"] == "releases":
        slots.pop("start", None)  # "after Mixtral came out" names the release, not the period
        for release in load_releases():  # a release named in full: "after the Llama 2 release", "Mistral 7B's"
            if re.search(r"(?<![\w.])" + re.escape(release["name"].lower()) + r"(?![\w.])", lowered):
                slots["release"] = release["name"]
                break
        match = re.search(r"\b(after|since|following|before)\s+(the\s+)?([\w.-]+(\s[\w.]+)?)", text, re.I)
        if match and "release" not in slots:
            words = match[3].lower()
            for release in load_releases():
                name = release["name"].lower()
                if name.startswith(words.split()[0]) or words.startswith(name.split()[0]):
                    slots["release"] = release["name"].split()[0]
                    break
