"""Each agent tool through `.invoke`, as the ToolNode calls it: the text a model reads and the artifact."""

import json
import re

import pytest
import small
from langchain_core.messages import ToolMessage
from whichmodel.prompts.fence import CLOSE, OPEN
from whichmodel.tools import make_tools, models_in
from whichmodel.usecases.base import Services


@pytest.fixture(scope="module")
def tools(tmp_path_factory):
    settings, engine = small.build(tmp_path_factory.mktemp("tools"), with_cards=True)
    return {t.name: t for t in make_tools(Services(engine, settings))}


def call(tools, name, **args) -> ToolMessage:
    message = tools[name].invoke({"type": "tool_call", "id": "c1", "name": name, "args": args})
    assert isinstance(message, ToolMessage) and message.tool_call_id == "c1"
    return message


def fenced(content: str):
    """The JSON a tool result carries inside its one <untrusted> fence (after any plain note); no tag inside it."""
    start = content.index(OPEN)
    assert content.endswith(CLOSE) and "untrusted" not in content[:start].lower(), "one fence, around the JSON"
    inner = content[start + len(OPEN) : -len(CLOSE)]
    assert "<" not in inner, "nothing inside the fence can be a tag"
    return json.loads(inner)


def test_search_models(tools):
    message = call(tools, "search_models", license_class="permissive", chat=True, sort="downloads", limit=3)
    text = fenced(message.content)
    assert text["filters"] == {"license_class": "permissive", "chat": True}
    assert len(text["results"]) == 3 and text["total_matched"] == small.MODELS - 1
    assert {"without": "license_class=permissive", "would_add": 1, "best": small.NONCOMMERCIAL} in text["near_misses"]
    assert message.artifact["results"][0]["model_id"] == text["results"][0]["model_id"]


def test_get_score_and_its_failures(tools):
    message = call(tools, "get_score", model_id="safe-7b-chat")
    assert message.content.startswith(f"(resolved 'safe-7b-chat' to {small.SAFE})")
    assert message.artifact["resolution"]["candidates"] == [small.SAFE, small.MIRROR]
    assert message.artifact["facts"]["id"] == small.SAFE
    missing = call(tools, "get_score", model_id="nobody/nothing")
    assert "not in the database" in missing.content and "fetch_and_score" in missing.content
    assert missing.artifact["error"] == missing.content
    unscored = call(tools, "get_score", model_id=small.UNSCORED)
    assert "not scored yet" in unscored.artifact["error"]


def test_unknown_ids_are_not_found_with_suggestions_never_replaced(tools):
    typo = call(tools, "get_score", model_id="acme/safe-7b-chatt")
    assert "did you mean acme/safe-7b-chat" in typo.content and typo.artifact["resolution"]["model_id"] is None
    other_org = call(tools, "explain_score", model_id="nobody/safe-7b-chat")
    assert "not in the database" in other_org.artifact["error"] and "model_id" not in other_org.artifact
    compared = call(tools, "compare_models", model_ids=["nobody/safe-7b-chat", small.PICKLE])
    assert "nobody/safe-7b-chat" in compared.artifact["error"] and "models" not in compared.artifact
    only = call(tools, "search_models", model_ids=["acme/safe-7b-chatt"])
    assert "did you mean acme/safe-7b-chat" in only.artifact["error"] and "results" not in only.artifact
    lineage = call(tools, "search_models", base="nobody/safe-7b-chat")
    shown = fenced(lineage.content)
    assert shown["total_matched"] == 0 and "nobody/safe-7b-chat" in shown["base_not_found"]


def test_explain_score_marks_card_evidence_untrusted(tools):
    message = call(tools, "explain_score", model_id=small.PICKLE, category="security")
    assert message.artifact["model_id"] == small.PICKLE and message.artifact["costly"]
    shown = fenced(message.content)
    card_values = [e["value"] for f in shown["costly"] + shown["earned"] for e in f["evidence"]
                   if str(e["field"]).startswith("card.")]  # fmt: skip
    assert card_values and all("<" not in v for v in card_values), "card text is inside the fence, neutralized"
    overall = call(tools, "explain_score", model_id=small.SAFE)
    assert overall.artifact["category"] == "overall"
    assert overall.artifact["categories"].keys() == {"popularity", "activity", "operational", "security", "quality"}


def test_compare_models_verdicts_and_unscored(tools):
    message = call(tools, "compare_models", model_ids=[small.SAFE, small.TWIN])
    text = fenced(message.content)
    assert text["verdicts"]["overall"]["outcome"] == "tie" and message.artifact["leaders"]["overall"] is None
    unscored = call(tools, "compare_models", model_ids=[small.SAFE, small.UNSCORED])
    assert "not scored yet" in unscored.content and unscored.artifact["error"]
    one = call(tools, "compare_models", model_ids=[small.SAFE])
    assert one.content == "Compare takes two to four models."


def test_search_cards_quotes_cards_as_untrusted_data(tools):
    message = call(tools, "search_cards", query="customer support chat model", k=3)
    results = fenced(message.content)["results"]
    assert results and all(r["excerpt"] and "<" not in r["excerpt"] for r in results), "quoted inside the fence"
    assert message.artifact["query"] == "customer support chat model"
    assert {r["model_id"] for r in message.artifact["results"]} <= {r["id"] for r in small.records(1)}


def test_trends_history_and_an_empty_view(tools):
    message = call(tools, "trends", view="history", model="safe-7b-chat")
    rows = fenced(message.content)["rows"]
    assert [r["downloads"] for r in rows] == list(small.SAFE_DOWNLOADS)
    empty = call(tools, "trends", view="types")  # no leaderboard in this database
    assert "no rows" in empty.content and empty.artifact["view"] == "types"
    bad = call(tools, "trends", view="types", start="2024-13-45")
    assert bad.artifact["error"]


def test_fetch_and_score_reports_an_unreachable_hub(tmp_path, monkeypatch):
    from whichmodel.config import Settings

    settings = Settings(home=tmp_path, hf_endpoint="http://127.0.0.1:9", hub_max_retries=1, hub_timeout_s=1.0)
    tools = {t.name: t for t in make_tools(Services.from_settings(settings))}
    message = call(tools, "fetch_and_score", model_id="someone/something")
    assert message.content.startswith("Could not fetch someone/something from the Hub")
    assert "Only models already in the database" in message.content
    assert call(tools, "fetch_and_score", model_id="no-org").artifact["error"]


def test_models_in_reads_every_result_shape():
    artifact = {"model_id": "a/one", "results": [{"model_id": "b/two"}], "models": ["c/three", "not-an-id"],
                "rows": [{"best_model": "d/four", "record_model": "e/five", "peak_model": "f/six"}],
                "resolution": {"model_id": "g/typed", "query": "x"}}  # fmt: skip
    assert models_in(artifact) == ["a/one", "b/two", "c/three", "d/four", "e/five", "f/six"]
    assert not re.search("g/typed", " ".join(models_in(artifact)))
