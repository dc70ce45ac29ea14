"""The offline planner without the graph (`agent.offline`) answers as the graph does and shares its threads.

Every conversation is asked three ways over the shared snapshots: through the compiled graph, through the
offline loop, and alternating between them on one thread. The answers (JSON shape included) and the thread
each leaves in its checkpointer must be the same.
"""

import uuid

import pytest
from langchain_core.messages import ToolMessage
from whichmodel.agent.context import Context
from whichmodel.agent.graph import build_graph, run_turn
from whichmodel.agent.offline import STATE_CHANNELS, PlannerAgent, checkpointer_for
from whichmodel.config import Settings
from whichmodel.tools import Services

CONVERSATIONS = [
    ["safest permissive 7B chat model", "and the second one?", "what about 13B?", "why is it ruled out?"],
    ["compare phi-2 and gemma-7b", "which is safer?", "which of those is free for commercial use?"],
    ["score google/gemma-7b", "why does it score that on security?", "what would it take to reach 9 overall?"],
    ["most downloaded fine-tunes of deepseek-r1", "only the ones in Korean"],
    ["score nobody/nothing-here", "and the second one?", "what is the weather in Paris?", "help"],
]


@pytest.fixture(scope="module")
def services(ingested, tmp_path_factory):
    engine, _, _ = ingested
    url = engine.url.render_as_string(hide_password=False)
    # No Hub: a question naming an unknown model must not reach out (the fetch fails fast at port 9). Threads
    # live where the app keeps them: in PostgreSQL when that is the database, else a SQLite file in the home.
    settings = Settings(home=tmp_path_factory.mktemp("offline"), hf_endpoint="http://127.0.0.1:9",
                        database_url=None if url.startswith("sqlite") else url)  # fmt: skip
    return Services(engine, settings)


@pytest.fixture(scope="module")
def saver(services):
    return checkpointer_for(services.settings)


def plain(result: dict) -> dict:
    return {k: v for k, v in result.items() if k not in ("elapsed_ms", "thread_id")}


def thread(saver, thread_id: str) -> dict:
    """A thread's stored state channels, messages without their random ids."""
    values = saver.get_tuple({"configurable": {"thread_id": thread_id, "checkpoint_ns": ""}}).checkpoint
    values = dict(values["channel_values"])
    values["messages"] = [
        (m.type, m.content, [(c["name"], c["args"]) for c in getattr(m, "tool_calls", [])],
         m.artifact if isinstance(m, ToolMessage) else None, getattr(m, "status", None), m.additional_kwargs)
        for m in values["messages"]
    ]  # fmt: skip
    return {k: values[k] for k in STATE_CHANNELS}


@pytest.mark.parametrize("questions", CONVERSATIONS, ids=[c[0] for c in CONVERSATIONS])
def test_offline_answers_and_threads_match_the_graph(services, saver, questions):
    context = Context()
    graph, offline = build_graph(services, checkpointer=saver), PlannerAgent(services, checkpointer=saver)
    ways = {}
    for way in ("graph", "offline", "alternating"):
        thread_id = f"{way}-{uuid.uuid4().hex}"
        answers = []
        for n, question in enumerate(questions):
            use_graph = way == "graph" or (way == "alternating" and n % 2 == 1)
            result = (run_turn(graph, context, question, thread_id=thread_id) if use_graph
                      else offline.turn(context, question, thread_id=thread_id))  # fmt: skip
            assert result["thread_id"] == thread_id and result["engine"] == "planner"
            answers.append(plain(result))
        ways[way] = answers, thread(saver, thread_id)
        # The graph reads the thread as a finished run: nothing pending, its next question starts afresh.
        assert graph.get_state({"configurable": {"thread_id": thread_id}}).next == ()
    assert ways["offline"] == ways["graph"]
    assert ways["alternating"] == ways["graph"]


def test_offline_stops_at_the_step_limit_as_the_graph_does(services, saver):
    context = Context(step_limit=1)  # the recommendation needs a search, then explanations: more than one step
    question = "safest permissive 7B chat model"
    by_graph = run_turn(build_graph(services, checkpointer=saver), context, question, thread_id=uuid.uuid4().hex)
    by_offline = PlannerAgent(services, checkpointer=saver).turn(context, question, uuid.uuid4().hex)
    assert by_offline["answer"].startswith("I stopped after 1 steps")
    assert plain(by_offline) == plain(by_graph)


def test_a_new_thread_gets_an_id_and_bad_tool_arguments_come_back_as_an_error_message(services):
    agent = PlannerAgent(services)  # no checkpointer: nothing kept
    result = agent.turn(Context(), "score google/gemma-7b")
    assert len(result["thread_id"]) == 32 and result["models"] == ["google/gemma-7b"]
    message = agent._tool({"name": "search_models", "args": {"limit": "many"}, "id": "c1"})
    assert message.status == "error" and "search_models" in message.content and "limit" in message.content
    assert message.tool_call_id == "c1"
