"""Tools: thin, typed LangChain tools over store queries, scoring and trends.

The LLM agent, the offline planner and the UI share them.

Imports: `store`, `trends`, `scoring`, `hub`, `config`.
"""

from whichmodel.tools.tools import Services, make_tools, untrusted

__all__ = ["Services", "make_tools", "untrusted"]
