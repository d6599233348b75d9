"""Hostile review (session 8) of session 7's short paths: where one behaves differently from
the general path, or from the library before session 7 (d755eb9), in a way a user sees."""

from __future__ import annotations

import dataclasses
import functools
import subprocess
import sys
from typing import Any

import pytest
from wire_server import WireServer

from selectools import Agent, AgentResult, Message, Role, ToolCall
from selectools.providers import openai

ANSWER = {"choices": [{"index": 0, "finish_reason": "stop",
                       "message": {"role": "assistant", "content": "hello"}}],
          "usage": {"prompt_tokens": 3, "completion_tokens": 1}}


def _message_only(acomplete: Any) -> Any:
    """A decorator as users write them (functools.wraps): the answer's Message alone, which
    complete_any accepts from any provider (unpack_completion: a bare Message)."""
    @functools.wraps(acomplete)
    async def wrapper(self: Any, **kwargs: Any) -> Any:
        message, _ = await acomplete(self, **kwargs)
        return message

    return wrapper


def _logged_subclass(url: str) -> openai.OpenAIProvider:
    class Logged(openai.OpenAIProvider):
        acomplete = _message_only(openai.OpenAIProvider.acomplete)  # type: ignore[assignment]

    return Logged(base_url=url)


def _logged_instance(url: str) -> openai.OpenAIProvider:
    provider = openai.OpenAIProvider(base_url=url)
    original = provider.acomplete  # (a bound method passes its function's __dict__ on)

    @functools.wraps(original)
    async def message_only(**kwargs: Any) -> Any:
        message, _ = await original(**kwargs)
        return message

    provider.acomplete = message_only  # type: ignore[method-assign,assignment]
    return provider


@pytest.mark.parametrize("make", [_logged_subclass, _logged_instance])
async def test_an_acomplete_wrapped_with_functools_wraps_goes_through_the_checks(
        wire_server: WireServer, make: Any) -> None:
    provider = make(wire_server.url)
    try:
        wire_server.reply(body=ANSWER)
        result = await Agent([], provider=provider).arun("hi")
        assert result.content == "hello"
    finally:
        await provider.aclose()


def test_an_attribute_error_inside_a_result_property_keeps_its_cause() -> None:
    class Stepped(AgentResult):
        @property
        def first_step(self) -> Any:
            return self.trace.steps[0]  # type: ignore[union-attr]

    with pytest.raises(AttributeError, match="'NoneType' object has no attribute 'steps'"):
        Stepped(Message(Role.ASSISTANT, "x")).first_step  # noqa: B018
    # (as at d755eb9: the property's own error, not the result's)
    with pytest.raises(AttributeError, match="'NoneType' object has no attribute 'content'"):
        AgentResult(None).content  # type: ignore[arg-type]  # noqa: B018


def test_the_lazily_loaded_names_are_in_dir() -> None:
    # In a fresh process: a name once read is cached in the module's globals.
    code = ("import selectools, selectools.tools; "
            "print(' '.join(dir(selectools))); print(' '.join(dir(selectools.tools)))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    names, names_in_tools = (line.split() for line in out.splitlines())
    # (both were there at d755eb9, imported with the package)
    assert "ConversationMemory" in names and "ToolRegistry" in names
    assert "ToolRegistry" in names_in_tools


def test_a_subclass_without_eq_or_repr_of_its_own_keeps_its_parents() -> None:
    @dataclasses.dataclass(eq=False, repr=False)
    class Tagged(ToolCall):
        tag: str = ""

    assert Tagged("t", {}, "c1", tag="a") == Tagged("t", {}, "c1", tag="b")
    assert repr(Tagged("t", {}, "c1", tag="a")).endswith(
        ".Tagged(tool_name='t', parameters={}, id='c1')")


def test_the_submodules_once_loaded_with_the_package_are_still_reachable() -> None:
    code = ("import selectools; "
            "print(selectools.memory.ConversationMemory.__name__, "
            "selectools.parser.ToolCallParser.__name__, "
            "selectools.tools.registry.ToolRegistry.__name__, "
            "selectools.agent.analytics.ToolAnalytics.__name__)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr.splitlines()[-1:]
    assert done.stdout.split() == ["ConversationMemory", "ToolCallParser", "ToolRegistry",
                                   "ToolAnalytics"]


async def test_a_model_that_is_not_a_str_is_refused_before_any_request(
        wire_server: WireServer) -> None:
    provider = openai.OpenAIProvider(base_url=wire_server.url)
    try:
        wire_server.reply(body=ANSWER)
        with pytest.raises((TypeError, AttributeError)):
            await provider.acomplete(model=123,  # type: ignore[arg-type]
                                     messages=[Message(Role.USER, "hi")])
        assert wire_server.requests == []
    finally:
        await provider.aclose()
