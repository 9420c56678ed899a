"""MCP over streamable HTTP at /mcp on the real app (uvicorn on 127.0.0.1), driven by the SDK's client.

The same tools as over stdio (tests/integrations/test_mcp_stdio.py); here: the HTTP transport, the
bearer token whose env-var name is a setting, and the security middleware in front of /mcp.
The tests are sync and run the client's event loop in a thread of its own: the browser tests
(pytest-playwright's sync API) leave an event loop running in the main thread.
"""

from __future__ import annotations

import httpx
import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from starlette.datastructures import Headers

from assistant.ui.security import mcp_refusal
from tests.conftest import run_in_own_loop

TOOLS = {"search", "define", "ask", "get_entry"}


def test_tools_over_streamable_http(live):
    run_in_own_loop(lambda: _tools(live.url))


async def _tools(url: str) -> None:
    async with Client(url + "/mcp") as client:
        tools = {t.name: t for t in (await client.list_tools()).tools}
        assert set(tools) == TOOLS
        result = await client.call_tool("search", {"query": "induction head", "k": 3})
        assert not result.is_error
        hits = result.structured_content["hits"]
        assert len(hits) == 3 and hits[0]["entry_id"] == "induction-head" and hits[0]["term"] == "Induction head"
        bad = await client.call_tool("search", {"query": "induction head", "k": 500})
        assert bad.is_error and "k" in bad.content[0].text and "less than or equal to 50" in bad.content[0].text
        entry = await client.call_tool("get_entry", {"entry_id": "superposition"})
        assert entry.structured_content["id"] == "superposition"


def test_bearer_token_from_the_named_env_var(live, monkeypatch):
    name = live.app.state.service.assistant.settings.mcp.token_env
    monkeypatch.setenv(name, "s3cret-token")
    r = httpx.post(live.url + "/mcp", json={"jsonrpc": "2.0", "id": 1, "method": "ping"})
    assert r.status_code == 401 and r.headers["www-authenticate"].startswith("Bearer")
    assert name in r.text  # says where the token lives, never the token
    assert "s3cret" not in r.text
    wrong = httpx.post(live.url + "/mcp", json={}, headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401

    async def define() -> dict:
        async with (
            httpx2.AsyncClient(headers={"Authorization": "Bearer s3cret-token"}) as http,
            Client(streamable_http_client(live.url + "/mcp", http_client=http)) as client,
        ):
            return (await client.call_tool("define", {"term": "induction heads"})).structured_content

    assert run_in_own_loop(define)["entry_id"] == "induction-head"


def test_mcp_route_keeps_the_middleware(live):
    cross = httpx.post(live.url + "/mcp", json={}, headers={"Origin": "http://evil.example"})
    assert cross.status_code == 403
    assert httpx.post(live.url + "/mcp", content=b"x" * 5_000_000).status_code == 413
    assert httpx.get(live.url + "/gradio_api/mcp/sse").status_code == 404  # Gradio's own MCP stays off
    r = httpx.get(live.url + "/mcp")
    assert r.headers["x-content-type-options"] == "nosniff"


@pytest.mark.parametrize(
    ("token", "client", "header", "status"),
    [
        ("", "127.0.0.1", "", None),
        ("", "10.0.0.7", "", 403),  # no token: other machines are refused
        ("t0k", "10.0.0.7", "Bearer t0k", None),
        ("t0k", "127.0.0.1", "Bearer other", 401),
        ("t0k", "127.0.0.1", "Basic t0k", 401),
    ],
)
def test_mcp_refusal_rules(monkeypatch, token, client, header, status):
    monkeypatch.setenv("MCP_TEST_TOKEN", token)
    headers = Headers({"authorization": header} if header else {})
    refused = mcp_refusal(headers, client, "MCP_TEST_TOKEN")
    assert (refused[0] if refused else None) == status
    assert mcp_refusal(Headers({}), "127.0.0.1", None) == (404, "not found")  # MCP switched off
