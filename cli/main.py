"""`whichmodel`: the command line. Its `--json` shapes and exit codes are a contract other tools rely on.

Exit codes: 0 success; 1 failure; 2 usage error, or (for `check`) score below the bar; 3 ingest stored
some records and skipped others; 4 unknown model.
With `--json`, stdout carries exactly one JSON document; progress and messages go to stderr.

Each command group lives in its own module and registers its subcommands; a command imports the heavy
rooms (the store, the agent, Gradio, Chroma, trends) only when it runs, so `whichmodel --help` stays fast.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from pathlib import Path

from whichmodel.cli import agent, cards, data, models, trends
from whichmodel.cli.common import EXIT_FAIL, say
from whichmodel.cli.safe_output import TerminalWriter
from whichmodel.config import Settings

GROUPS = (data, models, cards, agent, trends)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (kept separate so tests and docs can inspect it)."""
    parser = argparse.ArgumentParser(prog="whichmodel", description="Which Hugging Face model, and can I trust it?")
    parser.add_argument("--home", type=Path, help="data directory (default: $WHICHMODEL_HOME or ~/.whichmodel)")
    sub = parser.add_subparsers(dest="command", required=True)
    for group in GROUPS:
        group.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `whichmodel` console script."""
    args = build_parser().parse_args(argv)
    settings = Settings.from_env(home=args.home)
    from whichmodel.store.lock import LockTimeout, data_lock

    writes = getattr(args, "writes", False)  # ingest and rescore: one writer per data directory
    # Third-party text reaches a terminal through the cleaning writer; a protocol stream (`mcp` over stdio)
    # owns stdout's bytes and is left alone.
    protocol = getattr(args, "protocol_stdout", False)
    try:
        with (
            data_lock(settings.home, say=say) if writes else contextlib.nullcontext(),
            contextlib.nullcontext() if protocol else contextlib.redirect_stdout(TerminalWriter(sys.stdout)),
        ):
            return args.func(args, settings)
    except LockTimeout as err:
        say(f"error: {err}")
        return EXIT_FAIL
    except KeyboardInterrupt:
        say("interrupted; every finished batch is stored, re-run to complete")
        return EXIT_FAIL
    except BrokenPipeError:  # `whichmodel search | head`: the reader left; no traceback, and none at exit
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_FAIL
    except Exception as err:
        from whichmodel.store.db import SchemaMismatch

        if isinstance(err, SchemaMismatch):
            say(f"error: {err}")
            return EXIT_FAIL
        if os.environ.get("WHICHMODEL_DEBUG"):
            raise
        # A bug, not the user's input: one line, never a traceback (WHICHMODEL_DEBUG=1 shows it).
        say(f"error: internal error ({type(err).__name__}: {str(err)[:200]}); nothing was changed by this "
            "command's failed step. Re-run with WHICHMODEL_DEBUG=1 for the traceback and report it.")
        return EXIT_FAIL


if __name__ == "__main__":
    sys.exit(main())
