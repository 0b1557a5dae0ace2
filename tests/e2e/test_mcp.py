"""The MCP tools, listed and called with the `mcp` client over streamable HTTP, as an agent would."""

from __future__ import annotations

import asyncio
import base64
import json

import pytest
from mcp import ClientSession
from mcp.client.streamable_http import streamablehttp_client

from tests.conftest import USER_KEY
from tests.helpers import ENGLISH, cer, encode, render_lines

IMAGE = "data:image/png;base64," + base64.b64encode(encode(render_lines(ENGLISH))).decode()


async def session_call(base: str, headers: dict | None = None, tool: str | None = None, arguments: dict | None = None):
    async with (
        streamablehttp_client(f"{base}/gradio_api/mcp/", headers=headers) as (read, write, _),
        ClientSession(read, write) as session,
    ):
        await session.initialize()
        tools = await session.list_tools()
        result = await session.call_tool(tool, arguments) if tool else None
        return tools.tools, result


def test_the_tools_are_listed_with_descriptions_an_agent_can_act_on(live_server):
    tools, _ = asyncio.run(session_call(live_server))
    by_name = {tool.name: tool for tool in tools}
    assert set(by_name) == {"ocr_image", "ocr_images", "ask_about_image"}  # not the UI's own events
    assert "Read all the text" in by_name["ocr_image"].description
    assert "data URL" in json.dumps(by_name["ocr_image"].inputSchema)
    assert by_name["ask_about_image"].inputSchema["required"] == ["image", "question"]


def test_calling_the_ocr_tool_reads_the_image(live_server):
    _, result = asyncio.run(session_call(live_server, tool="ocr_image", arguments={"image": IMAGE, "model": "rapidocr"}))
    assert not result.isError, result.content
    answer = json.loads(result.content[0].text)
    assert cer(answer["text"], "\n".join(ENGLISH)) <= 0.05 and answer["model"] == "rapidocr"
    _, batch = asyncio.run(
        session_call(live_server, tool="ocr_images", arguments={"images": [IMAGE, "data:image/png;base64,aGVsbG8="]})
    )
    items = json.loads(batch.content[0].text)
    assert [item["status"] for item in items] == ["success", "error"] and "not an image" in items[1]["error"]


def test_with_keys_mcp_needs_a_key(keyed_server):
    base = keyed_server
    with pytest.raises(Exception):  # noqa: B017 (the transport's own error type for a 401)
        asyncio.run(session_call(base))
    _, result = asyncio.run(
        session_call(
            base,
            headers={"Authorization": f"Bearer {USER_KEY}"},
            tool="ocr_image",
            arguments={"image": IMAGE, "model": "rapidocr"},
        )
    )
    assert not result.isError and "Invoice" in result.content[0].text
