"""Card facts read by an LLM (langchain-openai, structured output against a strict JSON schema).

One schema covers all facts, asked in one call: the card is the bulk of every prompt, so one call costs
about an eighth of the prompt tokens of one-prompt-per-fact (`bench/cards.py` prints both counts for the
shared cards), and the facts are judged against the same reading of the card.

Every interaction is handed to a logger (the store writes them to `llm_interactions`) with the prompt,
the raw answer, the parsed result, the model and the time. An answer that does not parse, or a timeout,
is retried; after the last try the extraction is recorded as not available and nothing is guessed. A
quote the card does not contain verbatim is not trusted: that fact keeps the heuristic answer.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from whichmodel import prompts
from whichmodel.hub.card import CARD_FACT_KINDS, CardFact, CardFacts, extract_card_facts, parse_card
from whichmodel.prompts.fence import fence

MAX_CARD_CHARS = 24_000  # long cards are cut; the facts that matter sit near the top

SCHEMA = {
    "title": "card_facts",
    "type": "object",
    "additionalProperties": False,
    "required": list(CARD_FACT_KINDS),
    "properties": {
        kind: {
            "type": "object",
            "additionalProperties": False,
            "required": ["present", "quote"],
            "properties": {"present": {"type": "boolean"}, "quote": {"type": ["string", "null"]}},
        }
        for kind in CARD_FACT_KINDS
    },
}


@dataclass
class Interaction:
    """One request to the LLM and what came of it."""

    purpose: str
    model_id: str
    card_hash: str | None
    llm_model: str
    attempt: int
    prompt: str
    raw_response: str | None
    parsed: dict | None
    status: str  # ok | invalid | error
    error: str | None
    latency_ms: int
    created_at: float = field(default_factory=time.time)


def _normalize(text: str) -> str:
    return " ".join(text.split()).lower()


def validate(parsed: object) -> dict:
    """Check a parsed answer against the schema by hand (a server may ignore `strict`)."""
    if not isinstance(parsed, dict) or set(parsed) != set(CARD_FACT_KINDS):
        raise ValueError(f"expected keys {sorted(CARD_FACT_KINDS)}")
    for kind, value in parsed.items():
        if not isinstance(value, dict) or not isinstance(value.get("present"), bool):
            raise ValueError(f"{kind}: 'present' must be a boolean")
        if value.get("quote") is not None and not isinstance(value["quote"], str):
            raise ValueError(f"{kind}: 'quote' must be a string or null")
    return parsed


class LlmCardExtractor:
    """Extract card facts with an OpenAI-compatible chat model; same result type as the heuristic extractor."""

    name = "llm"

    def __init__(self, chat_model, model_name: str, retries: int = 2,
                 log: Callable[[Interaction], None] | None = None):  # fmt: skip
        self.structured = chat_model.with_structured_output(SCHEMA, method="json_schema", strict=True, include_raw=True)
        self.model_name = model_name
        self.retries = retries
        self.log = log or (lambda interaction: None)

    @classmethod
    def from_settings(cls, settings, log: Callable[[Interaction], None] | None = None) -> LlmCardExtractor:
        """Built from the LLM settings (OPENAI_API_KEY, OPENAI_BASE_URL, WHICHMODEL_LLM_MODEL)."""
        from langchain_openai import ChatOpenAI

        chat = ChatOpenAI(model=settings.llm_model, api_key=settings.llm_api_key, base_url=settings.llm_base_url,
                          timeout=settings.llm_timeout_s, max_retries=0, temperature=0)  # fmt: skip
        return cls(chat, settings.llm_model, log=log)

    def ask(self, model_id: str, card_text: str, card_hash: str | None = None) -> dict | None:
        """The validated answer, or None when no try produced one."""
        # The one fence every LLM-bound third-party text uses: no marker in the card can close it.
        card = fence(card_text[:MAX_CARD_CHARS])
        system = prompts.render("card_facts_system")
        user = prompts.render("card_facts_user", model_id=model_id, card=card)
        messages = [("system", system), ("user", user)]
        for attempt in range(1, self.retries + 2):
            started = time.perf_counter()
            raw = parsed = error = None
            status = "ok"
            try:
                out = self.structured.invoke(messages)
                raw_message = out.get("raw")
                raw = getattr(raw_message, "content", None) if raw_message is not None else None
                if out.get("parsing_error") is not None:
                    raise ValueError(f"unparseable answer: {out['parsing_error']}")
                parsed = validate(out.get("parsed"))
            except ValueError as err:
                status, error = "invalid", str(err)[:500]
            except Exception as err:  # timeouts and transport errors from the client: logged, then retried
                status, error = "error", f"{err.__class__.__name__}: {err}"[:500]
            latency = int((time.perf_counter() - started) * 1000)
            prompt = f"{system}\n\n{user}"
            self.log(Interaction("card_facts", model_id, card_hash, self.model_name, attempt, prompt, raw, parsed,
                                 status, error, latency))  # fmt: skip
            if status == "ok":
                return parsed
        return None

    def extract(self, model_id: str, card_text: str, card_hash: str | None = None) -> CardFacts | None:
        """Card facts with LLM answers where their quotes check out; None when the LLM gave no answer."""
        answer = self.ask(model_id, card_text, card_hash)
        if answer is None:
            return None
        heuristic = extract_card_facts(parse_card(card_text))
        haystack = _normalize(card_text)
        for kind in CARD_FACT_KINDS:
            item = answer[kind]
            # The LLM read the fenced card, where `<` is escaped: its quotes are checked against the card itself.
            quote = (item.get("quote") or "").replace("&lt;", "<").strip()
            if item["present"] and quote and _normalize(quote) in haystack:
                heuristic.facts[kind] = CardFact(True, quote[:240], "LLM reading of the card", extractor="llm")
            elif not item["present"] and not heuristic.facts[kind].present:
                heuristic.facts[kind] = CardFact(False, None, None, extractor="llm")
            # Otherwise (a claim without a verifiable quote, or the two disagree on absence) the heuristic
            # answer stands, marked as such.
        return heuristic


def as_record(interaction: Interaction) -> dict:
    """Column values for the store's `llm_interactions` table."""
    return {
        "purpose": interaction.purpose,
        "model_id": interaction.model_id,
        "card_hash": interaction.card_hash,
        "llm_model": interaction.llm_model,
        "attempt": interaction.attempt,
        "prompt": interaction.prompt,
        "raw_response": interaction.raw_response,
        "parsed": json.dumps(interaction.parsed) if interaction.parsed is not None else None,
        "status": interaction.status,
        "error": interaction.error,
        "latency_ms": interaction.latency_ms,
        "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(interaction.created_at)),
    }
