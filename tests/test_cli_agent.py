"""CLI contracts of `ask --json`, `chat` and `rescore` (exit codes, one JSON document, what a thread keeps)."""

import io
import json

import pytest
import small
from whichmodel.cli.main import main

ASK_KEYS = {"answer", "models", "tool_calls", "engine", "thread_id", "elapsed_ms"}


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    settings, _ = small.build(tmp_path_factory.mktemp("cli-agent"))
    return str(settings.home)


@pytest.fixture
def run(home, capsys, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)  # the offline planner answers

    def run(*argv, stdin=None):
        if stdin is not None:
            monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
        capsys.readouterr()
        code = main(["--home", home, *argv])
        return code, capsys.readouterr()

    return run


def test_ask_json_recommendation(run):
    code, out = run("ask", "most downloaded permissive chat model", "--json", "--thread", "r")
    assert code == 0
    data = json.loads(out.out)
    assert ASK_KEYS | {"recommended", "ruled_out", "filters", "sort"} == set(data)
    assert data["engine"] == "planner" and data["thread_id"] == "r"
    assert data["tool_calls"][0] == {"name": "search_models", "args": {"license_class": "permissive", "chat": True,
                                                                        "sort": "downloads", "limit": 5}}  # fmt: skip
    assert data["filters"] == {"license_class": "permissive", "chat": True}
    assert small.NONCOMMERCIAL in data["ruled_out"], "more popular, but not permissive"
    assert small.NONCOMMERCIAL not in data["recommended"] and data["recommended"]
    assert set(data["models"]) == set(data["recommended"]) | set(data["ruled_out"])


def test_ask_json_keeps_the_thread(run):
    first = json.loads(run("ask", "most downloaded permissive chat model", "--json", "--thread", "k")[1].out)
    second = json.loads(run("ask", "and the second one?", "--json", "--thread", "k")[1].out)
    assert set(second) == ASK_KEYS
    assert second["models"] == [first["recommended"][1]]
    assert second["tool_calls"][0]["name"] == "explain_score"


def test_ask_prints_the_answer_and_the_engine(run):
    code, out = run("ask", f"score {small.SAFE}")
    assert code == 0 and out.out.startswith(f"{small.SAFE}: overall ")
    assert "[planner; thread " in out.err and "tools: get_score" in out.err


def test_ask_json_unscored_compare_says_not_scored(run):
    code, out = run("ask", f"compare {small.SAFE} and {small.UNSCORED}", "--json")
    data = json.loads(out.out)
    assert code == 0 and "not scored yet" in data["answer"] and data["models"] == []


def test_chat_answers_each_line_on_one_thread(run):
    lines = ["most downloaded permissive chat model", "", "and the second one?", "exit", "score this is never read"]
    code, out = run("chat", "--thread", "c", stdin="\n".join(lines) + "\n")
    assert code == 0
    lines = out.out.splitlines()
    assert lines[0] == "Filters: license class permissive, chat models; ranked by downloads."
    recommended = [line.split(" ")[1] for line in lines if line[:2] in ("1.", "2.")]
    follow_up = [n for n, line in enumerate(lines) if line.startswith(f"{recommended[1]} scores ")]
    assert len(follow_up) == 1, "the follow-up used the thread"
    assert sum(line.startswith("Filters:") for line in lines) == 1, "one answer per question, blank lines skipped"
    assert "could not" not in out.out and "never read" not in out.out, "nothing is read after exit"


def test_chat_ends_at_end_of_input(run):
    assert run("chat", stdin="")[0] == 0


def test_rescore_json(tmp_path, capsys):
    settings, _ = small.build(tmp_path)
    observations = 2 * (small.MODELS - 1) + 1
    assert main(["--home", str(settings.home), "score", small.SAFE, "--json", "--no-fetch"]) == 0
    before = json.loads(capsys.readouterr().out)
    assert main(["--home", str(settings.home), "rescore", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == {"marked": observations, "scored": observations}
    assert main(["--home", str(settings.home), "score", small.SAFE, "--json", "--no-fetch"]) == 0
    after = json.loads(capsys.readouterr().out)
    assert after["categories"] == before["categories"], "the same method over the same facts"
    assert main(["--home", str(settings.home), "rescore"]) == 0
    err = capsys.readouterr().err.strip().splitlines()
    # Progress lines first (stderr is not a terminal here), then the summary.
    assert err[0] == f"rescoring: {observations} models to do"
    assert err[-1] == f"rescored {observations} of {observations} observation(s)"
