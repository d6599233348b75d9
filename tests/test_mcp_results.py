"""An MCP tool result as the text a model reads: every kind of content block the protocol
has, built as the `mcp` SDK parses them off the wire, and the package's import cost."""

from __future__ import annotations

import base64
import subprocess
import sys

import pytest

pytest.importorskip("mcp_types")

import mcp_types as types  # noqa: E402

from selectools.mcp import MCPToolError  # noqa: E402
from selectools.mcp.results import tool_output  # noqa: E402

PNG = base64.b64encode(b"\x89PNG\r\n\x1a\nfake").decode()


def parsed(body: dict[str, object]) -> types.CallToolResult:
    """A result as the SDK reads it from JSON-RPC (camelCase on the wire)."""
    return types.CallToolResult.model_validate(body)


def test_text_blocks_are_joined_and_structured_content_kept() -> None:
    output = tool_output(parsed({
        "content": [{"type": "text", "text": "first"}, {"type": "text", "text": "second"}],
        "structuredContent": {"n": 2}}), "t")
    assert output == "first\nsecond"
    assert output.structured == {"n": 2} and output.content_parts == ()


def test_structured_content_alone_is_read_as_json() -> None:
    output = tool_output(parsed({"content": [], "structuredContent": {"città": "Roma"}}), "t")
    assert output == '{"città": "Roma"}'


def test_images_become_content_parts_with_a_placeholder_in_the_text() -> None:
    output = tool_output(parsed({"content": [
        {"type": "text", "text": "two charts"},
        {"type": "image", "data": PNG, "mimeType": "image/png"},
        {"type": "resource", "resource": {"uri": "file:///b.webp", "mimeType": "image/webp",
                                          "blob": PNG}},
    ]}), "t")
    # (The second is labelled WebP but its bytes are PNG: the bytes say what it is.)
    assert output == ("two charts\n[image 1: image/png]\n"
                      "[image 2: image/png, resource <file:///b.webp>]")
    assert [(p.type, p.media_type, p.image_base64) for p in output.content_parts] == [
        ("image_base64", "image/png", PNG), ("image_base64", "image/png", PNG)]


def test_resources_links_and_audio_are_named() -> None:
    output = tool_output(parsed({"content": [
        {"type": "resource", "resource": {"uri": "file:///notes.txt", "text": "hello"}},
        {"type": "resource", "resource": {"uri": "file:///a.zip", "mimeType": "application/zip",
                                          "blob": PNG}},
        {"type": "resource_link", "uri": "https://example.com/r", "name": "report",
         "description": "the full report"},
        {"type": "audio", "data": PNG, "mimeType": "audio/wav"},
    ]}), "t")
    assert output.split("\n") == [
        "[resource <file:///notes.txt>]", "hello",
        "[resource <file:///a.zip>: application/zip, not shown]",
        "[resource link: report <https://example.com/r> (the full report)]",
        "[audio: audio/wav, not shown]",
    ]


def test_is_error_raises_with_the_servers_words() -> None:
    with pytest.raises(MCPToolError, match="^quota exceeded$"):
        tool_output(parsed({"content": [{"type": "text", "text": "quota exceeded"}],
                            "isError": True}), "t")
    with pytest.raises(MCPToolError, match="the server reported that tool 'x' failed"):
        tool_output(parsed({"content": [], "isError": True}), "x")


def test_neither_selectools_nor_selectools_mcp_imports_the_sdk() -> None:
    code = (
        "import sys, selectools, selectools.mcp\n"
        "server = selectools.mcp.MCPServerStdio('python', ['server.py'])\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('mcp', 'mcp_types',"
        " 'anyio', 'httpx2')))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_names_a_provider_would_refuse_are_spelled_for_the_model() -> None:
    from selectools.mcp.adapt import model_name

    assert model_name("search", None) == "search"
    assert model_name("search", "web") == "web_search"
    assert model_name("files/read file", None) == "files_read_file"
    assert model_name("3d-render", None) == "_3d-render"
    assert len(model_name("x" * 80, "long")) == 64


def test_a_tool_no_provider_could_take_is_left_out_with_a_warning(
        caplog: pytest.LogCaptureFixture) -> None:
    from selectools.mcp import MCPServerStdio
    from selectools.mcp.adapt import adapt_tools

    server = MCPServerStdio("python", ["server.py"], name="odd", tool_prefix="odd")
    listed = [types.Tool(name="good", description="Fine.",
                         input_schema={"type": "object", "properties": {"q": {"type": "string"}},
                                       "title": "goodArguments"}),
              types.Tool(name="bad", input_schema={"type": "array"})]
    with caplog.at_level("WARNING", logger="selectools"):
        (good,) = adapt_tools(server, listed)
    assert (good.name, good.description) == ("odd_good", "Fine.")
    # The server's schema exactly, its title kept and nothing added.
    assert good.parameters_schema == {"type": "object", "properties": {"q": {"type": "string"}},
                                      "title": "goodArguments"}
    assert "MCP server 'odd': tool 'bad' left out" in caplog.text


async def test_without_the_sdk_connecting_says_what_to_install(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from selectools.mcp import MCPNotInstalledError, MCPServerStdio

    monkeypatch.setitem(sys.modules, "mcp", None)  # import mcp now raises ImportError
    with pytest.raises(MCPNotInstalledError, match=r"pip install 'selectools\[mcp\]'"):
        await MCPServerStdio("python", ["server.py"]).connect()
