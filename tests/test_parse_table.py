"""The parsing table (tests/data/parse_table.txt): at least 300 questions as users write them, each with the
intent, slots, named models and not-applied parts the parser must produce. Names resolve through a fixed
table here, not the database, so the table tests the parser alone."""

import json
from pathlib import Path

import pytest
from whichmodel.agent.parse import MAX_QUESTION_CHARS, QuestionTooLong, parse

TABLE = Path(__file__).parent / "data" / "parse_table.txt"
KNOWN = {
    "phi-2": "microsoft/phi-2", "phi2": "microsoft/phi-2", "microsoft/phi-2": "microsoft/phi-2",
    "gemma-7b": "google/gemma-7b", "gemma-7bb": "google/gemma-7b", "google/gemma-7b": "google/gemma-7b",
    "gemma-7b-it": "google/gemma-7b-it", "deepseek-r1": "deepseek-ai/DeepSeek-R1",
    "deepseek-ai/deepseek-r1": "deepseek-ai/DeepSeek-R1", "llama-2-7b-chat-hf": "meta-llama/Llama-2-7b-chat-hf",
    "llama-2-7b-chat": "meta-llama/Llama-2-7b-chat-hf", "llama-2-7b": "meta-llama/Llama-2-7b",
    "mistral-7b-v0.1": "mistralai/Mistral-7B-v0.1", "bloom": "bigscience/bloom", "r1-1776": "perplexity-ai/r1-1776",
    "janus-pro-7b": "deepseek-ai/Janus-Pro-7B", "stable-diffusion-2-1": "stabilityai/stable-diffusion-2-1",
    "stable-diffusion-3-medium": "stabilityai/stable-diffusion-3-medium",
    "stable-diffusion-2.1": "stabilityai/stable-diffusion-2-1", "phi-2-llamafile": "jartine/phi-2-llamafile",
    "sd21": "someone/sd21",  # a barely used repo named like the abbreviation
    "gpt-neox-20b": "EleutherAI/gpt-neox-20b", "cogvideox-5b": "THUDM/CogVideoX-5b",
    "stable-diffusion": "stabilityai/stable-diffusion-2-1",  # the database resolves a name prefix to its best-known
}  # fmt: skip
MEMORY = {"models": ["a/one", "b/two", "c/three"]}


def resolve(name: str):
    return KNOWN.get(name.lower())


def _value(text: str):
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def load_table() -> list[tuple]:
    rows = []
    for number, line in enumerate(TABLE.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip() or line.startswith("#"):
            continue
        question, intent, slots, missing, models = (part.strip() for part in line.split("|"))
        expected = {}
        for pair in filter(None, (p.strip() for p in slots.split(", "))):
            key, _, value = pair.partition("=")
            expected[key] = value if key == "finding" else _value(value)
        rows.append((number, question, intent, expected, missing, [m for m in models.split(",") if m]))
    return rows


ROWS = load_table()


def test_the_table_holds_at_least_300_questions():
    assert len(ROWS) >= 300
    assert len({r[1] for r in ROWS}) == len(ROWS), "a question appears twice"


@pytest.mark.parametrize(("number", "question", "intent", "slots", "missing", "models"), ROWS,
                         ids=[f"{r[0]}:{r[1][:40]}" for r in ROWS])  # fmt: skip
def test_parse_table(number, question, intent, slots, missing, models):
    memory = MEMORY if question.startswith("@") else {}
    plan = parse(question.lstrip("@"), resolve, memory)
    assert plan.intent == intent, (plan.intent, plan.slots)
    for key, value in slots.items():
        if key == "sort" and intent == "compare":
            continue  # a comparison's asked category is read by the planner, not a search sort
        if value == "*":
            assert plan.slots.get(key), (key, plan.slots)
        else:
            assert plan.slots.get(key) == value, (key, plan.slots)
    phrases = [n.phrase.lower() for n in plan.not_applied]
    if missing == "-":
        assert phrases == [], phrases
    else:
        for part in missing.split(";"):
            assert any(part.strip().lower() in p for p in phrases), (part, phrases)
    if models:
        assert plan.models[: len(models)] == models, plan.models


def test_a_question_over_the_limit_is_refused_with_the_limit():
    with pytest.raises(QuestionTooLong, match=f"{MAX_QUESTION_CHARS:,} characters"):
        parse("is phi-2 " + "is " * 33333, resolve, {})


def test_no_pattern_in_the_parser_has_an_unbounded_wildcard():
    """Backtracking needs an unbounded repeat between two literals (`is .* safe`): the parser has none, so
    with the length limit every parse is linear (bench/parse.py prints the times)."""
    import re

    import whichmodel.agent.parse as module

    source = Path(module.__file__).read_text(encoding="utf-8")
    assert not re.search(r"\.[*+]|\\S[*+]|\\w[*+]\)?\s*\\b", source)
