"""Turn whatever a tool returns into the text a model reads."""

from __future__ import annotations

import json
import sys
from typing import Any


def result_to_text(value: Any) -> str:
    """A str as is; anything else (dict, list, dataclass, pydantic model, number, None)
    as JSON text, non-ASCII kept readable. A ToolResult is a JSON object with its `kind`
    first, where a model reads it first."""
    if isinstance(value, str):
        return value
    # A ToolResult can only exist once selectools.results is loaded: a program that never
    # uses typed results does not import it for this check.
    results = sys.modules.get("selectools.results")
    if results is not None and isinstance(value, results.ToolResult):
        value = value.to_dict()  # its `kind` is a ClassVar, which a dataclass dump omits
    try:
        from pydantic_core import to_jsonable_python

        # Bytes as base64: a model reads JSON text, not Python's repr of a byte string.
        data = to_jsonable_python(value, fallback=str, bytes_mode="base64")
        return json.dumps(data, ensure_ascii=False)
    except (TypeError, ValueError):
        # e.g. a dict keyed by tuples: still give the model something readable.
        return str(value)
