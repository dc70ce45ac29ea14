"""Agent: the LangGraph graph, its state and context, and the offline planner.

Imports: `tools`, `prompts`, `store` (read-only name resolution for the planner), `trends` (release dates),
`scoring`, `config`.
"""

from whichmodel.agent.graph import build_graph

__all__ = ["build_graph"]
