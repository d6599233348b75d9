"""A model's name that is not a str is refused before any request, whole and streamed, on
every HTTP protocol (build_request checks it: a protocol may read the name only for some
settings)."""

from __future__ import annotations

import pytest
from wire_server import WireServer

from selectools.providers.anthropic import AnthropicProvider
from selectools.providers.openai import OpenAIProvider
from selectools.types import Message, Role

_ASK = [Message(Role.USER, "hi")]
_ANSWER = {"choices": [{"message": {"role": "assistant", "content": "plain"}}]}


@pytest.mark.parametrize("model", [123, b"gpt-4o", ["gpt-4o"]])
async def test_a_model_that_is_not_a_str_is_refused_before_any_request(
        wire_server: WireServer, model: object) -> None:
    for provider in (OpenAIProvider(base_url=wire_server.url),
                     AnthropicProvider(base_url=wire_server.url)):
        try:
            with pytest.raises(TypeError, match="model must be a str"):
                await provider.acomplete(model=model, messages=_ASK)  # type: ignore[arg-type]
            with pytest.raises(TypeError, match="model must be a str"):
                async for _ in provider.astream(model=model, messages=_ASK):  # type: ignore[arg-type]
                    pass
        finally:
            await provider.aclose()
    assert wire_server.requests == []


async def test_a_str_subclass_is_a_name(wire_server: WireServer) -> None:
    class Name(str):
        pass

    provider = OpenAIProvider(base_url=wire_server.url)
    wire_server.reply(body=_ANSWER)
    try:
        message, _ = await provider.acomplete(model=Name("local"), messages=_ASK)
    finally:
        await provider.aclose()
    assert message.content == "plain"
    assert wire_server.requests[0].json["model"] == "local"
