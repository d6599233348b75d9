"""Every Python block of the documentation runs, so the docs cannot rot.

Each page's ```python blocks run in order in one module of their own (a later block sees
what an earlier one defined, as a reader does), in a fresh working directory. An HTML
comment on the line before a block (blank lines between are allowed) changes that:

- `<!-- skip: REASON -->`: the block needs what a test run has not (a key, a server); it
  is only compiled, so a typo still fails.
- `<!-- requires: local model -->`: it runs on the in-process model, when it is installed
  (else it is only compiled).
- `<!-- setup: CODE -->`: CODE runs first, unseen on the page (what a fragment assumes,
  e.g. `provider = ScriptedProvider([...])`).

Top-level `await` is allowed, as in an async REPL: such a block runs in `asyncio.run`.
"""

from __future__ import annotations

import ast
import asyncio
import importlib.util
import inspect
import os
import re
import sys
import types
from dataclasses import dataclass
from pathlib import Path

import pytest

from selectools.providers.llamacpp import find_default_model

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
HAVE_MODEL = importlib.util.find_spec("xllamacpp") is not None and find_default_model() is not None

#: Pages whose blocks are only compiled until they are marked: the name, and why.
AWAITING_MARKS: dict[str, str] = {}

_FENCE = re.compile(r"^```(\w*)\s*$")
_MARK = re.compile(r"^<!--\s*(skip|requires|setup):\s*(.*?)\s*-->$", re.DOTALL)
_COMPILE_FLAGS = ast.PyCF_ALLOW_TOP_LEVEL_AWAIT


@dataclass
class Block:
    page: str
    line: int  # of the block's first line of code
    code: str
    skip: str | None = None
    requires: str | None = None
    setup: str = ""


def blocks_of(path: Path) -> list[Block]:
    """The page's python blocks with the marks before them; a bad mark is an error."""
    lines = path.read_text(encoding="utf-8").splitlines()
    found: list[Block] = []
    pending: dict[str, str] = {}
    index = 0
    while index < len(lines):
        line = lines[index]
        fence = _FENCE.match(line)
        if fence:
            end = next((j for j in range(index + 1, len(lines))
                        if lines[j].startswith("```")), None)
            assert end is not None, f"{path.name}:{index + 1}: a code block never closed"
            if fence.group(1) == "python":
                found.append(Block(path.name, index + 2, "\n".join(lines[index + 1:end]),
                                   skip=pending.get("skip"), requires=pending.get("requires"),
                                   setup=pending.get("setup", "")))
            elif pending:
                raise AssertionError(f"{path.name}:{index + 1}: a mark before a "
                                     f"{fence.group(1) or 'plain'} block, which never runs")
            pending = {}
            index = end + 1
            continue
        if line.startswith("<!--") and re.match(r"<!--\s*(skip|requires|setup)\b", line):
            end = next(j for j in range(index, len(lines)) if lines[j].rstrip().endswith("-->"))
            mark = _MARK.match("\n".join(lines[index:end + 1]).strip())
            assert mark, f"{path.name}:{index + 1}: a mark reads <!-- skip|requires|setup: ... -->"
            kind, value = mark.groups()
            if kind == "requires":
                assert value == "local model", \
                    f"{path.name}:{index + 1}: requires what? (only 'local model' is known)"
            pending[kind] = value
            index = end + 1
            continue
        if line.strip() and pending:
            raise AssertionError(f"{path.name}:{index + 1}: a mark must come just before "
                                 "its code block")
        index += 1
    return found


def _compiled(code: str, page: str, line: int) -> types.CodeType:
    # Padding keeps a traceback's line numbers the page's own.
    return compile("\n" * (line - 1) + code, f"{page}", "exec", flags=_COMPILE_FLAGS,
                   dont_inherit=True)


def _run(code: types.CodeType, namespace: dict[str, object]) -> None:
    if code.co_flags & inspect.CO_COROUTINE:
        result = eval(code, namespace)  # noqa: S307  (the page's own code, as a reader runs it)
        asyncio.run(result)
    else:
        exec(code, namespace)  # noqa: S102


PAGE_BLOCKS = {path.name: blocks_of(path) for path in PAGES}


@pytest.mark.parametrize("page", [name for name, found in PAGE_BLOCKS.items() if found])
def test_every_python_block_of_the_page_runs(page: str, tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    environment = dict(os.environ)  # a page may unset a key to show the error
    module = types.ModuleType("docs_page_" + re.sub(r"\W", "_", page))
    sys.modules[module.__name__] = module  # dataclasses and pydantic look their module up
    try:
        for block in PAGE_BLOCKS[page]:
            code = _compiled(block.code, page, block.line)
            if block.skip or page in AWAITING_MARKS or (block.requires and not HAVE_MODEL):
                continue  # compiled: its syntax holds
            if block.setup:
                _run(_compiled(block.setup, f"{page} (setup)", block.line), module.__dict__)
            _run(code, module.__dict__)
    finally:
        del sys.modules[module.__name__]
        os.environ.clear()
        os.environ.update(environment)


def test_the_docs_have_blocks_to_run() -> None:
    # Guards the parser: a page the test reads no block from would pass by running nothing.
    assert len(PAGE_BLOCKS["getting-started.md"]) >= 3
    assert sum(len(found) for found in PAGE_BLOCKS.values()) >= 20


def test_a_mark_out_of_place_is_an_error(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text("<!-- skip: needs a key -->\n\nSome prose.\n\n```python\npass\n```\n")
    with pytest.raises(AssertionError, match="just before its code block"):
        blocks_of(page)
    page.write_text("<!-- skip: needs a key -->\n```sh\nmake demo\n```\n")
    with pytest.raises(AssertionError, match="never runs"):
        blocks_of(page)
    page.write_text("<!-- skip: needs a key -->\n\n```python\nimport os\n```\n"
                    "```python\nx = 1\n```\n")
    first, second = blocks_of(page)
    assert (first.skip, first.line, second.skip, second.code) == ("needs a key", 4, None, "x = 1")
