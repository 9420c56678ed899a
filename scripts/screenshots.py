"""Screenshots of the chat and an entry page on the FULL glossary, for the README (not a test).

Starts `mi-glossary serve` (fast profile) on a free loopback port, asks one question in Debian's
Chromium, clicks the first citation, and saves docs/screenshots/{chat,entry}.png, then a term
clicked in the chat, a hover card, formulas, the map and a section's reading map.

    python scripts/screenshots.py
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

from playwright.sync_api import expect, sync_playwright

OUT = Path(__file__).resolve().parents[1] / "docs" / "screenshots"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main() -> None:
    port = free_port()
    env = {
        **os.environ,
        "MI_GLOSSARY_LLM__PROFILE": os.environ.get("MI_GLOSSARY_LLM__PROFILE", "fast"),
        "GRADIO_ANALYTICS_ENABLED": "False",
    }
    server = subprocess.Popen([sys.executable, "-m", "assistant.cli", "serve", "--port", str(port)], env=env)  # noqa: S603
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):
            try:
                socket.create_connection(("127.0.0.1", port), 0.2).close()
                break
            except OSError:
                time.sleep(0.2)
        OUT.mkdir(parents=True, exist_ok=True)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=shutil.which("chromium") or "/usr/bin/chromium", args=ARGS)
            page = browser.new_page(viewport={"width": 1360, "height": 900})
            page.goto(url + "/")
            box = page.locator("#q textarea")
            expect(box).to_be_visible(timeout=60_000)
            box.fill("How do induction heads use K-composition?")
            box.press("Enter")
            turn = page.locator("#turn-1")
            expect(turn.locator(".retrieved")).to_be_visible(timeout=180_000)
            marker = turn.locator(".answer-text a.cite").first
            if marker.count():
                marker.click()
                time.sleep(0.5)
            page.screenshot(path=str(OUT / "chat.png"))
            hrefs = turn.locator(".answer-text a.term-link").evaluate_all("els => els.map(e => e.getAttribute('href'))")
            in_panel = lambda h: page.locator(f"#sources-panel #entry-{h.removeprefix('/entry/')}").count()  # noqa: E731
            uncited = [h for h in hrefs if not in_panel(h)]
            term = turn.locator(f".answer-text a.term-link[href='{uncited[0]}']").first if uncited else None
            if term is not None:
                term.hover()
                term.click()  # opens the entry beside the chat
                expect(page.locator("#term-viewer .entry-card")).to_be_visible(timeout=10_000)
                time.sleep(0.5)
                page.screenshot(path=str(OUT / "chat-term-panel.png"))
            page.goto(url + "/entry/induction-head")
            expect(page.locator("h1")).to_be_visible(timeout=30_000)
            page.screenshot(path=str(OUT / "entry.png"))
            page.goto(url + "/entry/superposition")
            page.locator(".body a.term-link").nth(1).hover()
            page.screenshot(path=str(OUT / "term-card.png"))
            page.goto(url + "/entry/qk-circuit")
            page.screenshot(path=str(OUT / "formulas.png"))
            page.goto(url + "/graph")
            expect(page.locator("svg.graph")).to_be_visible(timeout=30_000)
            page.screenshot(path=str(OUT / "graph.png"))
            page.goto(url + "/graph?section=transformer-circuits/induction-circuits")
            page.screenshot(path=str(OUT / "reading-map.png"), full_page=True)
            browser.close()
        print(f"saved chat, entry, chat-term-panel, term-card, formulas, graph and reading-map under {OUT}")
    finally:
        server.terminate()
        server.wait(timeout=30)


if __name__ == "__main__":
    main()
