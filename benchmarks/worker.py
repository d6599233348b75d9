"""Runs one measurement in this (fresh) process: `python -m benchmarks.worker CASE JSON`.

Prints the result as one JSON line. A fresh process per measurement keeps CPU accounting,
peak memory and garbage from one case out of the next.
"""

from __future__ import annotations

import json
import sys

from .cases import CASES


def main() -> None:
    case, arguments = sys.argv[1], json.loads(sys.argv[2])
    result = CASES[case](**arguments)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
