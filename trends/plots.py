"""Plots for trend views: plotly figures (HTML, and the UI) and matplotlib PNGs, titled and labeled.

Each view has one chart spec (x, y, series, kind, title); both renderers draw from it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Chart:
    """How to draw a view's rows."""

    x: str
    y: str
    series: str | None
    kind: str  # bar | line | area | step
    title: str
    y_label: str
    x_label: str = "period"


CHARTS = {
    "types": Chart("period", "new_models", "type", "bar", "New models per type", "new models"),
    "authors": Chart("author", "models", None, "bar", "Top authors: models in the period", "models", "author"),
    "benchmarks": Chart("period", "best_score", "type", "line", "Best benchmark score per type", "best average score"),
    "architectures": Chart("period", "new_models", "architecture", "area", "Architecture popularity", "new models"),
    "base-models": Chart(
        "period", "record_score", "base", "step", "Best derivative score per base model", "record average score"
    ),  # fmt: skip
    "releases": Chart(
        "release",
        "change",
        "architecture",
        "bar",
        "New models after vs before big releases",
        "change in new models (after - before)",
        "release",
    ),  # fmt: skip
    "history": Chart("observed_at", "overall", None, "line", "Score history", "overall score", "observed"),
    "movers": Chart("model_id", "change", "direction", "bar", "Largest gains and drops", "change", "model"),
    "alerts": Chart("observed_at", "model_id", "alert", "scatter", "Alerts", "model", "observed"),
    "leaders": Chart("model_id", "average", None, "bar", "Best leaderboard rows", "average score", "model"),
    "lineage": Chart("base", "derivatives", None, "bar", "Stored models deriving from each base", "derivatives",
                     "base model"),
}


def _series(rows: list[dict], chart: Chart) -> dict[str, tuple[list, list]]:
    grouped: dict[str, tuple[list, list]] = {}
    for row in rows:
        name = str(row.get(chart.series)) if chart.series else chart.y
        xs, ys = grouped.setdefault(name, ([], []))
        xs.append(row.get(chart.x))
        ys.append(row.get(chart.y))
    return grouped


def plotly_figure(result: dict):
    """A plotly figure for a view result."""
    import plotly.graph_objects as go

    chart = CHARTS[result["view"]]
    fig = go.Figure()
    for name, (xs, ys) in _series(result["rows"], chart).items():
        if chart.kind == "bar":
            fig.add_trace(go.Bar(x=xs, y=ys, name=name))
        elif chart.kind == "area":
            fig.add_trace(go.Scatter(x=xs, y=ys, name=name, stackgroup="one", mode="lines"))
        elif chart.kind == "scatter":
            fig.add_trace(go.Scatter(x=xs, y=ys, name=name, mode="markers"))
        else:
            shape = "hv" if chart.kind == "step" else "linear"
            fig.add_trace(go.Scatter(x=xs, y=ys, name=name, mode="lines+markers", line_shape=shape))
    fig.update_layout(
        title=_title(result, chart), xaxis_title=chart.x_label, yaxis_title=chart.y_label,
        barmode="stack" if result["view"] == "types" else "group", template="plotly_white", legend_title=chart.series,
    )  # fmt: skip
    return fig


def _title(result: dict, chart: Chart) -> str:
    p = result["params"]
    span = f"{p.get('start') or 'start'} to {p.get('end') or 'end'}"
    extra = f" ({p['model']})" if p.get("model") else ""
    return f"{chart.title}{extra}, {span}, by {p.get('unit', 'month')}"


def save_png(result: dict, path: Path) -> None:
    """Render a view result to PNG with matplotlib (no browser needed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    chart = CHARTS[result["view"]]
    series = _series(result["rows"], chart)
    fig, ax = plt.subplots(figsize=(11, 5.5))
    categories = sorted({x for xs, _ in series.values() for x in xs if x is not None}, key=str)
    position = {x: i for i, x in enumerate(categories)}
    bottom = [0.0] * len(categories)
    width = 0.8 / max(1, len(series)) if chart.kind == "bar" and result["view"] != "types" else 0.8
    for n, (name, (xs, ys)) in enumerate(series.items()):
        idx = [position[x] for x in xs if x is not None]
        vals = [y or 0 for x, y in zip(xs, ys, strict=True) if x is not None]
        if chart.kind == "bar" and result["view"] == "types":
            heights = [0.0] * len(categories)
            for i, v in zip(idx, vals, strict=True):
                heights[i] = v
            ax.bar(range(len(categories)), heights, bottom=bottom, label=name)
            bottom = [b + h for b, h in zip(bottom, heights, strict=True)]
        elif chart.kind == "bar":
            ax.bar([i + n * width for i in idx], vals, width=width, label=name)
        elif chart.kind == "scatter":
            ax.scatter(idx, [str(v) for v in vals], label=name)
        else:
            ax.plot(idx, vals, marker="o", label=name, drawstyle="steps-post" if chart.kind == "step" else "default")
    step = max(1, len(categories) // 24)
    ax.set_xticks(range(0, len(categories), step))
    ax.set_xticklabels([str(c)[:24] for c in categories][::step], rotation=60, ha="right", fontsize=8)
    ax.set_title(_title(result, chart))
    ax.set_xlabel(chart.x_label)
    ax.set_ylabel(chart.y_label)
    if chart.series and len(series) > 1:
        ax.legend(fontsize=7, ncol=2)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def save_plot(result: dict, path: str | Path) -> Path:
    """Write a view's plot as .png (matplotlib) or .html (plotly, self-contained: no CDN request)."""
    path = Path(path)
    if path.suffix.lower() == ".png":
        save_png(result, path)
    elif path.suffix.lower() in (".html", ".htm"):
        plotly_figure(result).write_html(path, include_plotlyjs=True, full_html=True)
    else:
        raise ValueError(f"plot file must end in .png or .html, not {path.suffix!r}")
    return path
