"""The Gradio app in a real browser: Playwright driving Debian's Chromium against 127.0.0.1.

Screenshots land in artifacts/ (git-ignored). Chromium is installed by .ci/run; without it this test fails,
it does not skip.
"""

import socket
from pathlib import Path

import pytest
from whichmodel.config import Settings

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]  # fmt: skip
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(ingested, shared_data, tmp_path_factory):
    from whichmodel.trends.leaderboard import load_file
    from whichmodel.ui.app import launch

    engine, _, _ = ingested
    load_file(engine, shared_data / "leaderboard" / "huggingface_v1_final.csv")
    settings = Settings(home=tmp_path_factory.mktemp("ui-home"), database_url=str(engine.url))
    port = free_port()
    demo = launch(settings, port=port, block=False)
    yield f"http://127.0.0.1:{port}/", demo
    demo.close()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    assert Path(CHROMIUM).exists(), "Debian's chromium is required: apt-get install -y chromium"
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield chromium
        chromium.close()


def ask_headline_question(page) -> None:
    """Ask "safest permissive 7B chat model" and wait for the answer that lists matches."""
    page.fill("#question textarea", "safest permissive 7B chat model")
    page.keyboard.press("Enter")
    page.wait_for_function(
        "(document.querySelector('#chatbot') || {innerText: ''}).innerText.includes('model(s) match')", timeout=30_000
    )


def test_ask_open_score_card_and_change_a_trend(server, browser):
    url, _ = server
    context = browser.new_context(viewport={"width": 1280, "height": 1000})
    page = context.new_page()
    external = []
    page.on("request", lambda r: external.append(r.url) if not r.url.startswith(("http://127.0.0.1", "data:",
                                                                                   "blob:")) else None)  # fmt: skip
    page.goto(url, wait_until="load")
    page.wait_for_selector("#question textarea", timeout=30_000)

    # 1. The headline question: an answer naming a model, and a tool-call message.
    ask_headline_question(page)
    chat = page.locator("#chatbot").inner_text()
    assert "🛠️ search_models(" in chat and "Filters: size 7B" in chat
    link = page.locator("#chatbot a[href*='?model=']").first
    model_id = link.inner_text()
    assert "/" in model_id
    page.screenshot(path=str(ARTIFACTS / "ui-chat.png"), full_page=True)

    # 2. The model id links to its score card.
    with context.expect_page() as opened:
        link.click()
    card = opened.value
    card.wait_for_load_state("load")
    card.wait_for_function(f"(document.querySelector('#model-facts') || {{innerText: ''}}).innerText"
                           f".includes({model_id!r})", timeout=30_000)  # fmt: skip
    facts = card.locator("#model-facts").inner_text()
    assert "license" in facts and "Overall" in facts
    assert card.locator("#findings").inner_text().count("safetensors") >= 1
    card.wait_for_selector("#category-plot .js-plotly-plot", timeout=30_000)
    card.screenshot(path=str(ARTIFACTS / "ui-model.png"), full_page=True)

    # 3. Trends: switching the unit from month to week changes the plot.
    page.get_by_role("tab", name="Trends").click()
    page.wait_for_selector("#trend-plot .js-plotly-plot", timeout=30_000)
    points = "() => document.querySelector('#trend-plot .js-plotly-plot').data.reduce((n, t) => n + t.x.length, 0)"
    months = page.evaluate(points)
    page.locator("#trend-unit").get_by_text("week", exact=True).click()
    page.wait_for_function(f"({points})() > {months}", timeout=30_000)
    weeks = page.evaluate(points)
    assert weeks > months > 0
    page.screenshot(path=str(ARTIFACTS / "ui-trends.png"), full_page=True)
    assert external == [], f"requests left the machine: {external[:5]}"
    context.close()


def test_sessions_get_their_own_threads(server, browser):
    url, _ = server
    first, second = browser.new_page(), browser.new_page()
    for page in (first, second):
        page.goto(url, wait_until="load")
        page.wait_for_selector("#question textarea", timeout=30_000)
    ask_headline_question(first)
    second.fill("#question textarea", "and the second one?")
    second.keyboard.press("Enter")
    second.wait_for_function("document.querySelectorAll('#chatbot .message').length >= 2 && "
                             "document.querySelector('#chatbot').innerText.includes('I answer from')",
                             timeout=30_000)  # fmt: skip
    assert "model(s) match" not in second.locator("#chatbot").inner_text(), "no context leaks between sessions"
