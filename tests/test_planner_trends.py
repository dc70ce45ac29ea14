"""The planner's answers from hand-made tool artifacts: every branch of the trend answers, and compare's ties."""

import pytest
from whichmodel.agent.planner import Planner, ToolResult
from whichmodel.agent.state import Memory, TurnPlan


def answer(view, rows, plan_slots=None, models=None, **extra):
    plan = TurnPlan("trend", {"view": view, **(plan_slots or {})}, models or [], [], "q")
    artifact = {"view": view, "params": {"window_days": 30}, "rows": rows, **extra}
    message, memory = Planner(services=None).finish(plan, [ToolResult("trends", artifact, "")], Memory())
    return message, memory


def test_releases_lists_only_the_named_release_and_families():
    rows = [
        {"release": "Mixtral 8x7B", "release_date": "2023-12-11", "architecture": "Mistral", "before": 40,
         "after": 55, "change": 15},
        {"release": "Mixtral 8x7B", "release_date": "2023-12-11", "architecture": "Llama", "before": 90, "after": 80,
         "change": -10},
        {"release": "Gemma", "release_date": "2024-02-21", "architecture": "Mistral", "before": 60, "after": 70,
         "change": 10},
    ]  # fmt: skip
    message, _ = answer("releases", rows, {"archs": ["Mistral"], "release": "Mixtral"})
    assert message.content.splitlines() == [
        "New leaderboard models per architecture, 30 days before vs after each release:",
        "- Mixtral 8x7B (2023-12-11): Mistral 40 -> 55 (+15)",
    ]


def test_types_totals_per_type_over_the_span():
    rows = [{"period": "2024-01", "type": "chat", "new_models": 3}, {"period": "2024-02", "type": "chat",
            "new_models": 4}, {"period": "2024-02", "type": "merge", "new_models": 9}]  # fmt: skip
    message, _ = answer("types", rows)
    assert message.content == "New leaderboard models per type, 2024-01 to 2024-02: merge 9, chat 7 (total 16)."


def test_authors_ranked_with_average():
    rows = [{"author": "a", "models": 12, "avg_score": 61.25}, {"author": "b", "models": 3, "avg_score": None}]
    message, _ = answer("authors", rows)
    assert message.content == ("Top authors on the leaderboard:\n1. a: 12 models, average score 61.2\n"
                               "2. b: 3 models, average score n/a")  # fmt: skip


def test_architectures_totals():
    rows = [{"architecture": "Llama", "new_models": 2}, {"architecture": "Phi", "new_models": 5},
            {"architecture": "Llama", "new_models": 4}]  # fmt: skip
    message, _ = answer("architectures", rows)
    assert message.content == "New leaderboard models per architecture: Llama 6, Phi 5."


def test_benchmarks_best_per_type():
    rows = [{"type": "chat", "best_score": 70.0, "best_model": "x/a", "period": "2024-01"},
            {"type": "chat", "best_score": 72.5, "best_model": "x/b", "period": "2024-02"}]  # fmt: skip
    message, _ = answer("benchmarks", rows)
    assert message.content == ("Best leaderboard average: x/b (72.5, 2024-02). "
                               "Best per type: chat 72.5 (x/b, 2024-02).")  # fmt: skip


def test_base_models_peaks_and_named_models():
    peaks = [{"base": "Mistral-7B", "peak_score": 74.04, "peak_model": "x/merge", "peak_day": "2024-03-01",
              "days_to_peak": 156}]  # fmt: skip
    rows = [{"record_model": "x/merge"}, {"record_model": "x/merge"}, {"record_model": "y/ft"}]
    message, memory = answer("base-models", rows, peaks=peaks)
    assert message.content == ("Best derivative per base model:\n- Mistral-7B: peak 74.0 by x/merge on 2024-03-01, "
                               "156 days after the base's release")  # fmt: skip
    assert message.additional_kwargs["whichmodel"]["models"] == ["x/merge", "y/ft"]
    assert memory.listed == ["x/merge", "y/ft"], "a list answer can be followed up by ordinal"


def test_history_first_and_last_snapshot():
    rows = [{"observed_at": "2025-05-01T00:00:00Z", "downloads": 5000, "overall": 6.04},
            {"observed_at": "2025-06-01T00:00:00Z", "downloads": 9000, "overall": 6.5}]  # fmt: skip
    message, _ = answer("history", rows, models=["acme/m"])
    assert message.content == ("acme/m across 2 snapshot(s): downloads 5,000 -> 9,000, overall 6.0 -> 6.5 "
                               "(2025-05-01 to 2025-06-01).")  # fmt: skip


def test_movers_and_alerts():
    rows = [{"model_id": "a/b", "metric": "downloads", "from_value": 10, "to_value": 30, "change": 20}]
    message, _ = answer("movers", rows)
    assert message.content == "Largest changes between snapshots:\n- a/b: downloads 10 -> 30 (+20)"
    assert message.additional_kwargs["whichmodel"]["models"] == ["a/b"]
    rows = [{"model_id": "a/b", "observed_at": "2025-06-01T00:00:00Z", "alert": "license_changed",
             "before": "mit", "after": "cc-by-nc-4.0"}]  # fmt: skip
    message, _ = answer("alerts", rows)
    assert message.content == "Alerts between snapshots:\n- a/b (2025-06-01): license_changed (mit -> cc-by-nc-4.0)"


def test_an_unknown_view_falls_back_to_its_rows():
    message, _ = answer("something-new", [{"x": 1}])
    assert message.content == '[{"x": 1}]'


@pytest.mark.parametrize("artifact", [{"error": "The types view has no rows: ...", "view": "types"}])
def test_a_failed_view_answers_with_its_error(artifact):
    plan = TurnPlan("trend", {"view": "types"}, [], [], "q")
    message, memory = Planner(services=None).finish(plan, [ToolResult("trends", artifact, "")], Memory())
    assert message.content == artifact["error"]
    assert memory.last.intent == "trend" and memory.last.models == []


def test_compare_answer_calls_a_tie_a_tie():
    from whichmodel.usecases.models import Comparison, Verdict

    scores = {"security": {"a/x": 7.04, "b/y": 6.96}, "quality": {"a/x": 5.0, "b/y": 8.0}}
    artifact = Comparison(["a/x", "b/y"], {c: Verdict(c, s) for c, s in scores.items()}, [], {}).to_dict()
    plan = TurnPlan("compare", {}, ["a/x", "b/y"], [], "q")
    message, _ = Planner(services=None).finish(plan, [ToolResult("compare_models", artifact, "")], Memory())
    assert "- security: a/x 7.0, b/y 7.0 (tie: a/x, b/y)" in message.content, "equal at the shown precision"
    assert "- quality: a/x 5.0, b/y 8.0 (best: b/y)" in message.content


def test_a_follow_up_with_nothing_before_it_says_so():
    """'and the second one?' opening a conversation refers to nothing: the answer says that, then what to ask."""
    from whichmodel.agent.planner import NO_CONTEXT, Planner
    from whichmodel.agent.state import Memory

    planner = Planner.__new__(Planner)  # no database: the question names no model to resolve
    planner.services = None
    result = planner.understand("and the second one?", Memory())
    assert result.intent == "say" and result.text == NO_CONTEXT and "no earlier answer" in NO_CONTEXT
