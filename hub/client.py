"""The live source: huggingface_hub's `HfApi`, with its answers turned back into the wire format.

Errors are mapped once, here, to the few that callers act on: `ModelNotFound`, `ModelGated`,
`HubUnreachable`. 429 and 5xx answers are retried with exponential backoff (honouring Retry-After); a Hub
that cannot be reached at all fails within seconds rather than after minutes of retries.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, is_dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

import httpx2
from huggingface_hub import HfApi, hf_hub_download
from huggingface_hub.errors import (
    GatedRepoError,
    HfHubHTTPError,
    OfflineModeIsEnabled,
    RepositoryNotFoundError,
)
from huggingface_hub.utils import get_session, hf_raise_for_status
from whichmodel.config import Settings
from whichmodel.hub.facts import ModelFacts, RecordError, iso_utc, parse_record
from whichmodel.hub.snapshot import Parsed, Rejected

T = TypeVar("T")

# What list_models is asked to expand: everything the parser reads.
EXPAND = [
    "author",
    "cardData",
    "config",
    "createdAt",
    "disabled",
    "downloads",
    "downloadsAllTime",
    "gated",
    "gguf",
    "lastModified",
    "library_name",
    "likes",
    "model-index",
    "pipeline_tag",
    "private",
    "safetensors",
    "sha",
    "siblings",
    "spaces",
    "tags",
    "transformersInfo",
    "usedStorage",
]
RETRY_STATUS = (429, 500, 502, 503, 504)
DISCUSSION_CAP = 500  # counting stops here; the activity curve saturates well before


class HubError(Exception):
    """Base of the errors the Hub client raises."""


class HubUnreachable(HubError):
    """The Hub could not be reached (offline, DNS, refused, timed out, or kept failing)."""


class ModelNotFound(HubError):
    """No such model on the Hub (or it is private)."""


class ModelGated(HubError):
    """The model is gated and this token has no access to its files."""


def _status(err: HfHubHTTPError) -> int | None:
    response = getattr(err, "response", None)
    return getattr(response, "status_code", None)


def _retry_after(err: HfHubHTTPError) -> float | None:
    response = getattr(err, "response", None)
    value = response.headers.get("Retry-After") if response is not None else None
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


class HubClient:
    """Fetches model records and cards from the Hub as wire-format dicts and `ModelFacts`."""

    def __init__(self, settings: Settings, api: HfApi | None = None, sleep: Callable[[float], None] = time.sleep):
        self.settings = settings
        self.api = api or HfApi(endpoint=settings.hf_endpoint, token=settings.hf_token or None)
        self._sleep = sleep

    def _call(self, what: str, fn: Callable[[], T]) -> T:
        """Run one Hub call with the error mapping and the retry policy."""
        delay = 1.0
        for attempt in range(self.settings.hub_max_retries + 1):
            try:
                return fn()
            except GatedRepoError as err:  # before its base class, RepositoryNotFoundError
                raise ModelGated(f"{what}: gated; request access on the Hub and set HF_TOKEN") from err
            except RepositoryNotFoundError as err:
                raise ModelNotFound(f"{what}: not found on the Hub") from err
            except OfflineModeIsEnabled as err:
                raise HubUnreachable(f"{what}: HF_HUB_OFFLINE is set, the Hub is not contacted") from err
            except (httpx2.ConnectError, httpx2.ConnectTimeout) as err:
                raise HubUnreachable(f"{what}: cannot reach {self.api.endpoint} ({err.__class__.__name__})") from err
            except (httpx2.TimeoutException, httpx2.RemoteProtocolError, httpx2.ReadError) as err:
                if attempt == self.settings.hub_max_retries:
                    raise HubUnreachable(f"{what}: {err.__class__.__name__} after {attempt + 1} tries") from err
            except HfHubHTTPError as err:
                status = _status(err)
                if status == 404:
                    raise ModelNotFound(f"{what}: not found on the Hub") from err
                if status in (401, 403):
                    raise ModelGated(f"{what}: access denied (HTTP {status}); check HF_TOKEN") from err
                if status not in RETRY_STATUS or attempt == self.settings.hub_max_retries:
                    raise HubUnreachable(f"{what}: HTTP {status} from the Hub after {attempt + 1} tries") from err
                wait = _retry_after(err)
                delay = wait if wait is not None else delay
            except ValueError as err:  # truncated or non-JSON body
                if attempt == self.settings.hub_max_retries:
                    raise HubUnreachable(f"{what}: the Hub sent an unreadable answer ({err})") from err
            self._sleep(min(delay, 60.0))
            delay = min(delay * 2, 30.0)
        raise AssertionError("unreachable")  # pragma: no cover

    def probe(self) -> None:
        """One quick request, so that an unreachable Hub fails in seconds, not after list_models' retries."""

        def ask() -> None:
            response = get_session().get(
                f"{self.api.endpoint}/api/models",
                params={"limit": 1},
                headers=self.api._build_hf_headers(),
                timeout=self.settings.hub_timeout_s,
            )
            hf_raise_for_status(response)

        self._call("the Hub", ask)

    def model_record(self, model_id: str) -> dict[str, Any]:
        """One model's wire-format record via `model_info`, with discussion and PR counts added."""
        info = self._call(model_id, lambda: self.api.model_info(model_id, timeout=self.settings.hub_timeout_s))
        record = modelinfo_to_wire(info)
        record.update(self.discussion_counts(model_id))
        return record

    def discussion_counts(self, model_id: str) -> dict[str, int]:
        """Discussions and pull requests, counted up to DISCUSSION_CAP; empty when the Hub won't say."""

        def count() -> dict[str, int]:
            discussions = pulls = 0
            for item in self.api.get_repo_discussions(model_id):
                if item.is_pull_request:
                    pulls += 1
                else:
                    discussions += 1
                if discussions + pulls >= DISCUSSION_CAP:
                    break
            return {"discussions": discussions, "pullRequests": pulls}

        try:
            return self._call(f"{model_id} discussions", count)
        except (ModelGated, ModelNotFound):
            return {}

    def card_text(self, model_id: str) -> str | None:
        """The model's README text, or None when it has none."""

        def fetch() -> str:
            path = hf_hub_download(model_id, "README.md", endpoint=self.api.endpoint, token=self.api.token)
            with open(path, encoding="utf-8", errors="replace") as handle:
                return handle.read()

        try:
            return self._call(f"{model_id} README", fetch)
        except ModelNotFound:  # the repo exists (model_info answered) but has no README.md
            return None

    def fetch_facts(self, model_id: str) -> tuple[ModelFacts, str | None]:
        """Fetch a model's record and card and parse them, stamped with the time of observation."""
        record = self.model_record(model_id)
        try:
            card = self.card_text(model_id)
        except ModelGated:
            card = None
        observed = iso_utc(datetime.now(UTC))
        return parse_record(record, card_text=card, observed_at=observed), card

    def iter_records(self, limit: int | None = None, task: str | None = None) -> Iterator[dict[str, Any]]:
        """Stream wire-format records from `list_models`, most downloaded first."""
        self.probe()
        models = self._call(
            "list_models",
            lambda: iter(self.api.list_models(expand=EXPAND, limit=limit, pipeline_tag=task, sort="downloads")),
        )
        while True:
            info = self._call("list_models page", lambda: next(models, None))
            if info is None:
                return
            yield modelinfo_to_wire(info)


    def iter_parsed(self, limit: int | None = None, task: str | None = None, with_cards: bool = True,
                    observed_at: str | None = None) -> Iterator[Parsed | Rejected]:  # fmt: skip
        """Stream models from `list_models` as the snapshot reader does: `Parsed` facts or `Rejected` records.

        A model the Hub will not give (missing, gated) or a record that does not parse is `Rejected` and the
        stream goes on; an unreachable Hub raises `HubUnreachable`.
        """
        observed = observed_at or iso_utc(datetime.now(UTC))
        for number, record in enumerate(self.iter_records(limit=limit, task=task), start=1):
            model_id = record.get("id") if isinstance(record.get("id"), str) else None
            try:
                if model_id is None:
                    raise RecordError("record has no id")
                record.update(self.discussion_counts(model_id))
                card = self.card_text(model_id) if with_cards else None
                yield Parsed(number, parse_record(record, card_text=card, observed_at=observed), card)
            except HubUnreachable:
                raise
            except (RecordError, HubError) as err:  # this model only: not found, gated, bad record
                yield Rejected(number, str(err), model_id)


def _plain(value: Any) -> Any:
    if is_dataclass(value) and not isinstance(value, type):
        return {k: _plain(v) for k, v in asdict(value).items()}
    if hasattr(value, "to_dict"):
        return value.to_dict()
    if isinstance(value, datetime):
        return iso_utc(value)
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def modelinfo_to_wire(info: Any) -> dict[str, Any]:
    """Turn a `huggingface_hub.ModelInfo` back into the API's wire format, so one parser serves all."""
    siblings = getattr(info, "siblings", None)
    safetensors = getattr(info, "safetensors", None)
    record = {
        "id": info.id,
        "author": getattr(info, "author", None),
        "sha": getattr(info, "sha", None),
        "createdAt": _plain(getattr(info, "created_at", None)),
        "lastModified": _plain(getattr(info, "last_modified", None)),
        "private": getattr(info, "private", None),
        "gated": getattr(info, "gated", None),
        "disabled": getattr(info, "disabled", None),
        "downloads": getattr(info, "downloads", None),
        "downloadsAllTime": getattr(info, "downloads_all_time", None),
        "likes": getattr(info, "likes", None),
        "library_name": getattr(info, "library_name", None),
        "pipeline_tag": getattr(info, "pipeline_tag", None),
        "tags": getattr(info, "tags", None),
        "config": getattr(info, "config", None),
        "transformersInfo": _plain(getattr(info, "transformers_info", None)),
        "cardData": _plain(getattr(info, "card_data", None)),
        "siblings": [{"rfilename": s.rfilename} for s in siblings] if siblings is not None else None,
        "spaces": getattr(info, "spaces", None),
        "safetensors": ({"parameters": safetensors.parameters, "total": safetensors.total} if safetensors else None),
        "gguf": getattr(info, "gguf", None),
        "usedStorage": getattr(info, "used_storage", None),
        "model-index": getattr(info, "model_index", None),
    }
    return {k: v for k, v in record.items() if v is not None}


__all__ = [
    "HubClient",
    "HubError",
    "HubUnreachable",
    "ModelGated",
    "ModelNotFound",
    "RecordError",
    "modelinfo_to_wire",
]
