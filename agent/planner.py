"""The offline planner: the agent node when no LLM is configured.

It reads the newest question, plans the same tool calls an LLM would make, and once their results are in,
writes the answer from the tool artifacts alone: every model it names comes from a tool result and every
number it prints is a tool result's number. What it understood and named is kept in the thread's memory,
so "and the second one?" or "what about 13B?" continue the conversation.
"""

from __future__ import annotations

import json
import re
import uuid
from typing import Any, NamedTuple

from langchain_core.messages import AIMessage, AnyMessage, HumanMessage, ToolMessage
from whichmodel.agent.parse import (
    NotApplied,
    Plan,
    QuestionTooLong,
    attributes,
    company_orgs,
    created_slots,
    ordinal,
    parse,
    parse_slots,
    span_start,
)
from whichmodel.agent.state import LastAnswer, Memory, TurnPlan
from whichmodel.store.models import SCORE_COLUMNS
from whichmodel.store.queries import BYTES_PER_PARAM, MEMORY_OVERHEAD, memory_for_params, params_for_memory
from whichmodel.usecases.base import Services
from whichmodel.usecases.models import resolve, stored_author

RECOMMEND_KEYS = ("task", "size", "min_params_b", "max_params_b", "license_class", "license", "chat", "exclude_gated",
                  "sort", "tasks", "topics", "base", "relation", "language", "finding", "min_downloads",
                  "max_memory_gb", "precision", "model_ids", "author", "created_after", "created_before",
                  "updated_after", "updated_before", "findings", "commercial", "authors", "formats",
                  "gated_only", "gated_manual", "exclude_authors")  # fmt: skip
# Slots that narrow a search (sort alone does not: "best" over everything is a list, not an answer to more).
FILTER_KEYS = set(RECOMMEND_KEYS) - {"sort", "precision", "relation"}
NOTHING_APPLIED = (
    "Nothing in this question could be applied as a filter (see below), so I am not listing models as if it "
    "were answered. I can filter by task, size or memory, license, language, access (gated), lineage (fine-tunes "
    "of a model), downloads and findings (e.g. typosquats, pickle files), and rank by a score."
)
# Filters that define what is asked for (their near misses are other things, not trade-offs).
DEFINING = ("task", "topic", "finetune of", "adapter of", "merge of", "quantized of", "descendant of", "language=",
            "finding ", "author=", "license=", "created")  # fmt: skip
OUT_OF_SCOPE = (
    "That is outside what I answer: whichmodel scores Hugging Face models (security, license, documentation, "
    "popularity), compares and explains those scores, searches model cards and shows leaderboard trends."
)
TREND_KEYS = ("start", "end", "unit", "top", "archs", "types", "window_days", "metric", "board", "benchmark")
HELP = (
    "I answer from whichmodel's score database. Try:\n"
    '- "safest permissive 7B chat model" (filters: size, license, task, chat; ranked by a score)\n'
    '- "compare phi-2 and gemma-7b"\n'
    '- "why does gemma-7b score 9 on security?"\n'
    '- "how did Mistral\'s popularity move after Mixtral came out?" (leaderboard trends)\n'
    '- "which models were trained on medical data?" (card search)\n'
    '- "score google/gemma-7b"'
)
# A follow-up ("and the second one?") in a conversation with no earlier answer to refer to.
NO_CONTEXT = "This conversation has no earlier answer for that to refer to.\n" + HELP
CATEGORY_OF_SORT = {"downloads": "popularity", "likes": "popularity", "smallest": "overall", "largest": "overall",
                    "newest": "overall", "oldest": "overall", "updated": "activity"}  # fmt: skip
# The ranking a date sort names, and the row's date it shows.
# How a lineage filter reads ("quantizations of google/gemma-7b"); no relation: every kind of derivative.
RELATION_PLURALS = {"finetune": "finetunes", "adapter": "adapters", "merge": "merges", "quantized": "quantizations"}
DATE_ORDER = {"newest": ("creation date, newest first", "created_at", "created"),
              "oldest": ("creation date, oldest first", "created_at", "created"),
              "updated": ("last commit, most recent first", "last_modified", "last commit")}  # fmt: skip


def _typed_miss(question: str, intent: str, missed: dict[str, Any]) -> Any:
    """A bare model name typed in the question that matched no stored model, or None.

    Only whole names as typed count (not the longer or shorter tries the parser makes): one close to stored
    ids (a typo: 'gemma-7bb') in a question about named models or help, or anywhere when it carries a number;
    in a question about named models (score, explain, compare) or help also a name like 'gemma-2b' with
    nothing close, which would otherwise be dropped without a word. A question read as out of scope counts a
    model-like name (digits, hyphens) close to stored ids: it was out of scope only because the name missed.
    """
    named = intent in ("score", "explain", "compare")
    if intent == "say":
        return None
    for name, found in missed.items():
        if "/" in name:  # a full id that is not stored is `unresolved`: fetched from the Hub or said not found
            continue
        number = re.search(r"\d", name) is not None
        if intent == "out_of_scope" and not (found.suggestions and number and "-" in name):
            continue  # "tell me about lama-2-7b-chat": out of scope only for want of the model it misspells
        if found.suggestions and not (named or intent == "help" or number):
            continue
        if not found.suggestions and not ((named or intent == "help") and number and "-" in name):
            continue
        if re.search(r"(?<![\w/.-])" + re.escape(name) + r"(?![\w/-])", question, re.I):
            return found
    return None


def _call(name: str, args: dict) -> dict:
    return {"name": name, "args": args, "id": f"call_{uuid.uuid4().hex[:12]}", "type": "tool_call"}


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1f}"


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.0%}"


class ToolResult(NamedTuple):
    """One tool call's result as the planner reads it: the tool, its artifact (a use case's `to_dict`), its text."""

    name: str
    artifact: dict[str, Any]
    text: str


class Answer(NamedTuple):
    """What an answer writer returns: the text, the models it names in order, and structured extras."""

    text: str
    models: list[str]
    extra: dict[str, Any]


class Planner:
    """Plans tool calls for a question and writes the answer from their results."""

    def __init__(self, services: Services):
        self.services = services

    def _resolve(self, name: str) -> str | None:
        return resolve(self.services, name).model_id

    def _resolve_exact(self, name: str) -> str | None:
        found = resolve(self.services, name)
        return found.model_id if found.how in ("exact", "case", "name", "normalized") else None

    # --------------------------------------------------------------------------------------------- turn
    def respond(self, messages: list[AnyMessage], stored: dict[str, Any]) -> tuple[AIMessage, dict[str, Any]]:
        """The next message of the agent for this turn, and the memory to keep (as checkpoint data)."""
        memory = Memory.from_dict(stored)
        start = max(i for i, m in enumerate(messages) if isinstance(m, HumanMessage))
        question = str(messages[start].content)
        results = [m for m in messages[start + 1 :] if isinstance(m, ToolMessage)]
        plan = memory.pending if results else None
        if plan is None:
            plan = self.understand(question, memory)
            calls = self.first_calls(plan)
            if calls:
                memory.pending = plan
                return AIMessage("", tool_calls=calls), memory.to_dict()
            message, memory = self.finish(plan, [], memory)
            return message, memory.to_dict()
        done = [ToolResult(m.name, getattr(m, "artifact", None) or {}, str(m.content)) for m in results]
        more = self.next_calls(plan, done)
        if more:
            return AIMessage("", tool_calls=more), memory.to_dict()
        message, memory = self.finish(plan, done, memory)
        return message, memory.to_dict()

    def understand(self, question: str, memory: Memory) -> TurnPlan:
        """Parse the question, folding in the thread's memory for follow-ups."""
        last = memory.last or LastAnswer("none")
        listed = memory.listed
        context = {"models": listed or last.models}
        contested: dict[str, Any] = {}  # per question: the planner serves concurrent threads
        missed: dict[str, Any] = {}  # names that matched nothing but are close to stored ids (typos)

        def resolve_name(name: str) -> str | None:
            found = resolve(self.services, name)
            if found.contested:
                contested[found.model_id] = found
            if found.model_id is None:
                missed[name] = found
            return found.model_id

        try:
            parsed: Plan = parse(question, resolve_name, context, resolve_exact=self._resolve_exact,
                                 resolve_base=lambda name: resolve(self.services, name, bases=True).model_id)
        except QuestionTooLong as err:
            return TurnPlan("say", question=question[:200], text=str(err))
        self._check_search_slots(parsed)
        plan = TurnPlan(parsed.intent, parsed.slots, parsed.models, parsed.unresolved, question,
                        not_applied=[n.line() for n in parsed.not_applied])  # fmt: skip
        if not context["models"] and not parsed.models and parsed.intent in ("help", "out_of_scope") and \
                ordinal(question) is not None:  # fmt: skip
            return plan.but(intent="say", text=NO_CONTEXT)  # "and the second one?" with nothing before it
        asked = [contested[m] for m in parsed.models if m in contested]
        if asked and plan.intent in ("score", "explain", "compare"):  # two plausible models: ask back
            found = asked[0]
            options = " or ".join(found.candidates[:3])
            return plan.but(intent="say", text=f"'{found.query}' could be {options}, about equally used. Which one "
                                               "do you mean? Name it with its org.")  # fmt: skip
        typo = _typed_miss(question, plan.intent, missed)
        if typo is not None:  # a misspelt name is never answered with the repo it resembles: say so, suggest
            hint = typo.did_you_mean() or "."
            return plan.but(intent="say", text=f"I could not find '{typo.query}' in the database{hint} Name the "
                                               "model as it is on the Hub.")  # fmt: skip
        lowered = question.lower()
        category = _asked_category(question)
        # A fact of each model ("which one is smaller?"); "which of those is free for commercial use?" or "... ship
        # only safetensors?" narrows the models instead (below).
        asked = [a for a in attributes(question) if a != "commercial" and not a.startswith("finding:")]
        # The models of a comparison (after a search's list, "which of those ..." narrows the list instead).
        compared = last.models if last.intent in ("compare", "score") and len(last.models) > 1 else []
        instead = re.search(r"\b(?:instead(?: of)?|in place of|swap(?:ped)?|replac(?:e|ed|ing))\b"
                            r"(?P<what>[\w\s./-]{0,60})", lowered)  # fmt: skip
        if instead and len(plan.models) == 1 and len(compared) > 1 and plan.models[0] not in compared:
            # "what about phi-2 instead of the second one?": the comparison again, that model swapped in.
            index = ordinal(instead["what"]) if instead["what"].strip() else None
            if index is None and instead["what"].strip():
                index = next((i for i, m in enumerate(compared) if m.lower().split("/")[-1] in instead["what"]), None)
            index = len(compared) - 1 if index is None else index
            if -len(compared) <= index < len(compared):
                swapped = list(compared)
                swapped[index] = plan.models[0]
                return plan.but(intent="compare", models=swapped, slots=plan.slots | (
                    {"attributes": last.slots["attributes"]} if last.slots.get("attributes") else {}))
        if asked and not plan.models and len(compared) > 1 and re.search(
                r"^(?:and |so |ok,? )?(?:which|who|what)\b(?! (?:other |\w+ )?models\b)|"
                r"\b(?:which|who) of (?:them|the|these|those)\b|\bwhich one\b|\bboth\b|\beach\b|\btheir\b|\bthey\b",
                lowered):  # fmt: skip
            # "which one is smaller?" after a comparison: that fact of the models compared, not a new search.
            return plan.but(intent="score", models=list(compared), slots={"attributes": asked}, not_applied=[])
        if plan.intent == "followup" and memory.ruled_out and re.search(
                r"\bruled[- ]out\b|\bleft out\b|\bexcluded\b|\bnear miss", lowered):  # fmt: skip
            model = memory.ruled_out[0]
            return plan.but(intent="explain", models=[model], slots={
                "category": category or _category(memory.search or {}), "ruled_out_by": memory.ruled_out_by.get(model)})
        if plan.intent == "followup" and category and (last.models or listed) and \
                re.search(r"\bwhy\b|\bexplain\b|how come|\bscore\b", lowered):  # fmt: skip
            return plan.but(intent="explain", models=[(last.models or listed)[0]], slots={"category": category})
        if plan.intent == "followup":
            index = ordinal(question)
            new_slots = parse_slots(question)
            created_slots(new_slots)
            self._within(new_slots)
            refines = new_slots.keys() & set(RECOMMEND_KEYS)
            if index is not None and listed:
                if not -len(listed) <= index < len(listed):
                    return plan.but(intent="say", text=f"The last list named only {len(listed)} model(s).")
                category = _category(memory.search or last.slots)
                return plan.but(intent="explain", models=[listed[index]], slots={"category": category})
            if refines and memory.search is not None:
                slots = dict(memory.search)
                for exclusive in (("size", "min_params_b", "max_params_b"), ("license", "license_class", "commercial")):
                    if new_slots.keys() & set(exclusive):
                        for key in exclusive:
                            slots.pop(key, None)
                return plan.but(intent="recommend", slots=slots | {k: new_slots[k] for k in refines})
            compared = last.models if last.intent in ("compare", "score") and len(last.models) > 1 else listed
            if refines - {"sort"} and compared:  # "which of those is free for commercial use?" after a comparison
                return plan.but(intent="recommend", slots={k: new_slots[k] for k in refines} | {"model_ids": compared})
            focus = (last.models or listed or [None])[0]
            if lowered.lstrip().startswith("why") and focus:
                category = _category(last.slots) if last.intent != "explain" else last.slots.get("category", "overall")
                return plan.but(intent="explain", models=[focus], slots={"category": category})
            if focus:
                return plan.but(intent="score", models=[focus])
            if refines:  # "only ones that aren't gated" with nothing before it: a search of its own
                return plan.but(intent="recommend", slots=plan.slots | {k: new_slots[k] for k in refines})
            return plan.but(intent="say", text=NO_CONTEXT)
        if plan.intent == "compare" and len(plan.models) < 2 and len(listed) >= 2:
            count = 2 if re.search(r"\b(two|2|both)\b", lowered) else 3
            return plan.but(models=(plan.models + [m for m in listed if m not in plan.models])[:count])
        if plan.intent == "explain" and category and "category" not in plan.slots:
            plan = plan.but(slots=plan.slots | {"category": category})
        if plan.intent == "explain" and not plan.models and (last.models or listed):
            return plan.but(models=[(last.models or listed)[0]])
        if plan.intent == "compare":
            return plan.but(ask=category or ("overall" if re.search(r"\bbetter\b|\bworse\b", lowered) else None))
        return plan

    def _within(self, slots: dict) -> None:
        """'created (updated) in the last 6 months': counted back from the newest snapshot, not from today."""
        periods = {"created_after": slots.pop("within", None), "updated_after": slots.pop("updated_within", None)}
        if any(periods.values()):
            from datetime import date

            from whichmodel.store.queries import newest_observed_at

            with self.services.engine.connect() as conn:
                newest = newest_observed_at(conn)
            for key, span in periods.items():
                if newest and span:
                    start = span_start(date.fromisoformat(newest[:10]), span)
                    slots[key] = max(slots.get(key) or "", start.isoformat())

    def _stored_authors(self, typed: str) -> list[str]:
        """The stored authors a typed name stands for, only those with a stored model.

        A company's Hub organisations ("Meta": meta-llama, facebook), or the author as the Hub spells it.
        """
        found = [stored_author(self.services, name) for name in dict.fromkeys([typed, *company_orgs(typed)])]
        return list(dict.fromkeys(a for a in found if a))

    def _check_search_slots(self, parsed: Plan) -> None:
        """Slots a search needs the database for: a stored author (else said not applied), the newest snapshot."""
        slots = parsed.slots
        if parsed.intent not in ("recommend", "followup"):
            slots.pop("within", None)
            slots.pop("exclude_author", None)
            slots.pop("updated_within", None)
            return
        self._within(slots)
        excluded: list[str] = []
        for typed in slots.pop("exclude_author", None) or []:  # "not made by Meta": its organisations, as stored
            stored = self._stored_authors(typed)
            if stored:
                excluded.extend(a for a in stored if a not in excluded)
            else:
                parsed.not_applied.insert(0, NotApplied(f"not by {typed}", "no model by that author is in the "
                                                                           "database, so none is left out"))
        if excluded:
            slots["exclude_authors"] = excluded
        typed = slots.get("author")
        if typed:
            stored = self._stored_authors(typed)
            slots.pop("author")
            if len(stored) == 1:
                slots["author"] = stored[0]
            elif stored:
                slots["authors"] = stored
            else:
                parsed.not_applied.insert(0, NotApplied(f"by {typed}", "no model by that author is in the database"))

    # --------------------------------------------------------------------------------------------- calls
    def first_calls(self, plan: TurnPlan) -> list[dict]:
        """The first tool calls of a plan (none for help)."""
        intent, slots, models = plan.intent, plan.slots, plan.models
        if intent == "recommend" and plan.not_applied and not set(slots) & FILTER_KEYS:
            return []  # every requirement was left unapplied: no unfiltered list passed off as the answer
        if intent == "recommend":
            args = {k: slots[k] for k in RECOMMEND_KEYS if k in slots}
            if args.get("sort") == "popularity" and re.search(r"most[- ]downloaded|most downloads", plan.question,
                                                              re.I):  # fmt: skip
                args["sort"] = "downloads"
            if "precision" in args and "max_memory_gb" not in args:
                args.pop("precision")
            if "tasks" in args:  # several pipeline tags, any of them: the first alone would narrow it
                args.pop("task", None)
            return [_call("search_models", args | {"limit": 5})]
        if intent == "compare" and len(models) >= 2:
            return [_call("compare_models", {"model_ids": models[:4]})]
        if intent == "explain" and models:
            args = {"model_id": models[0], "category": _category(slots)}
            if slots.get("target"):
                args["target"] = slots["target"]
            return [_call("explain_score", args)]
        if intent == "score":
            if models:
                return [_call("get_score", {"model_id": m}) for m in models[:3]]
            if plan.unresolved:
                return [_call("fetch_and_score", {"model_id": plan.unresolved[0]})]
        if intent == "trend":
            view = slots.get("view", "types")
            args = {"view": view} | {k: slots[k] for k in TREND_KEYS if k in slots}
            if view in ("history", "alerts") and models:
                args["model"] = models[0]
            if view == "releases":
                args.pop("start", None)
                args.pop("end", None)
            if view == "movers" and "metric" not in slots and slots.get("sort") in ("overall", "security", "quality",
                                                                                   "popularity"):  # fmt: skip
                args["metric"] = slots["sort"]
            if view == "history":
                args.pop("metric", None)  # history holds every metric; the answer reports the one asked
            if view == "leaders" and slots.get("size"):
                args["size"] = slots["size"]
            return [_call("trends", args)]
        if intent == "cards":
            term = card_term(plan.question)  # "which cards mention HIPAA": the term, not the question's words
            args = {"query": term[0] if term else plan.question, "k": 10 if term and term[1] else 5}
            for key, target in (("task", "task"), ("license_class", "license_class"), ("size", "size")):
                if key in slots and not (key == "task" and slots.get("chat")):
                    args[target] = slots[key]
            return [_call("search_cards", args)]
        return []

    def next_calls(self, plan: TurnPlan, results: list[ToolResult]) -> list[dict]:
        """Second-stage calls: a recommendation fetches each top model's reasons in the ranked category."""
        if plan.intent != "recommend" or len(results) != 1:
            return []
        search = results[0].artifact
        if search.get("error"):
            return []
        if not search.get("results") and plan.slots.get("base") and plan.slots.get("relation"):
            # "fine-tunes of X" with none: X's derivatives of other kinds (a merge, a quantization) are asked
            # for, so that the answer can say they exist instead of leaving X looking unused.
            args = {k: plan.slots[k] for k in RECOMMEND_KEYS if k in plan.slots and k != "relation"}
            return [_call("search_models", args | {"limit": 5})]
        category = _category(plan.slots)
        return [_call("explain_score", {"model_id": r["model_id"], "category": category})
                for r in search.get("results", [])[:3]]  # fmt: skip

    # --------------------------------------------------------------------------------------------- answers
    def finish(self, plan: TurnPlan, results: list[ToolResult], memory: Memory) -> tuple[AIMessage, Memory]:
        """The final answer, its named models, and the memory for follow-ups."""
        writer = getattr(self, f"_answer_{plan.intent}", None)
        if plan.intent == "say":
            answer = Answer(plan.text or "", [], {})
        elif plan.intent == "out_of_scope":
            answer = Answer(OUT_OF_SCOPE, [], {})
        elif plan.intent == "recommend" and not results and plan.not_applied:
            answer = Answer(NOTHING_APPLIED, [], {})
        elif writer is None or (not results and plan.intent != "help"):
            answer = Answer(self._cannot(plan), [], {})
        else:
            answer = Answer(*writer(plan, results))
        text, named, extra = answer
        errors = [r.artifact.get("error") for r in results if r.artifact.get("error")]
        if errors and not named:
            text = " ".join(dict.fromkeys(errors))
        if plan.not_applied:
            text = text.rstrip() + "\n" + "\n".join(plan.not_applied)
            extra = extra | {"not_applied": list(plan.not_applied)}
        kept = extra.get("recommended", named) if plan.intent == "recommend" else named
        memory = Memory(last=LastAnswer(plan.intent, plan.slots, kept), listed=memory.listed, search=memory.search,
                        ruled_out=memory.ruled_out, ruled_out_by=memory.ruled_out_by)  # fmt: skip
        if len(kept) > 1:
            memory.listed = list(kept)
        if plan.intent == "recommend" and not errors:
            memory.search = {k: v for k, v in plan.slots.items() if k in RECOMMEND_KEYS}
            memory.ruled_out = list(extra.get("ruled_out", []))
            memory.ruled_out_by = dict(extra.get("ruled_out_by", {}))
        message = AIMessage(text, additional_kwargs={"whichmodel": {"models": named, **extra}})
        return message, memory

    def _cannot(self, plan: TurnPlan) -> str:
        if plan.intent in ("explain", "score", "compare") and plan.unresolved:
            named = []
            for name in plan.unresolved:  # close stored ids are offered, never used in its place
                close = resolve(self.services, name).suggestions[:3]
                named.append(f"{name} (did you mean {' or '.join(close)}?)" if close else name)
            return f"I could not find {', '.join(named)} in the database. " + HELP
        if plan.intent in ("explain", "score", "compare"):
            return "I could not tell which model you mean; name it (e.g. google/gemma-7b or gemma-7b). " + HELP
        return "I can't answer that one. " + HELP

    def _answer_help(self, plan, artifacts):
        return HELP, [], {}

    def _answer_recommend(self, plan, artifacts):
        search = artifacts[0].artifact
        if search.get("error"):
            return search["error"], [], {}
        explained = {r.artifact["model_id"]: r.artifact for r in artifacts[1:]
                     if r.name == "explain_score" and not r.artifact.get("error")}  # fmt: skip
        sort = search.get("sort", "overall")
        category = _category(plan.slots)
        filters = _describe_filters(search.get("filters", {}))
        left_out = search.get("left_out_no_weights") or 0
        ranking = {"smallest": "size, smallest first", "largest": "size, largest first"}.get(sort, sort)
        if sort in DATE_ORDER:
            ranking = DATE_ORDER[sort][0]
        if sort in SCORE_COLUMNS:  # the order is the rank value: a score read from few checks counts less
            ranking += (" (confidence-adjusted: a score read from fewer checks is pulled toward the method's "
                        "neutral prior, so a lower score read from more checks can rank above a higher one)")
        lines = [f"Filters: {filters}; ranked by {ranking}.", f"{search['total_matched']} model(s) match"
                 + (f" ({left_out} repo(s) without weight files left out: not usable models)." if left_out else ".")]
        recommended = []
        for n, row in enumerate(search["results"][:3], start=1):
            recommended.append(row["model_id"])
            first = "params" if sort in ("smallest", "largest") else DATE_ORDER[sort][1] if sort in DATE_ORDER else sort
            shown = dict.fromkeys([first, "overall", "security"])
            scores = ", ".join(f"{k} {row.get(k):,}" if k in ("downloads", "likes") else
                               _billions(row.get("params")) if k == "params" else
                               f"{DATE_ORDER[sort][2]} {(row.get(k) or '?')[:10]}" if sort in DATE_ORDER and k == first
                               else f"{k} {_fmt(row.get(k))}" + _coverage(row, k) for k in shown)  # fmt: skip
            reason = _reason(explained.get(row["model_id"]), category)
            license = row.get("license") or "no license"
            if row.get("license_conflict"):  # the declared license is looser than a base model's
                license += f", effectively {row.get('license_class')}"
            if plan.slots.get("commercial") and row.get("commercial_use") == "yes-with-conditions":
                license += ": commercial use with conditions"  # the license's terms bind (score card: which)
            size = row.get("size_class") or "size n/a"
            if row.get("base_relation") == "adapter" and row.get("size_class"):
                size += " with its base: an adapter"  # the size is the base's; the repo holds adapter weights
            lines.append(f"{n}. {row['model_id']} ({size}, {license}): {scores}. {reason}")
            if row.get("license_conflict"):
                lines.append(f"   License: {row['license_conflict']}.")
        if not search["results"]:
            lines.append("Nothing meets all of these filters.")
            other = next((r.artifact for r in artifacts[1:] if r.name == "search_models"
                          and not r.artifact.get("error") and r.artifact.get("results")), None)  # fmt: skip
            if other:
                kinds = ", ".join(f"{row['model_id']} ({row.get('base_relation') or 'derived'})"
                                  for row in other["results"][:3])  # fmt: skip
                lines.append(f"Derived from {plan.slots['base']} in other ways: {other['total_matched']} "
                             f"(e.g. {kinds}); ask for its derivatives to list them.")
        ruled_out, ruled_out_by = [], {}
        lines.append("")  # near misses start a new paragraph, not a continuation of the list
        for effect in search.get("removed_by", []):
            if effect["filter"].startswith(DEFINING):
                continue  # what the question is about (a lineage, a language), not a preference to trade off
            best = effect["best"][0] if effect["best"] else None
            if not best or best["model_id"] in recommended:
                continue
            top_score = search["results"][0].get(sort) if search["results"] else None
            better = best.get(sort) is not None and (top_score is None or best.get(sort) >= top_score)
            if better or not search["results"]:
                ruled_out.append(best["model_id"])
                ruled_out_by[best["model_id"]] = effect["filter"]
                value = f"{best.get(sort) or 0:,}" if sort in ("downloads", "likes") else _fmt(best.get(sort))
                lines.append(f"Ruled out by {effect['filter']}: {best['model_id']} ({sort} {value}"
                             f"{_why_out(effect['filter'], best)}); without that filter {effect['would_add']} more "
                             "would match.")  # fmt: skip
        trade_offs = [e for e in search.get("removed_by", []) if not e["filter"].startswith(DEFINING)]
        if not search["results"]:  # say which filters emptied it: each one that, left out alone, lets models in
            emptied = [e for e in search.get("removed_by", []) if e["would_add"]]
            if emptied:
                lines.append("What left nothing: " + "; ".join(f"without {e['filter']}, {e['would_add']} would match"
                                                               for e in emptied) + ".")  # fmt: skip
            else:
                lines.append("No single filter emptied it: two or more of them together leave nothing.")
        elif not ruled_out and trade_offs:
            counts = ", ".join(f"{e['filter']} removed {e['would_add']}" for e in trade_offs)
            lines.append(f"No near miss scores higher on {ranking}. ({counts}.)")
        named = recommended + ruled_out
        return "\n".join(lines), named, {"recommended": recommended, "ruled_out": ruled_out,
                                         "ruled_out_by": ruled_out_by, "filters": search.get("filters", {}),
                                         "sort": sort}  # fmt: skip

    def _answer_compare(self, plan, artifacts):
        data = artifacts[0].artifact
        if data.get("error"):
            return data["error"], [], {}
        models = data["models"]
        lines = [_compare_verdict(data, plan.ask)]
        lines.append(f"Side by side ({', '.join(models)}):")
        for name, row in data["scores"].items():
            coverage = data.get("coverage", {}).get(name, {})
            cells = ", ".join(f"{m} {_fmt(row[m])}" + (f" (coverage {_fmt(coverage[m])})" if coverage.get(m) is not None
                                                       else "") for m in models)  # fmt: skip
            verdict = data.get("verdicts", {}).get(name, {})
            leader = data["leaders"].get(name)
            if leader:
                cells += f" (best: {leader})"
            elif verdict.get("outcome") == "tie":
                cells += f" (tie: {', '.join(verdict['tied'])})"
            lines.append(f"- {name}: {cells}")
        if data["deciding"]:
            lines.append("Where they differ:")
            for d in data["deciding"][:4]:
                parts = [f"{m}: {v['outcome']} ({v['reason']})" for m, v in d["by_model"].items()]
                lines.append(f"- {d['check']} ({d['category']}): " + "; ".join(parts))
        if data.get("notes"):
            lines.append(" ".join(data["notes"]))
        return "\n".join(lines), models, {}

    def _answer_explain(self, plan, artifacts):
        data = artifacts[0].artifact
        if data.get("error"):
            return data["error"], [], {}
        model, category = data["model_id"], data["category"]
        label = "overall" if category == "overall" else category
        lines = [f"{model} scores {_fmt(data['score'])}/10 on {label} (coverage {_pct(data['coverage'])})."]
        if plan.slots.get("ruled_out_by"):
            lines.insert(0, f"{model} was ruled out by the filter {plan.slots['ruled_out_by']}.")
        if data.get("target") is not None:
            lines.append(_target_text(data))
        if data["costly"]:
            lines.append("Costing points:")
            for f in data["costly"][:4]:
                lines.append(f"- {f['check']} ({f['category']}): {f['points']:g} of {f['max_points']:g}. {f['reason']}"
                             + (f" Fix: {f['remediation']}" if f.get("remediation") else ""))  # fmt: skip
        if data["earned"]:
            lines.append("Earning points: " + "; ".join(f"{f['check']} {f['points']:g}/{f['max_points']:g}"
                                                         for f in data["earned"][:4]) + ".")  # fmt: skip
        if data["not_available"]:
            lines.append("Not available (not counted against it): " + ", ".join(data["not_available"]) + ".")
        gains = [w for w in data["what_ifs"] if (w["overall_if_passed"] or 0) > (w["overall_now"] or 0)]
        for w in gains[:2]:
            lines.append(f"What if {w['check']} passed: {w['category']} {_fmt(w['category_score_now'])} -> "
                         f"{_fmt(w['category_score_if_passed'])}, overall {_fmt(w['overall_now'])} -> "
                         f"{_fmt(w['overall_if_passed'])}.")  # fmt: skip
        return "\n".join(lines), [model], {}

    def _answer_score(self, plan, artifacts):
        if plan.slots.get("attributes"):
            return _attribute_answer(plan, artifacts)
        lines, named = [], []
        for _, data, _ in artifacts:
            if data.get("error"):
                lines.append(data["error"])
                continue
            model = data["model_id"]
            named.append(model)
            cats = ", ".join(f"{n} {_fmt(c['score'])}" for n, c in data["categories"].items())
            facts = data.get("facts", {})
            lines.append(f"{model}: overall {_fmt(data['overall'])}/10 (coverage {_pct(data['coverage'])}; {cats}). "
                         f"License {facts.get('license') or 'none declared'}, size {facts.get('size_class') or 'n/a'}, "
                         f"{facts.get('downloads') or 0:,} downloads.")  # fmt: skip
            failed = [f for c in data["categories"].values() for f in c["findings"] if f["outcome"] == "fail"]
            failed.sort(key=lambda f: -(f["max_points"] - (f["points"] or 0)))
            if failed:
                lines.append("  Main concerns: " + "; ".join(f["reason"].rstrip(".") for f in failed[:3]) + ".")
        return "\n".join(lines), named, {}

    def _answer_trend(self, plan, artifacts):
        data = artifacts[0].artifact
        if data.get("error"):
            return data["error"], [], {}
        view, rows = data["view"], data["rows"]
        if view == "movers" and plan.slots.get("direction"):  # the models named are those of the direction asked
            rows = [r for r in rows if r.get("direction") == plan.slots["direction"]]
        text = _trend_text(view, rows, data, plan)
        board = (data.get("params") or {}).get("board")
        if view in LEADERBOARD_VIEWS and board:  # two boards with different benchmarks: say which one answered
            text += f"\nFrom the Open LLM Leaderboard {board}{BOARD_NOTE.get(board, '')}."
        return text, _trend_models(view, rows), {"view": view}

    def _answer_cards(self, plan, artifacts):
        data = artifacts[0].artifact
        if data.get("error"):
            return data["error"], [], {}
        term = card_term(plan.question)
        term = term[0] if term and term[1] else None
        if term and data.get("results"):  # a mention asked for: only sections that say it, word for word
            said = re.compile(r"(?<![\w])" + re.escape(term.lower()) + r"(?![\w])")
            data = data | {"results": [r for r in data["results"] if said.search(r["snippet"].lower().replace("[", "")
                                                                                  .replace("]", ""))]}  # fmt: skip
            if not data["results"]:
                return (f'No indexed card section says "{term}" (of the closest matches; the card index is searched '
                        "by meaning and by keyword)."), [], {}  # fmt: skip
        if not data["results"]:
            return "No card section matches that.", [], {}
        lines = [f'Card sections matching "{data["query"]}" (quoted card text is the authors\' own words):']
        named = []
        for n, r in enumerate(data["results"], start=1):
            named.append(r["model_id"])
            snippet = " ".join(r["snippet"].split())[:200]
            lines.append(f'{n}. {r["model_id"]}, section "{r["section"]}": “{snippet}”')
        return "\n".join(lines), list(dict.fromkeys(named)), {}


# What a card question asks the cards to say: a mention ("mention HIPAA": word for word) or a topic ("talk about
# medical dialogues": by meaning). Either way the search is for the term, not for the question's own words.
_MENTION = re.compile(r"\b(?:(mentions?|mentioning|mentioned|refer(?:s)? to|references?|cites?|contains?|containing|"
                      r"says?|said|include|includes|including|uses? the (?:word|term|phrase))|(talks? about|"
                      r"talking about|discuss(?:es)?|discussing|covers?|covering))\s+(?:about\s+)?"
                      r"(?:the\s+(?:word|term|phrase|name)\s+)?[\"'“‘]?([^\"'”’?!.,;]{1,60}?)[\"'”’]?\s*"
                      r"(?:[?!.]|$|\s(?:in|on|anywhere)\b)", re.I)


def card_term(question: str) -> tuple[str, bool] | None:
    """The term a card question is about, and whether it asks for it word for word; None when it names none.

    "Which model cards mention HIPAA?": ("HIPAA", True); "cards that talk about medical dialogues":
    ("medical dialogues", False).
    """
    found = _MENTION.search(question.strip())
    term = found[3].strip() if found else ""
    if not term or len(term.split()) > 4:
        return None
    return term, bool(found[1])


# The stored commercial-use fact (hub.licenses.commercial_use, the lineage's stricter license deciding) in words.
COMMERCIAL = {
    "yes": "yes: commercial use is allowed (keep the copyright and license notice)",
    "yes-with-conditions": "yes, with conditions: {conditions}",
    "no": "no: the license does not allow commercial use",
    "unknown": "unknown: whichmodel cannot tell what {license} allows; read it before commercial use",
}
GATED = {"manual": "Yes: access needs the authors' manual approval (a Hub login and an access request)",
         "auto": "Yes, but approval is automatic: log in to the Hub and accept the terms",
         "false": "No: it downloads without an access request"}  # fmt: skip
FINDING_WORDS = {"unsafe_files": "pickle or code-carrying files", "safetensors": "safetensors weights",
                 "remote_code": "remote code (trust_remote_code)", "code_files": "code files"}  # fmt: skip


def _billions(params: int | None) -> str:
    return "an unknown number of parameters" if not params else f"{params:,} parameters ({params / 1e9:.2f}B)"


def _finding(data: dict, check: str) -> dict | None:
    return next((f for c in data["categories"].values() for f in c["findings"] if f["check"] == check), None)


def _finding_count(finding: dict | None) -> int | None:
    """How many files a file finding lists (0 when it passes), None when unknown."""
    if not finding or finding["outcome"] in ("not_available", "not_applicable"):
        return None
    said = re.match(r"(\d[\d,]*) file", finding.get("reason") or "")  # the evidence lists only the first files
    if said:
        return int(said[1].replace(",", ""))
    listed = [e["value"] for e in finding.get("evidence") or [] if isinstance(e.get("value"), list)]
    return len(listed[0]) if listed else (0 if finding["outcome"] == "pass" else None)


def _attribute_answer(plan: TurnPlan, artifacts: list) -> tuple[str, list[str], dict]:
    """The facts asked of the named models, with their values, and for two or more which one has more."""
    cards = [a.artifact for a in artifacts if not a.artifact.get("error")]
    lines = [a.artifact["error"] for a in artifacts if a.artifact.get("error")]
    named = [c["model_id"] for c in cards]
    lowered = plan.question.lower()
    for attribute in plan.slots["attributes"]:
        if attribute == "size":
            for c in cards:
                facts = c["facts"]
                conflict = facts.get("params_conflict")  # name, measurement and base disagreeing: say so
                line = (f"{c['model_id']} has {_billions(facts.get('params'))}, size class "
                        f"{facts.get('size_class') or 'n/a'}" + (f" ({conflict})" if conflict else ""))
                if facts.get("base_relation") == "adapter" and facts.get("params"):
                    own = facts.get("adapter_params")
                    source = facts.get("params_source")
                    line += (f"; it is an adapter: that is the size of the model it runs on ({source}), its own "
                             f"weights hold {f'{own:,} parameters' if own else 'an unmeasured count'}")
                lines.append(line + ".")
            known = [c for c in cards if c["facts"].get("params")]
            if len(cards) > 1 and len(known) == len(cards):
                big = max(known, key=lambda c: c["facts"]["params"])
                small = min(known, key=lambda c: c["facts"]["params"])
                if big["facts"]["params"] == small["facts"]["params"]:
                    lines.append("They have the same parameter count.")
                elif re.search(r"\bsmaller\b|\bfewer\b|\bless\b", lowered):
                    lines.append(f"{small['model_id']} is smaller.")
                else:
                    lines.append(f"{big['model_id']} is bigger.")
        elif attribute == "base":
            for c in cards:
                bases = c["facts"].get("base_models") or []
                relation = c["facts"].get("base_relation")
                if bases:
                    kind = {"finetune": "a fine-tune", "adapter": "an adapter", "merge": "a merge",
                            "quantized": "a quantization"}.get(relation, "a derivative")  # fmt: skip
                    lines.append(f"{c['model_id']} is {kind} of {', '.join(bases)} (its declared base model).")
                else:
                    lines.append(f"{c['model_id']} declares no base model.")
        elif attribute == "gated":
            for c in cards:
                gated = str(c["facts"].get("gated")).lower()
                lines.append(f"Does {c['model_id']} require approval? " + GATED.get(gated, "Unknown: the snapshot "
                                                                                     "does not say") + ".")  # fmt: skip
        elif attribute in ("commercial", "license"):
            for c in cards:
                facts = c["facts"]
                license = facts.get("license") or "no license"
                declared = facts.get("license_class") or "unknown"
                cls = facts.get("license_class_effective") or declared  # the strictest along the lineage
                line = f"{c['model_id']}: license {license} (class {declared})"
                if attribute == "commercial":
                    answer = facts.get("commercial_use") or "unknown"
                    text = COMMERCIAL.get(answer, COMMERCIAL["unknown"]).format(
                        license=license, conditions=facts.get("commercial_conditions") or "read the license's terms")
                    if not facts.get("license"):
                        text = "no: it declares no license, and without one no use is granted"
                    line = f"Commercial use of {c['model_id']} (license {license}): {text}"
                if cls != declared:  # a fine-tune cannot loosen its base's terms
                    line += f"; effectively {cls}: {facts.get('license_conflict') or 'a base model is stricter'}"
                lines.append(line + ".")
            if attribute == "license" and len(cards) > 1:
                lines.append(_freer_license(cards))
        elif attribute in ("downloads", "likes"):
            for c in cards:
                lines.append(f"{c['model_id']} has {c['facts'].get(attribute) or 0:,} {attribute} (newest snapshot).")
            if len(cards) > 1:
                top = max(cards, key=lambda c: c["facts"].get(attribute) or 0)
                lines.append(f"{top['model_id']} has the most {attribute}.")
        elif attribute == "files":
            for c in cards:
                lines.append(_files_line(c))
        elif attribute == "task":
            for c in cards:
                facts = c["facts"]
                task = facts.get("pipeline_tag")
                lines.append(f"{c['model_id']} is for {task} (its Hub pipeline tag)." if task else
                             f"{c['model_id']} declares no task (no pipeline tag on the Hub).")  # fmt: skip
        elif attribute in ("updated", "created"):
            key, verb = ("last_modified", "last changed") if attribute == "updated" else ("created_at", "created")
            for c in cards:
                when = (c["facts"].get(key) or "")[:10]
                lines.append(f"{c['model_id']} was {verb} on the Hub on {when}." if when else
                             f"{c['model_id']}: when it was {verb} is not in the snapshot.")  # fmt: skip
            dated = [c for c in cards if c["facts"].get(key)]
            if len(cards) > 1 and len(dated) == len(cards):
                first = max(dated, key=lambda c: c["facts"][key])
                older = re.search(r"\bolder\b|\boldest\b|\bearlier\b|\bfirst\b", lowered)
                if older:
                    first = min(dated, key=lambda c: c["facts"][key])
                word = ("older" if older else "newer") if attribute == "created" else \
                    ("changed less recently" if older else "changed more recently")  # fmt: skip
                lines.append(f"{first['model_id']} is {word}.")
        elif attribute == "author":
            for c in cards:
                author = c["facts"].get("author") or c["model_id"].split("/")[0]
                lines.append(f"{c['model_id']} is published by {author} (the Hub author: its repo owner).")
        elif attribute == "memory":
            lines += [_memory_line(c, plan.slots) for c in cards]
            sized = [c for c in cards if c["facts"].get("params")]
            if len(cards) > 1 and len(sized) == len(cards):  # at the same precision, memory follows the size
                most = re.search(r"\bmore\b|\bmost\b", lowered) and not re.search(r"\bless\b|\bleast\b", lowered)
                pick = (max if most else min)(sized, key=lambda c: c["facts"]["params"])
                word = "most" if most else "least"
                lines.append(f"{pick['model_id']} needs the {word} memory at the same precision.")
        elif attribute.startswith("finding:"):
            check = attribute.split(":", 1)[1]
            counts = {}
            for c in cards:
                found = _finding(c, check)
                counts[c["model_id"]] = _finding_count(found) if check == "unsafe_files" else None
                if found is None:
                    lines.append(f"{c['model_id']}: no {check} finding is stored.")
                    continue
                count = f" ({counts[c['model_id']]} file(s))" if counts[c["model_id"]] is not None else ""
                lines.append(f"{c['model_id']}: {check} {found['outcome']}{count}. {found['reason']}")
            known = {m: n for m, n in counts.items() if n is not None}
            if len(cards) > 1 and len(known) == len(cards):
                words = FINDING_WORDS.get(check, check)
                low = min(known.values())
                fewest = [m for m, n in known.items() if n == low]
                if len(fewest) == len(known):
                    lines.append(f"They tie: {low} {words} each.")
                else:
                    lines.append(f"{' and '.join(fewest)} has fewer {words} ({low}).")
    return "\n".join(lines), named, {"attributes": list(plan.slots["attributes"])}


def _freer_license(cards: list[dict]) -> str:
    """Which of several models' licenses grants the most; unknown classes cannot be ranked.

    By effective class: permissive > copyleft > responsible-ai > custom > non-commercial.
    """
    from whichmodel.hub.licenses import FREEDOM_RANK

    rank = {c["model_id"]: FREEDOM_RANK.get(c["facts"].get("license_class_effective")
                                            or c["facts"].get("license_class")) for c in cards}  # fmt: skip
    if None in rank.values():
        unknown = [m for m, r in rank.items() if r is None]
        return f"Which license grants more cannot be said: the class of {', '.join(unknown)} is unknown."
    best = max(rank.values())
    top = [m for m, r in rank.items() if r == best]
    if len(top) == len(rank):
        return "Their licenses are in the same class: read both for the terms that differ."
    return f"{' and '.join(top)} has the freer license (its class allows more; the order is permissive, copyleft, " \
           "responsible-ai, custom, non-commercial)."


def _files_line(card: dict) -> str:
    """A repository's files by format, the unsafe ones named (the stored file inventory)."""
    from whichmodel.hub.formats import load_class  # picklescan's tables: only for this answer

    kinds = card["facts"].get("file_kinds")
    if kinds is None:
        return f"{card['model_id']}: the snapshot has no file list for it."
    weights = {k: v for k, v in kinds.items() if load_class(k)}
    other = sum(len(v) for k, v in kinds.items() if k not in weights)
    parts = []
    for kind, names in sorted(weights.items(), key=lambda kv: (load_class(kv[0]) == "safe", kv[0])):
        shown = ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")
        parts.append(f"{len(names)} {kind} ({load_class(kind)}: {shown})")
    held = "; ".join(parts) if parts else "no weight files"
    return f"{card['model_id']} holds {held}; {other} other file(s) (config, tokenizer, docs, code)."


# A quantized file's bits per weight from its name: llama.cpp's types (Q4_K_M, IQ4_XS, Q8_0, F16 ...), else a
# quantizer's word in the repo name (4bit, int8, w4a16).
_GGUF_TYPE = re.compile(r"(?:^|[._-])((?:i?q\d(?:_[a-z0-9]+)*)|b?f16|f32)(?=[._-]|$)", re.I)
_NAME_BITS = re.compile(r"(?<![a-z0-9])(?:(\d)-?bits?|int(\d)(?:-?bits?)?|w(\d)a\d+)(?![a-z])", re.I)
# Bits per weight of llama.cpp's quantization types, block scales included (llama.cpp's own table, rounded):
# Q4_K_M is ~4.85, not 4. A type not listed counts its digit.
GGUF_BPW = {"q2_k": 2.63, "q3_k_s": 3.5, "q3_k_m": 3.91, "q3_k_l": 4.27, "q4_0": 4.55, "q4_1": 5.0, "q4_k_s": 4.58,
            "q4_k_m": 4.85, "q5_0": 5.54, "q5_1": 6.0, "q5_k_s": 5.54, "q5_k_m": 5.69, "q6_k": 6.56, "q8_0": 8.5,
            "iq1_s": 1.56, "iq1_m": 1.75, "iq2_xxs": 2.06, "iq2_xs": 2.31, "iq2_s": 2.5, "iq2_m": 2.7,
            "iq3_xxs": 3.06, "iq3_xs": 3.3, "iq3_s": 3.44, "iq3_m": 3.66, "iq4_xs": 4.25, "iq4_nl": 4.5,
            "f16": 16.0, "bf16": 16.0, "f32": 32.0}  # fmt: skip


def own_bits(card: dict) -> dict[str, float]:
    """The precisions a repo's own weights are stored in ({label: bits per weight}), when it says.

    GGUF/GGML files name their llama.cpp type (Q4_K_M ...); else a quantizer's word in the repo name (4bit,
    int8, w4a16). An adapter's name speaks of how its base is loaded (QLoRA "int4"), not of its own weights.
    """
    kinds = card["facts"].get("file_kinds") or {}
    found: dict[str, float] = {}
    for name in kinds.get("gguf", []) + kinds.get("ggml", []):
        for match in _GGUF_TYPE.finditer(name.rsplit("/", 1)[-1]):
            kind = match[1].lower()
            digit = re.search(r"\d+", kind)
            found[match[1].upper()] = GGUF_BPW.get(kind, float(digit[0]) if digit else 16.0)
    if not found and card["facts"].get("base_relation") != "adapter":
        for m in _NAME_BITS.finditer(card["model_id"]):
            bits = int(next(g for g in m.groups() if g))
            found[f"{bits}-bit"] = float(bits)
    return dict(sorted(((k, v) for k, v in found.items() if 1 <= v <= 32), key=lambda kv: kv[1]))


def _memory_line(card: dict, slots: dict) -> str:
    """Whether a model's weights fit the memory asked about, at the precision asked (fp16 unless said).

    A repo whose weights are already quantized (GGUF types, a 4-bit name) is sized at its own precision(s).
    """
    params = card["facts"].get("params")
    gigabytes = slots.get("max_memory_gb")
    if not params:
        return f"{card['model_id']}: its parameter count is unknown, so whether it fits cannot be said."
    stored = {label: bits for label, bits in own_bits(card).items() if bits < 16}
    if stored:
        need = {label: params * bits / 8 * MEMORY_OVERHEAD / 1e9 for label, bits in stored.items()}
        sizes = ", ".join(f"{p} {gb:,.1f} GB" for p, gb in need.items())
        head = (f"{card['model_id']} ({params / 1e9:.2f}B parameters) ships weights already quantized; at its own "
                f"precision{'s' if len(need) > 1 else ''} it needs about {sizes} (weights x{MEMORY_OVERHEAD:g})")
        if not gigabytes:
            return head + "."
        fits = [p for p, gb in need.items() if gb <= gigabytes]
        verdict = (f"{fits[-1]} fits {gigabytes:g} GB" if fits else f"none of its files fits {gigabytes:g} GB")
        return f"{head}: {verdict}."
    need = {p: memory_for_params(params, p) for p in BYTES_PER_PARAM}
    sizes = ", ".join(f"{p} {gb:,.1f} GB" for p, gb in need.items())
    head = f"{card['model_id']} ({params / 1e9:.2f}B parameters) needs about {sizes} (weights x{MEMORY_OVERHEAD:g})"
    if not gigabytes:
        return head + "."
    precision = slots.get("precision") or "fp16"
    fits = [p for p, gb in need.items() if gb <= gigabytes]
    verdict = (f"it fits {gigabytes:g} GB at {precision}" if precision in fits else
               f"it does not fit {gigabytes:g} GB at {precision}"
               + (f"; it does at {fits[0]}" if fits else ", not even at int4"))
    return f"{head}: {verdict}."


_CATEGORY_WORDS = (
    (r"\bsecur|\bsafe|\bsafety\b|\brisk", "security"),
    (r"\bgated\b|\bgating\b|\baccess\b", "operational"),
    (r"\bquality\b|\bdocument", "quality"),
    (r"\bpopular|\bdownloads\b|\blikes\b", "popularity"),
    (r"\bactivity\b|\bactive\b|\bmaintained\b", "activity"),
    (r"\boperational\b|\blicen[cs]|\bcompliance\b", "operational"),
)


def _asked_category(question: str) -> str | None:
    """The score category a question names ('why is its security score ...' -> security), if any."""
    lowered = question.lower()
    for pattern, category in _CATEGORY_WORDS:
        if re.search(pattern, lowered):
            return category
    return None


def _compare_verdict(data: dict, ask: str | None) -> str:
    """One sentence answering the literal question of a comparison ('which is safer?') before the table."""
    category = ask or "overall"
    row = data["scores"].get(category, {})
    known = {m: v for m, v in row.items() if v is not None}
    overall = data["scores"].get("overall", {})
    lead_overall = data["leaders"].get("overall")
    if not known:
        return f"No {category} score is available for these models."
    best = max(known.values())
    top = [m for m, v in known.items() if round(v, 1) == round(best, 1)]
    word = {"security": "safer", "quality": "better documented", "popularity": "more popular",
            "activity": "more active", "operational": "better on operational checks"}.get(category, "better overall")
    if len(top) > 1:
        rest = [f"{m} {_fmt(v)}" for m, v in known.items() if m not in top]
        who = "They" if not rest else " and ".join(top)
        text = f"{who} tie on {category} ({_fmt(best)} each" + (f"; {', '.join(rest)})" if rest else ")")
        if category != "overall" and lead_overall:
            tie_overall = sum(1 for v in overall.values() if v is not None and round(v, 1) ==
                              round(overall[lead_overall], 1)) > 1  # fmt: skip
            text += "; they tie overall too" if tie_overall else f"; {lead_overall} is better overall " \
                f"({_fmt(overall[lead_overall])})"  # fmt: skip
        return text + "."
    others = ", ".join(f"{m} {_fmt(v)}" for m, v in known.items() if m != top[0])
    text = f"{top[0]} is {word} ({category} {_fmt(best)} vs {others})"
    if category != "overall" and lead_overall and lead_overall != top[0]:
        text += f", but {lead_overall} is better overall ({_fmt(overall[lead_overall])})"
    return text + "."


def _target_text(data: dict) -> str:
    """The computed path to a target score: which findings, passed together, get there."""
    steps, target = data.get("to_target") or [], data["target"]
    label = data["category"]
    if data["score"] is not None and data["score"] >= target:
        return f"It already scores {_fmt(data['score'])} on {label}, at or above {target:g}."
    if not steps:
        return f"No finding it could pass raises {label} to {target:g}."
    path = "; ".join(f"{s['check']} ({'unknown now' if s.get('now') == 'not_available' else 'failing now'}) -> "
                     f"{_fmt(s['score_after'])}" for s in steps)  # fmt: skip
    reached = steps[-1]["score_after"] is not None and steps[-1]["score_after"] >= target
    head = f"To reach {target:g} on {label}, pass these (computed, cumulative): {path}."
    return head if reached else head + f" Even passing all of them it reaches only {_fmt(steps[-1]['score_after'])}."


def _category(slots: dict) -> str:
    if "category" in slots:
        return slots["category"]
    sort = slots.get("sort", "overall")
    return CATEGORY_OF_SORT.get(sort, sort)


# How a filter reads in an answer, for the filters a value alone describes.
_FILTER_TEXT = {
    "chat": lambda v: "chat models" if v else "non-chat models",
    "exclude_gated": lambda v: "not gated",
    "gated_only": lambda v: "gated only",
    "gated_manual": lambda v: "gated with manual approval only",
    "min_params_b": lambda v: f"at least {v:g}B parameters",
    "max_params_b": lambda v: f"at most {v:g}B parameters",
    "min_scores": lambda v: ", ".join(f"{k} >= {n:g}" for k, n in v.items()),
    "author": lambda v: f"by {v}",
    "authors": lambda v: f"by any of {', '.join(v)}",
    "exclude_authors": lambda v: f"not by {', '.join(v)}",
    "formats": lambda v: f"weights in {' or '.join(v)} format",
    "created_after": lambda v: f"created on or after {v}",
    "created_before": lambda v: f"created before {v}",
    "updated_after": lambda v: f"last updated on or after {v}",
    "updated_before": lambda v: f"last updated before {v}",
    "min_downloads": lambda v: f"at least {v:,} downloads",
    "tasks": lambda v: f"task any of {', '.join(v)}",
    "topics": lambda v: f"topic any of {', '.join(v)}",
    "finding": lambda v: "finding " + " and ".join([v] if isinstance(v, str) else v),
    "findings": lambda v: "finding " + " and ".join([v] if isinstance(v, str) else v),
}


def _describe_filters(filters: dict) -> str:
    if not filters:
        return "none"
    parts = []
    for key, value in filters.items():
        if key in _FILTER_TEXT:
            parts.append(_FILTER_TEXT[key](value))
        elif key == "base":
            parts.append(f"{RELATION_PLURALS.get(filters.get('relation') or '', 'descendants')} of {value}")
        elif key in ("relation", "precision"):
            continue
        elif key == "max_memory_gb":
            cap = params_for_memory(value, filters.get("precision") or "fp16")
            parts.append(f"fits {value:g} GB at {filters.get('precision') or 'fp16'} (weights x1.2, at most "
                         f"{cap / 1e9:.1f}B parameters; unknown sizes left out)")  # fmt: skip
        else:
            parts.append(f"{key.replace('_', ' ')} {value}")
    return ", ".join(parts)


def _reason(explained: dict | None, category: str) -> str:
    if not explained:
        return ""
    earned = [f for f in explained.get("earned", []) if f["points"]]
    if earned:
        return f"Why: {earned[0]['reason']}"
    costly = explained.get("costly", [])
    return f"Watch: {costly[0]['reason']}" if costly else ""


def _why_out(label: str, row: dict) -> str:
    key = label.split("=")[0].split(">")[0].split("<")[0]
    mapping = {"size": "size_class", "license_class": "license_class", "license": "license", "task": "pipeline_tag",
               "chat": "chat", "not gated": "gated"}  # fmt: skip
    column = mapping.get(key)
    if column and column in row:
        return f", {column.replace('_', ' ')} {row[column]}"
    if key.startswith("params"):  # a model of unknown size passes no size filter: say so, not "0 parameters"
        return f", {row['params']:,} parameters" if row.get("params") else ", size unknown"
    return ""


def _trend_models(view: str, rows: list[dict]) -> list[str]:
    keys = {"movers": "model_id", "alerts": "model_id", "base-models": "record_model", "leaders": "model_id"}
    key = keys.get(view)
    return list(dict.fromkeys(r[key] for r in rows if r.get(key)))[:10] if key else []


# The trend views that read the Open LLM Leaderboard (the others read the Hub snapshots).
LEADERBOARD_VIEWS = {"types", "authors", "benchmarks", "architectures", "base-models", "releases"}  # leaders: its head
BOARD_NOTE = {"v1": " (ARC, HellaSwag, MMLU, TruthfulQA, Winogrande, GSM8K): ask about v2 for the newer board",
              "v2": " (IFEval, BBH, MATH Lvl 5, GPQA, MuSR, MMLU-Pro)"}  # fmt: skip
BENCHMARK_LABELS = {"gsm8k": "GSM8K score", "mmlu": "MMLU score", "arc": "ARC score", "hellaswag": "HellaSwag score",
                    "truthfulqa": "TruthfulQA score", "winogrande": "Winogrande score", "ifeval": "IFEval score",
                    "bbh": "BBH score", "math_lvl_5": "MATH Lvl 5 score", "gpqa": "GPQA score", "musr": "MuSR score",
                    "mmlupro": "MMLU-Pro score"}  # fmt: skip


def _trend_text(view: str, rows: list[dict], data: dict, plan: TurnPlan) -> str:
    score = BENCHMARK_LABELS.get(plan.slots.get("benchmark"), "leaderboard score")
    if view == "benchmarks" and plan.slots.get("statistic") == "best" and (plan.slots.get("series") or
                                                                         plan.slots.get("types")):  # fmt: skip
        best_of: dict[tuple, dict] = {}
        for r in rows:
            key = (r["period"], r["type"] if plan.slots.get("types") else "")
            if key not in best_of or r["best_score"] > best_of[key]["best_score"]:
                best_of[key] = r
        kinds = f" of {', '.join(plan.slots['types'])} models" if plan.slots.get("types") else ""
        series = "; ".join(f"{per}{' ' + t if len(plan.slots.get('types') or []) > 1 else ''} "
                           f"{_fmt(r['best_score'])} ({r['best_model']})" for (per, t), r in sorted(best_of.items()))
        return f"Best {score}{kinds} per period (model): {series}."
    if view == "benchmarks" and plan.slots.get("statistic") == "average" and not plan.slots.get("types"):
        periods: dict[str, list] = {}
        for r in rows:  # every type's rows of a period: their average, weighted by the models in each
            held = periods.setdefault(r["period"], [0.0, 0])
            held[0] += (r["avg_score"] or 0) * r["models"]
            held[1] += r["models"]
        series = "; ".join(f"{per} {_fmt(total / n)} ({n})" for per, (total, n) in sorted(periods.items()) if n)
        return f"Average {score} of all models per period (models): {series}."
    if view == "benchmarks" and plan.slots.get("types"):
        kinds = ", ".join(plan.slots["types"])
        series = "; ".join(f"{r['period']} {_fmt(r['avg_score'])} ({r['models']})" for r in rows)
        first, last = (rows[0], rows[-1]) if rows else (None, None)
        change = f" From {first['period']} to {last['period']} the average went {_fmt(first['avg_score'])} -> " \
            f"{_fmt(last['avg_score'])}." if first else ""  # fmt: skip
        return f"Average {score} of {kinds} models per period (models): {series}.{change}"
    if view == "benchmarks" and plan.slots.get("series"):
        # "how did the top score change over time": the best row of each period, whatever its type.
        best_of: dict[str, dict] = {}
        for r in rows:
            if r["period"] not in best_of or r["best_score"] > best_of[r["period"]]["best_score"]:
                best_of[r["period"]] = r
        series = "; ".join(f"{per} {_fmt(r['best_score'])} ({r['best_model']})" for per, r in sorted(best_of.items()))
        return f"Best {score} per period (model): {series}."
    if view == "releases":
        window = data.get("params", {}).get("window_days", 30)
        lines = [f"New leaderboard models per architecture, {window} days before vs after each release:"]
        archs = set(plan.slots.get("archs") or [])
        release = plan.slots.get("release")
        named = [r for r in rows if not release or release.lower() in r["release"].lower()]
        chosen = [r for r in named if not archs or r["architecture"] in archs]
        if named and not chosen:  # no row of the family asked about in the windows: what there was, said so
            lines.append(f"No {', '.join(sorted(archs))} model in the windows; the models there were:")
            chosen = named
        if not named:
            lines.append("No leaderboard model was submitted in those windows.")
        for r in chosen:
            no_baseline = r.get("before_from") and r["before_from"] >= r["release_date"]
            lines.append(f"- {r['release']} ({r['release_date']}): {r['architecture']} {r['before']} -> {r['after']} "
                         f"({r['change']:+d})" + (f"; no baseline: the leaderboard's data starts on {r['before_from']}"
                                                   if no_baseline else ""))  # fmt: skip
        return "\n".join(lines[:16])
    if view == "types" and plan.slots.get("focus"):
        return _share_text(rows, "type", plan.slots["focus"])
    if view == "architectures" and plan.slots.get("when"):
        return _leaders_text(rows)
    if view == "types":
        totals: dict[str, int] = {}
        for r in rows:
            totals[r["type"]] = totals.get(r["type"], 0) + r["new_models"]
        periods = sorted({r["period"] for r in rows})
        span = f"{periods[0]} to {periods[-1]}" if periods else "the period"
        parts = ", ".join(f"{t} {n}" for t, n in sorted(totals.items(), key=lambda x: -x[1]))
        return f"New leaderboard models per type, {span}: {parts} (total {sum(totals.values())})."
    if view == "authors":
        return "Top authors on the leaderboard:\n" + "\n".join(
            f"{n}. {r['author']}: {r['models']} models, average score {_fmt(r['avg_score'])}"
            for n, r in enumerate(rows, start=1))  # fmt: skip
    if view == "architectures":
        totals = {}
        for r in rows:
            totals[r["architecture"]] = totals.get(r["architecture"], 0) + r["new_models"]
        return "New leaderboard models per architecture: " + ", ".join(
            f"{a} {n}" for a, n in sorted(totals.items(), key=lambda x: -x[1])) + "."  # fmt: skip
    if view == "benchmarks":
        best: dict[str, dict] = {}
        for r in rows:
            if r["type"] not in best or r["best_score"] > best[r["type"]]["best_score"]:
                best[r["type"]] = r
        parts = [f"{t} {_fmt(r['best_score'])} ({r['best_model']}, {r['period']})" for t, r in best.items()]
        top = max(best.values(), key=lambda r: r["best_score"]) if best else None
        average = "leaderboard average" if score == "leaderboard score" else score
        lead = f"Best {average}: {top['best_model']} ({_fmt(top['best_score'])}, {top['period']}). " \
            if top else ""  # fmt: skip
        return lead + "Best per type: " + "; ".join(parts) + "."
    if view == "lineage":
        key = data.get("ranked_by", "derivatives")
        kinds = ", ".join(f"{r['base']} {r[key]}" + (f" of {r['derivatives']}" if key != "derivatives" else "") +
                          f" ({r['finetune']} fine-tunes, {r['adapter']} adapters, {r['quantized']} quantized, "
                          f"{r['merge']} merges)" for r in rows[:10])  # fmt: skip
        what = {"derivatives": "models deriving directly from them", "finetune": "fine-tunes", "adapter": "adapters",
                "quantized": "quantized copies", "merge": "merges"}[key]  # fmt: skip
        return (f"Base models with the most {what} in the database (each stored model's declared base, its "
                f"newest facts): {kinds}.")
    if view == "base-models" and plan.slots.get("by_count"):
        totals: dict[str, int] = {}
        for r in rows:
            totals[r["base"]] = totals.get(r["base"], 0) + r["derivatives"]
        ranked = sorted(totals.items(), key=lambda bn: (-bn[1], bn[0]))
        return ("Leaderboard derivatives per base model (rows of its family and size from its release on, or "
                "naming it as their base): " + ", ".join(f"{b} {n}" for b, n in ranked) + ".")
    if view == "base-models":
        peaks = data.get("peaks", [])
        return "Best derivative per base model:\n" + "\n".join(
            f"- {p['base']}: peak {_fmt(p['peak_score'])} by {p['peak_model']} on {p['peak_day']}, "
            f"{p['days_to_peak']} days after the base's release" for p in peaks)  # fmt: skip
    if view == "history" and plan.slots.get("metric"):
        metric = plan.slots["metric"]
        values = [(r["observed_at"][:10], r.get(metric)) for r in rows]
        shown = ", ".join(f"{d} {'n/a' if v is None else (f'{v:,}' if metric in ('downloads', 'likes') else _fmt(v))}"
                          for d, v in values)  # fmt: skip
        known = [v for _, v in values if v is not None]
        change = ""
        if len(known) >= 2:
            delta = known[-1] - known[0]
            change = f"; change {delta:+,}" if metric in ("downloads", "likes") else f"; change {delta:+.1f}"
        return (f"{plan.models[0] if plan.models else 'The model'}: {metric} across {len(rows)} snapshot(s): "
                f"{shown}{change}.")  # fmt: skip
    if view == "history":
        first, last = rows[0], rows[-1]
        return (f"{plan.models[0] if plan.models else 'The model'} across {len(rows)} snapshot(s): "
                f"downloads {first['downloads']:,} -> {last['downloads']:,}, overall {_fmt(first['overall'])} -> "
                f"{_fmt(last['overall'])} ({first['observed_at'][:10]} to {last['observed_at'][:10]}).")  # fmt: skip
    if view == "movers":
        direction = plan.slots.get("direction")
        metric = data.get("params", {}).get("metric") or plan.slots.get("metric") or "downloads"
        chosen = [r for r in rows if not direction or r.get("direction") == direction]
        head = {"gain": f"Largest gains of {metric} between snapshots:",
                "drop": f"Largest drops of {metric} between snapshots:"}.get(direction or "",
                                                                              "Largest changes between snapshots:")
        if not chosen:
            return f"No model's {metric} {'rose' if direction == 'gain' else 'fell'} between snapshots."
        return head + "\n" + "\n".join(
            f"- {r['model_id']}: {r['metric']} {r['from_value']} -> {r['to_value']} ({r['change']:+g}"
            + (f", {str(r['from_date'])[:10]} to {str(r['to_date'])[:10]})" if r.get("from_date") else ")")
            for r in chosen[:10])  # fmt: skip
    if view == "leaders":
        board = data.get("params", {}).get("board") or plan.slots.get("board") or "v1"
        size = plan.slots.get("size")
        head = f"Best on the Open LLM Leaderboard {board}" + (f", {size} models (0.9x to 1.25x of {size})"
                                                               if size else "") + ", by average score:"  # fmt: skip
        doubted = data.get("size_doubted") or []
        tail = ("\nLeft out, the board's parameter count in doubt: " + "; ".join(
            f"{d['model_id']} ({d['params_b']}B on the board, {d['reason']})" for d in doubted) + "."
                if doubted else "")  # fmt: skip
        return head + "\n" + "\n".join(
            f"{n}. {r['model_id']}: average {_fmt(r['average'])}, {r['params_b'] or 'n/a'}B parameters, {r['type']}"
            for n, r in enumerate(rows, start=1)) + tail  # fmt: skip
    if view == "alerts":
        return "Alerts between snapshots:\n" + "\n".join(
            f"- {r['model_id']} ({r['observed_at'][:10]}): {r['alert']} ({r['before']} -> {r['after']})"
            for r in rows[:10])  # fmt: skip
    return json.dumps(rows[:10], default=str)


TAKE_OFF_SHARE = 0.10  # "took off": the first period where the kind is at least this share of new models


def _share_text(rows: list[dict], key: str, focus: str) -> str:
    """When one kind took off: first period at `TAKE_OFF_SHARE` or more of new models, and its peak."""
    totals: dict[str, int] = {}
    counts: dict[str, int] = {}
    for r in rows:
        totals[r["period"]] = totals.get(r["period"], 0) + r["new_models"]
        if r[key] == focus:
            counts[r["period"]] = counts.get(r["period"], 0) + r["new_models"]
    if not counts:
        return f"No new {focus} models in the period."
    shares = {p: counts.get(p, 0) / totals[p] for p in sorted(totals)}
    first = next((p for p, v in shares.items() if v >= TAKE_OFF_SHARE), None)
    peak = max(shares, key=lambda p: (shares[p], counts.get(p, 0)))
    most = max(counts, key=counts.get)
    start = f"first reached {TAKE_OFF_SHARE:.0%} of new leaderboard models in {first} ({shares[first]:.0%}, " \
        f"{counts.get(first, 0)} of {totals[first]})" if first else f"never reached {TAKE_OFF_SHARE:.0%} of new models"
    return (f"{focus.capitalize()} models {start}; their share peaked in {peak} ({shares[peak]:.0%}, "
            f"{counts.get(peak, 0)} of {totals[peak]}), and the most in one month were {counts[most]} in {most}. "
            f"({sum(counts.values())} of {sum(totals.values())} new models from {min(totals)} to {max(totals)}.)")


def _leaders_text(rows: list[dict]) -> str:
    """Which architecture led the new leaderboard models when, as runs of months."""
    by_period: dict[str, dict[str, int]] = {}
    for r in rows:
        by_period.setdefault(r["period"], {})[r["architecture"]] = r["new_models"]
    runs: list[list] = []
    for period in sorted(by_period):
        counts = by_period[period]
        leader = max(counts, key=lambda a: (counts[a], a != "Other"))
        if runs and runs[-1][0] == leader:
            runs[-1][2] = period
        else:
            runs.append([leader, period, period])
    parts = [f"{a} {s}" + (f" to {e}" if e != s else "") for a, s, e in runs]
    return "Which architecture led new leaderboard models, month by month: " + "; ".join(parts) + "."


def answer_models(message: AIMessage) -> dict[str, Any]:
    """The planner's structured side of an answer (named, recommended and ruled-out models)."""
    return message.additional_kwargs.get("whichmodel", {})


def _coverage(row: dict, key: str) -> str:
    """' (coverage 0.62)' beside a score, from the search row; nothing for counts or an unknown coverage."""
    coverage = row.get("coverage")  # the search JSON row: every score's coverage by category
    if isinstance(coverage, dict):
        value = coverage.get(key)
    else:  # a raw store row
        value = coverage if key == "overall" else row.get(f"{key}_coverage")
    return f" (coverage {_fmt(value)})" if value is not None and key not in ("downloads", "likes") else ""
