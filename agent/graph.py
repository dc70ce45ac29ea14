"""The LangGraph graph: an agent node (ChatOpenAI with tools bound, or the offline planner) and a ToolNode.

    START -> agent -> (tool calls?) -> tools -> agent ... -> END

Each question resets the step counter; past `Context.step_limit` the agent ends with a polite answer
instead of raising. Conversation memory is a checkpointer, one thread per conversation: in the PostgreSQL
store when that is the database (so several UI processes behind one address share conversations), else a
SQLite file in the data directory.
"""

from __future__ import annotations

import re
import sqlite3
import time
import uuid
from datetime import date
from pathlib import Path
from typing import Any, Literal

from langchain_core.messages import AIMessage, HumanMessage, SystemMessage, ToolMessage
from langgraph.graph import END, START, StateGraph
from langgraph.prebuilt import ToolNode
from sqlalchemy.engine import make_url
from whichmodel import prompts
from whichmodel.agent.context import Context
from whichmodel.agent.planner import Planner
from whichmodel.agent.state import State
from whichmodel.config import Settings
from whichmodel.scoring.method import load_method
from whichmodel.tools import Services, make_tools

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


def build_graph(services: Services, context: Context, chat_model=None, checkpointer=None):
    """Compile the graph. `chat_model` overrides the configured LLM (tests pass a scripted fake)."""
    tools = make_tools(services)
    if chat_model is None and context.api_key:
        chat_model = chat_model_for(context)
    planner = None if chat_model is not None else Planner(services)
    bound = chat_model.bind_tools(tools) if chat_model is not None else None
    system = prompts.render("agent_system", method_version=load_method().version, today=date.today().isoformat())

    def agent(state: State) -> dict:
        if state.steps >= context.step_limit:
            return {"messages": [AIMessage(STEP_LIMIT_ANSWER.format(steps=state.steps))], "steps": state.steps + 1}
        if planner is not None:
            message, memory = planner.respond(state.messages, state.memory)
            return {"messages": [message], "steps": state.steps + 1, "memory": memory}
        message = bound.invoke([SystemMessage(system), *state.messages])
        return {"messages": [message], "steps": state.steps + 1}

    def route(state: State) -> Literal["tools", "__end__"]:
        last = state.messages[-1]
        if isinstance(last, AIMessage) and last.tool_calls and state.steps <= context.step_limit:
            return "tools"
        return END

    graph = StateGraph(State, context_schema=Context)
    graph.add_node("agent", agent)
    graph.add_node("tools", ToolNode(tools))
    graph.add_edge(START, "agent")
    graph.add_conditional_edges("agent", route)
    graph.add_edge("tools", "agent")
    compiled = graph.compile(checkpointer=checkpointer)
    compiled.name = "whichmodel"
    compiled.engine = "planner" if planner is not None else "llm"
    return compiled


def _turn_messages(messages: list) -> list:
    start = max(i for i, m in enumerate(messages) if isinstance(m, HumanMessage))
    return messages[start:]


def mentioned_models(answer: str, turn: list, services: Services) -> list[str]:
    """Model ids the answer names, in order of mention, limited to ids that tool results returned this turn."""
    known: set[str] = set()

    def collect(value: Any) -> None:
        if isinstance(value, dict):
            for key, inner in value.items():
                if key in ("model_id", "best_model", "record_model", "peak_model") and isinstance(inner, str):
                    known.add(inner)
                elif key in ("models", "recommended", "ruled_out") and isinstance(inner, list):
                    known.update(m for m in inner if isinstance(m, str) and "/" in m)
                else:
                    collect(inner)
        elif isinstance(value, list):
            for inner in value:
                collect(inner)

    for message in turn:
        if isinstance(message, ToolMessage):
            collect(getattr(message, "artifact", None))
    positions = []
    for model_id in known:
        match = re.search(r"(?<![\w/.-])" + re.escape(model_id) + r"(?![\w/-])", answer)
        if match:
            positions.append((match.start(), model_id))
    return [m for _, m in sorted(positions)]


def run_turn(graph, services: Services, context: Context, question: str, thread_id: str | None = None) -> dict:
    """Ask one question on a thread; returns the CLI's JSON shape plus timing and tool results."""
    thread_id = thread_id or uuid.uuid4().hex
    started = time.perf_counter()
    config = {"configurable": {"thread_id": thread_id}, "recursion_limit": 4 * context.step_limit + 8}
    state = graph.invoke({"messages": [HumanMessage(question)], "steps": 0}, config=config, context=context)
    turn = _turn_messages(state["messages"])
    final = turn[-1]
    answer = str(final.content)
    calls = [{"name": c["name"], "args": c["args"]} for m in turn if isinstance(m, AIMessage) for c in m.tool_calls]
    structured = final.additional_kwargs.get("whichmodel", {}) if isinstance(final, AIMessage) else {}
    models = structured.get("models") if "models" in structured else mentioned_models(answer, turn, services)
    result = {
        "answer": answer,
        "models": models,
        "tool_calls": calls,
        "engine": "llm" if getattr(graph, "engine", context.engine) == "llm" else "planner",
        "thread_id": thread_id,
        "elapsed_ms": round((time.perf_counter() - started) * 1000, 1),
    }
    for key in ("recommended", "ruled_out", "filters", "sort"):
        if key in structured:
            result[key] = structured[key]
    return result
