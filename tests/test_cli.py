"""The CLI contract: --json shapes (exactly one document on stdout) and exit codes."""

import json
import shutil
import socket
import subprocess
import sys
import time

import pytest
from whichmodel.cli.main import main

FINDING_KEYS = {"check", "outcome", "points", "max_points", "evidence", "reason", "remediation"}
CATEGORY_NAMES = {"popularity", "activity", "operational", "security", "quality"}
SEARCH_ROW_KEYS = {
    "model_id", "overall", "popularity", "activity", "operational", "security", "quality", "params", "size_class",
    "license", "license_class", "pipeline_tag",
}  # fmt: skip


@pytest.fixture
def cli(ingested, monkeypatch, capsys):
    """Run the CLI in-process against the session database; returns (exit code, stdout)."""
    engine, _, _ = ingested
    monkeypatch.setenv("WHICHMODEL_DATABASE_URL", str(engine.url))

    def run(*argv):
        capsys.readouterr()
        code = main(list(argv))
        return code, capsys.readouterr().out

    return run


def test_score_json_shape(cli):
    code, out = cli("score", "microsoft/phi-2", "--json")
    assert code == 0
    card = json.loads(out)
    assert {"model_id", "overall", "method_version", "weights_hash", "observed_at", "categories", "facts"} <= set(card)
    # Assessments keep a prefix of the weights file's SHA-256; the card names the whole digest.
    from whichmodel.scoring.method import load_method

    assert card["weights_hash"] == load_method().weights_hash and len(card["weights_hash"]) == 64
    assert set(card["categories"]) == CATEGORY_NAMES
    for category in card["categories"].values():
        assert {"score", "coverage", "findings"} <= set(category)
        for finding in category["findings"]:
            assert set(finding) == FINDING_KEYS
            assert finding["outcome"] in ("pass", "fail", "not_available", "not_applicable")
    assert card["facts"]["id"] == "microsoft/phi-2" and card["facts"]["license"] == "mit"


def test_score_resolves_case_insensitive_ids(cli):
    code, out = cli("score", "MICROSOFT/PHI-2", "--json", "--no-fetch")
    assert code == 0 and json.loads(out)["model_id"] == "microsoft/phi-2"


def test_unknown_model_exits_4_with_error_json(cli):
    code, out = cli("score", "nobody/nothing-here", "--no-fetch", "--json")
    assert code == 4
    assert set(json.loads(out)) == {"error", "model_id"}


def test_unknown_model_with_unreachable_hub_fails_within_seconds(cli, monkeypatch):
    with socket.socket() as s:  # a port on loopback that nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{port}")
    started = time.monotonic()
    code, out = cli("score", "nobody/nothing-here", "--json")
    assert code == 4 and time.monotonic() - started < 10
    assert "cannot reach" in json.loads(out)["error"]


def test_search_json_shape_and_filters(cli):
    code, out = cli("search", "--size", "7B", "--chat", "--license-class", "permissive", "--min-score",
                    "security=8", "--sort", "overall", "--limit", "3", "--json")  # fmt: skip
    assert code == 0
    data = json.loads(out)
    assert set(data) == {"total_matched", "left_out_no_weights", "results"}
    # The effective license class: permissive fine-tunes of Llama 2 or Gemma are custom, so few are left.
    assert 0 < len(data["results"]) == min(3, data["total_matched"])
    for row in data["results"]:
        assert SEARCH_ROW_KEYS <= set(row)
        assert row["size_class"] == "7B" and row["license_class"] == "permissive" and row["security"] >= 8


@pytest.mark.parametrize(("sort", "column", "latest_first"), [
    ("newest", "created_at", True), ("oldest", "created_at", False), ("updated", "last_modified", True),
])  # fmt: skip
def test_search_by_a_date(cli, snapshot_dirs, sort, column, latest_first):
    """Date sorts order by the repo's Hub dates (read here from the raw records), unknown dates left out."""
    raw = {}
    for folder in snapshot_dirs:  # date folders in order: the newest record of each model wins
        with open(folder / "models.jsonl", encoding="utf-8") as lines:
            for line in lines:
                record = json.loads(line)
                raw[record["id"]] = record
    code, out = cli("search", "--task", "text-to-image", "--sort", sort, "--limit", "5", "--json")
    assert code == 0
    rows = json.loads(out)["results"]
    assert len(rows) == 5
    field = {"created_at": "createdAt", "last_modified": "lastModified"}[column]
    days = [raw[r["model_id"]][field][:19] for r in rows]
    assert [r[column][:19] for r in rows] == days
    assert days == sorted(days, reverse=latest_first)
    code, text = cli("search", "--task", "text-to-image", "--sort", sort, "--limit", "5")
    assert code == 0 and all(day[:10] in text for day in days)


def test_search_param_range_and_bad_min_score(cli):
    code, out = cli("search", "--min-params", "1000000000", "--max-params", "3000000000", "--json", "--limit", "50")
    assert code == 0
    assert all(1e9 <= r["params"] <= 3e9 for r in json.loads(out)["results"])
    code, out = cli("search", "--min-score", "vibes=3", "--json")
    assert code == 2 and "category" in json.loads(out)["error"]


def test_check_gate_exit_codes(cli):
    code, out = cli("score", "microsoft/phi-2", "--json")
    security = json.loads(out)["categories"]["security"]["score"]
    assert cli("check", "microsoft/phi-2", "--min-score", str(security), "--category", "security")[0] == 0
    assert cli("check", "microsoft/phi-2", "--min-score", str(security + 0.5), "--category", "security")[0] == 2
    code, out = cli("check", "microsoft/phi-2", "--min-score", "11", "--json")
    assert code == 2 and json.loads(out)["passed"] is False
    assert cli("check", "nobody/nothing", "--min-score", "1", "--no-fetch")[0] == 4


def test_status_json(cli):
    code, out = cli("status", "--json")
    data = json.loads(out)
    assert code == 0 and data["models"] > 1000 and data["method_version"]


def test_console_script_prints_one_json_document(ingested, tmp_path):
    engine, _, _ = ingested
    exe = shutil.which("whichmodel", path=str(sys.prefix) + "/bin")
    assert exe, "the console script is installed"
    env = {"WHICHMODEL_DATABASE_URL": str(engine.url), "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    proc = subprocess.run(
        [exe, "search", "--limit", "2", "--json"], capture_output=True, text=True, env=env, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    assert len(json.loads(proc.stdout)["results"]) == 2


def _raw_ids(snapshot_dirs) -> set[str]:
    """Every model id in the raw snapshot records, lowercased."""
    found = set()
    for folder in snapshot_dirs:
        for line in (folder / "models.jsonl").read_text().splitlines():
            found.add(json.loads(line)["id"].lower())
    return found


def test_unknown_ids_are_never_replaced_by_another_repo(cli, snapshot_dirs):
    raw = _raw_ids(snapshot_dirs)
    assert "microsoft/phi-2" in raw and not {"nobody/phi-2", "microsft/phi-2"} & raw
    for typed in ("nobody/phi-2", "microsft/phi-2"):  # the last segment, or a close id, is stored
        code, out = cli("score", typed, "--no-fetch", "--json")
        assert code == 4 and set(json.loads(out)) == {"error", "model_id"}
        assert "did you mean microsoft/phi-2" in json.loads(out)["error"], "a suggestion, not the answer"
        assert cli("check", typed, "--min-score", "1", "--no-fetch")[0] == 4
        code, out = cli("trends", "history", "--model", typed, "--json")
        assert code == 4 and "not in the database" in json.loads(out)["error"]
        code, out = cli("compare", typed, "google/gemma-7b", "--json")
        assert code == 4 and typed in json.loads(out)["error"]
    code, out = cli("trends", "history", "--model", "nobody/../phi-2", "--json")
    assert code == 4 and "did you mean" not in json.loads(out)["error"], "not a repo id: nothing suggested"


def test_history_names_the_model_it_shows(cli):
    code, out = cli("trends", "history", "--model", "phi-2", "--json")
    data = json.loads(out)
    assert code == 0 and data["model"] == "microsoft/phi-2" and data["resolution"]["query"] == "phi-2"
    code, out = cli("trends", "history", "--model", "phi-2")
    assert out.splitlines()[0] == "history of microsoft/phi-2 (resolved 'phi-2'):"


def test_compare_json_shape_and_exit_codes(cli):
    code, out = cli("compare", "phi-2", "google/gemma-7b", "--json")
    assert code == 0
    data = json.loads(out)
    assert data["models"] == ["microsoft/phi-2", "google/gemma-7b"]
    assert set(data["scores"]) == CATEGORY_NAMES | {"overall"} and set(data["verdicts"]) == set(data["scores"])
    assert data["notes"] == ["(resolved 'phi-2' to microsoft/phi-2)"], "a bare name says which repo it became"
    for name, card in (("microsoft/phi-2", cli("score", "microsoft/phi-2", "--json")[1]),
                       ("google/gemma-7b", cli("score", "google/gemma-7b", "--json")[1])):  # fmt: skip
        assert data["scores"]["overall"][name] == json.loads(card)["overall"]
    code, out = cli("compare", "microsoft/phi-2", "google/gemma-7b")
    assert code == 0 and "microsoft/phi-2" in out.splitlines()[0] and "google/gemma-7b" in out.splitlines()[0]
    code, out = cli("compare", "microsoft/phi-2", "--json")
    assert code == 2 and "two to four" in json.loads(out)["error"]


def test_param_counts_in_human_sizes(cli):
    code, out = cli("search", "--min-params", "1000000000", "--max-params", "3000000000", "--json", "--limit", "50")
    plain = json.loads(out)
    for low, high in (("1B", "3B"), ("1e9", "3e9"), ("1000M", "3,000,000,000"), ("1.0b", "3000m")):
        code, out = cli("search", "--min-params", low, "--max-params", high, "--json", "--limit", "50")
        assert code == 0 and json.loads(out) == plain, (low, high)
    code, out = cli("search", "--max-params", "1.5B", "--json", "--limit", "50")
    assert code == 0 and all(r["params"] <= 1.5e9 for r in json.loads(out)["results"])
    for bad in ("9x", "-5", "nan", "B"):
        with pytest.raises(SystemExit) as exit_:
            cli("search", "--max-params", bad)
        assert exit_.value.code == 2, bad
    code, out = cli("search", "--min-params", "9B", "--max-params", "1B", "--json")
    assert code == 2 and "above" in json.loads(out)["error"]


def test_min_score_forms_and_ranges(cli):
    code, out = cli("check", "microsoft/phi-2", "--min-score", "0", "--category", "security", "--json")
    security = json.loads(out)["score"]
    for argv in (("--min-score", f"security={security}"), ("--min-score", str(security), "--category", "security"),
                 ("--min-score", f"security={security}", "--category", "security")):  # fmt: skip
        code, out = cli("check", "microsoft/phi-2", *argv, "--json")
        assert code == 0 and json.loads(out) | {"min_score": None} == {
            "model_id": "microsoft/phi-2", "category": "security", "score": security, "min_score": None,
            "passed": True}, argv  # fmt: skip
    for bar in ("security=11", "security=-1", "11", "-0.5"):
        code, out = cli("check", "microsoft/phi-2", "--min-score", bar, "--json")
        assert code == 2 and "between 0 and 10" in json.loads(out)["error"] and json.loads(out)["passed"] is False
    code, out = cli("check", "microsoft/phi-2", "--min-score", "quality=5", "--category", "security", "--json")
    assert code == 2 and "one category" in json.loads(out)["error"]
    for bar in ("security=11", "security=-1", "overall=10.5"):
        code, out = cli("search", "--min-score", bar, "--json")
        assert code == 2 and "between 0 and 10" in json.loads(out)["error"], bar


def _newest_records(snapshot_dirs) -> dict[str, dict]:
    """Each id's record in the newest snapshot that has it, straight from the shared files."""
    newest: dict[str, tuple[str, dict]] = {}
    for folder in snapshot_dirs:
        observed = json.loads((folder / "manifest.json").read_text())["observed_at"]
        for line in (folder / "models.jsonl").read_text().splitlines():
            record = json.loads(line) if line.strip() else None
            if isinstance(record, dict) and isinstance(record.get("id"), str):
                if record["id"] not in newest or newest[record["id"]][0] < observed:
                    newest[record["id"]] = (observed, record)
    return {k: r for k, (_, r) in newest.items()}


@pytest.mark.parametrize("typed", ["TheBloke", "thebloke", "DEEPSEEK-AI"])
def test_search_by_author_in_any_case(cli, snapshot_dirs, typed):
    expected = sorted(m for m in _newest_records(snapshot_dirs) if m.split("/")[0].lower() == typed.lower())
    assert expected
    code, out = cli("search", "--author", typed, "--include-no-weights", "--limit", "20", "--json")
    assert code == 0
    found = json.loads(out)
    assert found["total_matched"] == len(expected)
    assert {r["model_id"] for r in found["results"]} <= set(expected)


def test_search_by_exact_license_id(cli, snapshot_dirs):
    def declared(record: dict) -> str | None:
        tags = [t.removeprefix("license:") for t in record.get("tags") or [] if t.startswith("license:")]
        return ((record.get("cardData") or {}).get("license") or (tags[0] if tags else None) or "").lower() or None

    expected = {m for m, r in _newest_records(snapshot_dirs).items() if declared(r) == "cc-by-nc-4.0"}
    assert expected
    code, out = cli("search", "--license", "CC-BY-NC-4.0", "--include-no-weights", "--limit", "20", "--json")
    assert code == 0
    found = json.loads(out)
    assert {r["model_id"] for r in found["results"]} == expected and found["total_matched"] == len(expected)


def test_a_bad_created_date_is_a_usage_error(cli):
    code, out = cli("search", "--created-after", "2025-13", "--json")
    assert code == 2 and "YYYY-MM-DD" in json.loads(out)["error"]


def test_a_reader_that_leaves_early_gets_no_traceback(ingested, tmp_path):
    """`whichmodel search | head -1`: the pipe closes under the writer; stderr stays clean."""
    engine, _, _ = ingested
    env = {**__import__("os").environ, "WHICHMODEL_DATABASE_URL": str(engine.url)}
    proc = subprocess.run(f"{sys.executable} -m whichmodel.cli.main search --limit 20 | head -1", shell=True,
                          capture_output=True, text=True, env=env, timeout=120)  # fmt: skip
    assert proc.stdout.strip() and "Traceback" not in proc.stderr and "BrokenPipe" not in proc.stderr
