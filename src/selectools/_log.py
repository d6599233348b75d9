"""The library's logger, looked up when a line is first logged.

The lines it logs are rare (an observer that raised, a tool that would not stop, a fallback
restarting an answer), and `logging` is about a tenth of `import selectools`'s
instructions: so it is not imported with the package. (A first run loads it anyway through
asyncio and aiohttp; a program that only imports, a CLI's `--help`, does not.)
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import logging


def logger() -> logging.Logger:
    """The `selectools` logger (the one every module of the library logs to)."""
    import logging

    return logging.getLogger("selectools")
