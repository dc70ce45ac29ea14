"""Parse a question into an intent and slots, for the offline planner.

Intents: recommend, compare, explain, trend, cards, score, help (and `followup` handling in the planner).
Slots: size ("7B", or a parameter range for "under 3B", "small"), license words (permissive, commercial
use, apache, MIT, non-commercial ...), task and chat, the ranking criterion (safest, most popular, best
documented, most active, best overall), model names (full ids, or bare and misspelt names resolved against
the database by the caller), periods ("in 2024", "since Llama 3"), trend view, unit and families.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

from whichmodel.trends.views import load_releases

INTENTS = ("recommend", "compare", "explain", "trend", "cards", "score", "followup", "help")


@dataclass
class Plan:
    """What the planner understood."""

    intent: str
    slots: dict = field(default_factory=dict)
    models: list[str] = field(default_factory=list)
    unresolved: list[str] = field(default_factory=list)


_WORD_NUMBERS = {"one": 1, "two": 2, "three": 3, "seven": 7, "eight": 8, "thirteen": 13, "seventy": 70}
_SIZE = re.compile(r"(?<![\w.])(\d{1,3}(?:\.\d)?)\s?(b|bn|billion)\b(?!-)", re.I)
_EXPERTS = re.compile(r"\b(\d{1,2})x(\d{1,3})b\b", re.I)

LICENSES = (  # (pattern, slots)
    (r"\bnon[- ]?commercial\b|\bresearch[- ]only\b|\bcc[- ]by[- ]nc\b", {"license_class": "non-commercial"}),
    (r"\bapache\b", {"license": "apache-2.0"}),
    (r"\bmit\b(?![-\w])", {"license": "mit"}),
    (r"\bcopyleft\b|\bgpl\b", {"license_class": "copyleft"}),
    (r"\bopen\s?rail\b|\bresponsible[- ]ai\b", {"license_class": "responsible-ai"}),
    (r"\bpermissive(ly)?\b|\bcommercial(ly)?\b|\bbusiness\b|\bopen[- ]source\b|\bfree to use\b|\bunrestricted\b",
     {"license_class": "permissive"}),
)  # fmt: skip
TASKS = (
    (r"text[- ]to[- ]image|image generat|generate images?|diffusion|draw", "text-to-image"),
    (r"text[- ]to[- ]video|video generat", "text-to-video"),
    (r"embedding|sentence similarity|semantic search", "sentence-similarity"),
    (r"translat", "translation"),
    (r"summari[sz]", "summarization"),
    (r"speech recognition|\basr\b|transcri", "automatic-speech-recognition"),
    (r"question[- ]answering|\bqa\b", "question-answering"),
    (r"classif", "text-classification"),
    (r"text[- ]generation|\bllm\b|language model|code generation|coding|\bcoder?\b", "text-generation"),
)
CRITERIA = (
    (r"\bsafe(st|r)?\b|\bsecur(e|ity|est)\b|\btrust(worthy|ed)?\b|\brisk", "security"),
    (r"most[- ]downloaded|\bdownloads\b", "downloads"),  # raw downloads, not the capped popularity score
    (r"most (popular|used)|\bpopular(ity)?\b", "popularity"),
    (r"(best|well|most)[- ]documented|documentation|\bcard quality\b|\bquality\b", "quality"),
    (r"most active|actively maintained|\bmaintained\b|\bactivity\b", "activity"),
    (r"\boperational\b|\bcompliance\b|\blicense[- ]clean\b", "operational"),
    (r"most liked|\blikes\b", "likes"),
    (r"best overall|\bbest\b|\btop\b|\bhighest\b|\boverall\b", "overall"),
)
VIEWS = (
    (r"\balerts?\b|added (pickle|unsafe)|license change|became gated|newly gated", "alerts"),
    (r"\bmovers?\b|gain(ed|s)? .*downloads|biggest (gain|drop|change)|dropped", "movers"),
    (r"\bhistory\b|over (the )?snapshots|score(s)? (change|move)d?|changed over time", "history"),
    (r"after .*(came out|release|launch)|before and after|(effect|impact) of .*release|since .*release", "releases"),
    (r"\bauthors?\b|\bwho (publishes|released|uploads)\b|most prolific", "authors"),
    (r"base[- ]models?|derivatives?|fine-?tunes? of .* (improved|evolved)|evolution", "base-models"),
    (r"\barchitectures?\b|\bfamil(y|ies)\b", "architectures"),
    (r"benchmark|leaderboard score|average score|scores? per type", "benchmarks"),
    (r"\btypes?\b|new models|how many models|per month|per week", "types"),
)
FAMILIES = {
    "llama": "Llama", "mixtral": "Mixtral", "mistral": "Mistral", "qwen": "Qwen2", "gemma": "Gemma", "phi": "Phi",
    "opt": "OPT", "gpt2": "GPT2", "gpt-2": "GPT2", "neox": "GPT-NeoX", "gpt-neox": "GPT-NeoX",
}  # fmt: skip
ORDINALS = {"first": 0, "1st": 0, "#1": 0, "top one": 0, "second": 1, "2nd": 1, "#2": 1, "third": 2, "3rd": 2,
            "#3": 2, "fourth": 3, "4th": 3, "last": -1}  # fmt: skip
_ID = re.compile(r"(?<![\w/])([A-Za-z0-9][\w.-]{0,95}/[\w.-]{1,96})(?![\w/])")
# Tokens that may be bare model names: letters and digits joined by - _ or . (gemma-7b, phi-2, Llama-2-7b-hf).
_NAME = re.compile(r"(?<![\w/.-])([A-Za-z][A-Za-z0-9]*(?:[-_.][A-Za-z0-9]+)+|[A-Za-z]+\d[\w.-]*)(?![\w/-])")
_NOT_NAMES = {"e.g", "i.e", "open-source", "non-commercial", "text-to-image", "text-to-video", "text-generation",
              "side-by-side", "fine-tuned", "fine-tune", "fine-tunes", "well-documented", "best-documented",
              "research-only", "cc-by-nc", "gpt-4", "state-of-the-art", "mit", "apache-2.0", "x-ray"}  # fmt: skip


def _years(text: str) -> dict:
    slots: dict = {}
    lowered = text.lower()
    match = re.search(r"\b(in|during|for)\s+(20\d\d)\b", lowered)
    if match:
        slots["start"], slots["end"] = f"{match[2]}-01-01", f"{match[2]}-12-31"
    match = re.search(r"\bbetween\s+(20\d\d(?:-\d\d(?:-\d\d)?)?)\s+and\s+(20\d\d(?:-\d\d(?:-\d\d)?)?)", lowered)
    if match:
        slots["start"], slots["end"] = _pad(match[1], start=True), _pad(match[2], start=False)
    match = re.search(r"\b(since|from|after)\s+(20\d\d(?:-\d\d(?:-\d\d)?)?)\b", lowered)
    if match:
        slots["start"] = _pad(match[2], start=True)
    match = re.search(r"\b(until|before|to|through)\s+(20\d\d(?:-\d\d(?:-\d\d)?)?)\b", lowered)
    if match:
        slots["end"] = _pad(match[2], start=False)
    months = "january february march april may june july august september october november december".split()
    match = re.search(r"\b(since|from|after|in)\s+(" + "|".join(months) + r")\s+(20\d\d)\b", lowered)
    if match:
        month = months.index(match[2]) + 1
        slots["start"] = f"{match[3]}-{month:02d}-01"
        if match[1] == "in":
            end = date(int(match[3]) + (month == 12), month % 12 + 1, 1)
            slots["end"] = date.fromordinal(end.toordinal() - 1).isoformat()
    for release in load_releases():  # "since Llama 3", "after Mixtral came out"
        name = release["name"].lower()
        if re.search(r"\b(since|after|following)\s+(the\s+)?" + re.escape(name) + r"\b", lowered):
            slots.setdefault("start", str(release["date"]))
    return slots


def _pad(value: str, start: bool) -> str:
    parts = value.split("-")
    if len(parts) == 1:
        return f"{value}-01-01" if start else f"{value}-12-31"
    if len(parts) == 2:
        return f"{value}-01" if start else f"{value}-28"
    return value


def parse_slots(text: str) -> dict:
    """Every slot the text states (no model names: the caller resolves those)."""
    lowered = text.lower()
    slots: dict = {}
    experts = _EXPERTS.search(lowered)
    if experts:
        slots["size"] = f"{experts[1]}x{experts[2]}B"
    sizes = [(m, float(m[1])) for m in _SIZE.finditer(lowered)]
    if sizes and "size" not in slots:
        match, value = sizes[0]
        before = lowered[max(0, match.start() - 24) : match.start()]
        label = f"{value:g}B"
        if re.search(r"(under|below|less than|smaller than|at most|up to|<=?|max(imum)?)\s*$", before):
            slots["max_params_b"] = value
        elif re.search(r"(over|above|more than|larger than|at least|>=?|min(imum)?)\s*$", before):
            slots["min_params_b"] = value
        else:
            slots["size"] = label
    if "size" not in slots and "max_params_b" not in slots and "min_params_b" not in slots:
        if re.search(r"\b(tiny|on[- ]device|edge|phone)\b", lowered):
            slots["max_params_b"] = 1.5
        elif re.search(r"\b(small|lightweight|laptop|cpu)\b", lowered):
            slots["max_params_b"] = 4.0
        elif re.search(r"\b(large|big|huge)\b", lowered):
            slots["min_params_b"] = 30.0
    for pattern, values in LICENSES:
        if re.search(pattern, lowered):
            if "license" in values and "license" not in slots:
                slots.update(values)
            elif "license_class" in values and "license_class" not in slots and "license" not in slots:
                slots.update(values)
    if re.search(r"\bchat(bot|s)?\b|\binstruct(ion)?[- ]?(tuned|following)?\b|\bassistant\b|\bconversation",
                 lowered):  # fmt: skip
        slots["chat"] = True  # no task filter: many chat models carry no pipeline tag
    for pattern, task in TASKS:
        if re.search(pattern, lowered):
            slots.setdefault("task", task)
            break
    for pattern, criterion in CRITERIA:
        if re.search(pattern, lowered):
            slots["sort"] = criterion
            break
    if re.search(r"\b(not|non|un)[- ]?gated\b|n'?t gated\b|\bwithout (gating|approval|(an )?access request)|"
                 r"no (gating|approval|access request)|without (requesting|asking for|applying for) access|"
                 r"\bopen access\b", lowered):  # fmt: skip
        slots["exclude_gated"] = True
    slots.update(_years(text))
    if re.search(r"\b(weekly|per week|by week|each week)\b", lowered):
        slots["unit"] = "week"
    elif re.search(r"\b(daily|per day|by day|each day)\b", lowered):
        slots["unit"] = "day"
    families = [fam for key, fam in FAMILIES.items() if re.search(r"\b" + re.escape(key) + r"\b", lowered)]
    if families:
        slots["archs"] = list(dict.fromkeys(families))
    top = re.search(r"\btop\s+(\d{1,2}|" + "|".join(_WORD_NUMBERS) + r")\b", lowered)
    if top:
        slots["top"] = int(top[1]) if top[1].isdigit() else _WORD_NUMBERS[top[1]]
    return slots


def mentioned_names(text: str) -> list[str]:
    """Candidate model names in the order they appear: full ids first-class, then name-like tokens."""
    found: list[tuple[int, str]] = [(m.start(), m[1].rstrip(".,?!")) for m in _ID.finditer(text)]
    taken = [(m.start(), m.end()) for m in _ID.finditer(text)]
    for m in _NAME.finditer(text):
        token = m[1].rstrip(".,?!")
        if any(a <= m.start() < b for a, b in taken):
            continue
        low = token.lower()
        if low in _NOT_NAMES or _SIZE.fullmatch(low) or _EXPERTS.fullmatch(low) or re.fullmatch(r"20\d\d(-\d\d)*", low):
            continue
        if re.fullmatch(r"(under|over|top)\d+", low):
            continue
        found.append((m.start(), token))
    return [name for _, name in sorted(found)]


def ordinal(text: str) -> int | None:
    """The list position a follow-up points at ('the second one' -> 1)."""
    lowered = text.lower()
    for word, index in ORDINALS.items():
        if re.search(r"(?<![\w#])" + re.escape(word) + r"(?!\w)", lowered):
            return index
    match = re.search(r"\b(number|no\.?|#)\s?(\d)\b", lowered)
    return int(match[2]) - 1 if match else None


def classify(text: str, has_models: int, slots: dict, memory: dict) -> str:
    """The intent of a question."""
    lowered = text.lower().strip()
    if re.fullmatch(r"(help|\?+|hi|hello|hey)[.!?]*|what can you do\??|how (does this|do you) work\??", lowered) or \
            re.search(r"\bwhat can you\b|\bwhat do you know\b", lowered):  # fmt: skip
        return "help"
    follow = bool(memory.get("models")) and (
        ordinal(text) is not None
        or re.search(r"\b(them|those|these|it|that one|this one)\b", lowered)
        or re.match(r"^(and|what about|how about|same|now|ok|and what about|what if)\b", lowered)
        or (lowered.startswith("why") and not has_models)
    )
    comparing = re.search(r"\bcompare\b|\bvs\.?\b|\bversus\b|side[- ]by[- ]side|difference between|\bbetter than\b",
                          lowered)  # fmt: skip
    if comparing and (has_models >= 2 or memory.get("models")):
        return "compare"
    if re.search(r"\bor\b.*\?$", lowered) and has_models >= 2:
        return "compare"
    if re.search(r"\bcompare\b|\bvs\.?\b|\bversus\b|side[- ]by[- ]side|difference between", lowered) and has_models:
        return "compare"
    if follow and not has_models:
        return "followup"
    if re.search(r"\bwhy\b|\bexplain\b|how come|\breasons?\b|what makes|\bbreakdown\b|what('s| is) (hurting|dragging)|"
                 r"low(er)? score|so (low|high)", lowered) and (has_models or memory.get("models")):  # fmt: skip
        return "explain"
    trend = (
        r"\btrends?\b|over time|leaderboard|\bmonthly\b|\bper (month|week|day)\b|came out|\breleases?\b|"
        r"\barchitectures?\b|\bauthors?\b|\bhistory\b|\bmovers?\b|\balerts?\b|popularity (of|move|change)|"
        r"how (did|has) .* (move|change|grow|evolve)|\bevolution\b|\bin 20\d\d\b|\bnew (\w+ )?models\b|"
        r"\bsince (llama|mistral|mixtral|phi|gemma|qwen)"
    )
    if re.search(trend, lowered):
        return "trend"
    if re.search(r"\bcards?\b|\bmentions?\b|trained on|fine-?tuned on|\bdatasets?\b|\bdocumentation (about|on)\b|"
                 r"which models? (use|were trained|was trained|talk)|search for|look up|\bcite", lowered):  # fmt: skip
        return "cards"
    if has_models and re.search(r"\bscore\b|\brating\b|\brate\b|how (safe|good|secure|trustworthy|popular)|\bis\b.*"
                                r"\b(safe|secure|trustworthy|ok|good)\b|\btrust\b|tell me about|\bcheck\b|\binfo\b|"
                                r"\bdetails?\b|\bsecurity\b|\blicense\b|\bfetch\b", lowered):  # fmt: skip
        return "score"
    recommendish = re.search(r"\brecommend|\bsuggest|\bbest\b|\bsafest\b|\btop\b|which model|what model|\bfind\b|"
                             r"\bneed\b|looking for|\bpick\b|\bchoose\b|\bmost\b|\bgood\b|\bshould i use\b|"
                             r"\boptions?\b|\balternatives?\b|\bmodels?\b", lowered)  # fmt: skip
    filters = slots.keys() & {
        "size",
        "max_params_b",
        "min_params_b",
        "license",
        "license_class",
        "task",
        "chat",
        "sort",
    }
    if filters and (recommendish or not has_models):
        return "recommend"
    if has_models:
        return "score"
    if recommendish:
        return "recommend"
    return "help"


_PLAIN_CUE = re.compile(
    r"(?:\b(?:about|of|for|score|check|compare|is|does|and|vs\.?|versus|with|than|or|rate)\s+)([a-z][a-z]{3,})\b"
    r"|\b([a-z][a-z]{3,})'s\b",
    re.I,
)
_STOP = set(
    "model models best safest safe secure license licensed score scores chat image text small large tiny popular "
    "this that these those which what there their them they your mine good very most more less with about under over "
    "than open source commercial permissive instruct assistant data dataset datasets card cards trend trends help "
    "security quality activity popularity overall operational leaderboard architecture authors history type types "
    "something anything everything other another same".split()
)  # fmt: skip


def plain_names(text: str) -> list[str]:
    """Plain-word names ('bloom') in possessive form or after a cue word, outside a stoplist."""
    found = []
    for match in _PLAIN_CUE.finditer(text):
        word = (match[1] or match[2]).lower()
        if word not in _STOP:
            found.append(word)
    return found


def parse(text: str, resolve: Callable[[str], str | None], memory: dict | None = None,
          resolve_exact: Callable[[str], str | None] | None = None) -> Plan:  # fmt: skip
    """The plan for one question.

    `resolve` maps a typed name to a stored model id (or None), typos allowed; `resolve_exact` is used for
    plain words, which must match a stored name exactly (so "model" or "best" never turn into a model).
    """
    memory = memory or {}
    slots = parse_slots(text)
    models, unresolved = [], []
    exact = resolve_exact or resolve
    for word in plain_names(text):
        stored = exact(word)
        if stored and stored not in models:
            models.append(stored)
    for name in mentioned_names(text):
        stored = resolve(name)
        if stored:
            if stored not in models:
                models.append(stored)
        elif "/" in name:
            unresolved.append(name)
    intent = classify(text, len(models) + len(unresolved), slots, memory)
    if intent == "trend":
        lowered = text.lower()
        for pattern, view in VIEWS:
            if re.search(pattern, lowered):
                slots["view"] = view
                break
        else:
            slots["view"] = "history" if models else "types"
        if slots["view"] == "releases":
            slots.pop("start", None)  # "after Mixtral came out" names the release, not the period
            match = re.search(r"\b(after|since|following|before)\s+(the\s+)?([\w.-]+(\s[\w.]+)?)", text, re.I)
            if match:
                words = match[3].lower()
                for release in load_releases():
                    name = release["name"].lower()
                    if name.startswith(words.split()[0]) or words.startswith(name.split()[0]):
                        slots["release"] = release["name"].split()[0]
                        break
    return Plan(intent, slots, models, unresolved)
