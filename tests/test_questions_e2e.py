"""Everyday questions end to end (no LLM) over the shared snapshots, each checked by a rule written here.

The rules read the raw snapshot records (`models.jsonl`, newest record per model), never the parser or the
search under test: the descendants of a base model come from the records' `base_model` tags, languages from
their tags and card data, parameter counts from `safetensors.total`, and so on. Where a rule needs a score
or a finding, it reads the stored score card, which the planner does not compute.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict

import pytest
from langgraph.checkpoint.memory import InMemorySaver
from whichmodel.agent.context import Context
from whichmodel.agent.graph import build_graph, run_turn
from whichmodel.config import Settings
from whichmodel.store.queries import scorecard
from whichmodel.tools import Services
from whichmodel.trends.views import TrendParams, run_view

QUANTIZED = re.compile(r"gguf|ggml|gptq|awq|exl2|[-_](?:4|8)bit|bnb", re.I)
WEIGHT_EXTS = (".safetensors", ".bin", ".pt", ".pth", ".ckpt", ".gguf", ".ggml", ".onnx", ".h5", ".keras",
               ".msgpack", ".tflite", ".mlmodel", ".pkl", ".pickle", ".joblib", ".npy", ".npz")  # fmt: skip


@pytest.fixture(scope="module")
def raw(snapshot_dirs) -> dict[str, dict]:
    """The newest raw record of every model, by date folder."""
    newest: dict[str, tuple[str, dict]] = {}
    for folder in snapshot_dirs:
        date = folder.name
        with open(folder / "models.jsonl", encoding="utf-8") as lines:
            for line in lines:
                record = json.loads(line)
                if record["id"] not in newest or newest[record["id"]][0] <= date:
                    newest[record["id"]] = (date, record)
    return {model_id: record for model_id, (_, record) in newest.items()}


def bases_of(record: dict) -> list[str]:
    tags = [t.split(":")[-1] for t in record.get("tags") or [] if t.startswith("base_model:")]
    card = (record.get("cardData") or {}).get("base_model")
    return list(dict.fromkeys(tags + ([card] if isinstance(card, str) else list(card or []))))


def descendants(raw: dict, base: str) -> set[str]:
    children = defaultdict(set)
    for model_id, record in raw.items():
        for parent in bases_of(record):
            children[parent.lower()].add(model_id)
    found, todo = set(), [base.lower()]
    while todo:
        for child in children.pop(todo.pop(), ()):
            if child not in found:
                found.add(child)
                todo.append(child.lower())
    found.discard(base)
    return found


def merged(record: dict) -> bool:
    """A merge by its tags: a `base_model:merge:` link, or mergekit's merge/mergekit tags."""
    tags = record.get("tags") or []
    return "merge" in tags or "mergekit" in tags or any(t.startswith("base_model:merge:") for t in tags)


def has_weights(record: dict) -> bool | None:
    siblings = record.get("siblings")
    if siblings is None:
        return None
    return any(s.get("rfilename", "").lower().endswith(WEIGHT_EXTS) for s in siblings)


def languages(record: dict) -> set[str]:
    card = (record.get("cardData") or {}).get("language")
    listed = [card] if isinstance(card, str) else list(card or [])
    return {str(x).lower() for x in listed} | {t.lower().removeprefix("language:") for t in record.get("tags") or []}


def params(record: dict) -> int | None:
    return (record.get("safetensors") or {}).get("total")


def usable(record: dict) -> bool:
    return has_weights(record) is not False


@pytest.fixture(scope="module")
def agent(ingested, shared_data, tmp_path_factory):
    from whichmodel.trends.leaderboard import load_file

    engine, _, _ = ingested
    load_file(engine, shared_data / "leaderboard" / "huggingface_v1_final.csv")
    services = Services(engine, Settings(home=tmp_path_factory.mktemp("q-home"), hf_endpoint="http://127.0.0.1:9"))
    graph = build_graph(services, checkpointer=InMemorySaver())
    context = Context()

    def ask(question: str, thread: str | None = None) -> dict:
        return run_turn(graph, context, question, thread_id=thread)

    return ask, engine


# ---------------------------------------------------------------------------------------------------- lineage
LINEAGE = [
    ("the most downloaded gemma-7b fine-tune", "google/gemma-7b", True),
    ("most downloaded phi-2 fine-tune", "microsoft/phi-2", True),
    ("most downloaded fine-tune of deepseek r1", "deepseek-ai/DeepSeek-R1", True),
    ("most downloaded llama 2 7b chat fine-tunes", "meta-llama/Llama-2-7b-chat-hf", True),
    ("most downloaded stable-diffusion-2-1 fine-tune", "stabilityai/stable-diffusion-2-1", True),
    ("fine-tunes of deepseek-ai/DeepSeek-R1", "deepseek-ai/DeepSeek-R1", False),
    ("fine tunes of gemma 7b", "google/gemma-7b", False),
    ("best documented phi-2 fine-tune", "microsoft/phi-2", False),
    ("safest finetunes of phi2", "microsoft/phi-2", False),
    ("models derived from deepseek r1 that are not gated", "deepseek-ai/DeepSeek-R1", False),
    ("fine-tunes of gpt-neox-20b", "EleutherAI/gpt-neox-20b", False),
]


@pytest.mark.parametrize(("question", "base", "most_downloaded"), LINEAGE, ids=[q for q, _, _ in LINEAGE])
def test_lineage_questions_name_only_descendants(agent, raw, question, base, most_downloaded):
    ask, _ = agent
    result = ask(question)
    expected = descendants(raw, base)
    assert result["recommended"], result["answer"]
    assert set(result["recommended"]) <= expected, result["recommended"]
    assert "Not applied" not in result["answer"]
    if most_downloaded:  # a quantization (GGML, GPTQ ...) or a merge is not a fine-tune, whatever its link says
        tuned = [m for m in expected if usable(raw[m]) and not QUANTIZED.search(m) and not merged(raw[m])]
        top = max(tuned, key=lambda m: raw[m].get("downloads") or 0)
        assert result["recommended"][0] == top


# ---------------------------------------------------------------------------------------------------- languages
@pytest.mark.parametrize(("question", "code"), [
    ("models trained on Korean text", "ko"), ("best english chat model", "en"), ("any hindi models?", "hi"),
    ("arabic language models", "ar"), ("safest spanish model", "es"),
])  # fmt: skip
def test_language_questions_name_only_models_in_that_language(agent, raw, question, code):
    ask, _ = agent
    result = ask(question)
    assert result["recommended"], result["answer"]
    for model in result["recommended"]:
        assert code in languages(raw[model]), model


# ---------------------------------------------------------------------------------------------------- hardware
@pytest.mark.parametrize(("question", "gigabytes", "bytes_per_param", "precision"), [
    ("something that runs on a 24GB GPU", 24, 2, "fp16"), ("best chat model for a 16 gb laptop", 16, 2, "fp16"),
    ("model that fits in 8GB of VRAM", 8, 2, "fp16"), ("fits a 16 GB GPU at 4-bit", 16, 0.5, "int4"),
])  # fmt: skip
def test_memory_caps_leave_out_models_that_do_not_fit(agent, raw, question, gigabytes, bytes_per_param, precision):
    ask, _ = agent
    result = ask(question)
    assert precision in result["answer"], "the answer says which precision the cap assumes"
    assert result["recommended"]
    for model in result["recommended"]:
        count = params(raw[model])
        assert count is not None and count * bytes_per_param * 1.2 <= gigabytes * 1e9, (model, count)


# ---------------------------------------------------------------------------------------------------- access
@pytest.mark.parametrize("question", [
    "open weights chat model without requesting access", "safest model that isn't gated",
    "ungated text generation model",
])  # fmt: skip
def test_access_questions_leave_out_gated_models(agent, raw, question):
    ask, _ = agent
    result = ask(question)
    assert result["recommended"]
    for model in result["recommended"]:
        assert raw[model].get("gated") in (False, "false", None), model


# ---------------------------------------------------------------------------------------------------- tasks
TASKS = [
    ("best image generation model", {"text-to-image"}),
    ("translation model", {"translation", "text2text-generation"}),
    ("summarization model", {"summarization", "text2text-generation"}),
    ("most popular embedding model", {"sentence-similarity", "feature-extraction"}),
    ("best sentiment analysis model", {"text-classification", "zero-shot-classification"}),
    ("question answering model for commercial use", {"question-answering", "table-question-answering"}),
    ("video generation model", {"text-to-video", "image-to-video"}),
    ("best model for code", {"text-generation"}),
    ("speech models", {"automatic-speech-recognition", "text-to-speech", "text-to-audio", "audio-to-audio",
                       "audio-classification", "audio-text-to-text"}),
]  # fmt: skip


@pytest.mark.parametrize(("question", "tags"), TASKS, ids=[q for q, _ in TASKS])
def test_task_words_become_pipeline_filters(agent, raw, question, tags):
    ask, _ = agent
    result = ask(question)
    eligible = [m for m, r in raw.items() if r.get("pipeline_tag") in tags and usable(r)]
    if not eligible:
        assert result["recommended"] == [] and "0 model(s) match" in result["answer"]
        return
    assert result["recommended"], result["answer"]
    for model in result["recommended"]:
        assert raw[model].get("pipeline_tag") in tags, model


def test_code_questions_name_code_models(agent, raw):
    ask, _ = agent
    result = ask("coding model under 7B")
    for model in result["recommended"]:
        record = raw[model]
        assert "code" in (record.get("tags") or []) or re.search(r"code", model.split("/")[1], re.I), model
        assert params(record) is None or params(record) <= 7e9


# ---------------------------------------------------------------------------------------------------- findings
@pytest.mark.parametrize(("question", "check", "outcome"), [
    ("which models document their limitations?", "limitations", "pass"),
    ("which models claim a looser license than their base?", "license_consistency", "fail"),
    ("which models have pickle files", "unsafe_files", "fail"),
])  # fmt: skip
def test_finding_questions_filter_on_the_finding(agent, question, check, outcome):
    ask, engine = agent
    result = ask(question)
    assert result["recommended"]
    for model in result["recommended"]:
        findings = [f for c in scorecard(engine, model)["categories"].values() for f in c["findings"]]
        assert any(f["check"] == check and f["outcome"] == outcome for f in findings), model


def test_typosquat_question_filters_even_when_nothing_matches(agent):
    """No shared-snapshot repo is a near miss of a genuinely popular one (test_checks checks that from the raw
    records), so the answer is the filter's empty result, never an unfiltered top list."""
    ask, _ = agent
    result = ask("which models might be typosquats?")
    assert result["tool_calls"][0]["args"]["finding"] == "typosquatting=fail"
    assert result["recommended"] == [] and "0 model(s) match" in result["answer"]


# ---------------------------------------------------------------------------------------------------- downloads
@pytest.mark.parametrize(("question", "minimum"), [
    ("models with at least 10k downloads", 10_000), ("chat models with more than 1 million downloads", 1_000_000),
    ("safe models with over 500 downloads", 500),
])  # fmt: skip
def test_download_minimums(agent, raw, question, minimum):
    ask, _ = agent
    result = ask(question)
    assert result["recommended"]
    for model in result["recommended"]:
        assert (raw[model].get("downloads") or 0) >= minimum, model


# ---------------------------------------------------------------------------------------------------- names
def well_known(raw: dict, name: str) -> str:
    """The most used model whose repo name is `name` (downloads, then likes), from the raw records."""
    named = [m for m in raw if m.split("/")[1].lower() == name.lower()]
    return max(named, key=lambda m: (raw[m].get("downloads") or 0) + 10 * (raw[m].get("likes") or 0))


COMPARE = [
    ("compare phi-2 and gemma-7b", ["phi-2", "gemma-7b"], "overall"),
    ("compare llama-2-7b and gemma-7b", ["Llama-2-7b", "gemma-7b"], "overall"),
    ("compare DeepSeek-R1 and r1-1776", ["DeepSeek-R1", "r1-1776"], "overall"),
    ("phi2 vs gemma 7b vs deepseek r1", ["phi-2", "gemma-7b", "DeepSeek-R1"], "overall"),
    ("phi-2 or gemma-7b, which is safer?", ["phi-2", "gemma-7b"], "security"),
    ("is llama 2 7b chat safer than gemma 7b?", ["Llama-2-7b-chat-hf", "gemma-7b"], "security"),
    ("which is safer, stable-diffusion-2-1 or stable diffusion 3 medium?",
     ["stable-diffusion-2-1", "stable-diffusion-3-medium"], "security"),
    ("phi-2, gemma-7b and bloom: which is best documented?", ["phi-2", "gemma-7b", "bloom"], "quality"),
    # "sd" is a documented alias of stable diffusion: never the barely used repo named "sd21"
    ("is sd 3 medium or sd 2.1 safer?", ["stable-diffusion-3-medium", "stable-diffusion-2-1"], "security"),
    # a format word after a name is part of it when that names a stored repo
    ("is phi-2 or the phi-2 llamafile safer?", ["phi-2", "phi-2-llamafile"], "security"),
]  # fmt: skip


@pytest.mark.parametrize(("question", "names", "category"), COMPARE, ids=[q for q, _, _ in COMPARE])
def test_comparisons_pick_the_well_known_models_and_answer_the_question_first(agent, raw, question, names, category):
    ask, engine = agent
    result = ask(question)
    expected = [well_known(raw, n) for n in names]
    assert result["models"] == expected
    for model in expected:
        assert (raw[model].get("downloads") or 0) + (raw[model].get("likes") or 0) > 0, "never a 0-use repo"
    first = result["answer"].splitlines()[0]
    scores = {m: (scorecard(engine, m)["overall"] if category == "overall" else
                  scorecard(engine, m)["categories"][category]["score"]) for m in expected}  # fmt: skip
    best = max(round(v, 1) for v in scores.values())
    leaders = [m for m, v in scores.items() if round(v, 1) == best]
    assert category in first
    if len(leaders) == 1:
        assert first.startswith(leaders[0]), first
    else:
        assert "tie" in first


# ---------------------------------------------------------------------------------------------------- not applied
@pytest.mark.parametrize(("question", "phrase"), [
    ("cheapest fast model for code", "cheapest"), ("best chat model with a long context window", "context window"),
    ("most accurate classifier", "most accurate"), ("newest image model", "newest"),
    ("chat model that supports plugins", "plugins"),
])  # fmt: skip
def test_requirements_without_a_filter_are_said_not_applied(agent, question, phrase):
    ask, _ = agent
    result = ask(question)
    assert re.search(r"Not applied: '[^']*" + re.escape(phrase), result["answer"], re.I), result["answer"]


def test_nothing_applied_lists_no_models(agent):
    ask, _ = agent
    result = ask("uncensored model for role play")
    assert result["models"] == [] and "Not applied: 'uncensored'" in result["answer"]


# ---------------------------------------------------------------------------------------------------- scope
@pytest.mark.parametrize("question", ["what's the capital of France?", "write me a poem about cats",
                                      "how do I bake sourdough bread"])  # fmt: skip
def test_out_of_scope_gets_one_sentence_on_what_is_answered(agent, question):
    ask, _ = agent
    result = ask(question)
    assert result["tool_calls"] == [] and result["models"] == []
    assert "outside what I answer" in result["answer"] and result["answer"].count(".") <= 2


def test_too_long_a_question_is_refused_with_the_limit(agent):
    ask, _ = agent
    result = ask("is phi-2 " + "is " * 33333)
    assert result["tool_calls"] == [] and "1,000 characters" in result["answer"]


# ---------------------------------------------------------------------------------------------------- trends
def test_when_merges_took_off(agent):
    ask, engine = agent
    rows = run_view(engine, "types", TrendParams())["rows"]
    totals, merges = defaultdict(int), defaultdict(int)
    for r in rows:
        totals[r["period"]] += r["new_models"]
        if r["type"] == "merge":
            merges[r["period"]] += r["new_models"]
    first = min(p for p in totals if merges[p] / totals[p] >= 0.10)
    peak = max(totals, key=lambda p: (merges[p] / totals[p], merges[p]))
    answer = ask("when did merges take off?")["answer"]
    assert first in answer and peak in answer


def test_architectures_over_time_say_which_led_when(agent):
    ask, engine = agent
    rows = run_view(engine, "architectures", TrendParams())["rows"]
    by_month = defaultdict(dict)
    for r in rows:
        by_month[r["period"]][r["architecture"]] = r["new_models"]
    last = max(by_month)
    leader = max(by_month[last], key=lambda a: (by_month[last][a], a != "Other"))
    answer = ask("how did architectures change over time?")["answer"]
    assert answer.rstrip(".").split(";")[-1].strip().startswith(leader), answer


def test_best_leaderboard_model_in_2024_uses_the_benchmarks_view(agent):
    ask, engine = agent
    rows = run_view(engine, "benchmarks", TrendParams(start="2024-01-01", end="2024-12-31"))["rows"]
    best = max(rows, key=lambda r: r["best_score"])
    result = ask("best leaderboard model in 2024")
    assert result["tool_calls"][0]["args"]["view"] == "benchmarks"
    assert result["answer"].startswith(f"Best leaderboard average: {best['best_model']}")


def test_pickle_files_and_license_changes_between_snapshots_use_alerts(agent):
    ask, engine = agent
    rows = run_view(engine, "alerts", TrendParams())["rows"]
    result = ask("any new pickle files or license changes between snapshots?")
    assert result["tool_calls"][0]["args"]["view"] == "alerts"
    assert rows[0]["model_id"] in result["answer"]


# ---------------------------------------------------------------------------------------------------- what-ifs
@pytest.mark.parametrize(("question", "model", "target"), [
    ("what would it take for phi-2 to reach 9 overall?", "microsoft/phi-2", 9.0),
    ("what would it take for gemma-7b to reach 9 overall?", "google/gemma-7b", 9.0),
])  # fmt: skip
def test_what_it_would_take_is_computed(agent, question, model, target):
    ask, engine = agent
    result = ask(question)
    assert result["models"] == [model]
    now = scorecard(engine, model)["overall"]
    line = next(x for x in result["answer"].splitlines() if "reach" in x or "already" in x)
    if now >= target:
        assert "already" in line
    else:
        last = float(re.findall(r"-> (\d+\.\d)", line)[-1])
        assert last >= target or "Even passing" in line


# ---------------------------------------------------------------------------------------------------- follow-ups
def test_follow_ups_keep_the_filters_and_point_at_the_ruled_out_model(agent, raw):
    ask, _ = agent
    first = ask("best image generation model with a permissive license", thread="fu1")
    assert first["ruled_out"], first["answer"]
    why = ask("why is it ruled out?", thread="fu1")
    assert why["models"] == [first["ruled_out"][0]] and "ruled out by" in why["answer"]
    narrowed = ask("only ones that aren't gated", thread="fu1")
    assert narrowed["filters"].get("exclude_gated") is True and narrowed["filters"].get("license_class") == "permissive"
    for model in narrowed["recommended"]:
        assert raw[model].get("gated") in (False, "false", None)


def test_why_its_security_score_explains_security(agent):
    ask, _ = agent
    first = ask("score phi-2", thread="fu2")
    assert first["models"] == ["microsoft/phi-2"]
    why = ask("why is its security score what it is?", thread="fu2")
    assert why["tool_calls"][0]["args"]["category"] == "security"
    assert "on security" in why["answer"].splitlines()[0]


# ---------------------------------------------------------------------------------------------------- asking back
def test_two_equally_used_models_of_one_name_are_asked_back(agent, raw):
    ask, _ = agent
    named = [m for m in raw if m.split("/")[1].lower() == "deepseek-r1-bf16"]
    used = sorted((raw[m].get("downloads") or 0 for m in named), reverse=True)
    assert len(named) >= 2 and used[1] * 2 >= used[0], "the data holds two about equally used repos of that name"
    result = ask("score deepseek-r1-bf16")
    assert result["tool_calls"] == []
    assert all(m in result["answer"] for m in named) and "Which one" in result["answer"]


def test_a_plain_word_never_resolves_to_an_unused_repo(agent, raw):
    ask, _ = agent
    junk = [m for m in raw if m.split("/")[1].lower() == "llama"]
    assert junk and all((raw[m].get("downloads") or 0) == 0 for m in junk)
    result = ask("tell me about llama")
    assert not set(result["models"]) & set(junk)


TYPOS = [
    ("score Falconsai/nsfw_image_detecton", "Falconsai/nsfw_image_detecton", "Falconsai/nsfw_image_detection"),
    ("compare nobody/phi-2 and google/gemma-7b", "nobody/phi-2", "microsoft/phi-2"),
    ("explain microsft/phi-2 security", "microsft/phi-2", "microsoft/phi-2"),
    ("is gemma-7bb safe?", "gemma-7bb", "google/gemma-7b"),
    ("score llama-2-7b-chatt", "llama-2-7b-chatt", "meta-llama/Llama-2-7b-chat-hf"),
]


@pytest.mark.parametrize(("question", "typed", "meant"), TYPOS, ids=[q for q, _, _ in TYPOS])
def test_an_unknown_or_misspelt_id_is_never_answered_with_another_repo(agent, raw, question, typed, meant):
    ask, _ = agent
    stored = {m.lower() for m in raw}
    assert typed.lower() not in stored and meant in raw, "the raw data holds the meant repo, not the typed one"
    result = ask(question)
    assert result["models"] == [], "no repo is answered about in place of the one typed"
    assert not [c for c in result["tool_calls"] if meant in json.dumps(c["args"])], result["tool_calls"]
    assert typed in result["answer"] and f"did you mean {meant}" in result["answer"], result["answer"]


def test_a_name_with_nothing_close_is_said_not_found(agent, raw):
    ask, _ = agent
    assert not [m for m in raw if m.split("/")[1].lower() == "gemma-2b"]
    result = ask("compare phi-2 and gemma-2b")
    assert result["models"] == [] and "could not find 'gemma-2b'" in result["answer"], result["answer"]


def test_ask_json_lists_the_not_applied_parts(agent):
    ask, _ = agent
    result = ask("cheapest image generation model for my raspberry pi")
    assert result["not_applied"] == [line for line in result["answer"].splitlines() if line.startswith("Not applied")]
    assert any("cheapest" in line for line in result["not_applied"])
    assert any("raspberry pi" in line for line in result["not_applied"])


# ---------------------------------------------------------------------------------------------- evaluation round
UNSAFE_EXTS = (".bin", ".pt", ".pth", ".ckpt", ".pkl", ".pickle", ".joblib", ".npy", ".npz", ".h5", ".keras", ".pb")


def test_follow_up_only_safetensors_means_no_unsafe_files(agent, raw):
    ask, _ = agent
    first = ask("most downloaded text generation models", thread="st1")
    assert first["recommended"]
    narrowed = ask("which of those ship only safetensors?", thread="st1")
    assert narrowed["recommended"]
    for model in narrowed["recommended"]:
        names = [s.get("rfilename", "").lower() for s in raw[model].get("siblings") or []]
        assert any(n.endswith(".safetensors") for n in names), model
        # GGML weights named .bin are not pickles; anything else with these extensions is.
        unsafe = [n for n in names if n.endswith(UNSAFE_EXTS) and not re.search(r"ggml|gguf", n)]
        assert not unsafe, (model, unsafe)


def test_no_weights_question_lists_repos_without_weight_files(agent, raw):
    ask, _ = agent
    result = ask("which repos have no weights, just a README")
    expected = {m for m, r in raw.items() if has_weights(r) is False}
    assert expected and result["recommended"]
    assert set(result["recommended"]) <= expected


def test_quantized_versions_named_after_the_base(agent, raw):
    ask, _ = agent
    result = ask("gemma 7b quantized versions")
    assert result["filters"].get("base") == "google/gemma-7b" and result["filters"].get("relation") == "quantized"

    # Quantizers' names in the repo or file names (HQQ, 1-bit ... beside QUANTIZED's GGUF/GPTQ/AWQ).
    named = re.compile(QUANTIZED.pattern + r"|hqq|\d+[-_]?bit|quant", re.I)

    def quantized(model: str) -> bool:
        files = [s.get("rfilename", "") for s in raw[model].get("siblings") or []]
        return bool(named.search(model)) or any(named.search(f) for f in files)

    expected = {m for m in descendants(raw, "google/gemma-7b") if quantized(m)}
    assert expected and result["recommended"]
    assert set(result["recommended"]) <= expected


def test_a_misspelt_filter_word_still_filters(agent, raw):
    ask, _ = agent
    result = ask("which modle is the most downlaoded?")
    ranked = sorted((m for m, r in raw.items() if usable(r)), key=lambda m: -(raw[m].get("downloads") or 0))
    assert result["recommended"] and result["recommended"][0] == ranked[0]


def test_license_follow_up_after_a_comparison_filters_the_compared_models(agent, raw):
    ask, _ = agent
    compared = ask("compare phi-2 and gemma-7b", thread="cmp-lic")["models"]
    assert len(compared) == 2
    result = ask("which of those is free for commercial use?", thread="cmp-lic")
    permissive = {"mit", "apache-2.0", "bsd", "bsd-2-clause", "bsd-3-clause", "cc-by-4.0", "cc0-1.0", "unlicense"}

    def license_of(record: dict) -> str | None:
        tags = [t.removeprefix("license:") for t in record.get("tags") or [] if t.startswith("license:")]
        return (record.get("cardData") or {}).get("license") or (tags[0] if tags else None)

    expected = [m for m in compared if license_of(raw[m]) in permissive]
    assert expected and len(expected) < len(compared), "the pair splits on the license"
    assert result["recommended"] == expected
