"""Tools: thin, typed LangChain tools, each a call to one use case formatted for a model to read.

The LLM agent and the offline planner share them: the graph binds them as LangChain tools (`make_tools`),
the offline planner without the graph calls the same functions (`tool_functions`).

Imports: `usecases` (and through it the lower rooms' types), `config`.
"""

from whichmodel.tools.tools import Services, make_tools, mentioned_models, models_in, tool_functions, untrusted

__all__ = ["Services", "make_tools", "mentioned_models", "models_in", "tool_functions", "untrusted"]
