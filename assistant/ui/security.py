"""HTTP hardening in front of everything the app serves (pure ASGI, so streaming is untouched).

- Refuses file-read and traversal shapes (`..`, encoded dots and slashes, `file=`, dot-files such
  as `.env`, and the corpus/index/evals folders), the upload routes (the app has no upload
  feature), Gradio's own MCP and monitoring.
- Guards our MCP endpoint (/mcp): when the env var named by `mcp.token_env` holds a token, every
  request needs `Authorization: Bearer <token>` (401 otherwise); while it is unset, only loopback
  clients get in (403), so a server bound to another address is never an open MCP endpoint.
- Caps request bodies: a 10 MB chat message is answered 413 before Gradio parses it, so it never
  takes a queue slot. Bodies without Content-Length are refused (411).
- Refuses state-changing requests whose Origin is not this server (CSRF), and strips every
  Access-Control-Allow-* header: nothing here is meant to be read cross-origin.
- Serialises queue joins: Gradio checks the queue length, then awaits the validator, then adds
  the event, so a burst of simultaneous joins would all pass the length check; one join at a
  time (each takes milliseconds) keeps `queue(max_size=...)` a real bound.
- Adds security headers to every response. The CSP allows scripts only from this origin plus the
  exact inline scripts of the page being served: HTML responses are buffered, their inline
  `<script>` bodies hashed (sha256) into `script-src`, so no 'unsafe-inline' or 'unsafe-eval'.
  Compromise: `style-src` keeps 'unsafe-inline' because Gradio's Svelte components set styles
  inline; rendered content never carries a style attribute (render.py escapes everything).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import ipaddress
import os
import re
from collections.abc import Iterable

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

_INLINE_SCRIPT = re.compile(rb"<script(?![^>]*\bsrc\s*=)[^>]*>(.*?)</script\s*>", re.S | re.I)
_BAD_RAW = ("..", "%2e", "%2f", "%5c", "\\", "%00", "\x00", "file=", "proxy=", "%252e")
BLOCKED_PREFIXES = (
    "/corpus",
    "/index",
    "/evals",
    "/gradio_api/upload",
    "/upload",
    "/gradio_api/file",
    "/file",
    "/gradio_api/mcp",
    "/monitoring",
    "/gradio_api/monitoring",
    "/gradio_api/proxy",
    "/proxy",
    "/docs",
    "/redoc",
    "/openapi.json",
)
_JOIN_PATHS = ("/gradio_api/queue/join", "/gradio_api/call/")
MCP_PATH = "/mcp"
_UNCOMPRESSED_HTML = ("/", "/glossary")  # pages whose inline scripts we hash (asked uncompressed)


def csp(script_hashes: Iterable[str] = ()) -> str:
    scripts = " ".join(["'self'", *(f"'sha256-{h}'" for h in script_hashes)])
    return (
        "default-src 'self'; "
        f"script-src {scripts}; "
        "style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data: blob:; "
        "font-src 'self' data:; "
        "connect-src 'self'; "
        "media-src 'self'; "
        "worker-src 'self' blob:; "
        "object-src 'none'; "
        "frame-src 'none'; "
        "base-uri 'self'; "
        "form-action 'self'; "
        "frame-ancestors 'none'"
    )


SECURITY_HEADERS = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
    "cross-origin-opener-policy": "same-origin",
    "cross-origin-resource-policy": "same-origin",
    "permissions-policy": "camera=(), microphone=(), geolocation=(), payment=(), usb=()",
}


def refusal(method: str, path: str, raw_path: str, headers: Headers, body_limit: int) -> tuple[int, str] | None:
    """Why this request is refused (status, message), or None to let it through."""
    raw = raw_path.lower()
    if any(bad in raw for bad in _BAD_RAW) or any(bad in path for bad in ("..", "\\", "\x00")):
        return 403, "forbidden path"
    lowered = path.lower()
    if any(seg.startswith(".") for seg in lowered.split("/") if seg):
        return 404, "not found"
    if any(lowered == p or lowered.startswith(p + "/") or lowered.startswith(p + "=") for p in BLOCKED_PREFIXES):
        return 404, "not found"
    if method in ("POST", "PUT", "PATCH", "DELETE"):
        origin = headers.get("origin")
        host = headers.get("host", "")
        if origin is not None and origin.rstrip("/") not in (f"http://{host}", f"https://{host}"):
            return 403, "cross-origin request refused"
        length = headers.get("content-length")
        if length is None:
            return (411, "Content-Length required") if method != "DELETE" else None
        if not length.isdigit() or int(length) > body_limit:
            return (
                413,
                f"request too large (limit {body_limit:,} bytes); questions are limited in length",
            )
    return None


def _loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def mcp_refusal(headers: Headers, client_host: str, token_env: str | None) -> tuple[int, str] | None:
    """Why a request to /mcp is refused, or None. `token_env` None: MCP is not served here."""
    if token_env is None:
        return 404, "not found"
    token = os.environ.get(token_env, "")
    if token:
        given = headers.get("authorization", "")
        scheme, _, value = given.partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(value.strip().encode(), token.encode()):
            return 401, "MCP needs 'Authorization: Bearer <token>' (the token is in the server's " + token_env + ")"
        return None
    if not _loopback(client_host):
        return 403, f"MCP from other machines needs a bearer token: set {token_env} on the server"
    return None


class SecurityMiddleware:
    def __init__(self, app: ASGIApp, *, body_limit: int = 65_536, mcp_token_env: str | None = None) -> None:
        self.app = app
        self.body_limit = body_limit
        self.mcp_token_env = mcp_token_env
        self._join_lock = asyncio.Lock()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        raw_path = (scope.get("raw_path") or scope["path"].encode()).decode("latin-1")  # the path only
        refused = refusal(scope["method"], scope["path"], raw_path, headers, self.body_limit)
        path = scope["path"]
        if refused is None and (path == MCP_PATH or path.startswith(MCP_PATH + "/")):
            client = scope.get("client") or ("", 0)
            refused = mcp_refusal(headers, client[0], self.mcp_token_env)
        if refused is not None:
            extra = [(b"www-authenticate", b'Bearer realm="mcp"')] if refused[0] == 401 else []
            await self._plain(send, *refused, extra=extra)
            return
        if scope["method"] == "GET" and scope["path"] in _UNCOMPRESSED_HTML:
            scope = dict(scope)
            scope["headers"] = [(k, v) for k, v in scope["headers"] if k.lower() != b"accept-encoding"]
        held: Message | None = None
        chunks: list[bytes] = []

        async def guarded_send(message: Message) -> None:
            nonlocal held
            if message["type"] == "http.response.start":
                out = MutableHeaders(scope=message)
                for name in [k for k in out if k.lower().startswith("access-control-allow-")]:
                    del out[name]
                is_html = out.get("content-type", "").startswith("text/html")
                if is_html and "content-encoding" not in out:
                    held = message  # buffer the page to hash its inline scripts
                    return
                self._harden(out, ())
                await send(message)
                return
            if message["type"] == "http.response.body" and held is not None:
                chunks.append(message.get("body", b""))
                if message.get("more_body", False):
                    return
                body = b"".join(chunks)
                hashes = [
                    base64.b64encode(hashlib.sha256(m.group(1)).digest()).decode()
                    for m in _INLINE_SCRIPT.finditer(body)
                ]
                out = MutableHeaders(scope=held)
                out["content-length"] = str(len(body))
                self._harden(out, hashes)
                await send(held)
                await send({"type": "http.response.body", "body": body, "more_body": False})
                return
            await send(message)

        if scope["method"] == "POST" and scope["path"].startswith(_JOIN_PATHS):
            async with self._join_lock:
                await self.app(scope, receive, guarded_send)
            return
        await self.app(scope, receive, guarded_send)

    @staticmethod
    def _harden(headers: MutableHeaders, hashes: Iterable[str]) -> None:
        headers["content-security-policy"] = csp(hashes)
        for name, value in SECURITY_HEADERS.items():
            headers[name] = value

    @staticmethod
    async def _plain(send: Send, status: int, message: str, extra: list[tuple[bytes, bytes]] | None = None) -> None:
        body = message.encode()
        out = MutableHeaders(
            raw=[
                (b"content-type", b"text/plain; charset=utf-8"),
                (b"content-length", str(len(body)).encode()),
                *(extra or []),
            ]
        )
        SecurityMiddleware._harden(out, ())
        await send({"type": "http.response.start", "status": status, "headers": out.raw})
        await send({"type": "http.response.body", "body": body, "more_body": False})
