"""The offline planner's typed plan and memory (the graph's state, which holds the memory, is `graph.State`).

Plain data only: the planner runs with or without LangGraph (`agent.offline`), so nothing here imports it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from typing import Any


@dataclass
class TurnPlan:
    """What the planner will do for one question: an intent, its slots, the stored models it names.

    `unresolved` holds full ids not in the database (a score question fetches the first from the Hub);
    `text` is the answer itself for the intent `say` (a follow-up the memory cannot serve); `not_applied`
    the answer lines for requirements no filter, sort or reference answers.
    """

    intent: str
    slots: dict[str, Any] = field(default_factory=dict)
    models: list[str] = field(default_factory=list)
    unresolved: list[str] = field(default_factory=list)
    question: str = ""
    text: str | None = None
    not_applied: list[str] = field(default_factory=list)  # "Not applied: 'for my phone' (...)." lines
    ask: str | None = None  # compare: the category the question asks about ("which is safer?" -> security)

    def but(self, **changes: Any) -> TurnPlan:
        """A copy with some fields changed."""
        return replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """Plain data for the checkpoint."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TurnPlan:
        """The plan a checkpoint holds."""
        return cls(**{k: v for k, v in data.items() if k in cls.__dataclass_fields__})


@dataclass
class LastAnswer:
    """The previous answer of the thread: its intent and slots, and the models it named in order."""

    intent: str
    slots: dict[str, Any] = field(default_factory=dict)
    models: list[str] = field(default_factory=list)


@dataclass
class Memory:
    """What the planner keeps between turns of a thread.

    `last` is the previous answer; `listed` the models of the last answer that named several, in order ("the
    second one"); `search` the filters of the last recommendation ("what about 13B?"); `pending` the plan of a
    question whose tool calls are running; `ruled_out` the near misses of the last recommendation and the
    filter that ruled each out ("why is it ruled out?").
    """

    last: LastAnswer | None = None
    listed: list[str] = field(default_factory=list)
    search: dict[str, Any] | None = None
    pending: TurnPlan | None = None
    ruled_out: list[str] = field(default_factory=list)
    ruled_out_by: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Plain data for the checkpoint (keys kept only when set)."""
        data: dict[str, Any] = {}
        if self.last is not None:
            data["last"] = asdict(self.last)
        if self.listed:
            data["list"] = list(self.listed)
        if self.search is not None:
            data["search"] = dict(self.search)
        if self.pending is not None:
            data["pending"] = self.pending.to_dict()
        if self.ruled_out:
            data["ruled_out"], data["ruled_out_by"] = list(self.ruled_out), dict(self.ruled_out_by)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> Memory:
        """The memory a checkpoint holds (an empty one for a new thread)."""
        data = data or {}
        last = data.get("last")
        pending = data.get("pending")
        return cls(
            last=LastAnswer(**last) if last else None,
            listed=list(data.get("list") or []),
            search=data.get("search"),
            pending=TurnPlan.from_dict(pending) if pending else None,
            ruled_out=list(data.get("ruled_out") or []),
            ruled_out_by=dict(data.get("ruled_out_by") or {}),
        )
