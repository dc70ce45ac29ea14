"""Agent: the LangGraph graph, its state and context, and the offline planner.

Imports: `tools`, `prompts`, `config`.
"""
