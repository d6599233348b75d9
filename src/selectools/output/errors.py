"""The errors typed output raises."""

from __future__ import annotations

import json
from typing import Any, NamedTuple


class Problem(NamedTuple):
    """One thing wrong with an answer: where (`$` is the whole value, `$.items[0].name` a
    part of it) and what."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


class OutputValidationError(ValueError):
    """The answer is not a value of the requested type.

    Its message is written to be sent back to the model so it can repair its answer: it
    names each problem by path. `problems` holds them one by one.
    """

    # A model shown fifty problems fixes no more of them than one shown ten.
    MAX_SHOWN = 10

    def __init__(self, problems: list[Problem] | tuple[Problem, ...]) -> None:
        self.problems = tuple(problems)
        shown = [str(problem) for problem in self.problems[: self.MAX_SHOWN]]
        hidden = len(self.problems) - len(shown)
        if hidden:
            shown.append(f"... and {hidden} more")
        super().__init__("the answer does not match the expected format: " + "; ".join(shown))

    def __reduce__(self) -> tuple[type[OutputValidationError], tuple[tuple[Problem, ...]]]:
        return type(self), (self.problems,)


class PartialJSONError(ValueError):
    """The streamed text is not JSON (or ended before its value did); `position` is the
    offset of the character at fault in the whole text fed so far."""

    def __init__(self, message: str, position: int) -> None:
        self.position = position
        super().__init__(f"{message} (at character {position})")

    def __reduce__(self) -> tuple[type[PartialJSONError], tuple[str, int]]:
        text = str(self)
        return type(self), (text[: text.rfind(" (at character")], self.position)


def brief_json(value: Any) -> str:
    """`value` as JSON text for a problem's message, cut to 60 characters (a value that is
    no JSON, as pydantic may report, as JSON would show it or else by its repr)."""
    try:
        text = json.dumps(value, ensure_ascii=False, default=repr)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
