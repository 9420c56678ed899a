"""The web app: FastAPI routes for entry pages and the glossary, with the Gradio chat mounted at /.

`build_app(assistant, settings)` builds everything without starting a server (tests and
`serve.py` run it with uvicorn). Routes declared before the mount win over Gradio's catch-all:
`/healthz`, `/entry/<id>`, `/ui/card/<id>` (the chat's term cards), `/glossary`, `/graph` (the
map, `ui/graph.py`), `/ui/app.js`, `/ui/graph.js`,
`/ui/pages.css`, the JSON API under `/api/v1` (`ui/api.py`) and our MCP endpoint `/mcp`
(streamable HTTP, `integrations/mcp_server.py`).
Gradio runs with no share link, no analytics, no MCP of its own, no SSR, no monitoring, no shown
errors, no allowed file paths, a bounded queue and one slot for the language model; the chat,
the API and MCP share one set of answer slots (`assistant.slots`); `SecurityMiddleware` wraps it all.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict

from assistant.errors import GlossaryError
from assistant.settings import Settings
from assistant.ui import views
from assistant.ui.assets import APP_CSS, APP_JS, GRAPH_JS, PAGES_CSS
from assistant.ui.catalog import Catalog
from assistant.ui.chat import ChatController, ChatSession
from assistant.ui.security import SecurityMiddleware

if TYPE_CHECKING:
    import gradio as gr
    from fastapi import FastAPI

    from assistant.pipeline import Assistant

LLM_SLOT = "llm"
SEARCH_MAX_CHARS = 200
SYSTEM_FONTS = ["ui-sans-serif", "system-ui", "-apple-system", "Segoe UI", "sans-serif"]
MONO_FONTS = ["ui-monospace", "SFMono-Regular", "Menlo", "monospace"]


class LaunchConfig(BaseModel):
    """How the app is exposed; asserted by tests, applied by `build_app` and `serve`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    host: str
    port: int
    show_error: bool = False
    ssr_mode: bool = False
    mcp_server: bool = False
    enable_monitoring: bool = False
    pwa: bool = False
    max_file_size: str = "1mb"
    allowed_paths: tuple[str, ...] = ()
    blocked_paths: tuple[str, ...] = ()
    queue_size: int
    llm_concurrency: int = 1
    body_limit: int


def launch_config(settings: Settings) -> LaunchConfig:
    blocked = [
        settings.paths.corpus_dir,
        settings.paths.index_dir,
        Path(".env"),
        settings.ui.feedback_path.parent,
    ]
    return LaunchConfig(
        host=settings.ui.host,
        port=settings.ui.port,
        blocked_paths=tuple(str(p.resolve()) for p in blocked),
        queue_size=settings.ui.queue_size,
        body_limit=8 * settings.retrieval.max_query_chars + 16_384,  # JSON-escaped question + envelope
    )


def build_app(assistant: Assistant, settings: Settings, *, catalog: Catalog | None = None) -> FastAPI:
    """The whole web app, ready for `uvicorn.run(app, host=..., port=...)`."""
    os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"  # read by gradio at import and Blocks creation
    import gradio as gr
    from fastapi import FastAPI, Query
    from fastapi.responses import HTMLResponse, JSONResponse, Response

    from assistant import factory
    from assistant.ui.api import PREFIX, build_api

    config = launch_config(settings)
    catalog = catalog or Catalog.load(assistant.entries, assistant.sources, settings.paths.corpus_dir)
    blocks: list[gr.Blocks] = []  # filled below: the chat's Gradio queue counts against the shared slots
    slots = factory.make_slots(settings, pending=lambda: len(blocks[0]._queue) if blocks else 0)
    service = factory.open_service(settings, assistant=assistant, slots=slots)
    controller = ChatController(assistant, catalog, settings, slots=slots)
    mcp_routes, lifespan = (
        factory.open_mcp_http(settings, service, host=config.host, body_limit=config.body_limit)
        if settings.mcp.http
        else ([], None)
    )
    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None, lifespan=lifespan)
    app.router.routes.extend(mcp_routes)
    app.mount(PREFIX, build_api(service))

    @app.get("/healthz")
    def healthz() -> JSONResponse:
        model = getattr(assistant.chat_model, "model_id", None)
        return JSONResponse({"status": "ok", "entries": len(catalog.entries), "llm": model})

    @app.get("/entry/{entry_id}", response_class=HTMLResponse)
    def entry_page(entry_id: str) -> HTMLResponse:
        entry = catalog.entries.get(entry_id)
        if entry is None:
            return HTMLResponse(views.not_found_page(entry_id), status_code=404)
        return HTMLResponse(views.entry_page(entry, catalog))

    @app.get("/ui/card/{entry_id}", response_class=HTMLResponse)
    def entry_card(entry_id: str) -> HTMLResponse:
        entry = catalog.entries.get(entry_id)
        if entry is None:
            return HTMLResponse("", status_code=404)
        return HTMLResponse(views.viewer_card(entry, catalog))

    @app.get("/glossary", response_class=HTMLResponse)
    def glossary_page(q: str = Query("", max_length=SEARCH_MAX_CHARS)) -> HTMLResponse:
        hits, error = _search(assistant, q)
        return HTMLResponse(views.glossary_page(catalog, q, hits, error))

    @app.get("/graph", response_class=HTMLResponse)
    def graph_page(section: str = Query("", max_length=120), q: str = Query("", max_length=100)) -> HTMLResponse:
        return HTMLResponse(views.graph_page(catalog, section, q))

    @app.get("/ui/graph.js")
    def graph_js() -> Response:
        return Response(GRAPH_JS, media_type="text/javascript", headers={"cache-control": "no-cache"})

    @app.get("/ui/app.js")
    def app_js() -> Response:
        return Response(APP_JS, media_type="text/javascript", headers={"cache-control": "no-cache"})

    @app.get("/ui/pages.css")
    def pages_css() -> Response:
        return Response(PAGES_CSS, media_type="text/css")

    demo = _blocks(gr, controller, catalog, assistant, config)
    demo.queue(max_size=config.queue_size, default_concurrency_limit=2)
    blocks.append(demo)
    theme = gr.themes.Soft(font=SYSTEM_FONTS, font_mono=MONO_FONTS)  # system fonts: no font CDN request
    app = gr.mount_gradio_app(
        app,
        demo,
        path="/",
        server_name=config.host,
        server_port=config.port,
        show_error=config.show_error,
        ssr_mode=config.ssr_mode,
        mcp_server=config.mcp_server,
        allowed_paths=list(config.allowed_paths),
        blocked_paths=list(config.blocked_paths),
        max_file_size=config.max_file_size,
        enable_monitoring=config.enable_monitoring,
        pwa=config.pwa,
        footer_links=[],
        theme=theme,
        css=APP_CSS,
        head='<script src="/ui/app.js" defer></script>',
    )
    app.add_middleware(
        SecurityMiddleware,
        body_limit=config.body_limit,
        mcp_token_env=settings.mcp.token_env if settings.mcp.http else None,
    )
    app.state.launch_config = config
    app.state.slots = slots
    app.state.service = service
    app.state.blocks = demo
    app.state.controller = controller
    return app


def _search(assistant: Assistant, query: str) -> tuple[list[Any], str]:
    query = (query or "")[:SEARCH_MAX_CHARS]
    if not query.strip():
        return [], ""
    try:
        return list(assistant.search(query, 10).hits), ""
    except GlossaryError as exc:
        return [], str(exc)
    except Exception:
        import logging

        logging.getLogger(__name__).exception("glossary search failed")
        return [], "Search failed; please try again."


def _blocks(
    gr: Any,
    controller: ChatController,
    catalog: Catalog,
    assistant: Assistant,
    config: LaunchConfig,
) -> gr.Blocks:
    md = {"latex_delimiters": [], "sanitize_html": True, "header_links": False}
    max_chars = controller.max_chars

    def chips(questions: list[str]) -> Any:
        return gr.Dataset(samples=[[q] for q in questions])

    def respond(question: str, session: ChatSession | None):
        session = session if isinstance(session, ChatSession) else ChatSession()
        for view in controller.respond(question or "", session):
            yield view.transcript, view.panel, chips(view.chips), session, ""

    def validate(question: str, session: Any) -> list[Any]:
        problem = controller.check(question) or controller.busy()
        return [gr.validate(not problem, problem), gr.validate(True, "")]

    def pick(sample: Any) -> str:
        value = sample[0] if isinstance(sample, list | tuple) and sample else sample
        return str(value or "")[:max_chars]

    def rate(rating: str):
        def handler(session: ChatSession | None, comment: str) -> tuple[str, str]:
            if not isinstance(session, ChatSession):
                return views.text_note("Ask a question first."), comment
            return views.text_note(controller.feedback(session, rating, comment or "")), ""

        return handler

    def search(query: str) -> str:
        hits, error = _search(assistant, query)
        return views.search_results(query or "", hits, catalog, error)

    empty = ChatSession()
    with gr.Blocks(title="MI Glossary", analytics_enabled=False, fill_width=True) as demo:
        session = gr.State(ChatSession(), time_to_live=6 * 3600)
        gr.Markdown(views.header(len(catalog.entries)), elem_id="header", **md)
        with gr.Tabs():
            with gr.Tab("Chat", id="chat"), gr.Row(equal_height=False):
                with gr.Column(scale=3):
                    transcript = gr.Markdown(views.transcript([], catalog), elem_id="transcript", **md)
                    with gr.Row():
                        box = gr.Textbox(
                            placeholder="Ask about a term, e.g. What is an induction head?",
                            show_label=False,
                            elem_id="q",
                            max_length=max_chars,
                            scale=8,
                            autofocus=True,
                            lines=1,
                            max_lines=6,
                        )
                        send = gr.Button("Ask", variant="primary", elem_id="send", scale=1, min_width=80)
                    chip_set = gr.Dataset(
                        components=[box],
                        samples=[[q] for q in controller.examples()],
                        label="Try asking",
                        elem_id="chips",
                        samples_per_page=6,
                    )
                    with gr.Row(elem_id="feedback"):
                        up = gr.Button("▲ Helpful", size="sm", elem_id="fb-up", min_width=60)
                        down = gr.Button("▼ Not helpful", size="sm", elem_id="fb-down", min_width=60)
                        comment = gr.Textbox(
                            placeholder="Optional comment on the latest answer",
                            show_label=False,
                            elem_id="fb-comment",
                            max_length=1000,
                            scale=4,
                        )
                    fb_status = gr.Markdown("", elem_id="fb-status", **md)
                with gr.Column(scale=2, elem_id="sources-col"):
                    panel = gr.Markdown(views.panel(empty.turns, catalog), elem_id="sources-panel", **md)
            with gr.Tab("Glossary", id="glossary"):
                query = gr.Textbox(
                    label="Search the glossary",
                    elem_id="glossary-search",
                    max_length=SEARCH_MAX_CHARS,
                    placeholder="e.g. attention head",
                )
                results = gr.Markdown("", elem_id="glossary-results", **md)
                gr.Markdown(views.glossary_index(catalog), elem_id="glossary-index", **md)
            with gr.Tab("About", id="about"):
                gr.Markdown(views.about(catalog), elem_id="about", **md)

        outputs = [transcript, panel, chip_set, session, box]
        ask = {
            "fn": respond,
            "inputs": [box, session],
            "outputs": outputs,
            "validator": validate,
            "concurrency_limit": config.llm_concurrency,
            "concurrency_id": LLM_SLOT,
            "show_progress": "minimal",
            "show_progress_on": [transcript],
        }
        box.submit(api_name="ask", **ask)
        send.click(api_name=False, **ask)
        chip_set.click(pick, chip_set, box, queue=False, api_name=False).then(api_name=False, **ask)
        up.click(rate("up"), [session, comment], [fb_status, comment], queue=False, api_name=False)
        down.click(rate("down"), [session, comment], [fb_status, comment], queue=False, api_name=False)
        query.submit(search, query, results, queue=False, api_name="search")
    return demo
