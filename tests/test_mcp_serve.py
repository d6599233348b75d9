"""`selectools mcp serve module:agent`: an Agent's tools, or the Agent as one tool, served
over stdio and read by the `mcp` SDK's own client."""

from __future__ import annotations

import sys

import pytest

pytest.importorskip("mcp")

from mcp import Client, StdioServerParameters  # noqa: E402
from mcp_servers.agent_app import agent as calculator  # noqa: E402
from mcp_servers.running import HERE  # noqa: E402
from mcp_types import CallToolResult, TextContent  # noqa: E402

from selectools import Agent  # noqa: E402
from selectools.cli.mcp import main  # noqa: E402
from selectools.mcp.serve import mcp_server  # noqa: E402


def text_of(result: CallToolResult) -> str:
    (block,) = result.content
    assert isinstance(block, TextContent)
    return block.text


def served(*arguments: str) -> StdioServerParameters:
    # As a desktop client starts it; `python -m selectools.cli.mcp` until `selectools mcp`
    # is registered in the command (cli/__init__.py).
    return StdioServerParameters(command=sys.executable,
                                 args=["-m", "selectools.cli.mcp", "serve", *arguments],
                                 cwd=str(HERE))


async def test_the_agents_tools_are_served_with_their_schemas() -> None:
    async with Client(served("agent_app:agent")) as client:
        listed = {tool.name: tool for tool in (await client.list_tools()).tools}
        assert set(listed) == {"multiply", "shout"}
        for ours in calculator.tools:
            assert listed[ours.name].input_schema == ours.parameters_schema
            assert listed[ours.name].description == ours.description
        product = await client.call_tool("multiply", {"a": 6, "b": 7})
        assert (product.is_error, text_of(product)) == (False, "42")
        failed = await client.call_tool("shout", {"text": ""})
        assert failed.is_error
        assert text_of(failed) == "Error: tool 'shout' raised ValueError: nothing to shout"
        refused = await client.call_tool("multiply", {"a": "six"})
        assert refused.is_error and "missing required parameter 'b'" in text_of(refused)


async def test_the_agent_itself_as_one_tool() -> None:
    async with Client(served("agent_app:make_asking_agent", "--as-tool", "ask")) as client:
        (listed,) = (await client.list_tools()).tools
        assert listed.name == "ask"
        assert listed.description == "Answers arithmetic questions."
        assert listed.input_schema["required"] == ["prompt"]
        answer = await client.call_tool("ask", {"prompt": "What is 6 times 7?"})
        assert (answer.is_error, text_of(answer)) == (False, "The answer is 42.")


async def test_an_unknown_tool_is_an_error_result_in_process() -> None:
    async with Client(mcp_server(calculator)) as client:
        unknown = await client.call_tool("divide", {"a": 1, "b": 0})
    assert unknown.is_error
    assert text_of(unknown) == ("Error: unknown tool 'divide' (available tools: "
                                       "multiply, shout)")


def test_unusable_arguments_are_clear_errors(capsys: pytest.CaptureFixture[str],
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(HERE)
    assert main(["mcp", "serve", "agent_app:nothing"]) == 2
    assert "module 'agent_app' has no 'nothing'" in capsys.readouterr().err
    assert main(["mcp", "serve", "agent_app:multiply"]) == 2
    assert "expected an Agent (or a function returning one), got Tool" in capsys.readouterr().err
    assert main(["mcp", "serve", "agent_app:agent", "--as-tool", "ask me"]) == 2
    assert "invalid tool name 'ask me'" in capsys.readouterr().err


def test_an_agent_without_tools_is_refused_unless_served_as_one_tool(
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    import types

    module = types.ModuleType("toolless_app")
    module.agent = Agent()  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "toolless_app", module)
    assert main(["mcp", "serve", "toolless_app:agent"]) == 2
    assert "the agent has no tools to serve" in capsys.readouterr().err


async def test_images_a_result_carries_are_served_as_image_blocks() -> None:
    from mcp_types import ImageContent

    from selectools import tool
    from selectools.mcp import MCPToolOutput
    from selectools.types import ContentPart

    @tool
    def chart() -> str:
        """A chart, as a proxied MCP tool would return it."""
        return MCPToolOutput("a chart\n[image 1: image/png]", [
            ContentPart(type="image_base64", image_base64="iVBORw0KGgo=",
                        media_type="image/png")])

    async with Client(mcp_server(Agent(tools=[chart]))) as client:
        result = await client.call_tool("chart", {})
    text, image = result.content
    assert isinstance(text, TextContent) and text.text == "a chart\n[image 1: image/png]"
    assert isinstance(image, ImageContent)
    assert (image.data, image.mime_type) == ("iVBORw0KGgo=", "image/png")
