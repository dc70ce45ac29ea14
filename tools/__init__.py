"""Tools: thin, typed LangChain tools over store queries, shared by the agent and its planner.

Imports: `store`, `scoring`, `hub`, `config`.
"""
