"""Pure adapters: graph stream events and tool results -> Gradio chat messages, tables and figures.

Nothing here starts a server; the tests drive these functions directly.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterable, Iterator
from urllib.parse import quote

from langchain_core.messages import AIMessage, ToolMessage
from whichmodel.hub.validate import repo_id_problem
from whichmodel.scoring.method import CATEGORIES
from whichmodel.tools import models_in

TOOL_ICON = "🛠️"


# Markdown that would fetch or link to something outside the app when third-party text is rendered:
# image and link brackets, raw HTML and autolinks (`<...>`), bare URLs (GFM autolinks them).
_MARKUP = re.compile(r"[\[\]<>]|(?<=[A-Za-z])://|\bwww\.")
_ESCAPED = {"[": "\\[", "]": "\\]", "<": "&lt;", ">": "&gt;", "://": "&#58;//", "www.": "www&#46;"}


def as_text(text: str) -> str:
    """Third-party text (card quotes, answers that repeat them) made inert for Markdown: shown, never followed.

    Images (`![](http://host/pixel.png)` would make the browser fetch the URL), links, raw HTML and bare
    URLs are escaped; emphasis, lists and tables still render. Links to this app's score cards are added
    afterwards, from validated ids only (`linkify`).
    """
    return _MARKUP.sub(lambda m: _ESCAPED[m.group(0)], text)


def model_link(model_id: str) -> str:
    """A link that opens the model's score card in this app; an id that is not a Hub repo id stays text."""
    if repo_id_problem(model_id):
        return as_text(model_id)
    return f"[{model_id}](?model={quote(model_id, safe='/')})"


def linkify(answer: str, models: Iterable[str]) -> str:
    """Make `answer` inert (`as_text`), then link each known, valid model id to its score card (longest first)."""
    answer = as_text(answer)
    for model_id in sorted(set(models), key=len, reverse=True):
        if repo_id_problem(model_id):
            continue
        pattern = re.compile(r"(?<![\w/.\[-])" + re.escape(model_id) + r"(?![\w/-])")
        answer = pattern.sub(lambda _m, m=model_id: model_link(m), answer)
    return answer


def _tool_title(name: str, args: dict) -> str:
    shown = ", ".join(f"{k}={json.dumps(v)}" for k, v in args.items() if k != "limit")
    return f"{TOOL_ICON} {name}({shown})"


def stream_messages(events: Iterable[dict], clock=time.perf_counter) -> Iterator[list[dict]]:
    """Fold `graph.stream(..., stream_mode="updates")` events into the chat's assistant messages.

    Yields the whole list after each event: one collapsible message per tool call (tool, arguments,
    duration, status pending -> done, or error), then the answer with model ids linked to score cards.
    """
    from gradio import ChatMessage

    messages: list = []
    pending: dict[str, tuple[int, float]] = {}
    known_models: list[str] = []
    for event in events:
        for node, update in event.items():
            for message in (update or {}).get("messages", []):
                if isinstance(message, AIMessage) and message.tool_calls:
                    for call in message.tool_calls:
                        pending[call["id"]] = (len(messages), clock())
                        messages.append(ChatMessage(
                            role="assistant", content=f"```json\n{json.dumps(call['args'], indent=1)}\n```",
                            metadata={"title": _tool_title(call["name"], call["args"]), "status": "pending",
                                      "id": call["id"]},
                        ))  # fmt: skip
                elif isinstance(message, ToolMessage):
                    index, started = pending.pop(message.tool_call_id, (None, 0.0))
                    artifact = getattr(message, "artifact", None) or {}
                    known_models.extend(models_in(artifact))
                    if index is not None:
                        old = messages[index]
                        failed = bool(artifact.get("error"))
                        summary = as_text(artifact.get("error") or _summary(message.name, artifact))
                        messages[index] = ChatMessage(
                            role="assistant", content=f"{old.content}\n{summary}",
                            metadata={**old.metadata, "status": "done", "duration": round(clock() - started, 3),
                                      "title": old.metadata["title"] + (" — failed" if failed else "")},
                        )  # fmt: skip
                elif isinstance(message, AIMessage) and message.content:
                    named = message.additional_kwargs.get("whichmodel", {}).get("models") or known_models
                    messages.append(ChatMessage(role="assistant", content=linkify(str(message.content), named)))
        yield list(messages)


def _summary(name: str, artifact: dict) -> str:
    if name == "search_models":
        return f"{artifact.get('total_matched', 0)} matched; top: " + ", ".join(
            r["model_id"] for r in artifact.get("results", [])[:3])  # fmt: skip
    if name in ("get_score", "fetch_and_score"):
        return f"overall {artifact.get('overall')}"
    if name == "explain_score":
        return f"{artifact.get('category')} {artifact.get('score')}"
    if name == "compare_models":
        return "compared " + ", ".join(artifact.get("models", []))
    if name == "search_cards":
        return f"{len(artifact.get('results', []))} card section(s)"
    if name == "trends":
        return f"{artifact.get('view')}: {len(artifact.get('rows', []))} row(s)"
    return "done"


# --------------------------------------------------------------------------------------------- score cards
def category_figure(card: dict):
    """Bar chart of a score card's category scores (unknown categories shown as gaps, labeled n/a)."""
    import plotly.graph_objects as go

    names = list(CATEGORIES) + ["overall"]
    scores = [card["categories"][c]["score"] for c in CATEGORIES] + [card["overall"]]
    coverage = [card["categories"][c]["coverage"] for c in CATEGORIES] + [card.get("coverage")]
    fig = go.Figure(go.Bar(
        x=names, y=[s if s is not None else 0 for s in scores],
        text=[f"{s:.1f}" if s is not None else "n/a" for s in scores], textposition="outside",
        customdata=[f"{c:.0%}" if c is not None else "n/a" for c in coverage],
        hovertemplate="%{x}: %{text} (coverage %{customdata})<extra></extra>",
        marker_color=["#4c78a8"] * len(CATEGORIES) + ["#f58518"],
    ))  # fmt: skip
    fig.update_layout(title=f"{card['model_id']}: scores (0-10)", yaxis_range=[0, 11], yaxis_title="score",
                      xaxis_title="category", template="plotly_white", height=360)  # fmt: skip
    return fig


def findings_rows(card: dict) -> list[list]:
    """Findings as table rows: category, check, outcome, points, reason, fix."""
    rows = []
    for name in CATEGORIES:
        for f in card["categories"][name]["findings"]:
            points = "—" if f["points"] is None else f"{f['points']:g}/{f['max_points']:g}"
            rows.append([name, f["check"], f["outcome"], points, f["reason"], f["remediation"] or ""])
    return rows


FINDING_HEADERS = ["category", "check", "outcome", "points", "reason", "fix"]


def facts_markdown(card: dict) -> str:
    """The key facts and the card facts with their quotes."""
    facts = card["facts"]
    lines = [
        f"### {_cell(card['model_id'])}",
        f"**Overall {card['overall'] if card['overall'] is not None else 'n/a'}/10**, coverage "
        f"{(card.get('coverage') or 0):.0%}; observed {card['observed_at'][:10]}; method {card['method_version']}.",
        "",
        "| fact | value |",
        "|---|---|",
    ]
    for key in ("author", "pipeline_tag", "params", "size_class", "license", "license_class", "chat", "gated",
                "downloads", "likes", "base_models", "base_relation", "created_at", "last_modified"):  # fmt: skip
        value = facts.get(key)
        if isinstance(value, int) and not isinstance(value, bool):
            value = f"{value:,}"
        lines.append(f"| {key} | {'not available' if value is None else _cell(value)} |")
    card_facts = (facts.get("card") or {}).get("facts") or {}
    if card_facts:
        lines += ["", "**From the model card** (quotes are the authors' words):", ""]
        for kind, fact in card_facts.items():
            if fact.get("present"):
                lines.append(f"- *{kind}* ({fact.get('where')}): “{_cell(fact.get('quote') or '')}”")
            else:
                lines.append(f"- *{kind}*: not found")
    return "\n".join(lines)


def _cell(value) -> str:
    text = ", ".join(map(str, value)) if isinstance(value, list) else str(value)
    return as_text(text.replace("|", "\\|").replace("\n", " ")[:300])


def history_figure(result: dict):
    """Overall and category scores across snapshots."""
    import plotly.graph_objects as go

    fig = go.Figure()
    rows = result["rows"]
    for name in ("overall",) + CATEGORIES:
        fig.add_trace(go.Scatter(x=[r["observed_at"][:10] for r in rows], y=[r.get(name) for r in rows],
                                 mode="lines+markers", name=name))  # fmt: skip
    fig.update_layout(title="Score history across snapshots", yaxis_range=[0, 10.5], yaxis_title="score",
                      xaxis_title="observed", xaxis_type="category", template="plotly_white", height=320)  # fmt: skip
    return fig


def compare_markdown(artifact: dict) -> str:
    """Side-by-side table with the best score per row in bold, then the deciding findings."""
    models = artifact["models"]
    header = "| | " + " | ".join(model_link(m) for m in models) + " |"
    lines = [header, "|---|" + "---|" * len(models)]
    for name in CATEGORIES + ("overall",):
        row = artifact["scores"][name]
        verdict = artifact.get("verdicts", {}).get(name, {})
        cells = []
        for m in models:
            v = row[m]
            text = "n/a" if v is None else f"{v:.1f}"
            cells.append(f"**{text}** ⬆" if m == verdict.get("leader") else text)
        label = f"{name} (tie)" if verdict.get("outcome") == "tie" else name
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    facts = artifact.get("facts", {})
    for key in ("size_class", "license", "license_class", "downloads", "gated"):
        values = [facts.get(m, {}).get(key) for m in models]
        differs = len({json.dumps(v, default=str) for v in values}) > 1
        cells = [f"**{_cell(v)}**" if differs else _cell(v) for v in values]
        lines.append(f"| {key} | " + " | ".join(cells) + " |")
    if artifact.get("deciding"):
        lines += ["", "**What decides the difference**", ""]
        for d in artifact["deciding"][:6]:
            parts = "; ".join(f"{m.split('/')[-1]}: {v['outcome']}" for m, v in d["by_model"].items())
            lines.append(f"- `{d['check']}` ({d['category']}): {parts}")
    return "\n".join(lines)


def status_markdown(status: dict) -> str:
    """The Data tab: what is ingested, from where and when, and how to ingest more."""
    lines = [
        f"**{status['models']:,} models**, {status['observations']:,} observations, {status['scored_models']:,} scored "
        f"(method {status['method_version']}, weights `{status['weights_hash'][:12]}`).",
        f"Card chunks indexed: {status.get('card_chunks', 0):,}"
        f"{' (card index unavailable: ' + status['card_error'] + ')' if status.get('card_error') else ''}. "
        f"Leaderboard rows: {status.get('leaderboard_rows', 0):,} "
        f"from {', '.join(status.get('leaderboard_files', [])) or 'no files'}.",
        *(["", f"**{status['card_sync']}**"] if status.get("card_sync") else []),
        "",
        "| observed | kind | status | new | updated | skipped | source |",
        "|---|---|---|---|---|---|---|",
    ]
    seen = set()
    for run in status["ingest_runs"]:
        key = (run["source"], run["observed_at"])
        if key in seen and not run["new_models"] and not run["new_observations"]:
            continue  # a re-ingest that changed nothing
        seen.add(key)
        lines.append(f"| {run['observed_at'][:10]} | {run['kind']} | {run['status']} | {run['new_models']} | "
                     f"{run['new_observations']} | {run['skipped']} | `{run['source']}` |")  # fmt: skip
    lines += [
        "",
        "**Ingest more** (from a terminal):",
        "",
        "```bash",
        "whichmodel ingest --snapshot ../shared/data/hub-snapshots/*   # recorded snapshot folders",
        "whichmodel ingest --leaderboard ../shared/data/leaderboard/*.csv",
        "whichmodel ingest --hub --limit 200 --task text-generation    # the live Hub, when reachable",
        "```",
    ]
    return "\n".join(lines)
