"""Getting data in and knowing what is there: fetch-and-score one model, ingest the live Hub, rescore, status."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from whichmodel.usecases.base import BadRequest, HubFailed, Services, UnknownModel

if TYPE_CHECKING:
    from whichmodel.store.ingest import IngestSummary
    from whichmodel.usecases.models import ModelCard

Progress = Callable[[int], None] | None


def fetch_and_score(services: Services, model_id: str) -> ModelCard:
    """Fetch one model from the Hub (record, card and a scan of its files), store and score it; its score card.

    Raises `HubFailed` when the Hub will not give it (unreachable, missing, gated), or when this deployment
    turned fetching off (`Settings.hub_fetch`, WHICHMODEL_HUB_FETCH=false: read-only, offline answers).
    """
    from whichmodel.hub.client import HubClient, HubError
    from whichmodel.hub.scan import fetch_scanned
    from whichmodel.hub.snapshot import Parsed
    from whichmodel.hub.validate import repo_id_problem
    from whichmodel.store.ingest import ingest_items, score_pending
    from whichmodel.usecases.models import Resolved, load_card

    if not services.settings.hub_fetch:  # checked here, so every door (tools, CLI, UI) honours it
        raise HubFailed("fetching from the Hub is turned off here (WHICHMODEL_HUB_FETCH=false)")
    if "/" not in model_id:
        raise BadRequest(f"fetching from the Hub needs a full id such as 'org/name', not {model_id!r}")
    problem = repo_id_problem(model_id)  # by the Hub's own rules, before any request; exit 4 as for any unknown id
    if problem:
        raise UnknownModel(f"{model_id!r} is not a Hugging Face repo id: {problem}", model_id)
    try:
        facts, card = fetch_scanned(HubClient(services.settings), model_id)
    except HubError as err:
        raise HubFailed(f"Could not fetch {model_id} from the Hub: {err}") from err
    ingest_items(services.engine, [Parsed(1, facts, card)], source=f"hub:{model_id}", kind="model",
                 observed_at=facts.observed_at, batch_size=1)  # fmt: skip
    score_pending(services.engine, batch_size=services.settings.batch_size)
    return load_card(services, facts.id, Resolved(model_id, facts.id, "fetched", [facts.id]))


@dataclass
class HubIngest:
    """One live-Hub ingest: its summary, and the error that stopped it early (what came before is stored)."""

    summary: IngestSummary
    error: str | None = None


def ingest_hub(services: Services, limit: int | None = 100, task: str | None = None, with_cards: bool = True,
               progress: Progress = None) -> HubIngest:  # fmt: skip
    """Stream models from the live Hub into the store (scoring is `score_pending`'s, run after)."""
    from whichmodel.hub.client import HubClient
    from whichmodel.store.ingest import IngestInterrupted, ingest_items, now_iso

    settings = services.settings
    observed = now_iso()
    records = HubClient(settings).iter_parsed(limit=limit, task=task, with_cards=with_cards, observed_at=observed)
    try:
        summary = ingest_items(
            services.engine, records, source=settings.hf_endpoint or "hub", kind="hub", observed_at=observed,
            batch_size=min(settings.batch_size, 50), progress=progress,
        )  # fmt: skip
    except IngestInterrupted as err:
        return HubIngest(err.summary, f"{err.__cause__}; {err.summary.parsed} model(s) fetched before it are stored")
    return HubIngest(summary)


@dataclass(frozen=True)
class Rescore:
    """How many observations were marked for rescoring (0 for a plain scoring pass), and how many were scored."""

    marked: int
    scored: int

    def to_dict(self) -> dict[str, int]:
        """The CLI's `rescore --json` shape."""
        return asdict(self)


# Observations per scoring batch at most: a worker holds a batch's facts and findings decoded, and this
# process one batch per worker in flight (2000 took the ingest's peak from 180 to 330 MB at 100k models;
# 1000, with 1000-record ingest batches, 256 MB, and the day-2 time of 2000).
SCORING_BATCH = 1000


def score(services: Services, progress: Progress = None, planned: Progress = None, marked: int = 0) -> Rescore:
    """Score every observation not yet scored under the current method (in worker processes where it can).

    `planned` gets how many will be scored before scoring starts, `progress` each batch's count.
    """
    from whichmodel.store.ingest import score_pending

    settings = services.settings
    scored = score_pending(services.engine, batch_size=min(settings.batch_size, SCORING_BATCH), progress=progress,
                           planned=planned, workers=settings.workers or None)  # fmt: skip
    return Rescore(marked, scored)


def start_card_sync(services: Services):
    """Bring the card index up to date in a background thread; returns its progress (`status` shows it too).

    Another process syncing the same data directory is not waited for: the progress then holds the error.
    """
    from whichmodel.store.vectors import start_background_sync

    return start_background_sync(services.settings.home, lambda: services.cards, services.engine)


def rescore(services: Services, progress: Progress = None, planned: Progress = None) -> Rescore:
    """Recompute every stored score with the current method and database context."""
    from whichmodel.store.ingest import mark_for_rescore

    return score(services, progress, planned, marked=mark_for_rescore(services.engine))


@dataclass
class Status:
    """What is in the database and under which method; with `detail`, leaderboard and card-index counts too."""

    counts: dict[str, Any]
    home: str
    database: str
    method_version: str
    weights_hash: str
    detail: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The CLI's `status --json` shape (plus the detail keys when asked for)."""
        return self.counts | {"home": self.home, "database": self.database, "method_version": self.method_version,
                              "weights_hash": self.weights_hash} | self.detail  # fmt: skip


def status(services: Services, detail: bool = False) -> Status:
    """What is ingested. Runs whose process died are marked interrupted first, so none shows as running."""
    from whichmodel.scoring.method import load_method
    from whichmodel.store.ingest import close_abandoned_runs
    from whichmodel.store.queries import data_status

    close_abandoned_runs(services.engine)
    method = load_method()
    settings = services.settings
    extra: dict[str, Any] = {}
    if detail:
        from sqlalchemy import func, select
        from whichmodel.store.models import LeaderboardRow

        with services.engine.connect() as conn:
            extra["leaderboard_rows"] = conn.execute(select(func.count()).select_from(LeaderboardRow)).scalar_one()
            extra["leaderboard_files"] = list(conn.execute(select(LeaderboardRow.source).distinct()).scalars())
        from whichmodel.store.vectors import background_sync

        if sync := background_sync(settings.home):  # this process's background embedding (the UI's)
            extra["card_sync"] = sync.describe()
        try:
            extra["card_chunks"] = services.cards.count()
        except Exception as err:  # the rest of the status still shows, with why cards are missing
            extra["card_chunks"] = 0
            extra["card_error"] = f"{err.__class__.__name__}: {err}"
    database = settings.effective_database_url.split("@")[-1]  # never a password
    return Status(data_status(services.engine), str(settings.home), database, method.version, method.weights_hash,
                  extra)  # fmt: skip
