"""The UI adapters, without a server: stream events -> chat messages, score cards -> tables and figures."""

from itertools import count

from langchain_core.messages import AIMessage, ToolMessage
from whichmodel.store.queries import scorecard
from whichmodel.ui.adapter import (
    category_figure,
    compare_markdown,
    facts_markdown,
    findings_rows,
    linkify,
    status_markdown,
    stream_messages,
)


def fake_clock():
    ticks = count()
    return lambda: next(ticks) * 0.5


def test_stream_shows_each_tool_call_pending_then_done_then_the_linked_answer():
    call = {"name": "get_score", "args": {"model_id": "phi-2"}, "id": "c1", "type": "tool_call"}
    events = [
        {"agent": {"messages": [AIMessage("", tool_calls=[call])]}},
        {
            "tools": {
                "messages": [
                    ToolMessage(
                        "{}",
                        tool_call_id="c1",
                        name="get_score",
                        artifact={"model_id": "microsoft/phi-2", "overall": 8.61},
                    )
                ]
            }
        },  # fmt: skip
        {"agent": {"messages": [AIMessage("microsoft/phi-2 scores 8.6 overall.")]}},
    ]
    frames = list(stream_messages(events, clock=fake_clock()))
    pending = frames[0][0]
    assert pending.metadata["status"] == "pending" and pending.metadata["title"].startswith("🛠️ get_score(")
    done = frames[1][0]
    assert done.metadata["status"] == "done" and done.metadata["duration"] == 0.5
    assert "overall 8.61" in done.content and '"model_id": "phi-2"' in done.content
    answer = frames[2][1]
    assert answer.content == "[microsoft/phi-2](?model=microsoft/phi-2) scores 8.6 overall."


def test_failed_tool_calls_are_marked():
    call = {"name": "get_score", "args": {"model_id": "nope"}, "id": "c1", "type": "tool_call"}
    events = [
        {"agent": {"messages": [AIMessage("", tool_calls=[call])]}},
        {
            "tools": {
                "messages": [
                    ToolMessage(
                        "x", tool_call_id="c1", name="get_score", artifact={"error": "'nope' is not in the database"}
                    )
                ]
            }
        },  # fmt: skip
    ]
    done = list(stream_messages(events, clock=fake_clock()))[-1][0]
    assert done.metadata["title"].endswith("— failed") and "not in the database" in done.content


def test_linkify_prefers_the_longest_id_and_leaves_substrings_alone():
    text = "inceptionai/jais-adapted-7b-chat beats inceptionai/jais-adapted-7b."
    linked = linkify(text, ["inceptionai/jais-adapted-7b", "inceptionai/jais-adapted-7b-chat"])
    assert linked == ("[inceptionai/jais-adapted-7b-chat](?model=inceptionai/jais-adapted-7b-chat) beats "
                      "[inceptionai/jais-adapted-7b](?model=inceptionai/jais-adapted-7b).")  # fmt: skip


def test_score_card_views(ingested):
    engine, _, _ = ingested
    card = scorecard(engine, "google/gemma-7b")
    rows = findings_rows(card)
    assert len(rows) == sum(len(c["findings"]) for c in card["categories"].values())
    code = next(r for r in rows if r[1] == "code_files")
    assert code[0] == "security" and code[2] == "fail" and code[5].startswith("Review every code file")
    fig = category_figure(card)
    assert list(fig.data[0].x) == ["popularity", "activity", "operational", "security", "quality", "overall"]
    assert fig.data[0].y[-1] == card["overall"] and fig.layout.title.text.startswith("google/gemma-7b")
    facts = facts_markdown(card)
    assert "| license | gemma |" in facts and "From the model card" in facts and "“" in facts


def test_compare_highlights_the_leader_and_labels_ties():
    from whichmodel.usecases.models import Comparison, Difference, Verdict

    names = ("popularity", "activity", "operational", "security", "quality", "overall")
    scores = {c: {"a/x": 5.0, "b/y": 7.0} for c in names} | {"activity": {"a/x": 4.0, "b/y": 4.0}}
    artifact = Comparison(
        models=["a/x", "b/y"],
        verdicts={c: Verdict(c, s) for c, s in scores.items()},
        differences=[Difference("safetensors", "security", 2.0, 0.7,
                                {"a/x": {"outcome": "fail"}, "b/y": {"outcome": "pass"}})],
        facts={"a/x": {"license": "mit"}, "b/y": {"license": "gemma"}},
    ).to_dict()  # fmt: skip
    text = compare_markdown(artifact)
    assert "| security | 5.0 | **7.0** ⬆ |" in text
    assert "| activity (tie) | 4.0 | 4.0 |" in text, "a tie highlights nothing and says so"
    assert "| license | **mit** | **gemma** |" in text, "differing facts are highlighted"
    assert "`safetensors` (security): x: fail; y: pass" in text


def test_status_hides_reingests_that_changed_nothing():
    run = {"source": "s", "observed_at": "2025-04-22T00:00:00Z", "kind": "snapshot", "status": "complete",
           "new_models": 5, "new_observations": 0, "unchanged": 0, "skipped": 0}  # fmt: skip
    again = run | {"new_models": 0, "unchanged": 5}
    text = status_markdown({"models": 5, "observations": 5, "scored_models": 5, "method_version": "1.0.0",
                            "weights_hash": "abc" * 10, "ingest_runs": [run, again]})  # fmt: skip
    assert text.count("| 2025-04-22 |") == 1 and "whichmodel ingest --leaderboard" in text
