"""A script that uses a real provider exits cleanly: no unclosed-session warnings."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from wire_server import WireServer

SCRIPT = textwrap.dedent("""
    import asyncio, sys
    from selectools import Agent, OpenAIProvider

    agent = Agent(provider=OpenAIProvider(base_url=sys.argv[1], api_key="sk-test"))
    if sys.argv[2] == "sync":
        print(agent.run("hello").content)
    else:
        async def main():
            async for item in agent.astream("hello"):
                pass
            print(item.content)
        asyncio.run(main())
""")


@pytest.mark.parametrize("mode", ["sync", "asyncio.run"])
def test_no_unclosed_session_warning_at_exit(wire_server: WireServer, wire_dir: Path,
                                             mode: str) -> None:
    if mode == "sync":
        wire_server.reply(body=b'{"choices": [{"message": {"role": "assistant", '
                               b'"content": "plain"}}]}')
    else:
        wire_server.reply_file(wire_dir / "openai_chat_stream_text_after_tool_result.sse",
                               content_type="text/event-stream")
    done = subprocess.run([sys.executable, "-c", SCRIPT, wire_server.url, mode],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip()
    assert done.stderr == ""
