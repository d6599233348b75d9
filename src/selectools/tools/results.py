"""Turn whatever a tool returns into the text a model reads."""

from __future__ import annotations

import json
from typing import Any


def result_to_text(value: Any) -> str:
    """A str as is; anything else (dict, list, dataclass, pydantic model, number, None)
    as JSON text, non-ASCII kept readable."""
    if isinstance(value, str):
        return value
    try:
        from pydantic_core import to_jsonable_python

        return json.dumps(to_jsonable_python(value, fallback=str), ensure_ascii=False)
    except (TypeError, ValueError):
        # e.g. a dict keyed by tuples: still give the model something readable.
        return str(value)
