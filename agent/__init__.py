"""Agent: the LangGraph graph, its state and context, and the offline planner (typed plan and memory).

Imports: `tools`, `usecases` (name resolution for the planner), `prompts`, `trends` (release dates),
`scoring`, `config`. `build_graph` is loaded on first use: the offline path (`agent.offline`) runs
without LangGraph's graph machinery, and importing this package must not load it.
"""

from typing import Any

__all__ = ["build_graph"]


def __getattr__(name: str) -> Any:
    if name == "build_graph":
        from whichmodel.agent.graph import build_graph

        return build_graph
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
