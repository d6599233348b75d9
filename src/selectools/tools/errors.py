"""The errors a tool call can end in, and the text the model sees for each."""

from __future__ import annotations

import reprlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

# A model reads these messages; a whole traceback or a megabyte of repr helps nobody.
_MAX_ERROR_TEXT = 2000


# __init__, repr, eq and hash written out, as dataclass generates them for a frozen class:
# its six compiled methods were a third of this module's import. (frozen=True still
# makes the two that refuse an assignment.) tests/test_import_weight.py holds them equal.
@dataclass(frozen=True, init=False, repr=False, eq=False)
class ArgumentProblem:
    """One thing wrong with a tool call's arguments: which parameter, and what is wrong."""

    parameter: str
    message: str

    def __init__(self, parameter: str, message: str) -> None:
        object.__setattr__(self, "parameter", parameter)
        object.__setattr__(self, "message", message)

    @reprlib.recursive_repr()
    def __repr__(self) -> str:
        return (f"{type(self).__qualname__}(parameter={self.parameter!r}, "
                f"message={self.message!r})")

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__ or not isinstance(other, ArgumentProblem):
            return NotImplemented
        return (self.parameter, self.message) == (other.parameter, other.message)

    def __hash__(self) -> int:
        return hash((self.parameter, self.message))

    def __str__(self) -> str:
        return self.message


class ToolArgumentError(ValueError):
    """The arguments given to a tool do not match its parameters."""

    def __init__(self, tool_name: str, problems: Sequence[ArgumentProblem]) -> None:
        self.tool_name = tool_name
        self.problems: tuple[ArgumentProblem, ...] = tuple(problems)
        listed = "; ".join(str(problem) for problem in self.problems) or "invalid arguments"
        super().__init__(f"invalid arguments for tool {tool_name!r}: {listed}")

    @property
    def parameters(self) -> list[str]:
        """The names of the parameters at fault, in the order the problems were found."""
        return list(dict.fromkeys(problem.parameter for problem in self.problems))


class ToolTimeoutError(TimeoutError):
    """A tool did not finish within its time limit."""

    def __init__(self, tool_name: str, timeout: float) -> None:
        self.tool_name = tool_name
        self.timeout = timeout
        super().__init__(f"tool {tool_name!r} timed out after {timeout:g} s")


class UnknownToolError(LookupError):
    """A model asked for a tool that the agent does not have."""

    def __init__(self, tool_name: str, available: Iterable[str] = ()) -> None:
        self.tool_name = tool_name
        self.available: tuple[str, ...] = tuple(available)
        known = ", ".join(self.available) if self.available else "none"
        super().__init__(f"unknown tool {tool_name!r} (available tools: {known})")

    def __str__(self) -> str:
        # LookupError would otherwise repr the message in quotes, like KeyError does.
        return str(self.args[0])


def format_tool_error(tool_name: str, exc: BaseException) -> str:
    """The `Error: ...` text handed back to the model when a tool call fails."""
    if isinstance(exc, (ToolArgumentError, ToolTimeoutError, UnknownToolError)):
        text = f"Error: {exc}"
    else:
        detail = error_text(exc)
        kind = type(exc).__name__
        text = f"Error: tool {tool_name!r} raised {kind}: {detail}" if detail else (
            f"Error: tool {tool_name!r} raised {kind}"
        )
    if len(text) > _MAX_ERROR_TEXT:
        marker = " ... (truncated)"
        text = text[: _MAX_ERROR_TEXT - len(marker)] + marker
    return text



def error_text(exc: BaseException) -> str:
    """`str(exc)`, stripped, or a note when the exception cannot say it (a broken or
    non-str `__str__`): describing an error must never raise one of its own."""
    try:
        return str(exc).strip()
    except Exception:
        return "(its message could not be read)"
