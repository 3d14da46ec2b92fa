"""The Evaluate page in Debian's Chromium, started as `streamlit run app.py`: a prompt file uploaded
and run on two models (the embedded model, and the same endpoint configured as the Azure AI
endpoint: two columns, two endpoints, one real model), the grid, the pass rates and the export."""

from __future__ import annotations

import json
import os
import re
import time
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.support.app_server import chromium_page, idle, running_app

SCREENSHOTS = Path(os.environ["PLAYGROUND_SCREENSHOTS"]) if os.environ.get("PLAYGROUND_SCREENSHOTS") else None
EMBEDDED_LABEL = "Embedded model (offline) · SmolLM2-135M-Instruct"
AZURE_LABEL = "Microsoft Foundry (Model Inference API) · the deployment's model"

FILE = """\
name: Colours
modelParameters:
  maxTokens: 8
  temperature: 0
messages:
  - role: system
    content: You answer with one word.
  - role: user
    content: What colour is {{thing}}?
testData:
  - thing: the sky
    expected: blue
  - thing: grass
    expected: green
  - thing: snow
    expected: white
evaluators:
  - name: names the colour
    string:
      contains: '{{expected}}'
"""


@pytest.fixture(scope="module")
def app(endpoint, tmp_path_factory):
    log = tmp_path_factory.mktemp("app") / "streamlit.log"
    env = {"PLAYGROUND_LOCAL_PORT": str(endpoint.port), "AZURE_INFERENCE_ENDPOINT": endpoint.url,
           "AZURE_INFERENCE_CREDENTIAL": "unused-by-the-local-endpoint"}
    with running_app(env, log) as url:
        yield url


def test_a_file_runs_on_two_models_with_the_grid_pass_rates_and_export(app, endpoint, tmp_path):
    path = tmp_path / "colours.prompt.yml"
    path.write_text(FILE)
    before = len(endpoint.requests())
    with chromium_page(width=1400, height=1000) as page:
        page.goto(app)
        idle(page)
        page.get_by_role("link", name="Evaluate").click()
        expect(page.get_by_role("heading", name="Evaluate")).to_be_visible(timeout=30_000)
        idle(page)
        page.get_by_test_id("stFileUploaderDropzoneInput").set_input_files(str(path))
        expect(page.get_by_role("heading", name="Colours")).to_be_visible(timeout=30_000)

        models = page.get_by_test_id("stMultiSelect")
        expect(models).to_contain_text(AZURE_LABEL)  # the first provider's model is picked already
        models.click()
        page.get_by_role("option", name=EMBEDDED_LABEL).click()
        page.keyboard.press("Escape")
        expect(models).to_contain_text(EMBEDDED_LABEL)
        idle(page)

        page.get_by_role("button", name="Run").click()
        expect(page.get_by_text(re.compile(r"6 of 6 cells · \d+ passed")).first).to_be_visible(timeout=180_000)
        export = page.get_by_role("button", name="Export JSON")
        expect(export).to_be_visible(timeout=30_000)

        rates = page.locator("[data-testid='stMarkdownContainer'] p", has_text=re.compile(r"^Pass rate \d+%")
                             ).all_inner_texts()
        assert len(rates) == 2
        verdicts = page.get_by_text(re.compile(r"^(Pass|Fail)( · score [\d.]+)?$")).all_inner_texts()
        assert len(verdicts) == 6
        if SCREENSHOTS:
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            page.get_by_text("Test case").scroll_into_view_if_needed()
            page.screenshot(path=str(SCREENSHOTS / "evaluate.png"))
        assert page.get_by_text(re.compile(r"names the colour: [01]\.00 (pass|fail)")).count() == 6

        with page.expect_download() as download:
            export.click()
        data = json.loads(Path(download.value.path()).read_text())
    assert [c["model"] for c in data["columns"]] == [AZURE_LABEL, EMBEDDED_LABEL]
    shown = sorted(re.match(r"Pass rate (\d+)% \((\d+)/(\d+)\)", r).groups() for r in rates)
    exported = sorted((f"{c['passRate']:.0f}", str(c["passedTests"]), str(c["totalTests"])) for c in data["columns"])
    assert shown == exported
    assert data["summary"]["totalTests"] == 6 and len(data["testResults"]) == 6
    assert len(endpoint.requests()) - before == 6


def test_save_as_prompt_file_on_the_chat_page_opens_the_conversation_in_evaluate(app):
    with chromium_page() as page:
        page.goto(app)
        box = page.get_by_test_id("stChatInput").locator("textarea")
        box.fill("Name a fruit.")
        box.press("Enter")
        expect(page.get_by_text(re.compile(r"prompt \+ \d+ completion tokens"))).to_be_visible(timeout=120_000)
        idle(page)
        page.get_by_test_id("stSidebar").get_by_text("Save as prompt file").click()
        expect(page.get_by_role("button", name="Evaluate it")).to_be_visible(timeout=30_000)
        idle(page)
        page.get_by_role("button", name="Evaluate it").click()
        expect(page.get_by_role("heading", name="Evaluate")).to_be_visible(timeout=30_000)
        expect(page.get_by_role("heading", name="Name a fruit.")).to_be_visible(timeout=30_000)
        expect(page.get_by_text("Variables: {{input}}")).to_be_visible()
        expect(page.get_by_role("textbox", name="Content").last).to_have_value("{{input}}")
        page.get_by_role("tab", name="Test data").click()
        expect(page.get_by_test_id("stDataFrame")).to_be_visible()


def cells_done(page) -> int:
    text = page.get_by_test_id("stProgress").inner_text()
    return int(re.search(r"(\d+) of \d+ cells", text).group(1))


def open_file(page, app: str, path: Path, heading: str) -> None:
    """The Evaluate page with `path` uploaded, once its script run has ended."""
    page.goto(app + "/evaluate")
    idle(page)
    page.get_by_test_id("stFileUploaderDropzoneInput").set_input_files(str(path))
    expect(page.get_by_role("heading", name=heading)).to_be_visible(timeout=30_000)
    idle(page)


def test_a_rerun_keeps_the_running_evaluation_and_stop_keeps_what_finished(app, tmp_path):
    rows = "".join(f"  - thing: {thing}\n    expected: x\n" for thing in
                   ("a lemon", "coal", "a tomato", "milk", "the sea", "a crow", "chalk", "rust"))
    path = tmp_path / "long.prompt.yml"
    path.write_text(FILE.replace("maxTokens: 8", "maxTokens: 40").replace("name: Colours", "name: Long")
                    .split("testData:")[0] + "testData:\n" + rows + "evaluators:" + FILE.split("evaluators:")[1])
    with chromium_page(width=1400, height=1000) as page:
        open_file(page, app, path, "Long")
        page.get_by_role("button", name="Run").click()
        expect(page.get_by_text(re.compile(r"^[1-9]\d* of 8 cells"))).to_be_visible(timeout=120_000)
        # Any widget reruns the page: the run goes on, drawn again.
        page.get_by_text("Compare two saved runs").click()
        expect(page.get_by_text("Two saved runs of the same file are needed.")).to_be_visible(timeout=30_000)
        seen = cells_done(page)
        expect(page.get_by_text(re.compile(rf"^({'|'.join(str(n) for n in range(seen + 1, 8))}) of 8 cells"))
               ).to_be_visible(timeout=120_000)
        page.get_by_role("button", name="Stop").click()
        expect(page.get_by_role("heading", name="Results (stopped: the cells that finished are kept)")
               ).to_be_visible(timeout=120_000)
        finished = cells_done(page)
        assert seen < finished < 8
        expect(page.get_by_text("Not run (stopped)")).to_have_count(8 - finished)
        expect(page.get_by_text(re.compile(r"^(Pass|Fail)( · score [\d.]+)?$"))).to_have_count(finished)
        saved = page.get_by_test_id("stSidebar").get_by_role("combobox", name="Run")
        saved.click()
        newest = page.get_by_role("option").first  # saved runs are listed newest first
        expect(newest).to_contain_text(re.compile(r"· Long · .* · \d+/8 passed$"))


def downloaded_file(page, containing: str, timeout: float = 30.0) -> str:
    """The edited file as "Download .prompt.yml" gives it, once it holds `containing` (an edit's
    rerun may still be on its way) or the deadline passes."""
    deadline = time.monotonic() + timeout
    while True:
        idle(page)
        with page.expect_download() as download:
            page.get_by_role("button", name="Download .prompt.yml").click()
        text = Path(download.value.path()).read_text()
        if containing in text or time.monotonic() > deadline:
            return text


def test_an_edit_to_the_test_data_survives_a_visit_to_another_page(app, tmp_path):
    path = tmp_path / "colours.prompt.yml"
    path.write_text(FILE)
    with chromium_page(width=1400, height=1000) as page:
        open_file(page, app, path, "Colours")
        page.get_by_role("tab", name="Test data").click()
        grid = page.get_by_test_id("stDataFrame")
        expect(grid).to_be_visible()
        # The grid is a canvas: click its first row, then move by keys to the cell, as a user may.
        canvas = grid.get_by_test_id("data-grid-canvas")
        where = canvas.bounding_box()
        page.mouse.click(where["x"] + 40, where["y"] + 36 + 17)  # below the 36 px header (the scroller takes it)
        for _ in range(4):
            if canvas.get_by_test_id("glide-cell-2-0").get_attribute("aria-selected") == "true":
                break
            page.keyboard.press("ArrowRight")
        expect(canvas.get_by_test_id("glide-cell-2-0")).to_have_attribute("aria-selected", "true")
        page.keyboard.press("Enter")  # opens the cell's editor, over the grid
        editor = page.locator("textarea.gdg-input")
        expect(editor).to_be_visible()
        editor.fill("sky blue")
        editor.press("Enter")
        expect(canvas.get_by_test_id("glide-cell-2-0")).to_have_text("sky blue")
        assert "expected: sky blue" in downloaded_file(page, "sky blue")

        page.get_by_role("link", name="Chat").click()
        expect(page.get_by_role("heading", name="Chat")).to_be_visible(timeout=30_000)
        idle(page)
        page.get_by_role("link", name="Evaluate").click()
        expect(page.get_by_role("heading", name="Colours")).to_be_visible(timeout=30_000)
        assert "expected: sky blue" in downloaded_file(page, "sky blue")
