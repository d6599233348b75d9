"""Another process that takes something a test's run must wait for (a lock, a write
transaction) and says so, for the tests of `run_timeout` against waits outside the run."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def other_process(script: str, *arguments: str) -> Iterator[subprocess.Popen[str]]:
    """`python -c script *arguments`, once it has printed "held" (it takes what it holds
    first); stopped by its pid at the end."""
    process = subprocess.Popen([sys.executable, "-c", script, *arguments],
                               stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        assert process.stdout.readline().strip() == "held"
        yield process
    finally:
        process.kill()
        process.wait(timeout=10)
        if process.stdout is not None:
            process.stdout.close()
