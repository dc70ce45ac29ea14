"""Trend views over the leaderboard and the Hub snapshots, with the model named in a question resolved first."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from whichmodel.usecases.base import BadRequest, Services, UnknownModel

if TYPE_CHECKING:
    from whichmodel.trends.views import TrendParams

# Views that read one model's snapshots: the name is resolved against the database (a base-model view's
# `model` is a base family such as "Mistral-7B", not a stored id).
MODEL_VIEWS = ("history", "alerts")


@dataclass
class TrendView:
    """A view's rows (flat dicts), the parameters it ran with, and view-specific extras (timeline, peaks ...)."""

    view: str
    params: dict[str, Any]
    rows: list[dict[str, Any]]
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The CLI's `trends --json` shape."""
        return {"view": self.view, "params": self.params, "rows": self.rows, **self.extra}


def trend_view(services: Services, view: str, params: TrendParams) -> TrendView:
    """Run a view (`BadRequest` for bad parameters, `UnknownModel` for a model with no snapshots)."""
    from whichmodel.trends.views import run_view
    from whichmodel.usecases.models import not_found, resolve

    resolution = None
    if view in MODEL_VIEWS and params.model:
        # A full id only as typed (any case); a bare name may resolve, and the view then says to which repo.
        resolution = resolve(services, params.model)
        if resolution.model_id is None:
            raise not_found(params.model, resolution)
        params.model = resolution.model_id
    try:
        result = run_view(services.engine, view, params)
    except LookupError as err:
        raise UnknownModel(str(err), params.model or "") from err
    except ValueError as err:
        raise BadRequest(str(err)) from err
    extra = {k: v for k, v in result.items() if k not in ("view", "params", "rows")}
    if resolution is not None:  # the model the rows are about, and how the typed name led to it
        extra["model"] = resolution.model_id
        extra["resolution"] = resolution.to_dict()
    return TrendView(result["view"], result["params"], result["rows"], extra)
