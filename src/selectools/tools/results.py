"""Turn whatever a tool returns into the text a model reads."""

from __future__ import annotations

import json
from typing import Any

from ..results import ToolResult


def result_to_text(value: Any) -> str:
    """A str as is; anything else (dict, list, dataclass, pydantic model, number, None)
    as JSON text, non-ASCII kept readable. A ToolResult is a JSON object with its `kind`
    first, where a model reads it first."""
    if isinstance(value, str):
        return value
    if isinstance(value, ToolResult):
        value = value.to_dict()  # its `kind` is a ClassVar, which a dataclass dump omits
    try:
        from pydantic_core import to_jsonable_python

        return json.dumps(to_jsonable_python(value, fallback=str), ensure_ascii=False)
    except (TypeError, ValueError):
        # e.g. a dict keyed by tuples: still give the model something readable.
        return str(value)
