"""`whichmodel mcp` as a real process, driven by the MCP client library over stdio and streamable HTTP."""

import json
import os
import subprocess
import sys
import time
import urllib.request

import anyio
import pytest
from mcp import Client, StdioServerParameters
from servers import free_port
from whichmodel.store.queries import SearchFilters, scorecard, search_models

# The agent's tools, as its docs list them: an MCP client sees the same set.
AGENT_TOOLS = {"search_models", "get_score", "explain_score", "compare_models", "search_cards", "trends",
               "fetch_and_score"}  # fmt: skip


@pytest.fixture
def server_env(ingested, tmp_path):
    engine, _, _ = ingested
    env = {"WHICHMODEL_HOME": str(tmp_path / "home"), "HF_ENDPOINT": "http://127.0.0.1:9", "HF_HUB_OFFLINE": "1",
           "WHICHMODEL_DATABASE_URL": engine.url.render_as_string(hide_password=False)}  # fmt: skip
    for name in ("PYTHONPATH", "WHICHMODEL_SRC"):  # how this checkout is importable as `whichmodel`
        if os.environ.get(name):
            env[name] = os.environ[name]
    return env


def _text(result) -> str:
    assert not result.is_error, result
    return "".join(block.text for block in result.content)


def _json(text: str):
    """The JSON inside a tool result's one <untrusted> fence (the same text the agent's LLM reads)."""
    from whichmodel.prompts.fence import CLOSE, OPEN

    start = text.index(OPEN)
    assert text.endswith(CLOSE), "the whole result is fenced"
    return json.loads(text[start + len(OPEN) : -len(CLOSE)])


async def _exercise(client, engine) -> None:
    tools = await client.list_tools()
    assert {t.name for t in tools.tools} == AGENT_TOOLS
    search = next(t for t in tools.tools if t.name == "search_models")
    assert "license_class" in search.input_schema["properties"] and search.description

    card = scorecard(engine, "google/gemma-7b")
    answer = _json(_text(await client.call_tool("get_score", {"model_id": "google/gemma-7b"})))
    assert answer["model_id"] == "google/gemma-7b" and answer["overall"] == card["overall"]
    assert answer["categories"]["security"]["score"] == card["categories"]["security"]["score"]

    expected = search_models(engine, SearchFilters(size="7B", chat=True, license_class="permissive", limit=3,
                                                   sort="security"))  # fmt: skip
    found = _json(_text(await client.call_tool(
        "search_models", {"size": "7B", "chat": True, "license_class": "permissive", "sort": "security", "limit": 3})))
    assert [r["model_id"] for r in found["results"]] == [r["model_id"] for r in expected["results"]]
    assert found["total_matched"] == expected["total_matched"]
    assert len(expected["results"]) == min(3, expected["total_matched"]) > 0

    missing = _text(await client.call_tool("get_score", {"model_id": "nobody/no-such-model-xyz"}))
    assert "is not in the database" in missing, "an expected failure is an answer, not a protocol error"
    bad = await client.call_tool("explain_score", {"model_id": "google/gemma-7b", "category": "vibes"})
    assert bad.is_error, "arguments outside the schema are refused"


def test_stdio_server_answers_from_the_database(ingested, server_env):
    engine, _, _ = ingested
    params = StdioServerParameters(command=sys.executable, args=["-m", "whichmodel.cli.main", "mcp"], env=server_env)

    async def run():
        async with Client(params) as client:
            await _exercise(client, engine)

    anyio.run(run)


def test_streamable_http_server_on_a_port(ingested, server_env, tmp_path):
    engine, _, _ = ingested
    port = free_port()
    log = open(tmp_path / "mcp.log", "wb")
    process = subprocess.Popen([sys.executable, "-m", "whichmodel.cli.main", "mcp", "--port", str(port)],
                               env=os.environ | server_env, stdout=log, stderr=subprocess.STDOUT)  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/mcp", timeout=1)
            except urllib.error.HTTPError:
                break  # the endpoint answers (a bare GET is refused): the server is up
            except OSError:
                assert process.poll() is None and time.monotonic() < deadline, (tmp_path / "mcp.log").read_text()
                time.sleep(0.3)

        async def run():
            async with Client(f"http://127.0.0.1:{port}/mcp") as client:
                await _exercise(client, engine)

        anyio.run(run)
    finally:
        process.terminate()
        process.wait(10)
        log.close()
