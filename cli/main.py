"""`whichmodel`: the command line. Its `--json` shapes and exit codes are a contract other tools rely on.

Exit codes: 0 success; 1 failure; 2 usage error, or (for `check`) score below the bar; 3 ingest stored
some records and skipped others; 4 unknown model.
With `--json`, stdout carries exactly one JSON document; progress and messages go to stderr.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from pathlib import Path
from typing import Any

from whichmodel.cli.safe_output import TerminalWriter, clean, strict_json
from whichmodel.config import Settings

EXIT_OK, EXIT_FAIL, EXIT_BELOW, EXIT_PARTIAL, EXIT_UNKNOWN = 0, 1, 2, 3, 4
LICENSE_CLASSES = ["permissive", "copyleft", "responsible-ai", "custom", "non-commercial", "unknown"]


def _emit(data: Any) -> None:
    sys.stdout.write(strict_json(data, indent=2) + "\n")


def _say(message: str) -> None:
    sys.stderr.write(clean(message) + "\n")


def _progress(desc: str, total: int | None = None):
    """A tqdm bar on a terminal; count, rate and ETA lines when stderr is a pipe or file."""
    from whichmodel.cli.progress import reporter

    bar = reporter(desc, total)
    return bar.update, bar.close


def _engine(settings: Settings):
    from whichmodel.store.db import engine_for

    return engine_for(settings)


# ---------------------------------------------------------------------------------------------------- ingest
def cmd_ingest(args: argparse.Namespace, settings: Settings) -> int:
    """Ingest snapshot folders or the live Hub, then score what is new."""
    from whichmodel.hub.snapshot import SnapshotError, open_snapshot, read_snapshot
    from whichmodel.store.ingest import ingest_items

    engine = _engine(settings)
    if args.leaderboard:
        return _ingest_leaderboard(engine, args)
    summaries = []
    failed = False
    if args.snapshot:
        try:
            snapshots = sorted((open_snapshot(p) for p in args.snapshot), key=lambda s: s.observed_at)
        except SnapshotError as err:
            _say(f"error: {err}")
            if args.json:
                _emit({"error": str(err)})
            return EXIT_FAIL
        for snap in snapshots:
            update, close = _progress(snap.path.name, _snapshot_lines(snap))
            try:
                summary = ingest_items(
                    engine,
                    read_snapshot(snap, with_cards=True),
                    source=str(snap.path),
                    kind="snapshot",
                    observed_at=snap.observed_at,
                    batch_size=settings.batch_size,
                    progress=update,
                )
            finally:
                close()
            summaries.append(summary)
    else:
        summary, ok = _ingest_hub(engine, settings, args)
        summaries.append(summary)
        failed = not ok
    scored = _score(engine, settings, "scoring")
    cards = None if args.no_cards else _sync_cards(engine, settings, later=args.cards_later)
    skipped = sum(len(s.skipped) for s in summaries)
    if args.json:
        _emit({"runs": [s.to_dict() for s in summaries], "scored": scored, "skipped": skipped, "cards": cards})
    else:
        for s in summaries:
            _say(
                f"{s.source} @ {s.observed_at}: {s.parsed} read, {s.new_models} new models, "
                f"{s.new_observations} updated, {s.unchanged} unchanged, {len(s.skipped)} skipped"
                + (f" [{s.status}: {s.error}]" if s.error else "")
            )
            for skip in s.skipped[:20]:
                where = f"line {skip.line}" if skip.line else "record"
                _say(f"  skipped {where}{' (' + skip.model_id + ')' if skip.model_id else ''}: {skip.reason}")
            if len(s.skipped) > 20:
                _say(f"  ... and {len(s.skipped) - 20} more (see `whichmodel status --json`)")
        _say(f"scored {scored} observation(s)")
        if cards and cards.get("deferred"):
            _say("cards: not embedded yet; `whichmodel ui` embeds them in the background (or the next ingest)")
        elif cards and "error" not in cards:
            _say(f"cards: {cards['chunks_embedded']} chunks embedded, {cards['chunks_unchanged']} unchanged, "
                 f"{cards['chunks_removed']} removed ({cards['models']} models with cards)")  # fmt: skip
    if failed:
        return EXIT_FAIL
    return EXIT_PARTIAL if skipped else EXIT_OK


def _snapshot_lines(snap) -> int | None:
    from whichmodel.cli.progress import count_lines

    try:
        return count_lines(snap.models_path)
    except OSError:
        return None  # the reader reports the missing file


def _score(engine, settings: Settings, desc: str) -> int:
    """Score what is unscored, with progress."""
    from whichmodel.cli.progress import reporter
    from whichmodel.store.ingest import score_pending

    bar = reporter(desc)
    try:
        return score_pending(engine, batch_size=settings.batch_size, progress=bar.update, planned=bar.set_total,
                             workers=settings.workers or None)  # fmt: skip
    finally:
        bar.close()


def _sync_cards(engine, settings: Settings, later: bool = False) -> dict:
    """Embed new card chunks and drop stale ones; a missing embedding model is a warning, not a failure.

    With `later`, nothing is embedded now: `whichmodel ui` (in the background) or the next ingest does it.
    """
    from dataclasses import asdict

    from whichmodel.cards.embedding import EmbeddingUnavailable
    from whichmodel.cli.progress import reporter

    if later:
        return {"deferred": True}
    try:
        from whichmodel.store.vectors import CardIndex, SyncBusy

        bar = reporter("embedding cards", unit="chunks")
        try:
            return asdict(CardIndex(settings).sync(engine, progress=bar.update, planned=bar.set_total))
        except SyncBusy as err:
            _say(f"warning: cards not indexed now: {err}; when it is done, run this ingest again to index them")
            return {"error": str(err)}
        finally:
            bar.close()
    except EmbeddingUnavailable as err:
        _say(f"warning: cards not indexed: {err}")
        return {"error": str(err)}


def _ingest_leaderboard(engine, args: argparse.Namespace) -> int:
    """Load leaderboard CSVs (files with their own dates first, so the undated scrape can borrow them)."""
    from whichmodel.trends.leaderboard import load_file, order_files

    missing = [p for p in args.leaderboard if not Path(p).is_file()]
    if missing:
        _say(f"error: no such file: {', '.join(map(str, missing))}")
        if args.json:
            _emit({"error": f"no such file: {missing[0]}"})
        return EXIT_FAIL
    results = []
    for path in order_files([Path(p) for p in args.leaderboard]):
        try:
            results.append(load_file(engine, path))
        except (ValueError, UnicodeDecodeError) as err:
            _say(f"error: {path}: {err}")
            if args.json:
                _emit({"error": f"{path}: {err}"})
            return EXIT_FAIL
    skipped = sum(len(r.skipped) for r in results)
    if args.json:
        from dataclasses import asdict

        _emit({"files": [asdict(r) for r in results], "skipped": skipped})
    else:
        for r in results:
            ignored = f", {len(r.ignored)} ignored (not models)" if r.ignored else ""
            _say(f"{r.source} ({r.layout}): {r.rows} rows, {r.inserted} new, {r.unchanged} unchanged, "
                 f"{len(r.skipped)} skipped{ignored}")  # fmt: skip
            for s in r.skipped[:10]:
                _say(f"  skipped line {s['line']}: {s['reason']}")
    return EXIT_PARTIAL if skipped else EXIT_OK


def _ingest_hub(engine, settings: Settings, args: argparse.Namespace):
    """Stream models from the live Hub; what was fetched before a failure stays stored."""
    from whichmodel.hub.client import HubClient, HubError, HubUnreachable
    from whichmodel.hub.facts import RecordError, parse_record
    from whichmodel.hub.snapshot import Parsed, Rejected
    from whichmodel.store.ingest import IngestInterrupted, ingest_items, now_iso

    client = HubClient(settings)
    observed = now_iso()

    def items():
        for number, record in enumerate(client.iter_records(limit=args.limit, task=args.task), start=1):
            model_id = record.get("id")
            try:
                record.update(client.discussion_counts(model_id))
                card = client.card_text(model_id) if not args.no_cards else None
                yield Parsed(number, parse_record(record, card_text=card, observed_at=observed), card)
            except HubUnreachable:
                raise
            except (RecordError, HubError) as err:  # this model only: not found, gated, bad record
                yield Rejected(number, str(err), model_id)

    update, close = _progress("hub", args.limit)
    try:
        return (
            ingest_items(
                engine,
                items(),
                source=settings.hf_endpoint or "hub",
                kind="hub",
                observed_at=observed,
                batch_size=min(settings.batch_size, 50),
                progress=update,
            ),
            True,
        )
    except IngestInterrupted as err:
        _say(f"error: {err.__cause__}; {err.summary.parsed} model(s) fetched before it are stored")
        return err.summary, False
    finally:
        close()


# ---------------------------------------------------------------------------------------------------- score
def _fetch_and_score(engine, settings: Settings, model_id: str) -> tuple[str | None, str | None]:
    """Fetch a model from the Hub, store and score it. Returns (stored id, error message)."""
    from whichmodel.hub.client import HubClient, HubError
    from whichmodel.hub.snapshot import Parsed
    from whichmodel.store.ingest import ingest_items, score_pending

    try:
        facts, card = HubClient(settings).fetch_facts(model_id)
    except HubError as err:
        return None, str(err)
    ingest_items(
        engine,
        [Parsed(1, facts, card)],
        source=f"hub:{model_id}",
        kind="model",
        observed_at=facts.observed_at,
        batch_size=1,
    )
    score_pending(engine, batch_size=settings.batch_size)
    return facts.id, None


def _load_card(engine, settings: Settings, model_id: str, fetch: bool) -> tuple[dict | None, str | None]:
    from whichmodel.store.queries import resolve_model_id, scorecard

    stored = resolve_model_id(engine, model_id)
    if stored is None:
        if not fetch:
            return None, f"'{model_id}' is not in the database"
        stored, error = _fetch_and_score(engine, settings, model_id)
        if stored is None:
            return None, f"'{model_id}' is not in the database, and fetching it from the Hub failed: {error}"
    card = scorecard(engine, stored)
    if card is None:
        return None, f"'{stored}' is stored but not scored yet; run `whichmodel rescore`"
    return card, None


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1f}"


def cmd_score(args: argparse.Namespace, settings: Settings) -> int:
    """Show a model's score card."""
    engine = _engine(settings)
    card, error = _load_card(engine, settings, args.model_id, fetch=not args.no_fetch)
    if card is None:
        _say(f"error: {error}")
        if args.json:
            _emit({"error": error, "model_id": args.model_id})
        return EXIT_UNKNOWN
    if args.json:
        _emit(card)
        return EXIT_OK
    print(
        f"{card['model_id']}  overall {_fmt(card['overall'])}/10  (coverage {card['coverage']:.0%}, "
        f"observed {card['observed_at']}, method {card['method_version']})"
    )
    for name, cat in card["categories"].items():
        print(f"\n  {name:<12} {_fmt(cat['score']):>4}/10  coverage {cat['coverage']:.0%}")
        for f in cat["findings"]:
            pts = "  -  " if f["points"] is None else f"{f['points']:g}/{f['max_points']:g}"
            print(f"    {f['outcome']:<15} {f['check']:<22} {pts:>7}  {f['reason']}")
            if f["remediation"] and f["outcome"] == "fail":
                print(f"    {'':<15} {'':<22} {'':>7}  fix: {f['remediation']}")
    return EXIT_OK


def cmd_check(args: argparse.Namespace, settings: Settings) -> int:
    """Gate: exit 0 when the score meets the bar, 2 when it does not."""
    engine = _engine(settings)
    card, error = _load_card(engine, settings, args.model_id, fetch=not args.no_fetch)
    if card is None:
        _say(f"error: {error}")
        if args.json:
            _emit({"error": error, "model_id": args.model_id})
        return EXIT_UNKNOWN
    category = args.category or "overall"
    score = card["overall"] if category == "overall" else card["categories"][category]["score"]
    meets = score is not None and score >= args.min_score
    verdict = "meets" if meets else "does not meet"
    message = f"{card['model_id']}: {category} {_fmt(score)} {verdict} the bar {args.min_score:g}"
    if score is None:
        message += " (score not available: too little data)"
    if args.json:
        _emit(
            {
                "model_id": card["model_id"],
                "category": category,
                "score": score,
                "min_score": args.min_score,
                "passed": meets,
            }
        )
    else:
        print(message)
    return EXIT_OK if meets else EXIT_BELOW


# ---------------------------------------------------------------------------------------------------- search
def _min_score(text: str) -> tuple[str, float]:
    key, sep, value = text.partition("=")
    try:
        if not sep:
            raise ValueError
        return key.strip(), float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected CATEGORY=N, got {text!r}") from None


def cmd_search(args: argparse.Namespace, settings: Settings) -> int:
    """Filter and rank models."""
    from whichmodel.store.queries import SearchFilters, search_models

    filters = SearchFilters(
        task=args.task,
        size=args.size,
        min_params=args.min_params,
        max_params=args.max_params,
        license_class=args.license_class,
        chat=True if args.chat else None,
        exclude_gated=args.no_gated,
        min_scores=dict(args.min_score or []),
        sort=args.sort,
        limit=args.limit,
    )
    try:
        result = search_models(_engine(settings), filters)
    except ValueError as err:
        _say(f"error: {err}")
        if args.json:
            _emit({"error": str(err)})
        return EXIT_BELOW
    if args.json:
        result["results"] = [
            {
                k: r[k]
                for k in (
                    "model_id",
                    "overall",
                    "popularity",
                    "activity",
                    "operational",
                    "security",
                    "quality",
                    "params",
                    "size_class",
                    "license",
                    "license_class",
                    "pipeline_tag",
                    "downloads",
                    "likes",
                )
            }
            for r in result["results"]
        ]
        _emit(result)
        return EXIT_OK
    print(f"{result['total_matched']} model(s) matched; top {len(result['results'])} by {args.sort}:")
    print(f"  {'model':<52} {'overall':>7} {'pop':>5} {'act':>5} {'ops':>5} {'sec':>5} {'qual':>5}  size  license")
    for r in result["results"]:
        print(
            f"  {r['model_id'][:52]:<52} {_fmt(r['overall']):>7} {_fmt(r['popularity']):>5} "
            f"{_fmt(r['activity']):>5} {_fmt(r['operational']):>5} {_fmt(r['security']):>5} "
            f"{_fmt(r['quality']):>5}  {r['size_class'] or '-':<5} {r['license'] or '-'}"
        )
    return EXIT_OK


# ---------------------------------------------------------------------------------------------------- cards
def cmd_cards(args: argparse.Namespace, settings: Settings) -> int:
    """Semantic + keyword search over model cards, with citations (model id and section)."""
    from whichmodel.cards.embedding import EmbeddingUnavailable
    from whichmodel.store.vectors import CardFilters, CardIndex

    size = args.size.upper().replace("X", "x") if args.size else None
    filters = CardFilters(task=args.task, license_class=args.license_class, size_class=size)
    try:
        index = CardIndex(settings)
        results = index.search(args.query, filters, k=args.k)
    except EmbeddingUnavailable as err:
        _say(f"error: {err}")
        if args.json:
            _emit({"error": str(err)})
        return EXIT_FAIL
    if args.json:
        _emit({"results": results})
        return EXIT_OK
    if not results:
        print("no matching card sections" + (" (no cards indexed: run whichmodel ingest)" if index.is_empty() else ""))
    for n, r in enumerate(results, start=1):
        print(f"{n}. {r['model_id']} — {r['section']}  (score {r['score']:.4f}, {'+'.join(r['matched'])})")
        print(f"   {r['snippet']}")
    return EXIT_OK


def cmd_cards_extract(args: argparse.Namespace, settings: Settings) -> int:
    """Read card facts with the configured LLM, log every interaction, and re-score what changed."""
    from whichmodel.cards.llm import LlmCardExtractor
    from whichmodel.store.cards import extract_with_llm

    if not settings.llm_api_key:
        message = "no LLM configured: set OPENAI_API_KEY (and OPENAI_BASE_URL for a compatible server)"
        _say(f"error: {message}")
        if args.json:
            _emit({"error": message})
        return EXIT_FAIL
    engine = _engine(settings)
    update, close = _progress("reading cards")
    try:
        counts = extract_with_llm(
            engine, lambda log: LlmCardExtractor.from_settings(settings, log=log), model_ids=args.model or None,
            limit=args.limit, progress=update,
        )  # fmt: skip
    finally:
        close()
    if args.json:
        _emit(counts)
    else:
        _say(f"{counts['extracted']} of {counts['models']} card(s) read by {settings.llm_model}; "
             f"{counts['not_available']} not available after retries; {counts['rescored']} re-scored")  # fmt: skip
    return EXIT_OK


# ---------------------------------------------------------------------------------------------------- agent
def _agent(settings: Settings):
    from whichmodel.agent.context import Context
    from whichmodel.agent.graph import build_graph, checkpointer_for
    from whichmodel.tools import Services

    services = Services(_engine(settings), settings)
    context = Context.from_settings(settings)
    graph = build_graph(services, context, checkpointer=checkpointer_for(settings.home))
    return graph, services, context


def cmd_ask(args: argparse.Namespace, settings: Settings) -> int:
    """Answer one question (with the LLM when configured, else the offline planner)."""
    from whichmodel.agent.graph import run_turn

    graph, services, context = _agent(settings)
    result = run_turn(graph, services, context, args.question, thread_id=args.thread)
    if args.json:
        _emit(result)
    else:
        print(result["answer"])
        _say(f"[{result['engine']}; thread {result['thread_id']}; tools: "
             f"{', '.join(c['name'] for c in result['tool_calls']) or 'none'}]")  # fmt: skip
    return EXIT_OK


def cmd_chat(args: argparse.Namespace, settings: Settings) -> int:
    """An interactive conversation on one thread; 'exit' or Ctrl-D ends it."""
    import threading
    import uuid

    from whichmodel.agent.graph import run_turn

    graph, services, context = _agent(settings)
    threading.Thread(target=services.warm, name="warm-up", daemon=True).start()  # while the user types
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
        result = run_turn(graph, services, context, question, thread_id=thread)
        print(result["answer"])
        print()
    return EXIT_OK


def cmd_ui(args: argparse.Namespace, settings: Settings) -> int:
    """Serve the Gradio app on 127.0.0.1 (analytics off, no share link)."""
    os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
    from whichmodel.cli.progress import echo_card_sync
    from whichmodel.ui.app import launch

    _say(f"whichmodel UI on http://{args.host}:{args.port}  (Ctrl-C to stop)")
    echo_card_sync(settings.home)
    launch(settings, host=args.host, port=args.port, embed_cards=True)
    return EXIT_OK


# ---------------------------------------------------------------------------------------------------- trends
def cmd_trends(args: argparse.Namespace, settings: Settings) -> int:
    """Run a trend view; print rows or JSON, and optionally write a plot."""
    from whichmodel.trends.plots import save_plot
    from whichmodel.trends.views import TrendParams, run_view

    params = TrendParams(
        start=args.start, end=args.end, unit=args.unit, top=args.top, types=args.type or [], archs=args.arch or [],
        authors=args.author or [], model=args.model, board=args.board, include_flagged=args.include_flagged,
        window_days=args.window, metric=args.metric,
    )  # fmt: skip
    try:
        result = run_view(_engine(settings), args.view, params)
    except (ValueError, LookupError) as err:
        _say(f"error: {err}")
        if args.json:
            _emit({"error": str(err), "view": args.view})
        return EXIT_UNKNOWN if isinstance(err, LookupError) else EXIT_BELOW
    if args.plot:
        try:
            _say(f"plot written to {save_plot(result, args.plot)}")
        except ValueError as err:
            _say(f"error: {err}")
            return EXIT_BELOW
    if args.json:
        _emit(result)
        return EXIT_OK
    rows = result["rows"]
    if not rows:
        print(f"{args.view}: no rows (is the leaderboard or snapshot data ingested?)")
        return EXIT_OK
    keys = list(rows[0])
    widths = {k: min(40, max(len(k), *(len(str(r.get(k))) for r in rows))) for k in keys}
    print("  ".join(k.ljust(widths[k]) for k in keys))
    for r in rows[: args.max_rows]:
        print("  ".join(str(r.get(k))[: widths[k]].ljust(widths[k]) for k in keys))
    if len(rows) > args.max_rows:
        print(f"... {len(rows) - args.max_rows} more rows (use --json for all)")
    return EXIT_OK


# ---------------------------------------------------------------------------------------------------- admin
def cmd_rescore(args: argparse.Namespace, settings: Settings) -> int:
    """Recompute every stored score with the current method and database context."""
    from whichmodel.store.ingest import mark_for_rescore

    engine = _engine(settings)
    marked = mark_for_rescore(engine)
    scored = _score(engine, settings, "rescoring")
    if args.json:
        _emit({"marked": marked, "scored": scored})
    else:
        _say(f"rescored {scored} of {marked} observation(s)")
    return EXIT_OK


def cmd_status(args: argparse.Namespace, settings: Settings) -> int:
    """What is in the database."""
    from whichmodel.scoring.method import load_method
    from whichmodel.store.ingest import close_abandoned_runs
    from whichmodel.store.queries import data_status

    engine = _engine(settings)
    close_abandoned_runs(engine)
    status = data_status(engine)
    method = load_method()
    status |= {
        "home": str(settings.home),
        "database": settings.effective_database_url.split("@")[-1],
        "method_version": method.version,
        "weights_hash": method.weights_hash,
    }
    if args.json:
        _emit(status)
        return EXIT_OK
    print(f"data directory {status['home']}; method {method.version} ({method.weights_hash[:12]})")
    print(f"{status['models']} models, {status['observations']} observations, {status['scored_models']} scored")
    for run in status["ingest_runs"]:
        print(
            f"  {run['observed_at'][:10]} {run['kind']:<8} {run['status']:<9} +{run['new_models']} new, "
            f"{run['new_observations']} updated, {run['skipped']} skipped  {run['source']}"
        )
    return EXIT_OK


# ---------------------------------------------------------------------------------------------------- parser
def build_parser() -> argparse.ArgumentParser:
    """The argument parser (kept separate so tests and docs can inspect it)."""
    from whichmodel.trends.leaderboard import FAMILIES, TYPES
    from whichmodel.trends.views import VIEWS

    parser = argparse.ArgumentParser(prog="whichmodel", description="Which Hugging Face model, and can I trust it?")
    parser.add_argument("--home", type=Path, help="data directory (default: $WHICHMODEL_HOME or ~/.whichmodel)")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("ingest", help="store and score models from snapshot folders or the live Hub")
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument("--snapshot", nargs="+", metavar="DIR", help="snapshot folder(s); ingested in date order")
    source.add_argument("--hub", action="store_true", help="list models from the live Hub")
    source.add_argument("--leaderboard", nargs="+", metavar="FILE", help="Open LLM Leaderboard CSV export(s)")
    p.add_argument("--limit", type=int, default=100, help="with --hub: how many models (default 100)")
    p.add_argument("--task", help="with --hub: only this pipeline tag")
    p.add_argument("--no-cards", action="store_true", help="skip embedding model cards for search")
    p.add_argument("--cards-later", action="store_true",
                   help="store and score now; embed cards later (`whichmodel ui` does it in the background)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_ingest)

    p = sub.add_parser("score", help="a model's score card (fetched from the Hub when absent)")
    p.add_argument("model_id")
    p.add_argument("--no-fetch", action="store_true", help="answer from the database only")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_score)

    p = sub.add_parser("search", help="filter and rank scored models")
    p.add_argument("--task", help="pipeline tag, e.g. text-generation")
    size = p.add_mutually_exclusive_group()
    size.add_argument("--size", help="nominal size class, e.g. 7B")
    size.add_argument("--min-params", type=int, help="at least N parameters")
    p.add_argument("--max-params", type=int, help="at most N parameters")
    p.add_argument("--license-class", choices=LICENSE_CLASSES)
    p.add_argument("--chat", action="store_true", help="only chat-capable models")
    p.add_argument("--no-gated", action="store_true", help="leave out gated models")
    p.add_argument("--min-score", action="append", type=_min_score, metavar="CATEGORY=N")
    p.add_argument(
        "--sort",
        default="overall",
        choices=[
            "overall",
            "popularity",
            "activity",
            "operational",
            "security",
            "quality",
            "downloads",
            "likes",
        ],
    )
    p.add_argument("--limit", type=int, default=10)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_search)

    p = sub.add_parser("check", help="CI gate: exit 0 if the score meets the bar, 2 if not")
    p.add_argument("model_id")
    p.add_argument("--min-score", type=float, required=True)
    p.add_argument("--category", choices=["overall", "popularity", "activity", "operational", "security", "quality"])
    p.add_argument("--no-fetch", action="store_true")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_check)

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
    p.set_defaults(func=cmd_ui)

    p = sub.add_parser("trends", help="leaderboard trend views, score history, movers and alerts")
    p.add_argument("view", choices=list(VIEWS))
    p.add_argument("--from", dest="start", metavar="DATE", help="start date, YYYY-MM-DD (inclusive)")
    p.add_argument("--to", dest="end", metavar="DATE", help="end date, YYYY-MM-DD (inclusive)")
    p.add_argument("--unit", default="month", choices=["day", "week", "month"])
    p.add_argument("--top", type=int, default=10, help="authors: how many; movers: gains and drops each")
    p.add_argument("--type", action="append", choices=TYPES)
    p.add_argument("--arch", action="append", choices=FAMILIES)
    p.add_argument("--author", action="append")
    p.add_argument("--model", help="history/alerts: a model id; base-models: a base name such as Mistral-7B")
    p.add_argument("--board", default="v1", choices=["v1", "v2"], help="leaderboard version (default v1)")
    p.add_argument("--include-flagged", action="store_true", help="keep rows the leaderboard flagged")
    p.add_argument("--window", type=int, default=30, help="releases: days before and after each release")
    p.add_argument("--metric", default="downloads", help="movers: downloads, likes or a score category")
    p.add_argument("--plot", metavar="FILE", help="also write a plot: FILE.png or FILE.html")
    p.add_argument("--max-rows", type=int, default=40, help=argparse.SUPPRESS)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_trends)

    p = sub.add_parser("rescore", help="recompute all stored scores with the current method")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_rescore)

    p = sub.add_parser("status", help="what is in the database")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_status)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `whichmodel` console script."""
    args = build_parser().parse_args(argv)
    settings = Settings.from_env(home=args.home)
    from whichmodel.store.db import SchemaMismatch
    from whichmodel.store.lock import LockTimeout, data_lock

    writes = args.func in (cmd_ingest, cmd_rescore)  # one writer per data directory
    try:
        with (
            data_lock(settings.home, say=_say) if writes else contextlib.nullcontext(),
            contextlib.redirect_stdout(TerminalWriter(sys.stdout)),  # third-party text reaches a terminal
        ):
            return args.func(args, settings)
    except (SchemaMismatch, LockTimeout) as err:
        _say(f"error: {err}")
        return EXIT_FAIL
    except KeyboardInterrupt:
        _say("interrupted; every finished batch is stored, re-run to complete")
        return EXIT_FAIL


if __name__ == "__main__":
    sys.exit(main())
