"""Commands about models: `score`, `check` (a CI gate), `compare` and `search`."""

from __future__ import annotations

import argparse
import math
import re

from whichmodel.cli.common import EXIT_BELOW, EXIT_OK, emit, fail, fmt, say, services
from whichmodel.config import Settings
from whichmodel.hub.licenses import COMMERCIAL_VALUES
from whichmodel.usecases.base import LICENSE_CLASSES, SCORE_NAMES, SORT_KEYS

COMMERCIAL_FILTERS = ("allowed", *COMMERCIAL_VALUES)  # store.queries.COMMERCIAL_FILTERS, without importing the store


def register(sub) -> None:
    """Add `score`, `search`, `check` and `compare`."""
    p = sub.add_parser("score", help="a model's score card (fetched from the Hub when absent)")
    p.add_argument("model_id")
    p.add_argument("--no-fetch", action="store_true", help="answer from the database only")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_score)

    p = sub.add_parser("search", help="filter and rank scored models")
    p.add_argument("--task", help="pipeline tag, e.g. text-generation")
    size = p.add_mutually_exclusive_group()
    size.add_argument("--size", help="nominal size class, e.g. 7B")
    size.add_argument("--min-params", type=_param_count, metavar="N", help="at least N parameters: 1.5B, 500M, 9e9")
    p.add_argument("--max-params", type=_param_count, metavar="N", help="at most N parameters: 9B, 500M, 9e9")
    p.add_argument("--license-class", choices=LICENSE_CLASSES)
    p.add_argument("--license", metavar="ID", help="an exact license id as the Hub writes it, e.g. cc-by-nc-4.0")
    p.add_argument("--author", metavar="ORG", help="a Hub author or organisation, e.g. TheBloke (any case)")
    p.add_argument("--not-author", action="append", metavar="ORG", help="leave out this author's models (repeatable)")
    p.add_argument("--created-after", metavar="YYYY-MM-DD", help="created on the Hub on or after this day")
    p.add_argument("--created-before", metavar="YYYY-MM-DD", help="created on the Hub before this day")
    p.add_argument("--updated-after", metavar="YYYY-MM-DD", help="last changed on the Hub on or after this day")
    p.add_argument("--updated-before", metavar="YYYY-MM-DD", help="last changed on the Hub before this day")
    p.add_argument("--commercial", nargs="?", const="allowed", choices=COMMERCIAL_FILTERS, metavar="ANSWER",
                   help="commercial use the license allows: alone, yes with or without conditions; or one of "
                   f"{', '.join(COMMERCIAL_FILTERS[1:])}")  # fmt: skip
    p.add_argument("--chat", action="store_true", help="only chat-capable models")
    p.add_argument("--no-gated", action="store_true", help="leave out gated models")
    p.add_argument("--gated", action="store_true", help="only gated models (access needs approval)")
    p.add_argument("--include-no-weights", action="store_true",
                   help="keep repos without weight files (README/config only), left out by default")
    p.add_argument("--min-score", action="append", type=_min_score, metavar="CATEGORY=N")
    p.add_argument("--sort", default="overall", choices=SORT_KEYS)
    p.add_argument("--any-task", action="append", metavar="TAG", help="pipeline tag, any of several (repeatable)")
    p.add_argument("--topic", action="append", metavar="WORD", help="Hub tag or repo-name word, any of (repeatable)")
    p.add_argument("--format", action="append", metavar="KIND", dest="formats", type=str.lower,
                   help="weight files in this format, any of (repeatable): gguf, ggml, onnx, safetensors, pickle ...; "
                   "the kinds of hub/formats.py")  # fmt: skip
    p.add_argument("--base", metavar="MODEL", help="only descendants of MODEL through base_model links (lineage)")
    p.add_argument("--relation", choices=["finetune", "adapter", "merge", "quantized"], help="with --base: link kind")
    p.add_argument("--language", metavar="CODE", help="ISO 639-1 code from card data or Hub tags, e.g. ko")
    p.add_argument("--finding", action="append", metavar="CHECK=OUTCOME", help="e.g. typosquatting=fail (repeatable)")
    p.add_argument("--min-downloads", type=int, metavar="N", help="at least N downloads (30-day count)")
    p.add_argument("--max-memory-gb", type=float, metavar="GB",
                   help="weights fit GB at --precision with 20%% margin; unknown sizes left out")  # fmt: skip
    p.add_argument("--precision", default="fp16", choices=["fp32", "fp16", "int8", "int4"],
                   help="for --max-memory-gb (default fp16: 2 bytes per parameter)")  # fmt: skip
    p.add_argument("--limit", type=int, default=10)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_search)

    p = sub.add_parser("check", help="CI gate: exit 0 if the score meets the bar, 2 if not")
    p.add_argument("model_id")
    p.add_argument("--min-score", type=_bar, required=True, metavar="N|CATEGORY=N",
                   help="the bar, 0-10: '8' (overall, or --category) or 'security=8'")  # fmt: skip
    p.add_argument("--category", choices=SCORE_NAMES)
    p.add_argument("--no-fetch", action="store_true")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_check)

    p = sub.add_parser("compare", help="two to four models side by side: a verdict per category, what differs")
    p.add_argument("models", nargs="+", metavar="MODEL", help="2 to 4 ids (or bare names, said how they resolved)")
    p.add_argument("--top", type=int, default=8, help="how many deciding differences to show (default 8)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_compare)


def _min_score(text: str) -> tuple[str, float]:
    key, sep, value = text.partition("=")
    try:
        if not sep:
            raise ValueError
        return key.strip(), float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected CATEGORY=N, got {text!r}") from None


_SCALE = {"k": 1e3, "m": 1e6, "b": 1e9, "t": 1e12}


def _param_count(text: str) -> int:
    """A parameter count as people write it: 9B, 1.5b, 500M, 350k, 9e9, 7_000_000_000, 7,000,000,000."""
    cleaned = text.strip().replace(",", "").replace("_", "").replace(" ", "").lower()
    scale = _SCALE.get(cleaned[-1:], 1.0)
    number = cleaned[:-1] if cleaned[-1:] in _SCALE else cleaned
    try:
        value = float(number) * scale
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value < 0 or not re.fullmatch(r"[\d.e+]+", number):
        raise argparse.ArgumentTypeError(f"expected a parameter count such as 9B, 1.5B, 500M or 9e9, got {text!r}")
    return round(value)


def _bar(text: str) -> tuple[str | None, float]:
    """`check --min-score`: 'N' (the category comes from --category, else overall) or 'CATEGORY=N'."""
    if "=" in text:
        return _min_score(text)
    try:
        return None, float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected N or CATEGORY=N (e.g. 8 or security=8), got {text!r}") from None


def _card(args: argparse.Namespace, settings: Settings):
    """The score card the command names: the id as typed (any case), fetched from the Hub when absent."""
    from whichmodel.usecases.models import score_card

    return score_card(services(settings), args.model_id, fetch=not args.no_fetch, strict=True)


def cmd_score(args: argparse.Namespace, settings: Settings) -> int:
    """Show a model's score card."""
    from whichmodel.usecases.base import UseCaseError

    try:
        card = _card(args, settings).to_dict()
    except UseCaseError as err:
        return fail(args, err, model_id=args.model_id)
    if args.json:
        emit(card)
        return EXIT_OK
    print(f"{card['model_id']}  overall {fmt(card['overall'])}/10  (coverage {card['coverage']:.0%}, "
          f"observed {card['observed_at']}, method {card['method_version']})")  # fmt: skip
    facts = card.get("facts") or {}
    size = facts.get("size_class") or "n/a"
    if facts.get("size_named") and facts["size_named"] != facts.get("size_class"):
        size += f" (name says {facts['size_named']})"
    commercial = facts.get("commercial_use") or "n/a"
    if facts.get("commercial_conditions"):
        commercial += f": {facts['commercial_conditions']}"
    print(f"  size {size}; license {facts.get('license') or 'none declared'} "
          f"({facts.get('license_class_effective') or facts.get('license_class') or 'n/a'}); "
          f"commercial use {commercial}")
    for name, cat in card["categories"].items():
        print(f"\n  {name:<12} {fmt(cat['score']):>4}/10  coverage {cat['coverage']:.0%}")
        for f in cat["findings"]:
            pts = "  -  " if f["points"] is None else f"{f['points']:g}/{f['max_points']:g}"
            print(f"    {f['outcome']:<15} {f['check']:<22} {pts:>7}  {f['reason']}")
            if f["remediation"] and f["outcome"] == "fail":
                print(f"    {'':<15} {'':<22} {'':>7}  fix: {f['remediation']}")
    return EXIT_OK


def cmd_check(args: argparse.Namespace, settings: Settings) -> int:
    """Gate: exit 0 when the score meets the bar, 2 when it does not (or when the bar is not a 0-10 score)."""
    from whichmodel.usecases.base import BadRequest, UseCaseError

    named, bar = args.min_score
    category = named or args.category or "overall"
    problem = None
    if named is not None and args.category is not None and named != args.category:
        problem = f"--min-score names {named!r} but --category says {args.category!r}: give one category"
    elif category not in SCORE_NAMES:
        problem = f"category must be one of {', '.join(SCORE_NAMES)}, not {category!r}"
    elif not 0 <= bar <= 10:  # a bar no score can meet (or every score meets) is a mistake, not a verdict
        problem = f"--min-score must be a score between 0 and 10, not {bar:g}"
    if problem:  # a usage error: exit 2 as for a failed gate, and `passed` stays false for a CI reading JSON
        return fail(args, BadRequest(problem), model_id=args.model_id, passed=False)
    try:
        card = _card(args, settings).card
    except UseCaseError as err:
        return fail(args, err, model_id=args.model_id)
    score = card.overall if category == "overall" else card.categories[category].score
    meets = score is not None and score >= bar
    if args.json:
        emit({"model_id": card.model_id, "category": category, "score": score, "min_score": bar,
              "passed": meets})  # fmt: skip
    else:
        verdict = "meets" if meets else "does not meet"
        message = f"{card.model_id}: {category} {fmt(score)} {verdict} the bar {bar:g}"
        print(message + (" (score not available: too little data)" if score is None else ""))
    return EXIT_OK if meets else EXIT_BELOW


def cmd_compare(args: argparse.Namespace, settings: Settings) -> int:
    """Compare two to four models: scores with coverage per category, the leader or a tie, what differs."""
    from whichmodel.usecases.base import UseCaseError
    from whichmodel.usecases.models import compare

    try:
        found = compare(services(settings), args.models, top=max(1, args.top))
    except UseCaseError as err:
        return fail(args, err, models=list(args.models))
    if args.json:
        emit(found.to_dict())
        return EXIT_OK
    for note in found.notes:  # a bare name: which repo it was taken to mean
        print(note)
    width = max(14, *(len(m) for m in found.models))
    print(f"  {'category':<12} " + " ".join(f"{m[:width]:>{width}}" for m in found.models) + "  leader")
    for name, verdict in found.verdicts.items():
        cells = []
        for m in found.models:
            coverage = found.coverage[name][m]
            shown = fmt(verdict.scores[m]) + ("" if coverage is None else f" ({coverage:.0%})")
            cells.append(f"{shown:>{width}}")
        leader = {"lead": verdict.leader, "tie": "tie: " + ", ".join(verdict.leaders)}.get(verdict.outcome, "n/a")
        print(f"  {name:<12} " + " ".join(cells) + f"  {leader}")
    if found.differences:
        print("\nWhere they differ (largest weighted gap first):")
        for d in found.differences:
            outcomes = "; ".join(f"{m}: {v['outcome']}" for m, v in d.by_model.items())
            print(f"  {d.check} ({d.category}): {outcomes}")
    return EXIT_OK


def cmd_search(args: argparse.Namespace, settings: Settings) -> int:
    """Filter and rank models."""
    from whichmodel.store.models import RANK_COLUMNS
    from whichmodel.store.queries import SearchFilters
    from whichmodel.usecases.base import UseCaseError
    from whichmodel.usecases.search import search

    filters = SearchFilters(
        task=args.task, size=args.size, min_params=args.min_params, max_params=args.max_params,
        license_class=args.license_class, chat=True if args.chat else None, exclude_gated=args.no_gated,
        gated_only=args.gated,
        min_scores=dict(args.min_score or []), sort=args.sort, limit=args.limit,
        include_no_weights=args.include_no_weights,
        tasks=list(args.any_task or []), topics=list(args.topic or []), base=args.base, relation=args.relation,
        language=args.language.lower() if args.language else None, findings=list(args.finding or []),
        min_downloads=args.min_downloads, max_memory_gb=args.max_memory_gb, precision=args.precision,
        commercial=args.commercial, license=args.license.lower() if args.license else None,
        author=args.author, created_after=args.created_after, created_before=args.created_before,
        exclude_authors=list(args.not_author or []),
        updated_after=args.updated_after, updated_before=args.updated_before, formats=list(args.formats or []),
    )  # fmt: skip
    try:
        if filters.author:  # as stored ('thebloke' is TheBloke); an unknown one is kept and matches nothing
            from whichmodel.usecases.models import stored_author

            filters.author = stored_author(services(settings), filters.author) or filters.author
        if filters.exclude_authors:
            from whichmodel.usecases.models import stored_author

            svc = services(settings)
            filters.exclude_authors = [stored_author(svc, a) or a for a in filters.exclude_authors]
        if filters.base:  # a name ('deepseek-r1') becomes the stored id its descendants link to
            from whichmodel.usecases.models import resolve

            base = resolve(services(settings), filters.base, bases=True)
            if base.model_id is None:  # kept as typed (matches nothing), never replaced by a close id
                say(f"note: base {filters.base!r} is neither a stored model nor a base stored models name"
                    f"{base.did_you_mean()}")  # fmt: skip
            elif base.how not in ("exact", "case"):
                say(f"note: --base {filters.base!r} resolved to {base.model_id}")
            filters.base = base.model_id or filters.base
        found = search(services(settings), filters)
    except UseCaseError as err:
        return fail(args, err)
    if args.json:
        emit(found.to_dict())
        return EXIT_OK
    left_out = found.left_out_no_weights
    note = f" ({left_out} repo(s) without weight files left out; --include-no-weights shows them)" if left_out else ""
    ranked = args.sort in SCORE_NAMES
    order = f"{args.sort} rank (coverage-adjusted, column 'rank')" if ranked else args.sort
    print(f"{found.total_matched} model(s) matched; top {len(found.rows)} by {order}{note}:")
    if ranked:
        print("  rank = coverage x score + (1 - coverage) x 5: a score read from few checks counts for less, so "
              "the raw scores shown need not be in order")  # fmt: skip
    dated, column = {"newest": ("created", "created_at"), "oldest": ("created", "created_at"),
                     "updated": ("last commit", "last_modified")}.get(args.sort, (None, None))  # fmt: skip
    head = f"{'rank':>5} " if ranked else ""
    scores = f"{'overall':>7} {'pop':>5} {'act':>5} {'ops':>5} {'sec':>5} {'qual':>5}"
    print(f"  {'model':<52} {head}{scores}  size  license")
    for r in found.rows:
        rank = f"{r.get(RANK_COLUMNS[args.sort]) or 0:>5.2f} " if ranked else ""
        commercial = f" (commercial: {r['commercial_use']})" if r.get("commercial_use") else ""
        print(f"  {r['model_id'][:52]:<52} {rank}{fmt(r['overall']):>7} {fmt(r['popularity']):>5} "
              f"{fmt(r['activity']):>5} {fmt(r['operational']):>5} {fmt(r['security']):>5} "
              f"{fmt(r['quality']):>5}  {r['size_class'] or '-':<5} {r['license'] or '-'}{commercial}"
              f"  (coverage {fmt(r['coverage'])})"
              + (f"  {dated}: {(r.get(column) or '-')[:10]}" if dated else "")
              + (f"  [{r['license_conflict']}]" if r.get("license_conflict") else ""))  # fmt: skip
    return EXIT_OK
