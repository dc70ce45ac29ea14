"""What every use case shares: the injected services, the errors a door shows, the one list of each vocabulary."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from whichmodel.config import Settings
from whichmodel.hub.licenses import LICENSE_CLASSES
from whichmodel.scoring.method import CATEGORIES

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

# The one definition of each list the doors offer (choices, tool argument types, table columns).
SCORE_NAMES = ("overall", *CATEGORIES)
# the store's (store.queries.SORT_KEYS)
SORT_KEYS = (*SCORE_NAMES, "downloads", "likes", "largest", "smallest", "newest", "oldest", "updated")
__all__ = ["CATEGORIES", "LICENSE_CLASSES", "SCORE_NAMES", "SORT_KEYS", "Services", "UseCaseError"]


class UseCaseError(Exception):
    """An expected failure, with a message a user can act on. Doors show it; they never show a traceback."""

    code = "failed"

    def to_dict(self) -> dict[str, Any]:
        """The error as JSON: `{"error": message}` plus what the subclass knows."""
        return {"error": str(self)}


class UnknownModel(UseCaseError):
    """A name that resolves to no stored model (and, where fetching was allowed, not on the Hub either)."""

    code = "unknown_model"

    def __init__(self, message: str, query: str, resolution: Any = None):
        super().__init__(message)
        self.query = query
        self.resolution = resolution


class NotScored(UseCaseError):
    """A model whose newest observation has no score yet (ingested, `score_pending` not run)."""

    code = "not_scored"

    def __init__(self, model_ids: list[str]):
        names = ", ".join(model_ids)
        super().__init__(f"{names} {'is' if len(model_ids) == 1 else 'are'} stored but not scored yet; "
                         "run `whichmodel rescore`")  # fmt: skip
        self.model_ids = model_ids


class BadRequest(UseCaseError):
    """Arguments no query can answer (an unknown category, a malformed date, a size that is not a size)."""

    code = "bad_request"


class NoData(UseCaseError):
    """The data the question needs is not ingested (an empty database, no card index, no leaderboard rows)."""

    code = "no_data"


class HubFailed(UseCaseError):
    """The Hub could not give what was asked (unreachable, missing, gated)."""

    code = "hub_failed"


@dataclass
class Services:
    """What use cases need, injected (never exposed to a model): the database, settings and card index."""

    engine: Engine
    settings: Settings
    _cards: Any = field(default=None, repr=False)
    _lock: Any = field(default_factory=threading.Lock, repr=False)

    @classmethod
    def from_settings(cls, settings: Settings) -> Services:
        """Services over the database the settings point at."""
        from whichmodel.store.db import engine_for

        return cls(engine_for(settings), settings)

    @property
    def cards(self):
        """The card index, opened once on first use, even when several requests need it at the same moment."""
        if self._cards is None:
            with self._lock:
                if self._cards is None:
                    from whichmodel.store.vectors import CardIndex

                    self._cards = CardIndex(self.settings)
        return self._cards

    def warm(self) -> None:
        """Start-up work done ahead of the first question: the index that resolves misspelled model names."""
        from whichmodel.store.queries import warm_names

        warm_names(self.engine)
