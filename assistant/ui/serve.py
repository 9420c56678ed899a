"""Run the chat app with uvicorn on the configured address (127.0.0.1:7860 by default).

`serve(settings)` is what `mi-glossary serve` calls: it loads the index and the chat model, builds
the app with `build_app` and blocks until Ctrl-C. Nothing is ever shared publicly: there is no
tunnel, and a non-loopback host must be configured explicitly (MI_GLOSSARY_UI__HOST).
"""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from assistant.settings import Settings

if TYPE_CHECKING:
    from assistant.pipeline import Assistant

log = logging.getLogger(__name__)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def serve(
    settings: Settings,
    *,
    assistant: Assistant | None = None,
    on_ready: Callable[[str], None] | None = None,
) -> None:
    """Build the app and serve it until interrupted.

    Args:
        settings: the app settings (host, port, queue size, paths...).
        assistant: a ready Assistant (default: `factory.open_assistant(settings)`: the index, and
            the chat model only in generated mode).
        on_ready: called with the URL once the server accepts connections (e.g. to print it).

    Raises:
        GlossaryError subclasses from loading the index or the model.
    """
    import uvicorn

    from assistant.factory import open_assistant
    from assistant.ui.app import build_app, launch_config

    config = launch_config(settings)
    if not is_loopback(config.host):
        log.warning("serving on %s: the chat is reachable from other machines", config.host)
    app = build_app(assistant or open_assistant(settings), settings)
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            host=config.host,
            port=config.port,
            log_level="warning",
            access_log=False,
            server_header=False,
            proxy_headers=False,
            timeout_graceful_shutdown=5,
        )
    )
    if on_ready is not None:
        url = f"http://{config.host}:{config.port}/"
        original = server.startup

        async def startup(sockets=None) -> None:
            await original(sockets)
            on_ready(url)

        server.startup = startup  # type: ignore[method-assign]
    server.run()
