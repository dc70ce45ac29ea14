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
