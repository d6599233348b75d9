"""A script that uses a real provider exits cleanly: no unclosed-session message and, under
`-W default` (as pytest runs), no unclosed-socket or unclosed-transport ResourceWarning."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from wire_server import WireServer

_TEXT = b'{"choices": [{"message": {"role": "assistant", "content": "plain"}}]}'

SCRIPTS = {
    # the sync API: sessions on the library's own loop, closed at exit
    "sync": """
        agent = Agent(provider=OpenAIProvider(base_url=URL, api_key="sk-test"))
        print(agent.run("hello").content)
    """,
    # one provider reused by asyncio.run() per call: each call's session is left on a loop
    # that asyncio.run() then closes
    "asyncio.run per call": """
        provider = OpenAIProvider(base_url=URL, api_key="sk-test")
        agent = Agent(provider=provider)

        async def main():
            return (await agent.arun("hello")).content

        for _ in range(3):
            print(asyncio.run(main()))
    """,
    # streamed, then the provider dropped without aclose() inside the running loop
    "dropped unclosed": """
        async def main():
            provider = OpenAIProvider(base_url=URL, api_key="sk-test")
            text = (await Agent(provider=provider).arun("hello")).content
            del provider
            gc.collect()
            await asyncio.sleep(0.05)
            return text

        print(asyncio.run(main()))
    """,
    # dropped unclosed as the run ends, in the loop's last moments
    "dropped as the loop ends": """
        async def main():
            provider = OpenAIProvider(base_url=URL, api_key="sk-test")
            text = (await Agent(provider=provider).arun("hello")).content
            del provider
            gc.collect()
            return text

        print(asyncio.run(main()))
    """,
    # dropped unclosed and collected only after asyncio.run() returned
    "dropped after the loop": """
        kept = []

        async def main():
            provider = OpenAIProvider(base_url=URL, api_key="sk-test")
            kept.append(provider)
            return (await Agent(provider=provider).arun("hello")).content

        print(asyncio.run(main()))
        kept.clear()
        gc.collect()
    """,
    # a loop of the user's own, ended as documented (see _http's docstring): its async
    # generators shut down before it closes, then the provider dropped
    "own loop, shutdown_asyncgens": """
        provider = OpenAIProvider(base_url=URL, api_key="sk-test")
        loop = asyncio.new_event_loop()
        print(loop.run_until_complete(Agent(provider=provider).arun("hello")).content)
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()
        del provider
        gc.collect()
    """,
    # the same, the provider closed on that loop instead
    "own loop, aclose": """
        provider = OpenAIProvider(base_url=URL, api_key="sk-test")
        loop = asyncio.new_event_loop()
        print(loop.run_until_complete(Agent(provider=provider).arun("hello")).content)
        loop.run_until_complete(provider.aclose())
        loop.close()
        del provider
        gc.collect()
    """,
}


@pytest.mark.parametrize("mode", list(SCRIPTS))
def test_no_unclosed_session_or_socket_warning_at_exit(wire_server: WireServer,
                                                       mode: str) -> None:
    calls = 3 if mode == "asyncio.run per call" else 1
    for _ in range(calls):
        wire_server.reply(body=_TEXT)
    script = "import asyncio, gc, sys\nfrom selectools import Agent, OpenAIProvider\n" \
             "URL = sys.argv[1]\n" + textwrap.dedent(SCRIPTS[mode])
    done = subprocess.run([sys.executable, "-W", "default", "-c", script,
                           wire_server.url], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["plain"] * calls
    assert done.stderr == ""


def test_a_streamed_answer_exits_cleanly_too(wire_server: WireServer, wire_dir: Path) -> None:
    wire_server.reply_file(wire_dir / "openai_chat_stream_text_after_tool_result.sse",
                           content_type="text/event-stream")
    script = textwrap.dedent("""
        import asyncio, sys
        from selectools import Agent, OpenAIProvider

        agent = Agent(provider=OpenAIProvider(base_url=sys.argv[1], api_key="sk-test"))

        async def main():
            async for item in agent.astream("hello"):
                pass
            print(item.content)

        asyncio.run(main())
    """)
    done = subprocess.run([sys.executable, "-W", "default", "-c", script, wire_server.url],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip()
    assert done.stderr == ""


def test_a_provider_reused_by_many_asyncio_runs_keeps_no_loop_alive(
        wire_server: WireServer) -> None:
    import asyncio
    import gc

    import aiohttp

    from selectools import OpenAIProvider
    from selectools.types import Message, Role

    def alive() -> tuple[int, int]:
        gc.collect()
        objects = gc.get_objects()
        return (sum(isinstance(o, aiohttp.ClientSession) for o in objects),
                sum(isinstance(o, asyncio.AbstractEventLoop) for o in objects))

    provider = OpenAIProvider(base_url=wire_server.url, api_key="sk-test", max_retries=0)
    ask = [Message(Role.USER, "hello")]
    sessions_before, loops_before = alive()
    try:
        for _ in range(30):  # each call on a loop of its own, closed by asyncio.run
            wire_server.reply(body=_TEXT)
            asyncio.run(provider.acomplete(messages=ask))
        sessions, loops = alive()
    finally:
        provider.close()
    # The last call's session (on its closed loop) may remain until the next call: not 30.
    assert sessions - sessions_before <= 1 and loops - loops_before <= 1, (sessions, loops)
