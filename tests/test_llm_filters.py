"""The LLM path with the new search filters, against a fake OpenAI-compatible server on 127.0.0.1."""

import json

import pytest
from fake_openai import FakeOpenAI
from langchain_openai import ChatOpenAI
from langgraph.checkpoint.memory import InMemorySaver
from whichmodel.agent.context import Context
from whichmodel.agent.graph import build_graph, run_turn
from whichmodel.config import Settings
from whichmodel.tools import Services

NEW_FILTERS = {"base", "relation", "language", "finding", "min_downloads", "max_memory_gb", "precision", "topics",
               "tasks"}  # fmt: skip


@pytest.fixture
def llm():
    with FakeOpenAI() as fake:
        yield fake


@pytest.fixture
def ask(ingested, tmp_path, llm):
    engine, _, _ = ingested
    services = Services(engine, Settings(home=tmp_path / "home"))
    model = ChatOpenAI(model="fake-model", api_key="x", base_url=llm.base_url, max_retries=0, timeout=10)
    graph = build_graph(services, chat_model=model, checkpointer=InMemorySaver())
    context = Context(api_key="x", base_url=llm.base_url, llm_model="fake-model")
    return lambda question: run_turn(graph, context, question, thread_id="t")


def descendants_in_snapshots(snapshot_dirs, base: str) -> set[str]:
    """Models whose raw records name `base`, or a model that does, as their base model."""
    children: dict[str, set[str]] = {}
    for folder in snapshot_dirs:
        for line in (folder / "models.jsonl").read_text(encoding="utf-8").splitlines():
            record = json.loads(line)
            for tag in record.get("tags") or []:
                if tag.startswith("base_model:"):
                    children.setdefault(tag.split(":")[-1], set()).add(record["id"])
    found, todo = set(), [base]
    while todo:
        for child in children.get(todo.pop(), ()):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def test_the_search_tool_schema_describes_the_new_filters(ask, llm):
    llm.reply("Which base model do you mean?")
    ask("fine-tunes of deepseek r1")
    tool = next(t["function"] for t in llm.requests[0]["tools"] if t["function"]["name"] == "search_models")
    assert NEW_FILTERS <= set(tool["parameters"]["properties"])
    assert set(tool["parameters"]["properties"]["relation"]["anyOf"][0]["enum"]) == {"finetune", "adapter", "merge",
                                                                                    "quantized"}  # fmt: skip
    manual = tool["description"]  # the docstring is the model's manual, Args included
    for name in NEW_FILTERS:
        assert f"\n            {name}: " in manual, f"{name} is not described"
    assert "descendants" in manual and "typosquatting=fail" in manual and "fp16 (2)" in manual
    system = llm.requests[0]["messages"][0]["content"]
    assert "Not applied:" in system and "max_memory_gb" in system


def test_a_lineage_question_through_the_llm_gets_only_descendants(ask, llm, snapshot_dirs):
    llm.reply(tool_calls=[("search_models", {"base": "deepseek-r1", "sort": "downloads", "limit": 5})])
    llm.reply("The most downloaded fine-tunes of deepseek-ai/DeepSeek-R1 are listed above.")
    result = ask("most downloaded fine-tunes of deepseek r1")
    tool_reply = next(m for m in llm.requests[1]["messages"] if m["role"] == "tool")
    content = tool_reply["content"]
    data = json.loads(content[content.index("<untrusted>") + len("<untrusted>") : content.rindex("</untrusted>")])
    assert data["filters"]["base"] == "deepseek-ai/DeepSeek-R1", "the name was resolved to the stored base"
    expected = descendants_in_snapshots(snapshot_dirs, "deepseek-ai/DeepSeek-R1")
    assert data["results"] and {r["model_id"] for r in data["results"]} <= expected
    downloads = [r["downloads"] for r in data["results"]]
    assert downloads == sorted(downloads, reverse=True)
    assert result["engine"] == "llm"


def test_a_part_no_filter_answers_is_said_not_applied_on_the_llm_path(ask, llm):
    llm.reply(tool_calls=[("search_models", {"base": "microsoft/phi-2", "limit": 3})])
    llm.reply("The best phi-2 fine-tunes are in the search results.")
    result = ask("cheapest phi-2 fine-tune with low latency")
    assert "Not applied: 'cheapest' (whichmodel stores no prices)." in result["answer"]
    assert "Not applied: 'low latency' (whichmodel stores no speed measurements)." in result["answer"]


def test_an_answer_that_already_says_it_is_left_alone(ask, llm):
    llm.reply("Not applied: 'cheapest' (no prices are stored). I can rank by scores instead.")
    result = ask("cheapest model")
    assert result["answer"].count("cheapest") == 1


def test_a_question_over_the_limit_never_reaches_the_llm(ask, llm):
    result = ask("is phi-2 " + "is " * 33333)
    assert "1,000 characters" in result["answer"]
    assert llm.requests == []


def test_a_contested_name_tells_the_llm_to_ask_which_one(ask, llm):
    llm.reply(tool_calls=[("get_score", {"model_id": "deepseek-r1-bf16"})])
    llm.reply("Which one do you mean?")
    ask("score deepseek-r1-bf16")
    tool_reply = next(m for m in llm.requests[1]["messages"] if m["role"] == "tool")
    assert tool_reply["content"].startswith("(resolved 'deepseek-r1-bf16' to ")
    assert "about as used" in tool_reply["content"].split(")")[0] and "ask which one" in tool_reply["content"]


def test_trend_answers_get_no_search_not_applied_lines(ask, llm):
    llm.reply(tool_calls=[("trends", {"view": "types"})])
    llm.reply("Recent months show more merges.")
    result = ask("what are the most recent trends?")
    assert "Not applied" not in result["answer"]
