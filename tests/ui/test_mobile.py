"""At 390 px wide (a phone), in real Chromium: no horizontal scroll, and tap targets >= 40 px."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.ui.conftest import shot

pytestmark = pytest.mark.browser

PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}

OVERFLOW = "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
SMALL_TARGETS = """(sel) => [...document.querySelectorAll(sel)]
  .filter((el) => el.offsetParent !== null)
  .map((el) => [el.textContent.trim().slice(0, 30) || el.tagName, el.getBoundingClientRect().height])
  .filter(([, h]) => h < 40)"""
PAGE_TARGETS = (
    "nav.top a, nav.top button, nav.top input, .related li a, .prerequisites li a, .sources li a, "
    ".reading-path li > a, form.graph-tools input, form.graph-tools select, form.graph-tools button, "
    ".by-section li a"
)


@pytest.fixture()
def phone(browser):
    context = browser.new_context(**PHONE)
    yield context.new_page()
    context.close()


@pytest.mark.parametrize(
    "path",
    [
        "/entry/induction-head",
        "/glossary?q=attention",
        "/graph",
        "/graph?section=transformer-circuits/induction-circuits",
    ],
)
def test_pages_fit_a_phone(phone: Page, live, path):
    phone.goto(live.url + path)
    expect(phone.locator("h1")).to_be_visible()
    assert phone.evaluate(OVERFLOW) <= 0, path
    assert phone.evaluate(SMALL_TARGETS, PAGE_TARGETS) == [], path
    if path.startswith("/entry/"):
        shot(phone, "entry-390")


def test_chat_fits_a_phone(phone: Page, live, scripted):
    phone.goto(live.url + "/")
    box = phone.locator("#q textarea")
    expect(box).to_be_visible(timeout=30_000)
    box.fill("What is an induction head?")
    phone.locator("#send").click()
    expect(phone.locator("#turn-1 .tools")).to_be_visible(timeout=30_000)
    assert phone.evaluate(OVERFLOW) <= 0
    targets = "#send, #q textarea, #chips button, #fb-up, #fb-down, #transcript button.copy-answer, [role=tab]"
    small = phone.evaluate(SMALL_TARGETS, targets)
    assert small == [], small
    shot(phone, "chat-390")
