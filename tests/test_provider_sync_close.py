"""A provider's sync `close()` (its `run_sync` imported where it is used, not at module
import): it closes the pool the sync calls opened, for HttpProvider and FallbackProvider."""

from __future__ import annotations

from wire_server import WireServer

from selectools import FallbackProvider, OpenAIProvider
from selectools.types import Message, Role

_TEXT = b'{"choices": [{"message": {"role": "assistant", "content": "plain"}}]}'


def test_http_provider_close_closes_the_sync_calls_pool(wire_server: WireServer) -> None:
    provider = OpenAIProvider(base_url=wire_server.url, api_key="sk-test", max_retries=0)
    wire_server.reply(body=_TEXT)
    message, _ = provider.complete(messages=[Message(Role.USER, "hello")])
    assert message.content == "plain"
    sessions = list(provider._transport._sessions.values())
    assert sessions and not any(session.closed for session in sessions)
    provider.close()
    assert all(session.closed for session in sessions)
    assert provider._transport._sessions == {}


def test_fallback_provider_close_closes_each_providers_pool(wire_server: WireServer) -> None:
    first = OpenAIProvider(base_url=wire_server.url, api_key="sk-test", max_retries=0)
    fallback = FallbackProvider([first])
    wire_server.reply(body=_TEXT)
    message, _ = fallback.complete(messages=[Message(Role.USER, "hello")])
    assert message.content == "plain"
    sessions = list(first._transport._sessions.values())
    assert sessions
    fallback.close()
    assert all(session.closed for session in sessions)


def test_the_http_providers_load_no_sync_loop_until_a_sync_call() -> None:
    import subprocess
    import sys

    code = ("import sys, selectools\n"
            "from selectools.providers.openai import OpenAIProvider\n"
            "from selectools.providers.fallback import FallbackProvider\n"
            "print('selectools._sync' in sys.modules)\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["False"]
