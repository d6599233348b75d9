"""`import selectools` loads what a first run needs and no more: every public name still
resolves (the rest load on first access), in a fresh process each time."""

from __future__ import annotations

import json
import subprocess
import sys

from selectools.tools.docstring import Docstring, parse_docstring

# Modules a first run does not need, which `import selectools` must not load: each is
# imported when one of its names is first used.
DEFERRED = (
    "selectools.tools.registry",  # ToolRegistry
    "selectools.output",  # typed output (ResponseFormat, a run's response_format)
    "selectools.results",  # ToolResult, Artifact, ...
    "selectools.sessions",  # the session stores
    "selectools.otel",  # OTelObserver
    "selectools.providers.openai",  # every provider class
    "selectools.providers.fallback",
    "selectools.providers.stubs",
    "selectools.serve",
    "selectools.cli",
    "selectools.mcp",
    "selectools.batch",
)


def _fresh(code: str) -> object:
    """What `code` prints as its last line, as JSON, run in a new interpreter."""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_import_selectools_loads_none_of_the_deferred_modules() -> None:
    loaded = _fresh(
        "import sys, json, selectools\n"
        f"print(json.dumps([m for m in {DEFERRED!r} if m in sys.modules]))\n")
    assert loaded == []


def test_every_public_name_resolves_in_a_fresh_process() -> None:
    # `from selectools import *` takes every name of __all__, the lazy ones through the
    # module's __getattr__; each must be the object its own module defines.
    problems = _fresh(
        "import json, selectools\n"
        "from selectools import *\n"
        "bad = [n for n in selectools.__all__ if globals()[n] is not getattr(selectools, n)]\n"
        "bad += [n for n in selectools.__all__ if not hasattr(selectools, n)]\n"
        "print(json.dumps(bad))\n")
    assert problems == []


def test_every_name_of_selectools_tools_resolves_in_a_fresh_process() -> None:
    found = _fresh(
        "import json, sys, selectools.tools as tools\n"
        "before = 'selectools.tools.registry' in sys.modules\n"
        "from selectools.tools import *\n"
        "from selectools.tools.registry import ToolRegistry\n"
        "import selectools\n"
        "print(json.dumps([before, [n for n in tools.__all__ if not hasattr(tools, n)],\n"
        "                  tools.ToolRegistry is ToolRegistry is selectools.ToolRegistry]))\n")
    assert found == [False, [], True]


def test_an_unknown_name_is_still_an_attribute_error() -> None:
    import selectools
    import selectools.tools

    for module in (selectools, selectools.tools):
        try:
            module.NoSuchName  # type: ignore[attr-defined]  # noqa: B018
        except AttributeError as exc:
            assert "NoSuchName" in str(exc)
        else:
            raise AssertionError(f"{module.__name__}.NoSuchName resolved")


def test_docstring_values_are_plain_and_not_shared() -> None:
    empty, other = parse_docstring(None), parse_docstring("")
    assert (empty.summary, empty.params) == ("", {})
    assert empty.params is not other.params
    assert repr(Docstring("Add.", {"a": "first"})) == (
        "Docstring(summary='Add.', params={'a': 'first'})")
