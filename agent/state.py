"""The graph's state: messages merged by `add_messages`, a step counter, and the planner's memory."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Any

from langchain_core.messages import AnyMessage
from langgraph.graph.message import add_messages


@dataclass
class State:
    """One conversation thread, checkpointed between turns.

    `steps` counts agent steps in the current question (reset with each new question); `memory` is what the
    offline planner remembers for follow-ups: the last intent, its slots, and the models it named in order.
    """

    messages: Annotated[list[AnyMessage], add_messages] = field(default_factory=list)
    steps: int = 0
    memory: dict[str, Any] = field(default_factory=dict)
