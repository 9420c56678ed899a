"""UI fixtures: the real app (real fixture index, scripted chat model) served by uvicorn on 127.0.0.1.

Chromium is Debian's (/usr/bin/chromium), driven by pytest-playwright; see ../shared/RECIPES.md §1.
"""

from __future__ import annotations

import shutil
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.conftest import FIXTURE_CORPUS, REPO

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-default-apps",
    "--disable-domain-reliability",
    "--no-pings",
]
SCREENSHOTS = REPO / "artifacts" / "screenshots"

INDUCTION_REPLY = (
    "An induction head attends to the token right after an earlier copy of the current token and "
    "copies it forward, so repeated text can be continued [1]. It usually works together with a "
    "previous-token head in an earlier layer through K-composition [2]."
)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):  # keeps --headed / --slowmo from the CLI
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_ARGS}


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    return {**browser_context_args, "viewport": {"width": 1360, "height": 900}}


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


@dataclass
class LiveServer:
    url: str
    app: object
    server: object
    thread: threading.Thread

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


def start_server(app, host: str = "127.0.0.1") -> LiveServer:
    import uvicorn

    port = free_port(host)
    server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="warning", access_log=False))
    thread = threading.Thread(target=server.run, daemon=True, name=f"uvicorn-{port}")
    thread.start()
    url = f"http://{host}:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(url + "/healthz", timeout=1).status_code == 200 and server.started:
                return LiveServer(url, app, server, thread)
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    server.should_exit = True
    raise RuntimeError(f"app did not start on {url}")


def ui_settings(tmp: Path, **ui):
    from assistant.settings import Settings

    s = Settings()
    paths = s.paths.model_copy(update={"corpus_dir": FIXTURE_CORPUS, "index_dir": tmp / "index"})
    ui_section = s.ui.model_copy(update={"feedback_path": tmp / "feedback.jsonl", **ui})
    # The chat tests drive streaming model output: the generative mode (quoted answers: test_quoted_ui.py).
    generation = s.generation.model_copy(update={"mode": "generated"})
    return s.model_copy(update={"paths": paths, "ui": ui_section, "generation": generation})


@pytest.fixture(scope="session")
def chat_model():
    from tests.doubles import ScriptedChatModel

    return ScriptedChatModel(INDUCTION_REPLY, piece=6, delay_s=0.03)


@pytest.fixture(scope="session")
def live(retriever, chat_model, tmp_path_factory) -> Iterator[LiveServer]:
    """The real app on the fixture index; the chat model's reply can be changed per test."""
    from assistant.pipeline import Assistant
    from assistant.ui.app import build_app

    settings = ui_settings(tmp_path_factory.mktemp("ui"))
    server = start_server(build_app(Assistant(retriever, chat_model, settings), settings))
    yield server
    server.stop()


@pytest.fixture()
def scripted(chat_model):
    """Set the scripted reply for one test; restored afterwards."""
    before = (chat_model.reply, chat_model.delay_s, chat_model.piece)
    yield chat_model
    chat_model.reply, chat_model.delay_s, chat_model.piece = before


def shot(page, name: str, *, readme: bool = False) -> Path:
    """Save a test artifact. The README's pictures come from scripts/screenshots.py on the full
    glossary; `readme` only marks the shots that correspond to them."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=False)
    return path
