"""Issue 16: a tool's images reach the model as images, on every protocol. An Agent over real
HTTP on 127.0.0.1 (the WireServer) runs a tool whose result carries an image part (an
MCPToolOutput, as an MCP server's tool returns, here returned by a plain tool); the second
request must carry the picture where that API takes a tool's images, and the text as before."""

from __future__ import annotations

from typing import Any

from wire_server import WireServer

from selectools import Agent, AgentConfig
from selectools.mcp import MCPToolOutput
from selectools.providers._http_provider import HttpProvider
from selectools.providers.anthropic import AnthropicProvider
from selectools.providers.gemini import GeminiProvider
from selectools.providers.ollama import OllamaProvider
from selectools.providers.openai import OpenAIProvider
from selectools.tools import Tool, tool
from selectools.types import MAX_IMAGE_BYTES, ContentPart, Role

#: A 1x1 PNG, base64 as an MCP server sends it.
PNG = ("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJ"
       "RU5ErkJggg==")
CHART_TEXT = "a chart\n[image 1: image/png]"


@tool(description="Draw the sales chart")
def chart() -> MCPToolOutput:
    return MCPToolOutput(CHART_TEXT, [ContentPart(type="image_base64", image_base64=PNG,
                                                  media_type="image/png")])


@tool(description="A note about the sales")
def note() -> str:
    return "sales are up"


# The answers a model gives: both tools called in one turn, then a final answer.

def openai_answers() -> list[dict[str, Any]]:
    calls = [{"id": f"call_{name}", "type": "function",
              "function": {"name": name, "arguments": "{}"}} for name in ("chart", "note")]
    usage = {"prompt_tokens": 5, "completion_tokens": 5, "total_tokens": 10}
    return [
        {"id": "c1", "object": "chat.completion", "model": "gpt-4o", "usage": usage,
         "choices": [{"index": 0, "finish_reason": "tool_calls",
                      "message": {"role": "assistant", "content": None, "tool_calls": calls}}]},
        {"id": "c2", "object": "chat.completion", "model": "gpt-4o", "usage": usage,
         "choices": [{"index": 0, "finish_reason": "stop",
                      "message": {"role": "assistant", "content": "A red chart."}}]},
    ]


def anthropic_answers() -> list[dict[str, Any]]:
    usage = {"input_tokens": 5, "output_tokens": 5}
    uses: list[dict[str, Any]] = [
        {"type": "tool_use", "id": f"toolu_{name}", "name": name, "input": {}}
        for name in ("chart", "note")]
    return [
        {"id": "msg_1", "type": "message", "role": "assistant", "model": "claude-sonnet-4-5",
         "content": uses, "stop_reason": "tool_use", "usage": usage},
        {"id": "msg_2", "type": "message", "role": "assistant", "model": "claude-sonnet-4-5",
         "content": [{"type": "text", "text": "A red chart."}], "stop_reason": "end_turn",
         "usage": usage},
    ]


def gemini_answers() -> list[dict[str, Any]]:
    usage = {"promptTokenCount": 5, "candidatesTokenCount": 5, "totalTokenCount": 10}
    calls: list[dict[str, Any]] = [{"functionCall": {"id": f"fc_{name}", "name": name, "args": {}}}
             for name in ("chart", "note")]
    return [
        {"candidates": [{"content": {"role": "model", "parts": calls},
                         "finishReason": "STOP"}], "usageMetadata": usage},
        {"candidates": [{"content": {"role": "model", "parts": [{"text": "A red chart."}]},
                         "finishReason": "STOP"}], "usageMetadata": usage},
    ]


def ollama_answers() -> list[dict[str, Any]]:
    calls = [{"id": f"call_{name}", "function": {"name": name, "arguments": {}}}
             for name in ("chart", "note")]
    end = {"done": True, "done_reason": "stop", "prompt_eval_count": 5, "eval_count": 5}
    return [
        {"model": "qwen3", "message": {"role": "assistant", "content": "", "tool_calls": calls},
         **end},
        {"model": "qwen3", "message": {"role": "assistant", "content": "A red chart."}, **end},
    ]


async def second_request(wire_server: WireServer, provider: HttpProvider,
                         answers: list[dict[str, Any]], tools: list[Tool] | None = None
                         ) -> tuple[Agent, dict[str, Any]]:
    """Run an agent whose model calls the tools, and return it and its second request."""
    for answer in answers:
        wire_server.reply(body=answer)
    agent = Agent(tools=tools or [chart, note], provider=provider,
                  config=AgentConfig(max_iterations=3))
    try:
        result = await agent.arun("Show me the sales chart.")
    finally:
        await provider.aclose()
    assert result.content == "A red chart."
    assert len(wire_server.requests) == 2
    body = wire_server.requests[1].json
    assert isinstance(body, dict)
    return agent, body


async def test_openai_sends_a_tools_images_in_one_user_message_after_the_turns_tool_messages(
        wire_server: WireServer) -> None:
    provider = OpenAIProvider(api_key="sk-test", base_url=wire_server.url + "/v1",
                              model="gpt-4o", max_retries=0)
    _, body = await second_request(wire_server, provider, openai_answers())
    roles = [m["role"] for m in body["messages"]]
    assert roles[-4:] == ["assistant", "tool", "tool", "user"]
    chart_result, note_result, images = body["messages"][-3:]
    # The tool messages, text only, directly after the assistant's calls.
    assert chart_result == {"role": "tool", "tool_call_id": "call_chart", "content": CHART_TEXT}
    assert note_result == {"role": "tool", "tool_call_id": "call_note",
                           "content": "sales are up"}
    assert images["content"] == [
        {"type": "text", "text": "Images from tool chart (call call_chart):"},
        {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG}"}},
    ]


async def test_anthropic_sends_a_tools_images_inside_its_tool_result(
        wire_server: WireServer) -> None:
    provider = AnthropicProvider(api_key="sk-ant-test", base_url=wire_server.url,
                                 model="claude-sonnet-4-5", max_retries=0)
    _, body = await second_request(wire_server, provider, anthropic_answers())
    results = body["messages"][-1]
    assert results["role"] == "user"
    assert results["content"] == [
        {"type": "tool_result", "tool_use_id": "toolu_chart", "content": [
            {"type": "text", "text": CHART_TEXT},
            {"type": "image", "source": {"type": "base64", "media_type": "image/png",
                                         "data": PNG}}]},
        {"type": "tool_result", "tool_use_id": "toolu_note", "content": "sales are up"},
    ]


async def test_gemini_sends_a_tools_images_as_inline_data_after_the_function_responses(
        wire_server: WireServer) -> None:
    provider = GeminiProvider(api_key="AIza-test", base_url=wire_server.url,
                              model="gemini-2.5-flash", max_retries=0)
    _, body = await second_request(wire_server, provider, gemini_answers())
    turn = body["contents"][-1]
    assert turn["role"] == "user"
    assert turn["parts"] == [
        {"functionResponse": {"name": "chart", "id": "fc_chart",
                              "response": {"result": CHART_TEXT}}},
        {"functionResponse": {"name": "note", "id": "fc_note",
                              "response": {"result": "sales are up"}}},
        {"text": "Images from tool chart (call fc_chart):"},
        {"inlineData": {"mimeType": "image/png", "data": PNG}},
    ]


async def test_gemini_3_gets_a_tools_images_inside_its_function_response(
        wire_server: WireServer) -> None:
    provider = GeminiProvider(api_key="AIza-test", base_url=wire_server.url,
                              model="gemini-3-pro-preview", max_retries=0)
    _, body = await second_request(wire_server, provider, gemini_answers())
    turn = body["contents"][-1]
    assert turn["role"] == "user"
    # The multimodal function response: the image is the tool's own output, nothing after.
    assert turn["parts"] == [
        {"functionResponse": {"name": "chart", "id": "fc_chart",
                              "response": {"result": CHART_TEXT},
                              "parts": [{"inlineData": {"mimeType": "image/png",
                                                        "data": PNG}}]}},
        {"functionResponse": {"name": "note", "id": "fc_note",
                              "response": {"result": "sales are up"}}},
    ]


async def test_gemini_3_sends_an_image_by_url_after_the_responses_as_before(
        wire_server: WireServer) -> None:
    @tool(description="Draw the sales chart")
    def chart() -> MCPToolOutput:
        return MCPToolOutput(CHART_TEXT, [
            ContentPart(type="image_url", image_url="https://example.com/chart.png"),
            ContentPart(type="image_base64", image_base64=PNG, media_type="image/png")])

    provider = GeminiProvider(api_key="AIza-test", base_url=wire_server.url,
                              model="gemini-3-flash-preview", max_retries=0)
    _, body = await second_request(wire_server, provider, gemini_answers(), [chart, note])
    first, second, named, by_url = body["contents"][-1]["parts"]
    # The Gemini API takes no file reference inside a function response.
    assert first["functionResponse"]["parts"] == [
        {"inlineData": {"mimeType": "image/png", "data": PNG}}]
    assert "parts" not in second["functionResponse"]
    assert named == {"text": "Images from tool chart (call fc_chart):"}
    assert by_url["fileData"]["fileUri"] == "https://example.com/chart.png"


async def test_ollama_sends_a_tools_images_on_its_tool_message(
        wire_server: WireServer) -> None:
    provider = OllamaProvider(host=wire_server.url, model="qwen3", max_retries=0)
    _, body = await second_request(wire_server, provider, ollama_answers())
    chart_result, note_result = body["messages"][-2:]
    assert chart_result["role"] == "tool" and chart_result["tool_name"] == "chart"
    assert chart_result["content"] == CHART_TEXT
    assert chart_result["images"] == [PNG]  # base64, no data: prefix
    assert note_result["content"] == "sales are up" and "images" not in note_result


async def test_a_plain_text_result_is_sent_as_before(wire_server: WireServer) -> None:
    provider = OpenAIProvider(api_key="sk-test", base_url=wire_server.url + "/v1",
                              model="gpt-4o", max_retries=0)
    answers = openai_answers()
    answers[0]["choices"][0]["message"]["tool_calls"] = \
        answers[0]["choices"][0]["message"]["tool_calls"][1:]
    agent, body = await second_request(wire_server, provider, answers)
    assert body["messages"][-1] == {"role": "tool", "tool_call_id": "call_note",
                                    "content": "sales are up"}
    (result,) = [m for m in agent.history if m.role is Role.TOOL]
    assert result.content_parts is None and type(result.content) is str


async def test_the_tool_message_keeps_the_images_and_plain_text(
        wire_server: WireServer) -> None:
    provider = OpenAIProvider(api_key="sk-test", base_url=wire_server.url + "/v1",
                              model="gpt-4o", max_retries=0)
    agent, _ = await second_request(wire_server, provider, openai_answers())
    chart_result = next(m for m in agent.history if m.role is Role.TOOL)
    assert type(chart_result.content) is str and chart_result.content == CHART_TEXT
    assert chart_result.content_parts == [
        ContentPart(type="image_base64", image_base64=PNG, media_type="image/png")]


async def test_an_image_over_the_limit_is_left_out_and_the_text_says_so(
        wire_server: WireServer) -> None:
    huge = "A" * ((MAX_IMAGE_BYTES // 3 + 1) * 4)  # decodes to just over the limit

    @tool(description="Draw the sales chart")
    def chart() -> MCPToolOutput:  # noqa: F811 - the same name, a bigger picture
        return MCPToolOutput("a chart", [
            ContentPart(type="image_base64", image_base64=huge, media_type="image/png"),
            ContentPart(type="image_base64", image_base64=PNG, media_type="image/png")])

    provider = AnthropicProvider(api_key="sk-ant-test", base_url=wire_server.url,
                                 model="claude-sonnet-4-5", max_retries=0)
    _, body = await second_request(wire_server, provider, anthropic_answers(), [chart, note])
    chart_result = body["messages"][-1]["content"][0]
    assert chart_result["content"] == [
        {"type": "text", "text": "a chart\n[an image (image/png) over the 20 MB limit was "
                                 "left out]"},
        {"type": "image", "source": {"type": "base64", "media_type": "image/png",
                                     "data": PNG}}]



async def test_an_image_url_from_a_tool_goes_as_a_url(wire_server: WireServer) -> None:
    url = "https://example.com/chart.png"

    @tool(description="Draw the sales chart")
    def chart() -> MCPToolOutput:  # noqa: F811 - the same name, a picture by URL
        return MCPToolOutput("a chart", [ContentPart(type="image_url", image_url=url)])

    provider = AnthropicProvider(api_key="sk-ant-test", base_url=wire_server.url,
                                 model="claude-sonnet-4-5", max_retries=0)
    _, body = await second_request(wire_server, provider, anthropic_answers(), [chart, note])
    assert body["messages"][-1]["content"][0]["content"] == [
        {"type": "text", "text": "a chart"},
        {"type": "image", "source": {"type": "url", "url": url}}]
