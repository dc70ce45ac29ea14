"""Agent: the LangGraph graph, its state and context, and the offline planner (typed plan and memory).

Imports: `tools`, `usecases` (name resolution for the planner), `prompts`, `trends` (release dates),
`scoring`, `config`.
"""

from whichmodel.agent.graph import build_graph

__all__ = ["build_graph"]
