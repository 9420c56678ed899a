"""Quoted answers (the default mode) in real Chromium: labelled, cited, opening the entry in the panel."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.ui.conftest import shot, start_server
from tests.ui.test_browser import ask

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def quoted_live(retriever, tmp_path_factory):
    from assistant.pipeline import Assistant
    from assistant.settings import Settings
    from assistant.ui.app import build_app

    tmp = tmp_path_factory.mktemp("quoted")
    s = Settings()
    settings = s.model_copy(
        update={
            "paths": s.paths.model_copy(update={"index_dir": tmp / "index"}),
            "ui": s.ui.model_copy(update={"feedback_path": tmp / "feedback.jsonl"}),
        }
    )
    assert settings.generation.mode == "quoted"  # the default
    server = start_server(build_app(Assistant(retriever, None, settings), settings))
    yield server
    server.stop()


def test_quoted_answer_is_labelled_and_its_citations_open_entries(page: Page, quoted_live):
    page.goto(quoted_live.url + "/")
    ask(page, "How do induction heads and previous-token heads relate?")
    turn = page.locator("#turn-1")
    expect(turn.locator(".retrieved")).to_be_visible(timeout=20_000)
    expect(turn.locator(".provenance.quoted")).to_contain_text("Quoted from the glossary")
    expect(turn.locator(".instant")).to_have_count(0)  # the definition is the answer's first sentence
    markers = turn.locator(".answer-text a.cite")
    assert markers.count() >= 2
    targets = {markers.nth(i).get_attribute("href") for i in range(markers.count())}
    assert targets >= {"#entry-induction-head", "#entry-previous-token-head"}
    markers.last.click()
    card = page.locator(markers.last.get_attribute("href"))
    expect(card).to_be_in_viewport()
    expect(card).to_have_class(re.compile(r"\bhighlight\b"))
    shot(page, "quoted-answer")
