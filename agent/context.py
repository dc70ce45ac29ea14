"""The agent's run-time context: one keyword-only dataclass, filled from settings (and so the environment)."""

from __future__ import annotations

from dataclasses import dataclass, field

from whichmodel.config import Settings


@dataclass(kw_only=True, frozen=True)
class Context:
    """How the agent node thinks: an OpenAI-compatible model when a key is set, else the offline planner."""

    llm_model: str = field(default="gpt-4o-mini", metadata={"description": "Chat model name at the endpoint."})
    base_url: str | None = field(default=None, metadata={"description": "OpenAI-compatible server; None: OpenAI."})
    api_key: str | None = field(default=None, metadata={"description": "Endpoint key; None selects the planner."})
    temperature: float = field(default=0.0, metadata={"description": "Sampling temperature of the chat model."})
    timeout_s: float = field(default=60.0, metadata={"description": "Seconds per LLM request."})
    step_limit: int = field(default=8, metadata={"description": "Agent steps per question before a polite stop."})

    @classmethod
    def from_settings(cls, settings: Settings, **overrides) -> Context:
        """The context the settings describe; keyword overrides win."""
        values = dict(llm_model=settings.llm_model, base_url=settings.llm_base_url, api_key=settings.llm_api_key,
                      timeout_s=settings.llm_timeout_s)  # fmt: skip
        return cls(**(values | overrides))

    @property
    def engine(self) -> str:
        """'llm' when an endpoint is configured, else 'planner'."""
        return "llm" if self.api_key else "planner"
