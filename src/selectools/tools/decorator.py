"""The `@tool` decorator."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, overload

from .approval import ApprovalRule
from .base import Tool


@overload
def tool(func: Callable[..., Any], /) -> Tool: ...


@overload
def tool(
    func: None = None, /, *, name: str | None = None, description: str | None = None,
    requires_approval: ApprovalRule = False,
) -> Callable[[Callable[..., Any]], Tool]: ...


def tool(
    func: Callable[..., Any] | None = None,
    /,
    *,
    name: str | None = None,
    description: str | None = None,
    requires_approval: ApprovalRule = False,
) -> Tool | Callable[[Callable[..., Any]], Tool]:
    """Make a function (sync or async, plain or a method) into a Tool.

    Use as `@tool`, `@tool()` or `@tool(name=..., description=...)`. The name defaults to
    the function's name, the description to the docstring's first paragraph, and each
    parameter's description to its entry in the docstring's `Args:` section.
    `requires_approval=True`, or a function of the call's arguments returning whether this
    call needs it, makes a run stop before the call until a person approves it.
    """

    def decorate(function: Callable[..., Any]) -> Tool:
        inner = getattr(function, "__func__", function)  # staticmethod / classmethod
        tool_name = name or getattr(inner, "__name__", None)
        if not tool_name:
            raise TypeError(f"@tool cannot name {function!r}; pass name='...'")
        return Tool(name=tool_name, description=description, function=function,
                    requires_approval=requires_approval)

    if func is None:
        return decorate
    if isinstance(func, str):
        raise TypeError("@tool takes keyword options only: write @tool(name=...) or "
                        "@tool(description=...)")
    return decorate(func)
