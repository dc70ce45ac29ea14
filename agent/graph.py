"""The LangGraph graph: an agent node (ChatOpenAI with tools bound, or the offline planner) and a ToolNode.

    START -> agent -> (tool calls?) -> tools -> agent ... -> END

Each run reads its `Context` from LangGraph's runtime (`graph.invoke(..., context=Context(...))`). Each
question resets the step counter; past `Context.step_limit` the agent ends with a polite answer instead of
raising. Conversation memory is a checkpointer, one thread per conversation: in the PostgreSQL store when that
is the database (so several UI processes behind one address share conversations), else a SQLite file in the
data directory.
"""

from __future__ import annotations

import sqlite3
import time
import uuid
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from langchain_core.messages import AIMessage, HumanMessage, SystemMessage, ToolMessage
from langgraph.graph import END, START, StateGraph
from langgraph.prebuilt import ToolNode
from langgraph.runtime import Runtime
from sqlalchemy.engine import make_url
from whichmodel import prompts
from whichmodel.agent.context import Context
from whichmodel.agent.parse import QuestionTooLong, check_length, unsupported_requirements
from whichmodel.agent.planner import Planner
from whichmodel.agent.state import State
from whichmodel.config import Settings
from whichmodel.scoring.method import load_method
from whichmodel.tools import Services, make_tools, mentioned_models

STEP_LIMIT_ANSWER = (
    "I stopped after {steps} steps without a complete answer. Try a narrower question, for example one model or "
    "one filter at a time."
)


def chat_model_for(context: Context):
    """ChatOpenAI for the configured OpenAI-compatible endpoint."""
    from langchain_openai import ChatOpenAI

    return ChatOpenAI(model=context.llm_model, api_key=context.api_key, base_url=context.base_url,
                      temperature=context.temperature, timeout=context.timeout_s, max_retries=1)  # fmt: skip


def checkpointer_for(where: Settings | Path) -> Any:
    """The checkpointer for these settings (or data directory): threads survive restarts.

    With a PostgreSQL database URL, LangGraph's PostgreSQL saver on a small connection pool in that database;
    otherwise a SQLite file in the data directory.
    """
    settings = where if isinstance(where, Settings) else None
    url = settings.database_url if settings else None
    if url and make_url(url).get_backend_name() == "postgresql":
        return _postgres_checkpointer(url)
    home = settings.home if settings else where
    from langgraph.checkpoint.sqlite import SqliteSaver

    home.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(home / "checkpoints.db", check_same_thread=False)
    return SqliteSaver(conn)


def _postgres_checkpointer(url: str) -> Any:
    import psycopg
    from langgraph.checkpoint.postgres import PostgresSaver
    from psycopg.rows import dict_row
    from psycopg_pool import ConnectionPool

    conninfo = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    # The saver's own settings: autocommit, no server-side prepared statements, rows as dicts.
    pool = ConnectionPool(conninfo, min_size=1, max_size=8, open=True,
                          kwargs={"autocommit": True, "prepare_threshold": 0, "row_factory": dict_row})  # fmt: skip
    saver = PostgresSaver(pool)
    # setup() creates and migrates its tables; processes starting together take turns (a session lock).
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute("SELECT pg_advisory_lock(7316003)")
        try:
            saver.setup()
        finally:
            conn.execute("SELECT pg_advisory_unlock(7316003)")
    return saver


def run_config(context: Context, thread_id: str) -> dict[str, Any]:
    """The run configuration of one question on a thread.

    LangGraph counts supersteps, and each agent step can be followed by a tools step: twice the step limit,
    plus the polite stop and margin, keeps the step limit (which answers) ahead of the recursion limit (which raises).
    """
    return {"configurable": {"thread_id": thread_id}, "recursion_limit": 4 * context.step_limit + 8}


def build_graph(services: Services, chat_model=None, checkpointer=None):
    """Compile the graph; each run passes its `Context` (`graph.invoke(..., context=...)`).

    The agent node reads the run's context: with `api_key` set it asks the configured LLM, else the offline
    planner answers. `chat_model` overrides the configured LLM (tests pass a scripted fake).
    """
    tools = make_tools(services)
    planner = Planner(services)
    system = prompts.render("agent_system", method_version=load_method().version, today=date.today().isoformat())

    @lru_cache(maxsize=4)
    def bound_model(context: Context):
        return (chat_model or chat_model_for(context)).bind_tools(tools)

    def agent(state: State, runtime: Runtime[Context]) -> dict:
        context = runtime.context or Context()
        if state.steps >= context.step_limit:
            return {"messages": [AIMessage(STEP_LIMIT_ANSWER.format(steps=state.steps))], "steps": state.steps + 1}
        if chat_model is None and not context.api_key:
            message, memory = planner.respond(state.messages, state.memory)
            return {"messages": [message], "steps": state.steps + 1, "memory": memory, "engine": "planner"}
        question = str(next(m for m in reversed(state.messages) if isinstance(m, HumanMessage)).content)
        try:
            check_length(question)  # before any model reads it: the limit holds for the LLM path too
        except QuestionTooLong as err:
            return {"messages": [AIMessage(str(err))], "steps": state.steps + 1, "engine": "llm"}
        message = bound_model(context).invoke([SystemMessage(system), *state.messages])
        start = max(i for i, m in enumerate(state.messages) if isinstance(m, HumanMessage))
        called = {c["name"] for m in state.messages[start:] if isinstance(m, AIMessage) for c in m.tool_calls}
        if not message.tool_calls and called <= {"search_models"}:  # a search (or none): say what no filter took
            missing = [n.line() for n in unsupported_requirements(question)
                       if n.phrase.lower() not in str(message.content).lower()]  # fmt: skip
            if missing:
                message = AIMessage(str(message.content).rstrip() + "\n" + "\n".join(missing), id=message.id)
        return {"messages": [message], "steps": state.steps + 1, "engine": "llm"}

    def route(state: State, runtime: Runtime[Context]) -> Literal["tools", "__end__"]:
        last = state.messages[-1]
        limit = (runtime.context or Context()).step_limit
        if isinstance(last, AIMessage) and last.tool_calls and state.steps <= limit:
            return "tools"
        return END

    graph = StateGraph(State, context_schema=Context)
    graph.add_node("agent", agent)
    graph.add_node("tools", ToolNode(tools))
    graph.add_edge(START, "agent")
    graph.add_conditional_edges("agent", route)
    graph.add_edge("tools", "agent")
    return graph.compile(checkpointer=checkpointer, name="whichmodel")


def run_turn(graph, context: Context, question: str, thread_id: str | None = None) -> dict:
    """Ask one question on a thread; returns the CLI's JSON shape plus timing."""
    thread_id = thread_id or uuid.uuid4().hex
    started = time.perf_counter()
    state = graph.invoke({"messages": [HumanMessage(question)], "steps": 0}, config=run_config(context, thread_id),
                         context=context)  # fmt: skip
    start = max(i for i, m in enumerate(state["messages"]) if isinstance(m, HumanMessage))
    turn = state["messages"][start:]
    final = turn[-1]
    answer = str(final.content)
    calls = [{"name": c["name"], "args": c["args"]} for m in turn if isinstance(m, AIMessage) for c in m.tool_calls]
    structured = final.additional_kwargs.get("whichmodel", {}) if isinstance(final, AIMessage) else {}
    if "models" in structured:
        models = structured["models"]
    else:  # an LLM's answer: the ids it names, of those this turn's tool results returned
        models = mentioned_models(answer, [getattr(m, "artifact", None) for m in turn if isinstance(m, ToolMessage)])
    result = {
        "answer": answer,
        "models": models,
        "tool_calls": calls,
        "engine": state.get("engine") or context.engine,
        "thread_id": thread_id,
        "elapsed_ms": round((time.perf_counter() - started) * 1000, 1),
    }
    for key in ("recommended", "ruled_out", "filters", "sort", "not_applied"):
        if key in structured:
            result[key] = structured[key]
    return result
