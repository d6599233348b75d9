"""`selectools bench`: the benchmarks, which live in the repository, not in the package."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from ._output import PlainOutput

HOW_TO = ("the benchmarks live in the selectools repository (folder benchmarks/): clone it, "
          "then run `make bench` or `python -m benchmarks` at its top")


def find_benchmarks() -> Path | None:
    """The repository holding `benchmarks/`: the current folder, or the one this package
    was installed from in editable mode (src/selectools/cli -> repository)."""
    candidates = [Path.cwd(), Path(__file__).resolve().parents[3]]
    for root in candidates:
        if (root / "benchmarks" / "__main__.py").is_file():
            return root
    return None


def run_bench(output: PlainOutput, arguments: list[str]) -> int:
    root = find_benchmarks()
    if root is None:
        output.error(HOW_TO)
        return 2
    output.hint(f"running python -m benchmarks {' '.join(arguments)} in {root}")
    return subprocess.call([sys.executable, "-m", "benchmarks", *arguments], cwd=root)
