"""The offline planner's turn without LangGraph: the graph's planner path, step for step, for a fast start.

`whichmodel ask` and `chat` with no LLM endpoint answer through `PlannerAgent.turn`: importing LangGraph's
graph machinery costs about a second, several times what the planner needs to answer. The loop below is
the graph's (graph.py) with the planner as its agent node: agent step, route, the tools run one call at a
time, the same step limit and polite stop. The tools are the functions the graph's LangChain tools wrap
(`tools.tool_functions`), their arguments validated by pydantic against the same signatures, their results
the same `ToolMessage`s (LangChain's tool machinery itself loads its tracers, another half second). The thread
is kept in the same checkpointer, as one checkpoint per turn in the shape the graph reads (state channels
`messages`, `steps`, `memory`, `engine`), so a conversation started here continues in the graph and back.

Imports nothing of LangGraph but its checkpoint package (`langgraph.checkpoint`), and nothing of the LLM
client.
"""

from __future__ import annotations

import sqlite3
import time
import uuid
from pathlib import Path
from typing import Any

from langchain_core.messages import AIMessage, AnyMessage, HumanMessage, ToolMessage
from whichmodel.agent.context import Context
from whichmodel.agent.planner import Planner
from whichmodel.config import Settings
from whichmodel.tools import Services, mentioned_models, tool_functions

STEP_LIMIT_ANSWER = (
    "I stopped after {steps} steps without a complete answer. Try a narrower question, for example one model or "
    "one filter at a time."
)
# The graph's state channels: what a checkpoint of a finished turn holds (graph.State's fields).
STATE_CHANNELS = ("messages", "steps", "memory", "engine")
# ToolNode's text for a call whose arguments fail the tool's schema (the model sees it and may retry).
BAD_ARGUMENTS = ("Error invoking tool '{name}' with kwargs {args} with error:\n {error}\n Please fix the error and "
                 "try again.")  # fmt: skip
_LOCK = 7316003  # the PostgreSQL advisory lock key of the saver's set-up, one per database


def checkpointer_for(where: Settings | Path) -> Any:
    """The checkpointer for these settings (or data directory): threads survive restarts.

    With a PostgreSQL database URL, LangGraph's PostgreSQL saver on a small connection pool in that database;
    otherwise a SQLite file in the data directory.
    """
    settings = where if isinstance(where, Settings) else None
    url = settings.database_url if settings else None
    if url:
        from sqlalchemy.engine import make_url

        if make_url(url).get_backend_name() == "postgresql":
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
    from sqlalchemy.engine import make_url

    conninfo = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    # The saver's own settings: autocommit, no server-side prepared statements, rows as dicts.
    pool = ConnectionPool(conninfo, min_size=1, max_size=8, open=True,
                          kwargs={"autocommit": True, "prepare_threshold": 0, "row_factory": dict_row})  # fmt: skip
    saver = PostgresSaver(pool)
    # setup() creates and migrates its tables; processes starting together take turns (a session lock). The
    # lock is polled, never waited on: a statement waiting for it is an open transaction, and the holder's
    # CREATE INDEX CONCURRENTLY waits for every open transaction to end, so the two would wait forever.
    with psycopg.connect(conninfo, autocommit=True) as conn:
        while not conn.execute(f"SELECT pg_try_advisory_lock({_LOCK})").fetchone()[0]:
            time.sleep(0.05)
        try:
            saver.setup()
        finally:
            conn.execute(f"SELECT pg_advisory_unlock({_LOCK})")
    return saver


def turn_result(messages: list[AnyMessage], engine: str, thread_id: str, started: float) -> dict:
    """The CLI's JSON shape of a finished turn, from the thread's messages (the turn is from the last question on)."""
    start = max(i for i, m in enumerate(messages) if isinstance(m, HumanMessage))
    turn = messages[start:]
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
        "engine": engine,
        "thread_id": thread_id,
        "elapsed_ms": round((time.perf_counter() - started) * 1000, 1),
    }
    for key in ("recommended", "ruled_out", "filters", "sort", "not_applied"):
        if key in structured:
            result[key] = structured[key]
    return result


class PlannerAgent:
    """The offline planner with its tools and thread store: what `build_graph` compiles, minus the LLM path."""

    def __init__(self, services: Services, checkpointer: Any = None):
        self.planner = Planner(services)
        self.functions = tool_functions(services)
        self._validated: dict[str, Any] = {}
        self.checkpointer = checkpointer

    def _tool(self, call: dict) -> ToolMessage:
        """One tool call, as ToolNode runs it: the tool's message, or the bad-arguments text for bad arguments."""
        from pydantic import ValidationError, validate_call

        name = call["name"]
        if name not in self._validated:  # built on first use: a turn calls one or two of the tools
            self._validated[name] = validate_call(self.functions[name])
        try:
            content, artifact = self._validated[name](**call["args"])
        except ValidationError as err:
            text = BAD_ARGUMENTS.format(name=name, args=call["args"], error=err)
            return ToolMessage(content=text, name=name, tool_call_id=call["id"], status="error")
        return ToolMessage(content, artifact=artifact, tool_call_id=call["id"], name=name, status="success")

    def turn(self, context: Context, question: str, thread_id: str | None = None) -> dict:
        """Ask one question on a thread; returns `run_turn`'s JSON shape (engine 'planner')."""
        thread_id = thread_id or uuid.uuid4().hex
        started = time.perf_counter()
        config = {"configurable": {"thread_id": thread_id, "checkpoint_ns": ""}}
        saved = self.checkpointer.get_tuple(config) if self.checkpointer is not None else None
        values = dict(saved.checkpoint["channel_values"]) if saved else {}
        messages: list[AnyMessage] = list(values.get("messages") or [])
        memory: dict[str, Any] = values.get("memory") or {}

        def add(message: AnyMessage) -> None:
            if message.id is None:  # as add_messages does
                message.id = str(uuid.uuid4())
            messages.append(message)

        add(HumanMessage(question))
        steps = 0
        while True:  # the graph: agent -> (tool calls within the step limit?) -> tools -> agent ...
            if steps >= context.step_limit:
                message = AIMessage(STEP_LIMIT_ANSWER.format(steps=steps))
            else:
                message, memory = self.planner.respond(messages, memory)
            steps += 1
            add(message)
            if not (message.tool_calls and steps <= context.step_limit):
                break
            for call in message.tool_calls:
                add(self._tool(call))
        if self.checkpointer is not None:
            self._save(saved, config, {"messages": messages, "steps": steps, "memory": memory, "engine": "planner"},
                       nodes=2 * steps)  # fmt: skip
        return turn_result(messages, "planner", thread_id, started)

    def _save(self, saved, config: dict, values: dict[str, Any], nodes: int) -> None:
        """Store the finished turn as one checkpoint the graph reads: its state channels at new versions.

        The graph's routing channels are left empty, as a finished run leaves them, so its next run starts
        from its entry point with this state.
        """
        from langgraph.checkpoint.base import empty_checkpoint

        checkpoint = empty_checkpoint()  # a new id and timestamp
        if saved is not None:
            checkpoint["channel_versions"] = dict(saved.checkpoint["channel_versions"])
            checkpoint["versions_seen"] = {k: dict(v) for k, v in saved.checkpoint["versions_seen"].items()}
            config = saved.config
        current = checkpoint["channel_versions"]
        version = self.checkpointer.get_next_version(max(current.values()) if current else None, None)
        new_versions = dict.fromkeys(STATE_CHANNELS, version)
        current.update(new_versions)
        checkpoint["channel_values"] = {k: values[k] for k in STATE_CHANNELS}
        checkpoint["updated_channels"] = list(STATE_CHANNELS)
        step = (saved.metadata.get("step", -1) if saved else -1) + nodes + 1
        self.checkpointer.put(config, checkpoint, {"source": "loop", "step": step, "parents": {}}, new_versions)
