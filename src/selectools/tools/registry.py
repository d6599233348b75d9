"""ToolRegistry: a named collection of tools, filled by calls or by decorators."""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator
from typing import Any

from .approval import ApprovalRule
from .base import Tool
from .decorator import tool as make_tool


class ToolRegistry:
    """Tools by name, for handing to an Agent: `Agent(tools=registry.all(), ...)` (or the
    registry itself, which iterates over its tools).

        registry = ToolRegistry()

        @registry.register           # a function becomes a Tool, as with @tool
        def add(a: int, b: int) -> int: ...

        @registry.tool(name="mul")   # with @tool's options
        def multiply(a: int, b: int) -> int: ...

        registry.register(Tool(name="echo", description="Echo", function=echo))

    Registering a second tool under a name already taken replaces the first, with a
    UserWarning (as in selectools 1.3.0).
    """

    def __init__(self) -> None:
        self._tools: dict[str, Tool] = {}

    def register(self, item: Tool | Callable[..., Any], /) -> Tool:
        """Add a Tool, or make a function into one (as `@tool` does) and add it; returns
        the Tool, so this works as a decorator too."""
        if not isinstance(item, Tool):
            if not callable(item):
                raise TypeError(f"register takes a Tool or a function, got {item!r}")
            item = make_tool(item)
        if item.name in self._tools and self._tools[item.name] is not item:
            warnings.warn(f"tool {item.name!r} is already registered; the new one replaces it",
                          UserWarning, stacklevel=2)
        self._tools[item.name] = item
        return item

    def tool(self, *, name: str | None = None, description: str | None = None,
             requires_approval: ApprovalRule = False
             ) -> Callable[[Callable[..., Any]], Tool]:
        """A decorator: `@registry.tool(name=..., description=..., requires_approval=...)`
        makes the function a Tool, as `@tool(...)` does, and registers it."""
        decorate = make_tool(name=name, description=description,
                             requires_approval=requires_approval)

        def register(function: Callable[..., Any]) -> Tool:
            return self.register(decorate(function))

        return register

    def get(self, name: str) -> Tool | None:
        """The tool registered under `name`, or None."""
        return self._tools.get(name)

    def list_tools(self) -> list[Tool]:
        """Every registered tool, in the order they were first registered."""
        return list(self._tools.values())

    def all(self) -> list[Tool]:
        """The same as `list_tools()`."""
        return self.list_tools()

    def __iter__(self) -> Iterator[Tool]:
        return iter(list(self._tools.values()))

    def __len__(self) -> int:
        return len(self._tools)

    def __contains__(self, name: object) -> bool:
        return name in self._tools

    def __repr__(self) -> str:
        return f"ToolRegistry({list(self._tools)})"
