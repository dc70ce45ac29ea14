"""Serving the UI beyond this machine (issue 14, items 18-19): a login, an upload cap, writes and Hub switchable off."""

import urllib.error
import urllib.request

import pytest
from whichmodel.cli.main import main
from whichmodel.config import Settings


def test_a_network_host_without_a_login_is_refused(tmp_path, capsys):
    from whichmodel.ui.app import ExposureError, exposure_check

    settings = Settings(home=tmp_path)
    with pytest.raises(ExposureError, match="without a login"):
        exposure_check(settings, "0.0.0.0")
    assert exposure_check(settings, "127.0.0.1") is None
    assert exposure_check(settings, "0.0.0.0", allow_open=True) is None
    assert main(["--home", str(tmp_path), "ui", "--host", "0.0.0.0"]) == 2
    assert "WHICHMODEL_UI_AUTH" in capsys.readouterr().err
    logins = tmp_path / "logins"
    logins.write_text("# who may log in\nalice:s3cret:with:colons\n\nbob:pw\n")
    assert exposure_check(Settings(home=tmp_path, ui_auth_file=str(logins)), "0.0.0.0") == [
        ("alice", "s3cret:with:colons"), ("bob", "pw")]  # fmt: skip
    (tmp_path / "empty").write_text("# nobody\n")
    with pytest.raises(ExposureError, match="no `user:password` line"):
        exposure_check(Settings(home=tmp_path, ui_auth_file=str(tmp_path / "empty")), "0.0.0.0")


def test_settings_read_the_switches_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("WHICHMODEL_HUB_FETCH", "false")
    monkeypatch.setenv("WHICHMODEL_UI_AUTH", str(tmp_path / "logins"))
    monkeypatch.setenv("WHICHMODEL_UI_MAX_UPLOAD", "1mb")
    settings = Settings.from_env(home=tmp_path)
    assert (settings.hub_fetch, settings.ui_max_upload) == (False, "1mb")
    assert settings.ui_auth_file == str(tmp_path / "logins")
    monkeypatch.setenv("WHICHMODEL_HUB_FETCH", "1")
    assert Settings.from_env(home=tmp_path).hub_fetch is True


def test_fetch_and_score_is_off_when_hub_fetch_is_off(tmp_path, engine):
    from fake_hub import FakeHub
    from whichmodel.tools import Services, make_tools

    with FakeHub() as hub:
        settings = Settings(home=tmp_path, hf_endpoint=f"http://127.0.0.1:{hub.port}", hub_fetch=False)
        tools = {t.name: t for t in make_tools(Services(engine, settings))}
        text = tools["fetch_and_score"].invoke({"model_id": "someorg/x"})
        assert "turned off" in text
        assert hub.requests == [], "nothing reached the Hub"


def test_score_does_not_fetch_when_hub_fetch_is_off(tmp_path, monkeypatch, capsys):
    """The guard sits in the fetch-and-score use case, so the CLI's `score` honours it as the tool does."""
    import json

    from fake_hub import FakeHub

    with FakeHub() as hub:
        monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{hub.port}")
        monkeypatch.setenv("WHICHMODEL_HUB_FETCH", "false")
        assert main(["--home", str(tmp_path), "score", "someorg/x", "--json"]) == 4  # unknown model
        assert hub.requests == [], "nothing reached the Hub"
    out = capsys.readouterr()
    assert "turned off" in json.loads(out.out)["error"] and "turned off" in out.err


def _post_upload(url: str, size: int) -> int:
    boundary = "xyzboundary"
    head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"files\"; filename=\"a.bin\"\r\n"
            "Content-Type: application/octet-stream\r\n\r\n").encode()
    body = head + b"0" * size + f"\r\n--{boundary}--\r\n".encode()
    headers = {"Content-Type": f"multipart/form-data; boundary={boundary}"}
    request = urllib.request.Request(url, data=body, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return answer.status
    except urllib.error.HTTPError as err:
        return err.code


def test_served_app_caps_uploads_and_asks_for_a_login(tmp_path):
    from whichmodel.ui.app import launch

    logins = tmp_path / "logins"
    logins.write_text("alice:pw\n")
    demo = launch(Settings(home=tmp_path, ui_max_upload="100kb", ui_auth_file=str(logins)), host="127.0.0.1",
                  port=None, block=False)  # fmt: skip
    try:
        base = demo.local_url.rstrip("/")
        with pytest.raises(urllib.error.HTTPError) as denied:
            urllib.request.urlopen(f"{base}/config", timeout=30)
        assert denied.value.code == 401
    finally:
        demo.close()
    demo = launch(Settings(home=tmp_path, ui_max_upload="100kb"), host="127.0.0.1", port=None, block=False)
    try:
        base = demo.local_url.rstrip("/")
        assert _post_upload(f"{base}/gradio_api/upload", 10_000) == 200
        assert _post_upload(f"{base}/gradio_api/upload", 300_000) == 413
    finally:
        demo.close()
