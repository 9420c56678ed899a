"""Glossary terms in prose, in real Chromium: hover and focus cards, the keyboard, and a term
click in the chat opening the entry beside it (real app, fixture index, scripted chat model)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.ui.conftest import shot

pytestmark = pytest.mark.browser


def test_entry_page_cards_on_hover_and_focus_and_keyboard(page: Page, live):
    page.goto(live.url + "/entry/induction-head")
    terms = page.locator(".body .term")
    assert terms.count() >= 3
    first, second = terms.nth(0), terms.nth(1)
    expect(first.locator(".term-card")).to_be_hidden()
    first.locator("a.term-link").hover()
    card = first.locator(".term-card")
    expect(card).to_be_visible()
    href = first.locator("a.term-link").get_attribute("href") or ""
    target = href.removeprefix("/entry/")
    expect(card.locator("strong")).not_to_be_empty()
    expect(card.locator(".term-summary")).not_to_be_empty()
    shot(page, "term-card")
    page.mouse.move(0, 0)
    expect(card).to_be_hidden()
    # keyboard: a term is a plain link in the tab order; focus shows its card, Tab moves on to the next
    first.locator("a.term-link").focus()
    expect(card).to_be_visible()
    page.keyboard.press("Tab")
    expect(second.locator("a.term-link")).to_be_focused()
    expect(second.locator(".term-card")).to_be_visible()
    expect(card).to_be_hidden()
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(rf"/entry/{re.escape(target)}$"))
    expect(page.locator("h1")).to_be_visible()


def _uncover(page: Page) -> None:
    """Move the mouse away and the focus elsewhere: an open card (hovered or focused) may cover the next link."""
    page.mouse.move(0, 0)
    page.locator("#q textarea").focus()


def test_chat_term_click_opens_the_entry_in_the_side_panel(page: Page, live, scripted):
    page.goto(live.url + "/")
    box = page.locator("#q textarea")
    box.fill("What is an induction head?")
    box.press("Enter")
    turn = page.locator("#turn-1")
    expect(turn.locator(".tools")).to_be_visible(timeout=30_000)
    links = turn.locator(".answer-text a.term-link, .instant a.term-link")
    expect(links.first).to_be_visible()
    hrefs = [links.nth(i).get_attribute("href") or "" for i in range(links.count())]
    in_panel = {h for h in hrefs if page.locator(f"#sources-panel #entry-{h.removeprefix('/entry/')}").count()}
    fresh = [h for h in hrefs if h not in in_panel]
    assert fresh, hrefs  # the answer names a term that was not cited
    link = turn.locator(f"a.term-link[href='{fresh[0]}']").first
    link.hover()  # the hover card survives Gradio's sanitizer
    expect(turn.locator(f".term:has(a[href='{fresh[0]}']) .term-card").first).to_be_visible()
    pages_before = len(page.context.pages)
    link.click()
    viewer = page.locator("#term-viewer .entry-card")
    expect(viewer).to_be_visible()
    expect(viewer).to_be_in_viewport()
    expect(viewer.locator(".permalink")).to_have_attribute("href", fresh[0])
    assert len(page.context.pages) == pages_before and page.url.rstrip("/").endswith(live.url.split("//")[1])
    shot(page, "chat-term-panel")
    # a term the panel already shows highlights that card instead
    if in_panel:
        cited = next(iter(in_panel))
        _uncover(page)
        turn.locator(f"a.term-link[href='{cited}']").first.click()
        expect(page.locator(f"#sources-panel #entry-{cited.removeprefix('/entry/')}")).to_have_class(
            re.compile(r"\bhighlight\b")
        )
    page.locator("#term-viewer button.close-card").click()
    expect(viewer).to_have_count(0)
    # ctrl-click keeps the browser's behaviour: the entry page opens in a new tab
    _uncover(page)
    with page.context.expect_page() as popup:
        link.click(modifiers=["Control"])
    expect(popup.value.locator("h1")).to_be_visible()
    popup.value.close()
