"""What every command shares: exit codes, one JSON document on stdout, messages and progress on stderr."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from whichmodel.cli.safe_output import clean, strict_json

EXIT_OK, EXIT_FAIL, EXIT_BELOW, EXIT_PARTIAL, EXIT_UNKNOWN = 0, 1, 2, 3, 4
# A use case's expected failure, by `UseCaseError.code` -> the exit code the CLI contract gives it.
EXIT_BY_ERROR = {"unknown_model": EXIT_UNKNOWN, "not_scored": EXIT_UNKNOWN, "bad_request": EXIT_BELOW}


def emit(data: Any) -> None:
    """Print exactly one JSON document on stdout (strict: a non-finite number is null, see `strict_json`)."""
    sys.stdout.write(strict_json(data, indent=2) + "\n")


def say(message: str) -> None:
    """A message for the terminal (stderr, so stdout stays one JSON document), control sequences removed."""
    sys.stderr.write(clean(message) + "\n")


def fail(args: argparse.Namespace, err: Exception | str, **extra: Any) -> int:
    """Report an expected failure (stderr, and the error JSON with --json); returns its exit code."""
    say(f"error: {err}")
    if getattr(args, "json", False):
        emit({"error": str(err), **extra})
    return EXIT_BY_ERROR.get(getattr(err, "code", ""), EXIT_FAIL)


def progress(desc: str, total: int | None = None):
    """A tqdm bar on a terminal; count, rate and ETA lines when stderr is a pipe or file. Returns (update, close)."""
    from whichmodel.cli.progress import reporter

    bar = reporter(desc, total)
    return bar.update, bar.close


def fmt(value: float | None) -> str:
    """A score with one decimal, or n/a."""
    return "n/a" if value is None else f"{value:.1f}"


def services(settings):
    """The use cases' services over the database the settings point at."""
    from whichmodel.usecases.base import Services

    return Services.from_settings(settings)
