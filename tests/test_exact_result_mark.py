"""`exact_result` marks one function: complete_any hands a call straight to that function
only, never to a wrapper that copied its mark (functools.wraps copies a function's
__dict__), which goes through the checks like any other acomplete."""

from __future__ import annotations

import asyncio
import functools
from typing import Any

from selectools import Message, Role
from selectools.providers.base import complete_any, exact_result
from selectools.usage import UsageStats


class Exact:
    @exact_result
    async def acomplete(self, **kwargs: Any) -> tuple[Message, UsageStats]:
        return Message(Role.ASSISTANT, "hello"), UsageStats(prompt_tokens=1)


def _message_only(acomplete: Any) -> Any:
    @functools.wraps(acomplete)
    async def wrapper(*args: Any, **kwargs: Any) -> Any:
        message, _ = await acomplete(*args, **kwargs)
        return message  # a bare Message: the checks take it as (Message, None)

    return wrapper


class WrappedInSubclass(Exact):
    acomplete = _message_only(Exact.acomplete)  # type: ignore[assignment]


def _wrapped_on_instance() -> Exact:
    provider = Exact()
    provider.acomplete = _message_only(provider.acomplete)  # type: ignore[method-assign]
    return provider


def test_the_marked_function_itself_is_handed_the_call() -> None:
    call = complete_any(Exact(), model="m")
    assert call.cr_code is Exact.acomplete.__code__  # type: ignore[attr-defined]
    message, usage = asyncio.run(call)
    assert (message.content, usage) == ("hello", UsageStats(prompt_tokens=1))


def test_a_wrapper_that_copied_the_mark_goes_through_the_checks() -> None:
    for provider in (WrappedInSubclass(), _wrapped_on_instance()):
        message, usage = asyncio.run(complete_any(provider, model="m"))
        assert (message.content, usage) == ("hello", None)
