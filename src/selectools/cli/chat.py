"""`selectools chat`: an interactive streaming chat that remembers the conversation.

Ctrl-C cancels the answer being written and keeps the chat open (a cancelled exchange is not
remembered); Ctrl-D (end of input) or `exit` leaves. Lines may also be piped in.
"""

from __future__ import annotations

import asyncio
import signal
import sys
import threading
from collections.abc import Coroutine, Sequence
from typing import Any

from ..agent import Agent, AgentConfig
from ..memory import ConversationMemory
from ..providers.errors import ProviderError
from ._loading import default_provider_name, load_tool, make_provider
from ._output import PlainOutput
from ._run import show_run

_CANCELLED = object()
_LEAVE_WORDS = frozenset({"exit", "quit", "/exit", "/quit"})


def run_chat(output: PlainOutput, *, provider_name: str | None, model: str | None,
             tool_specs: Sequence[str], system_prompt: str | None) -> int:
    """Chat with `provider_name` (None: the local model when installed, else the stand-in,
    which is said)."""
    tools = [load_tool(spec) for spec in tool_specs]
    if provider_name is None:
        provider_name, why = default_provider_name()
        if why:
            output.notice(why)
    try:
        provider = make_provider(provider_name, model)
    except ProviderError as exc:
        output.error(str(exc))
        return 1
    agent = Agent(tools=tools, provider=provider,
                  config=AgentConfig(model=model, system_prompt=system_prompt),
                  memory=ConversationMemory(max_messages=50))
    interactive = sys.stdin.isatty()
    if interactive:
        _enable_line_editing()
        names = ", ".join(t.name for t in tools) or "none"
        output.header("selectools chat", f"provider: {getattr(provider, 'name', provider_name)}"
                      f", tools: {names}")
        output.hint("Ctrl-C cancels an answer; Ctrl-D or 'exit' leaves.")
    loop = asyncio.new_event_loop()
    try:
        _converse(loop, agent, output, interactive)
    finally:
        close = getattr(provider, "aclose", None)
        if close is not None:
            loop.run_until_complete(close())
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()
    return 0


def _converse(loop: asyncio.AbstractEventLoop, agent: Agent, output: PlainOutput,
              interactive: bool) -> None:
    while True:
        try:
            line = input(output.prompt() if interactive else "")
        except EOFError:
            if interactive:
                print()
            return
        except KeyboardInterrupt:  # at the prompt: a fresh line, as shells do
            print()
            continue
        text = line.strip()
        if not text:
            continue
        if text.lower() in _LEAVE_WORDS:
            return
        if not interactive:
            output.user(text)
        try:
            outcome = _run_cancellable(loop, show_run(agent, text, output))
        except ProviderError as exc:  # the chat goes on; the user may try again
            output.error(str(exc))
            continue
        except Exception as exc:  # a faulty custom provider or tool must not end the chat
            output.error(f"{type(exc).__name__}: {exc}")
            continue
        if outcome is _CANCELLED:
            output.end_text()
            output.notice("cancelled")


def _run_cancellable(loop: asyncio.AbstractEventLoop,
                     work: Coroutine[Any, Any, Any]) -> Any:
    """Run `work` to its end, or until Ctrl-C, which cancels it (returns _CANCELLED)."""
    task = loop.create_task(work)

    def on_interrupt(signum: int, frame: object) -> None:
        loop.call_soon_threadsafe(task.cancel)

    in_main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGINT, on_interrupt) if in_main_thread else None
    try:
        return loop.run_until_complete(task)
    except asyncio.CancelledError:
        return _CANCELLED
    finally:
        if in_main_thread:
            signal.signal(signal.SIGINT, previous)


def _enable_line_editing() -> None:
    try:
        import readline  # noqa: F401  (importing it gives input() history and editing)
    except ImportError:  # Windows without pyreadline
        pass
