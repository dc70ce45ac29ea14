"""Tools: thin, typed LangChain tools, each a call to one use case formatted for a model to read.

The LLM agent and the offline planner share them.

Imports: `usecases` (and through it the lower rooms' types), `config`.
"""

from whichmodel.tools.tools import Services, make_tools, mentioned_models, models_in, untrusted

__all__ = ["Services", "make_tools", "mentioned_models", "models_in", "untrusted"]
