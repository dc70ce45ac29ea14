"""The `trends` command: leaderboard trend views, score history, movers and alerts."""

from __future__ import annotations

import argparse

from whichmodel.cli.common import EXIT_BELOW, EXIT_OK, emit, fail, say, services
from whichmodel.config import Settings
from whichmodel.trends.names import FAMILIES, TYPES, UNITS, VIEW_NAMES


def register(sub) -> None:
    """Add `trends`."""
    p = sub.add_parser("trends", help="leaderboard trend views, score history, movers and alerts")
    p.add_argument("view", choices=VIEW_NAMES)
    p.add_argument("--from", dest="start", metavar="DATE", help="start date, YYYY-MM-DD (inclusive)")
    p.add_argument("--to", dest="end", metavar="DATE", help="end date, YYYY-MM-DD (inclusive)")
    p.add_argument("--unit", default="month", choices=UNITS)
    p.add_argument("--top", type=int, default=10, help="authors: how many; movers: gains and drops each")
    p.add_argument("--type", action="append", choices=TYPES)
    p.add_argument("--arch", action="append", choices=FAMILIES)
    p.add_argument("--author", action="append")
    p.add_argument("--model", help="history/alerts: a model id; base-models: a base name such as Mistral-7B")
    p.add_argument("--board", default="v1", choices=["v1", "v2"], help="leaderboard version (default v1)")
    p.add_argument("--include-flagged", action="store_true", help="keep rows the leaderboard flagged")
    p.add_argument("--window", type=int, default=30, help="releases: days before and after each release")
    p.add_argument("--metric", default="downloads", help="movers: downloads, likes or a score category")
    p.add_argument("--benchmark", help="benchmarks: one benchmark's score instead of the average (gsm8k, mmlu ...)")
    p.add_argument("--plot", metavar="FILE", help="also write a plot: FILE.png or FILE.html")
    p.add_argument("--max-rows", type=int, default=40, help=argparse.SUPPRESS)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_trends)


def cmd_trends(args: argparse.Namespace, settings: Settings) -> int:
    """Run a trend view; print rows or JSON, and optionally write a plot."""
    from whichmodel.trends.views import TrendParams
    from whichmodel.usecases.base import UseCaseError
    from whichmodel.usecases.trends import trend_view

    params = TrendParams(
        start=args.start, end=args.end, unit=args.unit, top=args.top, types=args.type or [], archs=args.arch or [],
        authors=args.author or [], model=args.model, board=args.board, include_flagged=args.include_flagged,
        window_days=args.window, metric=args.metric, benchmark=args.benchmark,
    )  # fmt: skip
    try:
        result = trend_view(services(settings), args.view, params).to_dict()
    except UseCaseError as err:
        return fail(args, err, view=args.view)
    if args.plot:
        from whichmodel.trends.plots import save_plot

        try:
            say(f"plot written to {save_plot(result, args.plot)}")
        except ValueError as err:
            say(f"error: {err}")
            return EXIT_BELOW
    if args.json:
        emit(result)
        return EXIT_OK
    rows = result["rows"]
    notes = [f"note: {n}" for n in result.get("notes", [])]
    if result.get("model"):  # the model the rows are about, and the name typed when that was not its id
        typed = result.get("resolution") or {}
        how = f" (resolved '{typed['query']}')" if typed.get("how") not in (None, "exact", "case") else ""
        print(f"{args.view} of {result['model']}{how}:")
    if not rows:
        hint = "" if notes else " (is the leaderboard or snapshot data ingested?)"
        print(f"{args.view}: no rows{hint}", *notes, sep="\n")
        return EXIT_OK
    keys = list(rows[0])
    widths = {k: min(40, max(len(k), *(len(str(r.get(k))) for r in rows))) for k in keys}
    print("  ".join(k.ljust(widths[k]) for k in keys))
    for r in rows[: args.max_rows]:
        print("  ".join(str(r.get(k))[: widths[k]].ljust(widths[k]) for k in keys))
    if len(rows) > args.max_rows:
        print(f"... {len(rows) - args.max_rows} more rows (use --json for all)")
    for note in notes:
        print(note)
    return EXIT_OK
