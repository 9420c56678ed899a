"""The chat in real Chromium against the real app (fixture index, scripted chat model) on 127.0.0.1."""

from __future__ import annotations

import json
import re

import pytest
from playwright.sync_api import Page, expect

from tests.ui.conftest import shot

pytestmark = pytest.mark.browser


def ask(page: Page, question: str) -> None:
    box = page.locator("#q textarea")
    box.fill(question)
    box.press("Enter")


def test_chat_streams_and_citation_lands_on_entry(page: Page, live, scripted):
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    page.goto(live.url + "/")
    expect(page.locator("#chips")).to_contain_text("What is an induction head?")  # examples on first load
    ask(page, "What is an induction head?")
    turn = page.locator("#turn-1")
    streaming = turn.locator(".answer-text.streaming")
    expect(streaming).to_be_visible(timeout=15_000)  # the answer arrives piece by piece...
    expect(turn.locator(".instant")).to_be_visible()  # ...after the instant definition
    partial = streaming.inner_text()
    expect(turn.locator(".retrieved")).to_be_visible(timeout=20_000)
    final = turn.locator(".answer-text").inner_text()
    assert len(final) > len(partial) or "streaming" not in (turn.locator(".answer-text").get_attribute("class") or "")
    expect(turn.locator(".retrieved li")).not_to_have_count(0)
    expect(turn.locator(".retrieved .badge.cited").first).to_be_visible()
    expect(turn.locator(".retrieved .section").first).not_to_be_empty()

    marker = turn.locator(".answer-text a.cite").last
    target = marker.get_attribute("href")
    assert target and target.startswith("#entry-")
    marker.click()
    card = page.locator(target)
    expect(card).to_be_in_viewport()
    expect(card).to_have_class(re.compile(r"\bhighlight\b"))
    assert page.url.endswith(target)
    shot(page, "chat", readme=True)

    page.locator("#turn-1 button.copy-answer").click()
    expect(page.locator("#turn-1 button.copy-answer")).to_have_text("Copied")
    assert "induction head" in page.evaluate("navigator.clipboard.readText()").lower()

    page.locator("#fb-comment textarea").fill("clear and cited")
    page.locator("#fb-up").click()
    expect(page.locator("#fb-status")).to_contain_text("saved")
    stored = [json.loads(x) for x in live.app.state.controller.feedback_log.path.read_text().splitlines()]
    assert stored[-1]["rating"] == "up" and stored[-1]["comment"] == "clear and cited"

    chip = page.locator("#chips button").first  # follow-up from the cited entries' related links
    expect(chip).to_contain_text("What is")
    chip.click()
    expect(page.locator("#turn-2 .retrieved")).to_be_visible(timeout=20_000)


def test_entry_url_opens_directly(page: Page, live):
    page.goto(live.url + "/entry/induction-head")
    expect(page.locator("h1")).to_have_text("Induction head")
    expect(page.locator(".summary")).to_contain_text("attention head")
    expect(page.locator("#reading-path li")).to_have_count(3)
    expect(page.locator("#reading-path li .step-summary").first).to_contain_text("The running")
    expect(page.locator(".sources a.ext")).to_have_attribute("rel", "noopener noreferrer")
    shot(page, "entry", readme=True)
    page.locator(".related a", has_text="Previous token head").click()
    expect(page).to_have_url(re.compile(r"/entry/previous-token-head$"))
    expect(page.locator("h1")).to_have_text("Previous token head")


def test_browse_to_an_entry_by_section(page: Page, live):
    page.goto(live.url + "/")
    page.get_by_role("tab", name="Glossary").click()
    section = page.locator("#glossary-index section", has_text="Induction Circuits")
    with page.context.expect_page() as popup:
        section.get_by_role("link", name="Induction head").click()
    entry = popup.value
    expect(entry.locator("h1")).to_have_text("Induction head")
    assert entry.url.endswith("/entry/induction-head")
    # the plain /glossary page works the same way, without Gradio
    page.goto(live.url + "/glossary")
    page.locator(".by-section section", has_text="Attention Heads").get_by_role("link", name="Attention head").click()
    expect(page.locator("h1")).to_have_text("Attention head")


def test_glossary_search_box(page: Page, live):
    page.goto(live.url + "/")
    page.get_by_role("tab", name="Glossary").click()
    box = page.locator("#glossary-search textarea, #glossary-search input").first
    box.fill("residual stream")
    box.press("Enter")
    expect(page.locator("#glossary-results a", has_text="Residual stream")).to_be_visible()


def test_not_covered_question_shows_suggestions(page: Page, live):
    page.goto(live.url + "/")
    ask(page, "What is the capital of France and its population?")
    suggestions = page.locator("#turn-1 .suggestions a")
    expect(suggestions.first).to_be_visible(timeout=20_000)
    assert suggestions.count() >= 1
    hrefs = [suggestions.nth(i).get_attribute("href") or "" for i in range(suggestions.count())]
    assert all(h.startswith("/entry/") for h in hrefs)
    expect(page.locator("#turn-1 .answer-text")).to_contain_text("does not cover")
    expect(page.locator("#chips button").first).to_contain_text("What is")
