"""Commands that bring data in and say what is there: `ingest`, `rescore`, `status`."""

from __future__ import annotations

import argparse
from pathlib import Path

from whichmodel.cli.common import EXIT_FAIL, EXIT_OK, EXIT_PARTIAL, emit, fail, progress, say, services
from whichmodel.config import Settings


def register(sub) -> None:
    """Add `ingest`, `rescore` and `status`."""
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
    p.set_defaults(func=cmd_ingest, writes=True)  # `writes`: main holds the data directory's ingest lock

    p = sub.add_parser("rescore", help="recompute all stored scores with the current method")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_rescore, writes=True)

    p = sub.add_parser("status", help="what is in the database")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_status)


def cmd_ingest(args: argparse.Namespace, settings: Settings) -> int:
    """Ingest snapshot folders or the live Hub, then score what is new."""
    from whichmodel.hub.snapshot import SnapshotError, open_snapshot, read_snapshot
    from whichmodel.store.bulk import deferred_search_indexes
    from whichmodel.store.ingest import KnownRecords, ingest_items
    from whichmodel.usecases.data import ingest_hub

    svc = services(settings)
    if args.leaderboard:
        return _ingest_leaderboard(svc.engine, args)
    summaries = []
    failed = False
    # Into an empty database: search indexes built once at the end (store/bulk.py).
    with deferred_search_indexes(svc.engine):
        if args.snapshot:
            try:
                snapshots = sorted((open_snapshot(p) for p in args.snapshot), key=lambda s: s.observed_at)
            except SnapshotError as err:
                return fail(args, err)
            for snap in snapshots:
                update, close = progress(snap.path.name, _snapshot_lines(snap))
                try:
                    # Records are parsed in one forked process per core (in order; here when other threads run);
                    # those the store holds as they are (all but their counters) are not parsed again.
                    records = read_snapshot(snap, with_cards=True, workers=None, known=KnownRecords(svc.engine))
                    summaries.append(ingest_items(
                        svc.engine, records, source=str(snap.path),
                        kind="snapshot", observed_at=snap.observed_at, batch_size=settings.batch_size, progress=update,
                    ))  # fmt: skip
                finally:
                    close()
        else:
            update, close = progress("hub", args.limit)
            try:
                fetched = ingest_hub(svc, limit=args.limit, task=args.task, with_cards=not args.no_cards,
                                     progress=update)  # fmt: skip
            finally:
                close()
            if fetched.error:
                say(f"error: {fetched.error}")
            summaries.append(fetched.summary)
            failed = fetched.error is not None
        scored = _score(svc, "scoring").scored
    cards = None if args.no_cards else _sync_cards(svc, later=args.cards_later)
    skipped = sum(len(s.skipped) for s in summaries)
    if args.json:
        emit({"runs": [s.to_dict() for s in summaries], "scored": scored, "skipped": skipped, "cards": cards})
    else:
        for s in summaries:
            say(f"{s.source} @ {s.observed_at}: {s.parsed} read, {s.new_models} new models, "
                f"{s.new_observations} updated, {s.unchanged} unchanged, {len(s.skipped)} skipped"
                + (f" [{s.status}: {s.error}]" if s.error else ""))  # fmt: skip
            for skip in s.skipped[:20]:
                where = f"line {skip.line}" if skip.line else "record"
                say(f"  skipped {where}{' (' + skip.model_id + ')' if skip.model_id else ''}: {skip.reason}")
            if len(s.skipped) > 20:
                say(f"  ... and {len(s.skipped) - 20} more (see `whichmodel status --json`)")
        say(f"scored {scored} observation(s)")
        if cards and cards.get("deferred"):
            say("cards: not embedded yet; `whichmodel ui` embeds them in the background (or the next ingest)")
        elif cards and "error" not in cards:
            say(f"cards: {cards['chunks_embedded']} chunks embedded, {cards['chunks_unchanged']} unchanged, "
                f"{cards['chunks_removed']} removed ({cards['models']} models with cards)")  # fmt: skip
    if failed:
        return EXIT_FAIL
    return EXIT_PARTIAL if skipped else EXIT_OK


def _snapshot_lines(snap) -> int | None:
    """Records in a snapshot (its lines), the total the progress shows; None when it cannot be read."""
    from whichmodel.cli.progress import count_lines

    try:
        return count_lines(snap.models_path)
    except OSError:
        return None  # the reader reports the missing file


def _score(svc, desc: str, rescore: bool = False):
    """Score what is unscored (everything, with `rescore`), with progress; the use case's result."""
    from whichmodel.cli.progress import reporter
    from whichmodel.usecases.data import rescore as rescore_all
    from whichmodel.usecases.data import score

    bar = reporter(desc)
    try:
        return (rescore_all if rescore else score)(svc, progress=bar.update, planned=bar.set_total)
    finally:
        bar.close()


def _sync_cards(svc, later: bool = False) -> dict:
    """Embed new card chunks and drop stale ones; a missing embedding model is a warning, not a failure.

    With `later`, nothing is embedded now: `whichmodel ui` (in the background) or the next ingest does it.
    """
    from dataclasses import asdict

    from whichmodel.cards.embedding import EmbeddingUnavailable
    from whichmodel.cli.progress import reporter

    if later:
        return {"deferred": True}
    try:
        from whichmodel.store.vectors import SyncBusy

        bar = reporter("embedding cards", unit="chunks")
        try:
            return asdict(svc.cards.sync(svc.engine, progress=bar.update, planned=bar.set_total, say=say))
        except SyncBusy as err:
            say(f"warning: cards not indexed now: {err}; when it is done, run this ingest again to index them")
            return {"error": str(err)}
        finally:
            bar.close()
    except EmbeddingUnavailable as err:
        say(f"warning: cards not indexed: {err}")
        return {"error": str(err)}


def _ingest_leaderboard(engine, args: argparse.Namespace) -> int:
    """Load leaderboard CSVs (files with their own dates first, so the undated scrape can borrow them)."""
    from dataclasses import asdict

    from whichmodel.trends.leaderboard import load_file, order_files

    missing = [p for p in args.leaderboard if not Path(p).is_file()]
    if missing:
        say(f"error: no such file: {', '.join(map(str, missing))}")
        if args.json:
            emit({"error": f"no such file: {missing[0]}"})
        return EXIT_FAIL
    results = []
    for path in order_files([Path(p) for p in args.leaderboard]):
        try:
            results.append(load_file(engine, path))
        except (ValueError, UnicodeDecodeError) as err:
            return fail(args, f"{path}: {err}")
    skipped = sum(len(r.skipped) for r in results)
    if args.json:
        emit({"files": [asdict(r) for r in results], "skipped": skipped})
    else:
        for r in results:
            ignored = f", {len(r.ignored)} ignored (not models)" if r.ignored else ""
            say(f"{r.source} ({r.layout}): {r.rows} rows, {r.inserted} new, {r.unchanged} unchanged, "
                f"{len(r.skipped)} skipped{ignored}")  # fmt: skip
            for s in r.skipped[:10]:
                say(f"  skipped line {s['line']}: {s['reason']}")
    return EXIT_PARTIAL if skipped else EXIT_OK


def cmd_rescore(args: argparse.Namespace, settings: Settings) -> int:
    """Recompute every stored score with the current method and database context."""
    from whichmodel.store.bulk import rebuild

    svc = services(settings)
    rebuild(svc.engine)  # search indexes a first ingest dropped and did not live to rebuild
    done = _score(svc, "rescoring", rescore=True)
    if args.json:
        emit(done.to_dict())
    else:
        say(f"rescored {done.scored} of {done.marked} observation(s)")
    return EXIT_OK


def cmd_status(args: argparse.Namespace, settings: Settings) -> int:
    """What is in the database."""
    from whichmodel.usecases.data import status

    found = status(services(settings)).to_dict()
    if args.json:
        emit(found)
        return EXIT_OK
    print(f"data directory {found['home']}; method {found['method_version']} ({found['weights_hash'][:12]})")
    print(f"{found['models']} models, {found['observations']} observations, {found['scored_models']} scored")
    for run in found["ingest_runs"]:
        print(f"  {run['observed_at'][:10]} {run['kind']:<8} {run['status']:<9} +{run['new_models']} new, "
              f"{run['new_observations']} updated, {run['skipped']} skipped  {run['source']}")  # fmt: skip
    return EXIT_OK
