"""complete_any hands a call to an `acomplete` marked `exact_result` (HttpProvider's) straight
through, and every other provider's answer through the checks; both give the same answers."""

from __future__ import annotations

import dataclasses
import json
from typing import Any
from unittest import mock

import pytest
from wire_server import WireServer

from selectools import Message, Role, UsageStats
from selectools.providers import openai
from selectools.providers._http_provider import HttpProvider
from selectools.providers.base import _complete_any, complete_any

ASK = [Message(role=Role.USER, content="hi")]
ANSWER = {"choices": [{"index": 0, "finish_reason": "stop",
                       "message": {"role": "assistant", "content": "hello"}}],
          "usage": {"prompt_tokens": 3, "completion_tokens": 1}}


def keywords() -> dict[str, Any]:
    return {"model": "m", "system_prompt": "", "messages": ASK}


async def test_an_http_provider_is_called_straight_and_answers_as_through_the_checks(
        wire_server: WireServer) -> None:
    provider = openai.OpenAIProvider(base_url=wire_server.url)
    try:
        call = complete_any(provider, **keywords())
        # The provider's own coroutine: no layer of complete_any's around it.
        assert call.cr_code is HttpProvider.acomplete.__code__  # type: ignore[attr-defined]
        wire_server.reply(body=ANSWER)
        straight = await call
        wire_server.reply(body=ANSWER)
        checked = await _complete_any(provider, keywords())
        assert straight == checked
        assert type(straight[0]) is Message and type(straight[1]) is UsageStats
        assert straight[0].content == "hello" and straight[1].total_tokens == 4
    finally:
        await provider.aclose()


async def test_an_override_or_an_instance_attribute_goes_through_the_checks(
        wire_server: WireServer) -> None:
    class Overridden(openai.OpenAIProvider):
        async def acomplete(self, **kwargs: Any) -> Any:  # type: ignore[override]
            message, _ = await super().acomplete(**kwargs)
            return message  # a bare Message: unpacked by the checks

    provider = Overridden(base_url=wire_server.url)
    try:
        wire_server.reply(body=ANSWER)
        message, usage = await complete_any(provider, **keywords())
        assert message.content == "hello" and usage is None
    finally:
        await provider.aclose()

    plain = openai.OpenAIProvider(base_url=wire_server.url)

    async def wrong(**kwargs: Any) -> Any:
        return ("text", UsageStats(1, 1))

    plain.acomplete = wrong  # type: ignore[method-assign]
    with pytest.raises(TypeError, match="returned tuple, expected"):
        await complete_any(plain, **keywords())


async def test_a_mock_provider_is_not_taken_for_a_marked_one() -> None:
    # A Mock has every attribute, the mark too: only the value True counts.
    provider = mock.MagicMock()
    provider.acomplete = mock.AsyncMock(return_value=Message(role=Role.ASSISTANT,
                                                             content="ok"))
    message, usage = await complete_any(provider, **keywords())
    assert message.content == "ok" and usage is None


class MyMessage(Message):
    pass


@pytest.mark.parametrize("parsed, expected", [
    (lambda: (Message(role=Role.ASSISTANT, content="a"), UsageStats(1, 2)), ("a", 3)),
    (lambda: (MyMessage(role=Role.ASSISTANT, content="b"), UsageStats(1, 2)), ("b", 3)),
    (lambda: (Message(role=Role.ASSISTANT, content="c"), None), ("c", None)),
    (lambda: (Message(role=Role.ASSISTANT, content="d"), "no usage"), ("d", None)),
    (lambda: ("text", UsageStats(1, 2)), TypeError),
])
async def test_a_protocol_of_ones_own_is_checked_as_any_provider_is(
        wire_server: WireServer, parsed: Any, expected: Any) -> None:
    # HttpProvider's acomplete checks what a protocol's parse_response returned itself
    # (its mark promises exact types): as complete_any's checks would, with the same error.
    protocol = dataclasses.replace(openai.PROTOCOL, parse_response=lambda data, model: parsed())
    provider = HttpProvider(protocol, base_url=wire_server.url)
    try:
        wire_server.reply(body=json.dumps(ANSWER))
        if expected is TypeError:
            with pytest.raises(TypeError, match="returned tuple, expected"):
                await complete_any(provider, **keywords())
            return
        message, usage = await complete_any(provider, **keywords())
        assert (message.content, usage.total_tokens if usage else None) == expected
        assert isinstance(message, Message)
    finally:
        await provider.aclose()
