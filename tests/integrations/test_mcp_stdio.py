"""`mi-glossary mcp` as a real subprocess, driven over stdio by the official SDK's client.

One server process for the module's one session test (it loads the embedding model once).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from mcp import Client, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.shared.exceptions import MCPError

from tests.conftest import FIXTURE_CORPUS, run_in_own_loop

SCRIPT = Path(sys.executable).with_name("mi-glossary")
TOOLS = {"search", "define", "ask", "get_entry"}


def test_stdio_session(built_index, tmp_path):
    run_in_own_loop(lambda: _session(built_index, tmp_path))


async def _session(built_index: Path, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MI_GLOSSARY_")}
    params = StdioServerParameters(
        command=str(SCRIPT),
        args=["mcp", "--corpus", str(FIXTURE_CORPUS), "--index-dir", str(built_index.parent)],
        env=env,
        cwd=tmp_path,
    )
    with (tmp_path / "stderr.log").open("w") as errlog:
        transport = stdio_client(params, errlog=errlog)
        async with Client(transport, read_timeout_seconds=120) as client:
            await _check_tools(client)
            await _check_calls(client)
            await _check_resources(client)
    assert "Traceback" not in (tmp_path / "stderr.log").read_text()


async def _check_tools(client: Client) -> None:
    tools = {t.name: t for t in (await client.list_tools()).tools}
    assert set(tools) == TOOLS
    for tool in tools.values():
        assert "untrusted" in tool.description.lower(), tool.name  # results carry corpus text
        assert tool.output_schema is not None and tool.annotations.read_only_hint
        props = tool.input_schema["properties"]
        assert props and all(p.get("description") for p in props.values()), tool.name
    search = tools["search"].input_schema
    assert search["required"] == ["query"]
    assert search["properties"]["k"]["minimum"] == 1 and search["properties"]["k"]["maximum"] == 50
    assert tools["get_entry"].input_schema["properties"]["entry_id"]["pattern"]


async def _check_calls(client: Client) -> None:
    result = await client.call_tool("search", {"query": "induction head", "k": 3})
    assert not result.is_error
    hits = result.structured_content["hits"]
    assert [h["rank"] for h in hits] == [1, 2, 3] and hits[0]["entry_id"] == "induction-head"
    assert {"entry_id", "term", "section", "score", "url", "text"} <= set(hits[0])
    assert '"induction-head"' in result.content[0].text  # the same JSON as text for clients without structure

    defined = (await client.call_tool("define", {"term": "inducton heads"})).structured_content
    assert defined["entry_id"] == "induction-head" and defined["matched"] == "fuzzy" and defined["summary"]

    entry = (await client.call_tool("get_entry", {"entry_id": "superposition"})).structured_content
    assert entry["term"] == "Superposition" and entry["body"] and entry["related"] and entry["sources"]

    answer = await client.call_tool("ask", {"question": "What is the best recipe for banana bread?"})
    assert not answer.is_error
    assert answer.structured_content["covered"] is False and answer.structured_content["citations"] == []
    why = answer.structured_content["coverage"]  # the deciding rule reaches MCP clients too
    assert why["covered"] is False and why["rule"] and why["detail"]
    covered = (await client.call_tool("ask", {"question": "What is an induction head?"})).structured_content
    assert covered["covered"] and covered["citations"][0]["entry_id"] == "induction-head"

    for name, args, says in [
        ("search", {"query": "induction head", "k": 0}, "k"),
        ("search", {"k": 3}, "query"),
        ("search", {"query": "   "}, "empty"),
        ("define", {"term": "banana bread"}, "search"),
        ("get_entry", {"entry_id": "Not An Id"}, "entry_id"),
        ("get_entry", {"entry_id": "no-such-entry"}, "search or define"),
        ("ask", {"question": ""}, "question"),
    ]:
        bad = await client.call_tool(name, args)
        assert bad.is_error, (name, args)
        assert says in bad.content[0].text, (name, args, bad.content[0].text)


async def _check_resources(client: Client) -> None:
    templates = (await client.list_resource_templates()).resource_templates
    assert [t.uri_template for t in templates] == ["glossary://entry/{entry_id}"]
    read = await client.read_resource("glossary://entry/induction-head")
    assert '"id":"induction-head"' in read.contents[0].text
    try:
        await client.read_resource("glossary://entry/no-such-entry")
    except MCPError as exc:
        assert "no-such-entry" in str(exc)
    else:
        raise AssertionError("an unknown entry must be an MCP error")
