"""Serving is an optional extra: importing the package, or selectools.serve and its pure
mappings, loads no web framework; create_app does."""

from __future__ import annotations

import subprocess
import sys


def _loaded_after(code: str) -> set[str]:
    probe = (f"{code}\nimport sys, json\n"
             "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in "
             "('starlette', 'uvicorn', 'anyio', 'websockets'))))")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          check=True, timeout=60)
    import json

    return set(json.loads(done.stdout))


def test_importing_selectools_and_the_mappings_loads_no_web_framework() -> None:
    assert _loaded_after("import selectools") == set()
    assert _loaded_after("import selectools.serve, selectools.serve.ui_stream, "
                         "selectools.serve.agui, selectools.serve.websocket") == set()


def test_create_app_loads_starlette() -> None:
    loaded = _loaded_after("from selectools import Agent\n"
                           "from selectools.providers.stubs import LocalProvider\n"
                           "from selectools.serve import create_app\n"
                           "create_app(Agent(tools=[], provider=LocalProvider()))")
    assert "starlette" in loaded
