"""The live client against a fake Hub on 127.0.0.1: retries where they help, clear errors where they don't."""

import json
import time

import pytest
from factories import RICH_CARD, wire
from fake_hub import Answer, gated, json_answer, not_found
from whichmodel.cli.main import main
from whichmodel.config import Settings
from whichmodel.hub.client import HubClient, HubUnreachable, ModelGated, ModelNotFound


def client(hub, retries=3):
    waits = []
    settings = Settings(hf_endpoint=hub.url, hub_max_retries=retries, hub_timeout_s=2.0)
    return HubClient(settings, sleep=waits.append), waits


def test_fetch_facts_reads_record_card_and_discussions(hub):
    hub.serve_model(wire(id="acme/widget-7b"), readme=RICH_CARD, discussions=(4, 2))
    facts, card = client(hub)[0].fetch_facts("acme/widget-7b")
    assert card == RICH_CARD
    assert (facts.discussions, facts.pull_requests) == (4, 2)
    assert facts.card.facts["training"].present and facts.license == "apache-2.0"


def test_429_with_retry_after_is_retried_after_the_advertised_wait(hub):
    record = wire(id="acme/busy")
    hub.script("/api/models/acme/busy", json_answer({}, 429, **{"Retry-After": "7"}), json_answer(record))
    c, waits = client(hub)
    assert c.model_record("acme/busy")["id"] == "acme/busy"
    assert waits[0] == 7.0


def test_500s_back_off_exponentially_then_give_up_clearly(hub):
    hub.script("/api/models/acme/broken", json_answer({"error": "boom"}, 500))
    c, waits = client(hub, retries=3)
    with pytest.raises(HubUnreachable, match="HTTP 500 .* after 4 tries"):
        c.model_record("acme/broken")
    assert waits == [1.0, 2.0, 4.0]


def test_truncated_json_is_retried_then_reported(hub):
    hub.script(
        "/api/models/acme/cut", Answer(200, b'{"id": "acme/cut", "tags": [', {"Content-Type": "application/json"})
    )
    c, waits = client(hub, retries=1)
    with pytest.raises(HubUnreachable, match="unreadable answer"):
        c.model_record("acme/cut")
    assert len(waits) == 1


def test_slow_answers_time_out_and_are_retried(hub):
    record = wire(id="acme/slow")
    hub.script("/api/models/acme/slow", Answer(200, json.dumps(record).encode(), delay=3.0), json_answer(record))
    c, waits = client(hub)
    assert c.model_record("acme/slow")["id"] == "acme/slow"
    assert len(waits) == 1


def test_missing_and_gated_models_raise_specific_errors_without_retrying(hub):
    hub.script("/api/models/acme/ghost", not_found())
    hub.script("/api/models/acme/secret", gated())
    c, waits = client(hub)
    with pytest.raises(ModelNotFound):
        c.model_record("acme/ghost")
    with pytest.raises(ModelGated, match="HF_TOKEN"):
        c.model_record("acme/secret")
    assert waits == []


def test_gated_readme_still_scores_the_metadata(hub):
    hub.serve_model(wire(id="acme/gated", gated="manual"))
    hub.script("/acme/gated/resolve/main/README.md", gated())
    facts, card = client(hub)[0].fetch_facts("acme/gated")
    assert card is None and facts.gated == "manual"


def test_unreachable_hub_fails_fast():
    settings = Settings(hf_endpoint="http://127.0.0.1:9", hub_max_retries=4)
    started = time.monotonic()
    with pytest.raises(HubUnreachable, match="cannot reach"):
        HubClient(settings).model_record("a/b")
    assert time.monotonic() - started < 5


def test_cli_score_fetches_stores_and_then_answers_offline(hub, tmp_path, monkeypatch, capsys):
    hub.serve_model(wire(id="acme/widget-7b", downloads=12345), readme=RICH_CARD, discussions=(3, 1))
    monkeypatch.setenv("HF_ENDPOINT", hub.url)
    home = str(tmp_path / "home")
    assert main(["--home", home, "score", "acme/widget-7b", "--json"]) == 0
    card = json.loads(capsys.readouterr().out)
    assert card["facts"]["downloads"] == 12345
    activity = {f["check"]: f["outcome"] for f in card["categories"]["activity"]["findings"]}
    assert activity["discussions"] == "pass" and activity["pull_requests"] == "pass"
    # Stored: answered from the database even with the Hub gone.
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")
    assert main(["--home", home, "score", "acme/widget-7b", "--no-fetch", "--json"]) == 0


def test_cli_hub_ingest_keeps_what_was_fetched_before_the_hub_failed(hub, tmp_path, monkeypatch, capsys):
    records = [wire(id=f"acme/m{i}") for i in range(3)]
    hub.script("/api/models", json_answer([{"id": "probe"}]), json_answer(records))
    for record in records[:2]:
        hub.serve_model(record, readme="# M\n\nA model.\n")
    # The third model's discussions endpoint dies: the Hub went away mid-run.
    hub.script("/api/models/acme/m2/discussions", json_answer({"error": "down"}, 503))
    monkeypatch.setenv("HF_ENDPOINT", hub.url)
    monkeypatch.setenv("WHICHMODEL_HUB_RETRIES", "1")
    home = str(tmp_path / "home")
    code = main(["--home", home, "ingest", "--hub", "--limit", "3", "--json"])
    out = json.loads(capsys.readouterr().out)
    assert code == 1
    assert out["runs"][0]["status"] == "failed" and out["runs"][0]["new_models"] == 2
    assert main(["--home", home, "score", "acme/m1", "--no-fetch"]) == 0
