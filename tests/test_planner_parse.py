"""The planner's question parsing: a table of questions with the intent and slots they must yield."""

import pytest
from whichmodel.agent.parse import mentioned_names, ordinal, parse

KNOWN = {
    "phi-2": "microsoft/phi-2",
    "phi2": "microsoft/phi-2",
    "gemma-7b": "google/gemma-7b",
    "gemma-7bb": "google/gemma-7b",
    "gemma-7b-it": "google/gemma-7b-it",
    "google/gemma-7b": "google/gemma-7b",
    "microsoft/phi-2": "microsoft/phi-2",
    "deepseek-r1": "deepseek-ai/DeepSeek-R1",
    "llama-2-7b-chat-hf": "meta-llama/Llama-2-7b-chat-hf",
    "mistral-7b-v0.1": "mistralai/Mistral-7B-v0.1",
    "bloom": "bigscience/bloom",
}


def resolve(name: str):
    return KNOWN.get(name.lower())


MEMORY = {"models": ["a/one", "b/two", "c/three"]}

# question, expected intent, expected slots (subset), expected models (None: don't care)
CASES = [
    # recommend: size, license, task, chat, criterion
    (
        "safest permissive 7B chat model",
        "recommend",
        {"size": "7B", "license_class": "permissive", "chat": True, "sort": "security"},
        [],
    ),
    (
        "What's the most secure 7b chat model with a permissive license?",
        "recommend",
        {"size": "7B", "sort": "security", "chat": True},
        [],
    ),
    (
        "recommend a chatbot model under 3B for commercial use",
        "recommend",
        {"max_params_b": 3.0, "commercial": "allowed", "chat": True},
        [],
    ),
    ("best documented text-to-image model", "recommend", {"task": "text-to-image", "sort": "quality"}, []),
    ("most popular embedding model", "recommend", {"task": "sentence-similarity", "sort": "popularity"}, []),
    ("which model should I use for translation?", "recommend", {"task": "translation"}, []),
    (
        "I need an apache licensed 13B instruct model",
        "recommend",
        {"size": "13B", "license": "apache-2.0", "chat": True},
        [],
    ),
    (
        "MIT licensed small model please, best overall",
        "recommend",
        {"license": "mit", "max_params_b": 4.0, "sort": "overall"},
        [],
    ),
    ("top non-commercial research model", "recommend", {"license_class": "non-commercial"}, []),
    ("most actively maintained chat model", "recommend", {"sort": "activity", "chat": True}, []),
    ("find me a tiny model for on-device use", "recommend", {"max_params_b": 1.5}, []),
    ("large open-source LLM, at least 30B", "recommend", {"min_params_b": 30.0, "license_class": "permissive"}, []),
    ("best 8x7B model", "recommend", {"size": "8x7B", "sort": "overall"}, []),
    ("safest model that isn't gated", "recommend", {"sort": "security", "exclude_gated": True}, []),
    ("most liked image generation model", "recommend", {"task": "text-to-image", "sort": "likes"}, []),
    ("good summarization models?", "recommend", {"task": "summarization"}, []),
    (
        "a trustworthy model for speech recognition",
        "recommend",
        {"task": "automatic-speech-recognition", "sort": "security"},
        [],
    ),
    (
        "chat model over 20B with OpenRAIL license",
        "recommend",
        {"min_params_b": 20.0, "license_class": "responsible-ai", "chat": True},
        [],
    ),
    ("copyleft text generation model", "recommend", {"license_class": "copyleft", "task": "text-generation"}, []),
    ("suggest a 1.5B assistant model", "recommend", {"size": "1.5B", "chat": True}, []),
    ("Which 70b model is the safest?", "recommend", {"size": "70B", "sort": "security"}, []),
    ("most downloaded classifier", "recommend", {"task": "text-classification", "sort": "downloads"}, []),
    (
        "best model for question answering that I can use commercially",
        "recommend",
        {"task": "question-answering", "commercial": "allowed"},
        [],
    ),
    (
        "pick a safe small chat model without approval gates",
        "recommend",
        {"sort": "security", "chat": True, "exclude_gated": True},
        [],
    ),
    ("coding model less than 7B", "recommend", {"task": "text-generation", "max_params_b": 7.0}, []),
    # compare
    ("compare phi-2 and gemma-7b", "compare", {}, ["microsoft/phi-2", "google/gemma-7b"]),
    ("phi-2 vs gemma-7b", "compare", {}, ["microsoft/phi-2", "google/gemma-7b"]),
    ("gemma-7b versus microsoft/phi-2 side by side", "compare", {}, ["google/gemma-7b", "microsoft/phi-2"]),
    ("difference between google/gemma-7b and gemma-7b-it", "compare", {}, ["google/gemma-7b", "google/gemma-7b-it"]),
    ("is phi-2 better than gemma-7b?", "compare", {}, ["microsoft/phi-2", "google/gemma-7b"]),
    (
        "compare phi2, gemma-7bb and deepseek-r1",
        "compare",
        {},
        ["microsoft/phi-2", "google/gemma-7b", "deepseek-ai/DeepSeek-R1"],
    ),
    ("phi-2 or gemma-7b?", "compare", {}, ["microsoft/phi-2", "google/gemma-7b"]),
    # explain
    ("why does gemma-7b score 9 on security?", "explain", {"sort": "security"}, ["google/gemma-7b"]),
    ("explain the score of microsoft/phi-2", "explain", {}, ["microsoft/phi-2"]),
    ("Why is phi2's quality so low?", "explain", {"sort": "quality"}, ["microsoft/phi-2"]),
    ("what's dragging down deepseek-r1?", "explain", {}, ["deepseek-ai/DeepSeek-R1"]),
    ("breakdown of bloom's operational score", "explain", {"sort": "operational"}, ["bigscience/bloom"]),
    ("how come llama-2-7b-chat-hf has a low score", "explain", {}, ["meta-llama/Llama-2-7b-chat-hf"]),
    # trend
    (
        "how did Mistral's popularity move after Mixtral came out?",
        "trend",
        {"view": "releases", "archs": ["Mixtral", "Mistral"], "release": "Mixtral"},
        [],
    ),
    ("new models per type in 2024", "trend", {"view": "types", "start": "2024-01-01", "end": "2024-12-31"}, []),
    ("leaderboard trends per week since March 2024", "trend", {"unit": "week", "start": "2024-03-01"}, []),
    ("who are the top 5 authors on the leaderboard?", "trend", {"view": "authors", "top": 5}, []),
    ("which architectures are most popular over time", "trend", {"view": "architectures"}, []),
    ("how did base models evolve?", "trend", {"view": "base-models"}, []),
    ("average benchmark score per type over time", "trend", {"view": "benchmarks"}, []),
    ("history of gemma-7b", "trend", {"view": "history"}, ["google/gemma-7b"]),
    ("biggest movers in downloads", "trend", {"view": "movers"}, []),
    ("any alerts about license changes?", "trend", {"view": "alerts"}, []),
    ("effect of the Llama 3 release on Llama models", "trend", {"view": "releases", "archs": ["Llama"]}, []),
    ("new chat models since Llama 3", "trend", {"view": "types", "start": "2024-04-18"}, []),
    (
        "what happened to phi models after Phi-2 came out",
        "trend",
        {"view": "releases", "archs": ["Phi"]},
        ["microsoft/phi-2"],
    ),
    # card search
    ("which models were trained on medical data?", "cards", {}, []),
    ("models fine-tuned on ultrachat", "cards", {}, []),
    ("which cards mention the HuggingFaceH4/ultrafeedback_binarized dataset?", "cards", {}, []),
    ("search cards for kanji", "cards", {}, []),
    ("what does the documentation about Romanian models say", "cards", {}, []),
    # score
    ("score google/gemma-7b", "score", {}, ["google/gemma-7b"]),
    ("how safe is phi-2?", "score", {}, ["microsoft/phi-2"]),
    ("is deepseek-r1 trustworthy?", "score", {}, ["deepseek-ai/DeepSeek-R1"]),
    ("tell me about bloom", "score", {}, ["bigscience/bloom"]),
    ("gemma-7b", "score", {}, ["google/gemma-7b"]),
    ("check unknown-org/brand-new-model", "score", {}, []),
    ("What license does mistral-7b-v0.1 have?", "score", {}, ["mistralai/Mistral-7B-v0.1"]),
    # help and nonsense
    ("help", "help", {}, []),
    ("what can you do?", "help", {}, []),
    ("hello", "help", {}, []),
    ("the weather in Paris tomorrow", "out_of_scope", {}, []),
]


@pytest.mark.parametrize(("question", "intent", "slots", "models"), CASES, ids=[c[0] for c in CASES])
def test_parse(question, intent, slots, models):
    plan = parse(question, resolve, {})
    assert plan.intent == intent, (plan.intent, plan.slots)
    for key, value in slots.items():
        if key == "archs":
            assert set(plan.slots.get(key, [])) == set(value)
        else:
            assert plan.slots.get(key) == value, (key, plan.slots)
    assert plan.models == models


def test_at_least_sixty_questions():
    assert len(CASES) >= 60


@pytest.mark.parametrize(
    ("question", "intent"),
    [
        ("and the second one?", "followup"),
        ("what about 13B?", "followup"),
        ("why?", "followup"),
        ("compare them", "compare"),
        ("compare the top two", "compare"),
        ("tell me more about the third", "followup"),
        ("same but apache", "followup"),
        ("and #2?", "followup"),
    ],
)
def test_follow_ups_need_memory(question, intent):
    assert parse(question, resolve, MEMORY).intent == intent
    assert parse(question, resolve, {}).intent != "followup"


def test_unresolved_full_ids_are_kept_for_fetching():
    plan = parse("check unknown-org/brand-new-model", resolve, {})
    assert plan.unresolved == ["unknown-org/brand-new-model"] and plan.models == []


@pytest.mark.parametrize(
    ("text", "index"),
    [("the second one", 1), ("#3", 2), ("first", 0), ("the last one", -1), ("number 2 please", 1), ("nothing", None)],
)
def test_ordinals(text, index):
    assert ordinal(text) == index


def test_names_skip_sizes_years_and_license_words():
    names = mentioned_names("compare gemma-7b with a 7B apache-2.0 model from 2024 that is open-source")
    assert names == ["gemma-7b"]


@pytest.mark.parametrize(("typed", "meant"), [
    ("most downlaoded modle", "most downloaded model"),       # swaps
    ("models I can acess", "models I can access"),            # a dropped letter
    ("tranlsation models", "translation models"),
    ("models to store on a laptop", "models to store on a laptop"),  # 'store' is not 'story': English stays
    ("which modal is best", "which modal is best"),           # one substitution from a 5-letter word: kept
    ("compare gemma-7b and phi-2", "compare gemma-7b and phi-2"),    # names are never touched
])  # fmt: skip
def test_misspelt_filter_words_are_corrected_and_nothing_else(typed, meant):
    from whichmodel.agent.parse import correct_typos

    assert correct_typos(typed) == meant


def test_a_word_that_names_a_model_is_not_corrected():
    from whichmodel.agent.parse import correct_typos

    assert correct_typos("is modle safe", keep=lambda word: word == "modle") == "is modle safe"


@pytest.mark.parametrize(
    ("raw", "plain"),
    [
        ("safest \x1b[31mpermissive\x1b[0m 7B chat model", "safest permissive 7B chat model"),
        ("\x1b[1;32m7B\x1b[m chat model \x1b]0;window title\x07for code", "7B chat model for code"),
        ("compare phi-2\x00 and\x7f gemma-7b\x1b", "compare phi-2 and gemma-7b"),
    ],
)
def test_terminal_escapes_and_control_characters_read_as_spaces(raw, plain):
    """A pasted question with colour codes asks what its visible text asks ("31m" is no 31M size)."""
    got, want = parse(raw, resolve), parse(plain, resolve)
    assert (got.intent, got.slots, got.models) == (want.intent, want.slots, want.models)
    assert got.unresolved == want.unresolved
    assert [n.line() for n in got.not_applied] == [n.line() for n in want.not_applied]


def test_ranking_by_a_count_of_files_is_said_not_applied_and_the_finding_still_filters():
    plan = parse("which models have the most pickle files?", resolve)
    assert plan.slots.get("finding") == "unsafe_files=fail"
    assert any("'the most pickle files'" in n.line() for n in plan.not_applied)


@pytest.mark.parametrize(("question", "finding", "sort"), [
    ("our security team wants a text generation model that cannot run arbitrary code when loaded",
     "unsafe_files=pass", None),
    ("which models can run arbitrary code when loaded", "unsafe_files=fail", None),
    ("our legal team is nervous: best translation model", None, "overall"),
])  # fmt: skip
def test_who_asks_is_no_filter_and_running_code_on_load_is_the_file_finding(question, finding, sort):
    plan = parse(question, resolve)
    assert plan.slots.get("finding") == finding
    assert plan.slots.get("sort") == sort, plan.slots
    assert "topics" not in plan.slots, plan.slots  # not the 'code' or 'legal' topics
    assert not plan.not_applied, [n.line() for n in plan.not_applied]


@pytest.mark.parametrize(("newest", "span", "start"), [
    ("2025-04-26", "6 months", "2024-10-26"),  # calendar months, across a year
    ("2025-03-31", "1 months", "2025-02-28"),  # no 31 February: the month's last day
    ("2024-03-31", "1 months", "2024-02-29"),
    ("2025-04-26", "24 months", "2023-04-26"),  # "last 2 years"
    ("2025-04-26", "14 days", "2025-04-12"),
    ("2025-04-26", "this year", "2025-01-01"),
    ("2025-04-26", "this month", "2025-04-01"),
    ("2025-04-26", "this week", "2025-04-21"),  # a Saturday: the week began on Monday the 21st
])  # fmt: skip
def test_relative_periods_count_back_calendar_months(newest, span, start):
    from datetime import date

    from whichmodel.agent.parse import span_start

    assert span_start(date.fromisoformat(newest), span) == date.fromisoformat(start)


@pytest.mark.parametrize(("question", "span"), [
    ("chat models created in the last two years", "24 months"),
    ("chat models created this year", "this year"),
    ("chat models created in the past 3 weeks", "21 days"),
])  # fmt: skip
def test_relative_periods_are_read_as_spans(question, span):
    plan = parse(question, resolve, {})
    assert plan.slots.get("within") == span, plan.slots


@pytest.mark.parametrize("question, expected", [
    ("which model cards mention HIPAA?", ("HIPAA", True)),
    ('cards that mention "alpaca"', ("alpaca", True)),
    ("which model cards mention the word GDPR in their limitations?", ("GDPR", True)),
    ("which cards talk about medical dialogues", ("medical dialogues", False)),
    ("models trained on medical data", None),
])  # fmt: skip
def test_a_card_question_searches_for_its_term_not_its_own_words(question, expected):
    """'Which model cards mention X' must not match cards on 'model' and 'cards'; a mention is word for word."""
    from whichmodel.agent.planner import card_term

    assert card_term(question) == expected


@pytest.mark.parametrize("question, precision", [
    ("best GGUF model I can run on a laptop with 8GB RAM", "int4"),  # GGUF repos are run quantized
    ("a GGML chat model that fits 6 GB", "int4"),
    ("a GGUF model that fits 16 GB at fp16", "fp16"),  # said: kept
    ("best chat model for 8GB", "fp16"),  # no format: the weights as usually shipped
])  # fmt: skip
def test_a_memory_fit_for_a_quantized_format_reads_it_at_four_bits_unless_told(question, precision):
    from whichmodel.agent.parse import parse_slots

    slots = parse_slots(question)
    assert slots["precision"] == precision and "precision_said" not in slots
