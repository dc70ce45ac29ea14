"""Commands over model cards: `cards search` (with citations) and `cards extract` (the LLM card reader)."""

from __future__ import annotations

import argparse

from whichmodel.cli.common import EXIT_FAIL, EXIT_OK, emit, fail, progress, say, services
from whichmodel.config import Settings
from whichmodel.usecases.base import LICENSE_CLASSES


def register(sub) -> None:
    """Add `cards search` and `cards extract`."""
    p = sub.add_parser("cards", help="search model cards")
    cards_sub = p.add_subparsers(dest="cards_command", required=True)
    q = cards_sub.add_parser("search", help="semantic + keyword search with citations")
    q.add_argument("query")
    q.add_argument("--task", help="pipeline tag, e.g. text-generation")
    q.add_argument("--license-class", choices=LICENSE_CLASSES)
    q.add_argument("--size", help="nominal size class, e.g. 7B")
    q.add_argument("--k", type=int, default=5, help="results (default 5)")
    q.add_argument("--json", action="store_true")
    q.set_defaults(func=cmd_cards)
    q = cards_sub.add_parser("extract", help="read card facts with the configured LLM (logged for review)")
    q.add_argument("--model", action="append", help="only this model (repeatable)")
    q.add_argument("--limit", type=int, help="at most N cards (most downloaded first)")
    q.add_argument("--json", action="store_true")
    q.set_defaults(func=cmd_cards_extract)


def cmd_cards(args: argparse.Namespace, settings: Settings) -> int:
    """Semantic + keyword search over model cards, with citations (model id and section)."""
    from whichmodel.store.keywords import CardFilters
    from whichmodel.usecases.base import UseCaseError
    from whichmodel.usecases.search import search_cards

    size = args.size.upper().replace("X", "x") if args.size else None
    filters = CardFilters(task=args.task, license_class=args.license_class, size_class=size)
    try:
        found = search_cards(services(settings), args.query, filters, k=args.k)
    except UseCaseError as err:
        return fail(args, err)
    if args.json:
        emit(found.to_dict())
        return EXIT_OK
    if not found.results:
        print("no matching card sections" + (" (no cards indexed: run whichmodel ingest)" if found.index_empty else ""))
    for n, r in enumerate(found.results, start=1):
        print(f"{n}. {r['model_id']} — {r['section']}  (score {r['score']:.4f}, {'+'.join(r['matched'])})")
        print(f"   {r['snippet']}")
    return EXIT_OK


def cmd_cards_extract(args: argparse.Namespace, settings: Settings) -> int:
    """Read card facts with the configured LLM, log every interaction, and re-score what changed."""
    from whichmodel.cards.llm import LlmCardExtractor
    from whichmodel.store.cards import extract_with_llm

    if not settings.llm_api_key:
        fail(args, "no LLM configured: set OPENAI_API_KEY (and OPENAI_BASE_URL for a compatible server)")
        return EXIT_FAIL
    engine = services(settings).engine
    update, close = progress("reading cards")
    try:
        counts = extract_with_llm(
            engine, lambda log: LlmCardExtractor.from_settings(settings, log=log), model_ids=args.model or None,
            limit=args.limit, progress=update,
        )  # fmt: skip
    finally:
        close()
    if args.json:
        emit(counts)
    else:
        say(f"{counts['extracted']} of {counts['models']} card(s) read by {settings.llm_model}; "
            f"{counts['not_available']} not available after retries; {counts['rescored']} re-scored")  # fmt: skip
    return EXIT_OK
