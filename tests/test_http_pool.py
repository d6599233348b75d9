"""More calls in flight than pooled connections: the calls beyond the pool wait for a
connection, and that wait is not the server's time. Each call's time limit counts its own
request only, whole or streamed, against a real server on 127.0.0.1."""

from __future__ import annotations

import asyncio
from pathlib import Path

from wire_server import WireServer

from selectools.providers._http import POOL_SIZE
from selectools.providers.base import collect_stream
from selectools.providers.openai import OpenAIProvider
from selectools.types import Message, Role

WIRE = Path(__file__).parent / "fixtures" / "wire"
ASK = [Message(Role.USER, "What is the weather in Paris?")]
#: Each answer takes this long; with three times as many calls as the pool's connections
#: (POOL_SIZE, aiohttp's default), the calls take 3 rounds of it, and the last round ends
#: past the calls' time limit if the wait for a connection counted as the server's time.
ANSWER_SECONDS = 0.4
LIMIT_SECONDS = 1.0
CALLS = 3 * POOL_SIZE


def _provider(server: WireServer) -> OpenAIProvider:
    return OpenAIProvider(api_key="sk-test", base_url=server.url + "/v1", model="gpt-4o",
                          timeout=LIMIT_SECONDS, max_retries=0)


async def test_whole_calls_queued_for_a_connection_do_not_time_out(
        wire_server: WireServer) -> None:
    for _ in range(CALLS):
        wire_server.reply_file(WIRE / "openai_chat_tool_call_single.json",
                               delay=ANSWER_SECONDS)
    provider = _provider(wire_server)
    try:
        answers = await asyncio.gather(*(
            provider.acomplete(model="", system_prompt="", messages=ASK)
            for _ in range(CALLS)))
    finally:
        await provider.aclose()
    assert [message.tool_calls[0].tool_name for message, _ in answers  # type: ignore[index]
            ] == ["get_user_country"] * CALLS
    assert len(wire_server.requests) == CALLS


async def test_streams_queued_for_a_connection_do_not_time_out(
        wire_server: WireServer) -> None:
    for _ in range(CALLS):
        wire_server.reply_file(WIRE / "openai_chat_stream_tool_calls.sse",
                               delay=ANSWER_SECONDS)
    provider = _provider(wire_server)

    async def one() -> Message:
        message, _ = await collect_stream(
            provider.astream(model="", system_prompt="", messages=ASK))
        return message

    try:
        answers = await asyncio.gather(*(one() for _ in range(CALLS)))
    finally:
        await provider.aclose()
    assert all(answer.tool_calls for answer in answers)
    assert len(wire_server.requests) == CALLS


async def test_a_stream_closed_early_gives_its_connection_back(
        wire_server: WireServer) -> None:
    for _ in range(4):
        wire_server.reply_file(WIRE / "openai_chat_stream_tool_calls.sse", chunk_size=50)
    provider = OpenAIProvider(api_key="sk-test", base_url=wire_server.url + "/v1",
                              model="gpt-4o", max_retries=0)
    provider._transport.pool_size = 1  # (read when the pool is made, on the first call)
    try:
        for _ in range(3):  # each left after its first item: the one slot must come back
            stream = provider.astream(model="", system_prompt="", messages=ASK)
            await anext(stream)  # type: ignore[call-overload]
            await stream.aclose()  # type: ignore[attr-defined]
        message, _ = await asyncio.wait_for(collect_stream(
            provider.astream(model="", system_prompt="", messages=ASK)), 10)
    finally:
        await provider.aclose()
    assert message.tool_calls
