"""`selectools.providers` exports the documented names, each loaded on first access."""

from __future__ import annotations

import subprocess
import sys

import selectools.providers as providers


def test_every_exported_name_resolves_to_its_class() -> None:
    from selectools.providers.errors import ProviderError

    for name in providers.__all__:
        value = getattr(providers, name)
        assert value.__name__ == name
        assert name in dir(providers)
    assert issubclass(providers.RateLimitError, ProviderError)
    assert providers.OpenAIProvider.__module__ == "selectools.providers.openai"


def test_an_unknown_name_is_an_attribute_error() -> None:
    import pytest

    with pytest.raises(AttributeError, match="no attribute 'OpenAIProvder'"):
        providers.OpenAIProvder  # type: ignore[attr-defined]  # noqa: B018


def test_importing_the_package_loads_no_provider_and_no_http_client() -> None:
    code = (
        "import sys\n"
        "import selectools, selectools.providers\n"
        "loaded = [m for m in sys.modules if m.startswith('selectools.providers.')\n"
        "          and m.rsplit('.', 1)[1] in ('openai', 'anthropic', 'gemini', 'ollama',\n"
        "                                     'llamacpp', 'fallback', '_http')]\n"
        "assert not loaded, loaded\n"
        "assert 'aiohttp' not in sys.modules\n"
        "from selectools.providers import OpenAIProvider, ProviderError\n"
        "assert 'selectools.providers.openai' in sys.modules\n"
        "assert 'aiohttp' not in sys.modules  # only on the first request\n"
        "print('ok')\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"
