"""HttpProvider.acomplete makes a call's first attempt itself and each retry through
`_attempt`: the two give the same answer, the same label and the same typed errors."""

from __future__ import annotations

from typing import Any

import pytest
from wire_server import WireServer

from selectools.providers.errors import MalformedResponseError
from selectools.providers.openai import OpenAIProvider
from selectools.types import Message, Role

KEY = "sk-test-0123456789abcdef"
_ASK = [Message(Role.USER, "hi")]
_ANSWER = {"choices": [{"message": {"role": "assistant", "content": "plain", "tool_calls": [
    {"id": "c1", "type": "function", "function": {"name": "f", "arguments": '{"x": 1}'}}]},
    "finish_reason": "tool_calls"}], "usage": {"prompt_tokens": 3, "completion_tokens": 2}}
_BUSY: dict[str, Any] = {"status": 503, "body": {"error": {"message": f"busy {KEY}"}},
                         "headers": {"retry-after": "0"}}


async def _call(wire_server: WireServer, replies: list[dict[str, Any]],
                **options: Any) -> Any:
    """The answer to one call, each reply taken (one attempt each: the last may fail)."""
    for reply in replies:
        wire_server.reply(**reply)
    provider = OpenAIProvider(api_key=KEY, base_url=wire_server.url,
                              max_retries=len(replies) - 1, **options)
    try:
        return await provider.acomplete(messages=_ASK)
    finally:
        await provider.aclose()


@pytest.mark.parametrize("name", [None, "local-box"])
async def test_the_first_attempt_and_a_retry_answer_alike(wire_server: WireServer,
                                                          name: str | None) -> None:
    first = await _call(wire_server, [{"body": _ANSWER}], name=name)
    retried = await _call(wire_server, [_BUSY, {"body": _ANSWER}], name=name)
    assert first == retried and len(wire_server.requests) == 3
    message, usage = first
    assert message.tool_calls[0].parameters == {"x": 1} and message.stop_reason == "tool_calls"
    assert usage.provider == (name or "openai") and usage.total_tokens == 5


@pytest.mark.parametrize("answer", [{"choices": "x"}, {"choices": [{"message": 3}]},
                                    {"choices": [{"message": {"content": 5}}]},
                                    [1, 2], {"error": {"message": f"bad {KEY}"}}])
async def test_a_bad_answer_fails_alike_in_the_first_attempt_and_in_a_retry(
        wire_server: WireServer, answer: Any) -> None:
    with pytest.raises(Exception) as first:
        await _call(wire_server, [{"body": answer}])
    with pytest.raises(Exception) as retried:
        await _call(wire_server, [_BUSY, {"body": answer}])
    assert type(first.value) is type(retried.value)
    assert str(first.value) == str(retried.value) and KEY not in str(first.value)
    assert first.value.__cause__ is None and first.value.__context__ is None
    if not isinstance(answer, dict) or "error" not in answer:
        assert isinstance(first.value, MalformedResponseError)
