"""Closing each aiohttp session on its own loop, however its transport is dropped.

An aiohttp session must be closed on its loop, before that loop closes, or it warns
("Unclosed client session") and leaves its sockets to the garbage collector (ResourceWarning
under -W default). Users drop providers without `aclose()` and run each call in its own
`asyncio.run()`, so every session gets a keeper: an async generator started on its loop
that closes the session when it is closed. asyncio closes the async generators started on a
loop when the loop shuts down (`loop.shutdown_asyncgens()`, which `asyncio.run` calls before
closing the loop); a transport dropped while its loop runs has its sessions closed there
soon after; at exit, sessions on loops still running (the library's) are closed there.
Public asyncio and aiohttp behaviour only.

`HttpTransport` (`_http.py`) gives each session it opens a keeper (`_close_with_its_loop`)
and closes its sessions with `_close_session` or `_mark_closed`; sessions still open at exit
are closed by `_close_at_exit`.
"""

from __future__ import annotations

import asyncio
import atexit
import weakref
from collections.abc import AsyncGenerator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import aiohttp

    from ._http import HttpTransport

#: Each open session's keeper, its loop and the finalizer that closes it when its transport is
#: dropped. Held here until the session is closed: a keeper left to the garbage collector
#: unfinished would be closed by a task on a loop that may be about to stop. Closing the
#: session detaches its finalizer, which holds the session and its loop: a long-lived
#: provider used from many `asyncio.run()` calls keeps no loop alive.
_KEEPERS: dict[aiohttp.ClientSession, tuple[AsyncGenerator[None, None],
                                           asyncio.AbstractEventLoop,
                                           weakref.finalize[Any, Any]]] = {}


def _close_with_its_loop(session: aiohttp.ClientSession, loop: asyncio.AbstractEventLoop,
                         *, owner: HttpTransport) -> None:
    """Give `session`, just opened on the running `loop`, its keeper (see above)."""

    async def keeper() -> AsyncGenerator[None, None]:
        try:
            yield
        finally:
            await _close_session(session)

    closing = keeper()
    finalizer = weakref.finalize(owner, _close_soon, session, loop)
    finalizer.atexit = False  # at exit, _close_at_exit does it and waits for it
    _KEEPERS[session] = closing, loop, finalizer
    try:  # run it to its `yield`: that registers it with the loop, and nothing is awaited
        closing.asend(None).send(None)
    except StopIteration:
        pass


async def _close_session(session: aiohttp.ClientSession) -> None:
    """Close `session` and finish its keeper. Safe to run twice and alongside the loop's own
    shutdown: aiohttp marks the session closed before its first await."""
    await session.close()
    entry = _KEEPERS.pop(session, None)
    if entry is not None:
        entry[2].detach()
        try:  # its `finally` has nothing left to await, so this finishes it now
            entry[0].aclose().send(None)
        except (StopIteration, RuntimeError):  # RuntimeError: the loop is closing it now
            pass


def _close_soon(session: aiohttp.ClientSession, loop: asyncio.AbstractEventLoop) -> None:
    """Its transport was dropped: close `session` on its loop (from any thread)."""
    if session.closed or loop.is_closed():
        return
    try:
        loop.call_soon_threadsafe(_start_closing, session)
    except RuntimeError:  # the loop closed meanwhile (its shutdown closed the session)
        pass


def _start_closing(session: aiohttp.ClientSession) -> None:
    task = asyncio.ensure_future(_close_session(session))
    _CLOSING.add(task)  # the loop holds its tasks only weakly
    task.add_done_callback(_CLOSING.discard)


_CLOSING: set[asyncio.Future[None]] = set()


@atexit.register
def _close_at_exit() -> None:
    """Close the sessions still open at exit: one on a loop still running (the library's)
    is closed there, briefly waited for; one on a loop that ended without shutting down its
    async generators (`loop.close()` alone) is marked closed."""
    for session, (_, loop, _) in list(_KEEPERS.items()):
        if not loop.is_closed() and loop.is_running():
            try:
                asyncio.run_coroutine_threadsafe(_close_session(session), loop).result(timeout=1)
                continue
            except Exception:  # a loop busy or dying at exit: mark it closed at least
                pass
        _mark_closed(session)


def _mark_closed(session: aiohttp.ClientSession) -> None:
    """Mark a session closed whose loop ended without shutting its async generators down,
    so that it does not warn: on a closed loop aiohttp's close has nothing to await. Its
    sockets went unclosed with that loop."""
    entry = _KEEPERS.pop(session, None)
    if entry is not None:
        entry[2].detach()
    if session.closed:
        return
    closing = session.close()
    try:
        closing.send(None)
    except StopIteration:
        return
    except Exception:  # best effort: this loop is gone
        pass
    closing.close()
    session.detach()
