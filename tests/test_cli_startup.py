"""What a command imports: `--help`, `search` and an offline `ask` stay clear of the heavy libraries.

Each command runs in a new interpreter (as `whichmodel` does) on a home that is already current, and reports
which of the heavy modules it loaded. Start-up time itself is measured by `bench/run_all.py` (cli_*_s);
this guards the cause: a module-level import that drags one of these in again.
"""

import json
import os
import subprocess
import sys

import pytest
import small

# Each costs from a tenth of a second to a second to import, and none of these commands needs it.
HEAVY = ("langgraph.graph", "langgraph.pregel", "langgraph.prebuilt", "langchain_openai", "openai", "langsmith",
         "chromadb", "gradio", "alembic", "onnxruntime", "mcp")  # fmt: skip

PROGRAM = """
import json, sys
from whichmodel.cli.main import main
argv = json.loads(sys.argv[1])
try:
    code = main(argv)
except SystemExit as exit:  # --help
    code = exit.code
heavy = json.loads(sys.argv[2])
print(json.dumps({"code": code, "loaded": sorted(m for m in heavy if m in sys.modules)}), file=sys.stderr)
"""


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    settings, _ = small.build(tmp_path_factory.mktemp("startup"))  # migrated and stamped here, in this process
    return str(settings.home)


def loaded(home: str, *argv: str) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("OPENAI_API_KEY", "OPENAI_BASE_URL")}
    env.pop("WHICHMODEL_DATABASE_URL", None)
    done = subprocess.run([sys.executable, "-c", PROGRAM, json.dumps(["--home", home, *argv]), json.dumps(HEAVY)],
                          env=env, capture_output=True, text=True, timeout=120)  # fmt: skip
    return json.loads(done.stderr.strip().splitlines()[-1]) | {"out": done.stdout}


@pytest.mark.parametrize(
    "argv",
    [
        ["--help"],
        ["search", "--size", "7B", "--license-class", "permissive", "--json"],
        ["ask", "safest permissive 7B chat model", "--json"],
        ["ask", f"score {small.SAFE}", "--json"],
        ["score", small.SAFE, "--no-fetch", "--json"],
        ["status", "--json"],
    ],
    ids=["help", "search", "ask-recommend", "ask-score", "score", "status"],
)
def test_command_loads_no_heavy_module(home, argv):
    result = loaded(home, *argv)
    assert result["code"] == 0
    assert result["loaded"] == []
    if "--json" in argv:
        json.loads(result["out"])  # it did answer


def test_the_check_sees_a_heavy_import(home):
    """The guard can fail: an `ask` with an LLM endpoint configured builds the graph, which loads LangGraph."""
    env = dict(os.environ, OPENAI_API_KEY="x", OPENAI_BASE_URL="http://127.0.0.1:9/v1")
    setup = ("from pathlib import Path; from whichmodel.cli.agent import _agent\n"
             "    from whichmodel.config import Settings; _agent(Settings.from_env(home=Path(argv[1]))); code = 0")
    program = PROGRAM.replace("code = main(argv)", setup)
    done = subprocess.run([sys.executable, "-c", program, json.dumps(["--home", home]), json.dumps(HEAVY)],
                          env=env, capture_output=True, text=True, timeout=120)  # fmt: skip
    loaded_modules = json.loads(done.stderr.strip().splitlines()[-1])["loaded"]
    assert {"langgraph.graph", "langchain_openai"} & set(loaded_modules)


def test_the_head_read_from_the_revision_files_is_alembics():
    """Opening a database compares its revision with this head, read without Alembic: it must be Alembic's."""
    from whichmodel.store import db

    assert db._head_from_files() == db.head_revision()
