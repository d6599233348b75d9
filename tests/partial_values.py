"""The property every stream of partial values must have, for the tests of each layer."""

from __future__ import annotations

from typing import Any


def extends(earlier: Any, later: Any) -> bool:
    """Whether `later` is `earlier` grown: nothing shown earlier was taken back (strings
    grow at their end, containers keep what they held, in order; a scalar stays as it is)."""
    if isinstance(earlier, dict):
        return isinstance(later, dict) and list(later)[:len(earlier)] == list(earlier) \
            and all(extends(value, later[key]) for key, value in earlier.items())
    if isinstance(earlier, list):
        return isinstance(later, list) and len(later) >= len(earlier) \
            and all(extends(a, b) for a, b in zip(earlier, later, strict=False))
    if isinstance(earlier, str):
        return isinstance(later, str) and later.startswith(earlier)
    return type(earlier) is type(later) and earlier == later
