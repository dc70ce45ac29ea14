"""The Gradio app: chat with tool calls shown, score cards, comparisons, trend plots and data status.

Analytics are off before Gradio is imported, fonts are the system's (no font CDN), and there is no share
link: no request leaves the machine. Each browser session gets its own conversation thread.
"""

from __future__ import annotations

import os
import threading
import uuid
from pathlib import Path

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

import gradio as gr  # noqa: E402
from langchain_core.messages import HumanMessage  # noqa: E402
from whichmodel.agent.context import Context  # noqa: E402
from whichmodel.agent.graph import build_graph, checkpointer_for, run_config  # noqa: E402
from whichmodel.config import Settings  # noqa: E402
from whichmodel.trends.names import FAMILIES, TYPES, UNITS, VIEW_NAMES  # noqa: E402
from whichmodel.trends.plots import plotly_figure  # noqa: E402
from whichmodel.trends.views import TrendParams  # noqa: E402
from whichmodel.ui.adapter import (  # noqa: E402
    FINDING_HEADERS,
    category_figure,
    compare_markdown,
    facts_markdown,
    findings_rows,
    history_figure,
    status_markdown,
    stream_messages,
)
from whichmodel.usecases.base import Services, UseCaseError  # noqa: E402
from whichmodel.usecases.data import start_card_sync, status  # noqa: E402
from whichmodel.usecases.models import compare, score_card  # noqa: E402
from whichmodel.usecases.trends import trend_view  # noqa: E402

EXAMPLES = [
    "safest permissive 7B chat model",
    "compare phi-2 and gemma-7b",
    "why does gemma-7b score 9 on security?",
    "how did Mistral's popularity move after Mixtral came out?",
    "which models were trained on medical data?",
]
SYSTEM_FONTS = ["ui-sans-serif", "system-ui", "Segoe UI", "Roboto", "sans-serif"]
MONO_FONTS = ["ui-monospace", "SFMono-Regular", "Menlo", "monospace"]


class App:
    """The handlers behind the page, over one database and data directory."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.services = Services.from_settings(settings)
        self.engine = self.services.engine
        self.context = Context.from_settings(settings)
        self.graph = build_graph(self.services, checkpointer=checkpointer_for(settings))
        threading.Thread(target=self.services.warm, name="warm-up", daemon=True).start()

    # ------------------------------------------------------------------------------------------ chat
    def respond(self, message: str, history: list, thread: str | None):
        """Stream the agent's steps for one question: tool calls as they run, then the answer."""
        thread = thread or uuid.uuid4().hex
        history = list(history or []) + [gr.ChatMessage(role="user", content=message)]
        yield history, "", thread
        if not message.strip():
            return
        events = self.graph.stream({"messages": [HumanMessage(message)], "steps": 0},
                                   config=run_config(self.context, thread), context=self.context,
                                   stream_mode="updates")  # fmt: skip
        for assistant in stream_messages(events):
            yield history + assistant, "", thread

    # ------------------------------------------------------------------------------------------ model
    def show_model(self, text: str):
        """Score card, findings, facts and history of one model."""
        if not (text or "").strip():
            return None, [], "Type a model id or name.", None
        try:
            found = score_card(self.services, text)
        except UseCaseError as err:
            return None, [], f"**{err}**", None
        card = found.to_dict()
        try:
            history = history_figure(trend_view(self.services, "history", TrendParams(model=found.model_id)).to_dict())
        except UseCaseError:
            history = None
        note = found.resolution.note().strip() if found.resolution else ""
        note = f"*(showing {found.model_id} for '{text}')*\n\n" if note else ""
        return category_figure(card), findings_rows(card), note + facts_markdown(card), history

    # ------------------------------------------------------------------------------------------ compare
    def compare(self, text: str):
        """Two to four models side by side."""
        names = [n.strip() for n in (text or "").replace(";", ",").split(",") if n.strip()]
        try:
            return compare_markdown(compare(self.services, names).to_dict())
        except UseCaseError as err:
            return f"**{err}**"

    # ------------------------------------------------------------------------------------------ trends
    def trend(self, view: str, unit: str, start: str, end: str, types: list, archs: list, model: str):
        """One trend view as an interactive plot and its rows."""
        params = TrendParams(unit=unit, start=start or None, end=end or None, types=list(types or []),
                             archs=list(archs or []), model=model or None)  # fmt: skip
        try:
            result = trend_view(self.services, view, params).to_dict()
        except UseCaseError as err:
            return None, [], f"**{err}**"
        rows = result["rows"]
        table = [list(r.values()) for r in rows[:500]]
        note = f"{len(rows)} row(s)" + (" (first 500 shown)" if len(rows) > 500 else "")
        if not rows:
            note = "No rows: ingest the leaderboard (`whichmodel ingest --leaderboard ...`) or widen the dates."
            return None, [], note
        return plotly_figure(result), gr.update(value=table, headers=list(rows[0])), note

    # ------------------------------------------------------------------------------------------ data
    def status(self) -> str:
        """The Data tab's markdown."""
        return status_markdown(status(self.services, detail=True).to_dict())

    def start_card_sync(self) -> None:
        """Bring the card index up to date in the background; the Data tab shows how far it is."""
        start_card_sync(self.services)

    # ------------------------------------------------------------------------------------------ load
    def on_load(self, request: gr.Request):
        """A fresh thread per browser session; `?model=ID` opens that model's score card."""
        thread = uuid.uuid4().hex
        model = (request.query_params.get("model") if request else None) or ""
        if model:
            plot, rows, facts, history = self.show_model(model)
            return thread, gr.Tabs(selected="model"), model, plot, rows, facts, history
        return thread, gr.Tabs(selected="chat"), "", None, [], "", None


def build_app(settings: Settings, embed_cards: bool = False) -> gr.Blocks:
    """The page; `embed_cards` starts the card index's background sync (progress in the Data tab)."""
    app = App(settings)
    if embed_cards:
        app.start_card_sync()
    with gr.Blocks(title="whichmodel", analytics_enabled=False) as demo:
        thread = gr.State()
        gr.Markdown("## whichmodel — which Hugging Face model should I use, and can I trust it?")
        with gr.Tabs(selected="chat") as tabs:
            with gr.Tab("Chat", id="chat"):
                chatbot = gr.Chatbot(height=520, label="whichmodel", elem_id="chatbot", buttons=["copy"])
                question = gr.Textbox(placeholder="Ask: safest permissive 7B chat model", show_label=False,
                                      elem_id="question", submit_btn=True)  # fmt: skip
                gr.Examples(EXAMPLES, inputs=question, label="Try")
            with gr.Tab("Model", id="model"):
                with gr.Row():
                    model_id = gr.Textbox(label="Model id or name", elem_id="model-id", scale=4)
                    show = gr.Button("Show score card", elem_id="show-model", scale=1)
                with gr.Row():
                    category_plot = gr.Plot(label="Category scores", elem_id="category-plot")
                    facts = gr.Markdown(elem_id="model-facts")
                findings = gr.Dataframe(headers=FINDING_HEADERS, label="Findings", wrap=True, elem_id="findings")
                history = gr.Plot(label="History", elem_id="history-plot")
            with gr.Tab("Compare", id="compare"):
                with gr.Row():
                    compare_ids = gr.Textbox(label="Two to four models, comma-separated", elem_id="compare-ids",
                                             value="microsoft/phi-2, google/gemma-7b", scale=4)  # fmt: skip
                    compare_button = gr.Button("Compare", elem_id="compare-button", scale=1)
                comparison = gr.Markdown(elem_id="comparison")
            with gr.Tab("Trends", id="trends"):
                with gr.Row():
                    view = gr.Dropdown(list(VIEW_NAMES), value="types", label="View", elem_id="trend-view")
                    unit = gr.Radio(list(UNITS), value="month", label="Unit", elem_id="trend-unit")
                    start = gr.Textbox(label="From (YYYY-MM-DD)", value="2023-06-01", elem_id="trend-from")
                    end = gr.Textbox(label="To (YYYY-MM-DD)", value="2024-06-30", elem_id="trend-to")
                with gr.Row():
                    types = gr.CheckboxGroup(list(TYPES), label="Types (none: all)")
                    archs = gr.CheckboxGroup(list(FAMILIES), label="Architectures (none: all)")
                    trend_model = gr.Textbox(label="Model (history, alerts, base-models)")
                trend_note = gr.Markdown(elem_id="trend-note")
                trend_plot = gr.Plot(label="Trend", elem_id="trend-plot")
                trend_rows = gr.Dataframe(label="Rows", elem_id="trend-rows", wrap=True)
            with gr.Tab("Data", id="data"):
                status = gr.Markdown(elem_id="data-status")
                refresh = gr.Button("Refresh", elem_id="refresh-status")

        question.submit(app.respond, [question, chatbot, thread], [chatbot, question, thread])
        show.click(app.show_model, [model_id], [category_plot, findings, facts, history])
        model_id.submit(app.show_model, [model_id], [category_plot, findings, facts, history])
        compare_button.click(app.compare, [compare_ids], [comparison])
        trend_inputs = [view, unit, start, end, types, archs, trend_model]
        for control in (view, unit, types, archs):
            control.change(app.trend, trend_inputs, [trend_plot, trend_rows, trend_note])
        for box in (start, end, trend_model):
            box.submit(app.trend, trend_inputs, [trend_plot, trend_rows, trend_note])
        refresh.click(app.status, None, [status])
        if embed_cards:  # the Data tab follows the embedding without a click
            gr.Timer(10).tick(app.status, None, [status])
        demo.load(app.on_load, None, [thread, tabs, model_id, category_plot, findings, facts, history])
        demo.load(app.status, None, [status])
        demo.load(app.trend, trend_inputs, [trend_plot, trend_rows, trend_note])
    demo.app_handlers = app  # for tests and the concurrency bench
    return demo


LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")


class ExposureError(ValueError):
    """The UI would be served to the network without a login, or the login file is unusable."""


def read_auth_file(path: str) -> list[tuple[str, str]]:
    """`user:password` lines (blank lines and `#` comments skipped) as Gradio's `auth` list.

    Raises:
        ExposureError: the file is missing, unreadable or holds no usable line.
    """
    try:
        lines = Path(path).expanduser().read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as err:
        raise ExposureError(f"cannot read the UI login file {path}: {err}") from err
    pairs = [tuple(line.strip().split(":", 1)) for line in lines if line.strip() and not line.startswith("#")]
    pairs = [(user, password) for user, *rest in pairs for password in rest if user and password]
    if not pairs:
        raise ExposureError(f"the UI login file {path} holds no `user:password` line")
    return pairs


def exposure_check(settings: Settings, host: str, allow_open: bool = False) -> list[tuple[str, str]] | None:
    """The login list for serving on `host`, or None for none; refuses a network host without a login.

    Raises:
        ExposureError: a non-loopback host with no login file and no explicit `allow_open`.
    """
    auth = read_auth_file(settings.ui_auth_file) if settings.ui_auth_file else None
    if auth is None and host not in LOOPBACK_HOSTS and not allow_open:
        raise ExposureError(
            f"refusing to serve on {host} without a login: anyone who can reach it could use the app. Set "
            "WHICHMODEL_UI_AUTH to a file of user:password lines, or pass --allow-unauthenticated."
        )
    return auth


def launch(settings: Settings, host: str = "127.0.0.1", port: int = 7860, block: bool = True,
           allow_open: bool = False, embed_cards: bool = False) -> gr.Blocks:  # fmt: skip
    """Serve the app on host:port (no share link); a network host needs a login (see `exposure_check`).

    `embed_cards` syncs the card index in the background (progress in the Data tab).
    """
    auth = exposure_check(settings, host, allow_open)
    demo = build_app(settings, embed_cards)
    demo.queue(default_concurrency_limit=8)
    # System fonts only: a theme's default web fonts would be fetched from a font CDN by the browser.
    theme = gr.themes.Soft(font=SYSTEM_FONTS, font_mono=MONO_FONTS)
    demo.launch(server_name=host, server_port=port, share=False, inbrowser=False, prevent_thread_lock=not block,
                show_error=True, quiet=not block, theme=theme, auth=auth,
                max_file_size=settings.ui_max_upload)  # fmt: skip
    return demo
