"""The LangGraph graph: an agent node (ChatOpenAI with tools bound, or the offline planner) and a ToolNode.

    START -> agent -> (tool calls?) -> tools -> agent ... -> END

Each run reads its `Context` from LangGraph's runtime (`graph.invoke(..., context=Context(...))`). Each
question resets the step counter; past `Context.step_limit` the agent ends with a polite answer instead of
raising. Conversation memory is a checkpointer, one thread per conversation: in the PostgreSQL store when that
is the database (so several UI processes behind one address share conversations), else a SQLite file in the
data directory.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from typing import Annotated, Any, Literal

from langchain_core.messages import AIMessage, AnyMessage, HumanMessage, SystemMessage
from langgraph.graph import END, START, StateGraph
from langgraph.graph.message import add_messages
from langgraph.prebuilt import ToolNode
from langgraph.runtime import Runtime
from whichmodel import prompts
from whichmodel.agent.context import Context
from whichmodel.agent.offline import STEP_LIMIT_ANSWER, checkpointer_for, turn_result
from whichmodel.agent.parse import QuestionTooLong, check_length, unsupported_requirements
from whichmodel.agent.planner import Planner
from whichmodel.scoring.method import load_method
from whichmodel.tools import Services, make_tools

__all__ = ["STEP_LIMIT_ANSWER", "State", "build_graph", "checkpointer_for", "run_config", "run_turn"]


@dataclass
class State:
    """One conversation thread, checkpointed between turns.

    `steps` counts agent steps in the current question (reset with each new question); `memory` is what the
    offline planner remembers for follow-ups, as `Memory.to_dict()` (plain data, so any checkpointer keeps it).
    The channels `agent.offline` reads and writes (STATE_CHANNELS) are these fields.
    """

    messages: Annotated[list[AnyMessage], add_messages] = field(default_factory=list)
    steps: int = 0
    memory: dict[str, Any] = field(default_factory=dict)
    engine: str = ""  # which engine wrote the last answer: "planner" or "llm"


def chat_model_for(context: Context):
    """ChatOpenAI for the configured OpenAI-compatible endpoint."""
    from langchain_openai import ChatOpenAI

    return ChatOpenAI(model=context.llm_model, api_key=context.api_key, base_url=context.base_url,
                      temperature=context.temperature, timeout=context.timeout_s, max_retries=1)  # fmt: skip


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
    return turn_result(state["messages"], state.get("engine") or context.engine, thread_id, started)
