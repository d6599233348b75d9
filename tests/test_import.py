"""`import selectools` stays light: no HTTP client, no provider module."""

from __future__ import annotations

import subprocess
import sys


def test_import_loads_no_http_library_and_no_provider() -> None:
    code = (
        "import sys, selectools\n"
        "heavy = [m for m in sys.modules if m.split('.')[0] in ('aiohttp', 'httpx', 'requests')"
        " or m.startswith('selectools.providers.') and m not in ('selectools.providers.base',"
        " 'selectools.providers.errors', 'selectools.providers.registry')]\n"
        "print(','.join(sorted(heavy)))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_provider_classes_load_on_first_access() -> None:
    code = (
        "import sys, selectools\n"
        "selectools.OpenAIProvider\n"
        "print('selectools.providers.openai' in sys.modules, 'aiohttp' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["True", "False"]


def test_typed_output_is_imported_only_when_a_run_asks_for_it() -> None:
    code = (
        "import sys, selectools\n"
        "before = any(m.startswith('selectools.output') for m in sys.modules)\n"
        "selectools.Agent().run('hi')\n"
        "after_plain = any(m.startswith('selectools.output') for m in sys.modules)\n"
        "selectools.Agent().run('hi', response_format={'type': 'string'})\n"
        "print(before, after_plain, 'selectools.output' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False", "True"]
