"""Commands that talk: `ask` (one question), `chat` (a conversation), `ui` (the Gradio app), `mcp` (tools)."""

from __future__ import annotations

import argparse
import os
import sys

from whichmodel.cli.common import EXIT_BELOW, EXIT_OK, emit, say, services
from whichmodel.config import Settings


def register(sub) -> None:
    """Add `ask`, `chat`, `ui` and `mcp`."""
    p = sub.add_parser("ask", help="ask a question (LLM if OPENAI_API_KEY is set, else the offline planner)")
    p.add_argument("question")
    p.add_argument("--thread", help="conversation id, to continue an earlier conversation")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_ask)

    p = sub.add_parser("chat", help="an interactive conversation that keeps context")
    p.add_argument("--thread", help="conversation id to continue")
    p.set_defaults(func=cmd_chat)

    p = sub.add_parser("ui", help="the Gradio app")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=7860)
    p.add_argument("--allow-unauthenticated", action="store_true",
                   help="serve a non-loopback host without a login (WHICHMODEL_UI_AUTH)")  # fmt: skip
    p.set_defaults(func=cmd_ui)

    p = sub.add_parser("mcp", help="serve the agent's tools over MCP (stdio; streamable HTTP with --port)")
    p.add_argument("--port", type=int, help="serve streamable HTTP on this port instead of stdio")
    p.add_argument("--host", default="127.0.0.1")
    p.set_defaults(func=cmd_mcp, protocol_stdout=True)


def _agent(settings: Settings):
    """A function answering (context, question, thread_id) with `run_turn`'s JSON, the services and the context.

    Without an LLM endpoint the offline planner answers without LangGraph's graph (`agent.offline`: the same
    loop, tools and threads, a second less to start); with one, the graph.
    """
    from whichmodel.agent.context import Context
    from whichmodel.agent.offline import checkpointer_for

    svc = services(settings)
    context = Context.from_settings(settings)
    if context.engine == "planner":
        from whichmodel.agent.offline import PlannerAgent

        return PlannerAgent(svc, checkpointer=checkpointer_for(settings)).turn, svc, context
    from whichmodel.agent.graph import build_graph, run_turn

    graph = build_graph(svc, checkpointer=checkpointer_for(settings))
    return (lambda ctx, question, thread_id: run_turn(graph, ctx, question, thread_id=thread_id)), svc, context


def cmd_ask(args: argparse.Namespace, settings: Settings) -> int:
    """Answer one question (with the LLM when configured, else the offline planner)."""
    answer, _, context = _agent(settings)
    result = answer(context, args.question, thread_id=args.thread)
    if args.json:
        emit(result)
    else:
        print(result["answer"])
        say(f"[{result['engine']}; thread {result['thread_id']}; tools: "
            f"{', '.join(c['name'] for c in result['tool_calls']) or 'none'}]")  # fmt: skip
    return EXIT_OK


def cmd_chat(args: argparse.Namespace, settings: Settings) -> int:
    """An interactive conversation on one thread; 'exit' or Ctrl-D ends it."""
    import threading
    import uuid

    answer, svc, context = _agent(settings)
    threading.Thread(target=svc.warm, name="warm-up", daemon=True).start()  # while the user types
    thread = args.thread or uuid.uuid4().hex
    interactive = sys.stdin.isatty()
    if interactive:
        print(f"whichmodel ({context.engine}); thread {thread}. Ask about models; 'exit' to leave.")
    while True:
        try:
            question = input("> " if interactive else "")
        except EOFError:
            break
        if question.strip().lower() in ("exit", "quit", ":q"):
            break
        if not question.strip():
            continue
        print(answer(context, question, thread_id=thread)["answer"])
        print()
    return EXIT_OK


def cmd_ui(args: argparse.Namespace, settings: Settings) -> int:
    """Serve the Gradio app on 127.0.0.1 (analytics off, no share link)."""
    os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
    from whichmodel.cli.progress import echo_card_sync
    from whichmodel.ui.app import ExposureError, exposure_check, launch

    try:
        exposure_check(settings, args.host, args.allow_unauthenticated)
    except ExposureError as err:
        say(f"error: {err}")
        return EXIT_BELOW  # 2: a usage error
    say(f"whichmodel UI on http://{args.host}:{args.port}  (Ctrl-C to stop)")
    echo_card_sync(settings.home)  # the background embedding's progress, for a log when no browser is open
    launch(settings, host=args.host, port=args.port, allow_open=args.allow_unauthenticated, embed_cards=True)
    return EXIT_OK


def cmd_mcp(args: argparse.Namespace, settings: Settings) -> int:
    """Serve the agent's tools over MCP: stdio, or streamable HTTP with --port."""
    from whichmodel.ui.mcp_server import PATH, serve

    if args.port is not None:
        say(f"whichmodel MCP on http://{args.host}:{args.port}{PATH}  (Ctrl-C to stop)")
    serve(settings, port=args.port, host=args.host)  # stdio: stdout is the protocol's, nothing else is printed
    return EXIT_OK
