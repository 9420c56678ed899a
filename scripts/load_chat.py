"""Load benchmark for the chat UI (not a unit test): N concurrent chat sessions on loopback.

Each session is a gradio_client Client (its own server-side conversation) asking Q questions
with think time between them, through the same `/ask` event the browser uses. Meanwhile a
poller times `GET /` to show the page still loads while the language model is busy.

Prints p50/p95 of: time to first content (instant definition or first streamed words), time to
first model token (first streamed words), end-to-end; counts of explicit "busy" rejections
(HTTP 503 queue full) and of any other error; and GET / latency. Exits 1 if there was any
error other than an explicit rejection.

Usage (loopback only):
    # against a running app (`mi-glossary serve`):
    python scripts/load_chat.py --url http://127.0.0.1:7860
    # start the real app (index + model from settings/env) in a subprocess, then load it:
    MI_GLOSSARY_LLM__PROFILE=fast python scripts/load_chat.py --start
    # same, with a scripted model that takes ~S seconds per answer (no LLM needed):
    python scripts/load_chat.py --start --scripted 4
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

QUESTIONS = [
    "What is an induction head?",
    "How does activation patching work?",
    "What is superposition?",
    "What is the residual stream?",
    "What does a sparse autoencoder learn?",
    "What is a QK circuit?",
    "What is polysemanticity?",
    "How does the logit lens work?",
]
DEADLINE_S = 20 * 60  # the whole run stops by itself
QUESTION_TIMEOUT_S = 240


@dataclass
class Sample:
    first_content: float | None = None
    first_token: float | None = None
    total: float | None = None
    outcome: str = "ok"  # ok | busy | error
    detail: str = ""


@dataclass
class Results:
    samples: list[Sample] = field(default_factory=list)
    page_loads: list[float] = field(default_factory=list)
    page_errors: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


def pct(values: list[float], q: float) -> str:
    if not values:
        return "-"
    values = sorted(values)
    k = min(len(values) - 1, max(0, round(q * (len(values) - 1))))
    return f"{values[k]:.2f}s"


def last_turn(html: str) -> str:
    parts = re.split(r'<div id="turn-\d+" class="turn">', html)
    return parts[-1] if len(parts) > 1 else ""


def one_question(client, question: str) -> Sample:
    sample = Sample()
    t0 = time.perf_counter()
    try:
        job = client.submit(question, api_name="/ask")
        for output in job:
            turn = last_turn(output[0] if isinstance(output, list | tuple) else str(output))
            now = time.perf_counter() - t0
            if sample.first_content is None and (
                'class="instant"' in turn or "answer-text streaming" in turn or 'class="tools"' in turn
            ):
                sample.first_content = now
            if sample.first_token is None and ("answer-text streaming" in turn or 'class="tools"' in turn):
                sample.first_token = now
            if time.perf_counter() - t0 > QUESTION_TIMEOUT_S:
                job.cancel()
                raise TimeoutError(f"no final answer after {QUESTION_TIMEOUT_S}s")
        final = job.outputs()[-1] if job.outputs() else None
        turn = last_turn(final[0]) if final else ""
        sample.total = time.perf_counter() - t0
        if 'class="error"' in turn:
            sample.outcome, sample.detail = "error", re.sub(r"<[^>]+>", "", turn.split('class="error"', 1)[1])[:160]
        elif 'class="tools"' not in turn:
            sample.outcome, sample.detail = "error", "no final answer"
    except Exception as exc:
        text = f"{type(exc).__name__}: {exc}"
        busy = any(w in text.lower() for w in ("queue is full", "busy", "503", "queue full"))
        sample.outcome, sample.detail = ("busy" if busy else "error"), text[:200]
        sample.total = time.perf_counter() - t0
    return sample


def session(url: str, index: int, questions: int, think: float, results: Results, stop: float) -> None:
    from gradio_client import Client

    client = Client(url, verbose=False)
    for i in range(questions):
        if time.monotonic() > stop:
            return
        question = QUESTIONS[(index + i * 3) % len(QUESTIONS)]
        sample = one_question(client, question)
        with results.lock:
            results.samples.append(sample)
        if sample.outcome != "ok":
            print(f"  session {index}: {sample.outcome}: {sample.detail}", file=sys.stderr)
        time.sleep(think)


def poll_pages(url: str, results: Results, done: threading.Event) -> None:
    with httpx.Client(timeout=10) as http:
        while not done.is_set():
            t0 = time.perf_counter()
            try:
                ok = http.get(url + "/").status_code == 200
                results.page_loads.append(time.perf_counter() - t0)
                results.page_errors += not ok
            except httpx.HTTPError:
                results.page_errors += 1
            done.wait(0.5)


def run(url: str, sessions: int, questions: int, think: float) -> int:
    results = Results()
    done = threading.Event()
    stop = time.monotonic() + DEADLINE_S
    poller = threading.Thread(target=poll_pages, args=(url, results, done), daemon=True)
    poller.start()
    started = time.perf_counter()
    threads = [
        threading.Thread(target=session, args=(url, i, questions, think, results, stop), daemon=True)
        for i in range(sessions)
    ]
    for t in threads:
        t.start()
        time.sleep(0.2)  # sessions open within ~2 s, as people arriving, not one burst
    for t in threads:
        t.join(timeout=max(1.0, stop - time.monotonic()))
    done.set()
    poller.join(timeout=5)
    wall = time.perf_counter() - started
    ok = [s for s in results.samples if s.outcome == "ok"]
    busy = [s for s in results.samples if s.outcome == "busy"]
    errors = [s for s in results.samples if s.outcome == "error"]
    health = httpx.get(url + "/healthz", timeout=10).json()
    print(
        f"\nload_chat: {sessions} sessions x {questions} questions, think {think:.0f}s, wall {wall:.0f}s, "
        f"model {health.get('llm')}"
    )
    print(f"  answered        {len(ok)}/{len(results.samples)}")
    print(
        f"  first content   p50 {pct([s.first_content for s in ok if s.first_content], 0.5)}"
        f"  p95 {pct([s.first_content for s in ok if s.first_content], 0.95)}  (instant definition or words)"
    )
    tokens = [s.first_token for s in ok if s.first_token]
    print(f"  first token     p50 {pct(tokens, 0.5)}  p95 {pct(tokens, 0.95)}")
    totals = [s.total for s in ok if s.total]
    print(f"  end-to-end      p50 {pct(totals, 0.5)}  p95 {pct(totals, 0.95)}  max {pct(totals, 1.0)}")
    print(f"  busy rejections {len(busy)}  (slowest rejection {pct([s.total for s in busy if s.total], 1.0)})")
    print(f"  other errors    {len(errors)}")
    print(
        f"  GET /           n={len(results.page_loads)}  p50 {pct(results.page_loads, 0.5)}  "
        f"p95 {pct(results.page_loads, 0.95)}  max {pct(results.page_loads, 1.0)}  errors {results.page_errors}"
    )
    for s in errors[:5]:
        print(f"    error: {s.detail}")
    return 1 if errors or results.page_errors else 0


def serve_here(port: int, scripted: float | None) -> None:
    """Run the app in this process (the --start child)."""
    from assistant.factory import open_assistant, open_retriever
    from assistant.pipeline import Assistant
    from assistant.settings import Settings
    from assistant.ui.serve import serve

    settings = Settings()
    settings = settings.model_copy(update={"ui": settings.ui.model_copy(update={"port": port})})
    if scripted is None:
        assistant = open_assistant(settings)
    else:
        assistant = Assistant(open_retriever(settings), _SlowModel(scripted), settings)
    serve(settings, assistant=assistant, on_ready=lambda url: print(f"ready {url}", flush=True))


class _SlowModel:
    """A stand-in chat model that streams a fixed answer over about `seconds` seconds."""

    model_id = "scripted-slow"

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds

    def stream(self, messages, *, max_tokens: int, temperature: float = 0.0):
        words = ("This entry describes the mechanism and how it is used in practice [1]. " * 6).split(" ")
        for word in words:
            time.sleep(self.seconds / len(words))
            yield word + " "


def start_app(scripted: float | None) -> tuple[subprocess.Popen, str]:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cmd = [sys.executable, str(Path(__file__).resolve()), "--serve", "--port", str(port)]
    log_path = Path(tempfile.gettempdir()) / f"load_chat_server_{port}.log"
    print(f"app log: {log_path}", file=sys.stderr)
    if scripted is not None:
        cmd += ["--scripted", str(scripted)]
    proc = subprocess.Popen(  # noqa: S603 (our own interpreter running this script)
        cmd,
        stdout=subprocess.DEVNULL,
        stderr=log_path.open("w"),  # closed with the process
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 600  # first start may assemble and load the model
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"the app exited with {proc.returncode} before it was ready")
        try:
            if httpx.get(url + "/healthz", timeout=2).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            time.sleep(0.5)
    proc.terminate()
    raise SystemExit("the app did not start in 10 minutes")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", help="a running app, e.g. http://127.0.0.1:7860 (loopback only)")
    parser.add_argument("--start", action="store_true", help="start the app in a subprocess first")
    parser.add_argument("--scripted", type=float, help="with --start: scripted model, seconds per answer")
    parser.add_argument("--sessions", type=int, default=8)
    parser.add_argument("--questions", type=int, default=3)
    parser.add_argument("--think", type=float, default=5.0, help="seconds between a session's questions")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, default=7860, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve_here(args.port, args.scripted)
        return 0
    proc = None
    if args.start:
        proc, url = start_app(args.scripted)
    elif args.url:
        url = args.url.rstrip("/")
        host = httpx.URL(url).host
        if not (host == "localhost" or host.startswith("127.") or host == "::1"):
            raise SystemExit("load tests only target loopback addresses")
    else:
        parser.error("give --url or --start")
    try:
        return run(url, args.sessions, args.questions, args.think)
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(timeout=30)


if __name__ == "__main__":
    sys.exit(main())
