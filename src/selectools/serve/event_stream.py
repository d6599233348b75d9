"""One served run as an SSE response: the run's items mapped to a protocol's frames
(ui_stream.UIMessageStream, agui.AgUiStream) and written as they come."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncGenerator
from typing import Any, Protocol

from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from ..providers.errors import ProviderError
from ..types import AgentResult, Message, StreamChunk
from . import ui_stream
from .conversations import Conversations, RunTranscript
from .ui_stream import DELTA_TAIL, sse

log = logging.getLogger("selectools.serve")


class ServedRun:
    """A run's engine items, and (conversations kept here) the id and history to keep its
    transcript under when it ends well."""

    __slots__ = ("items", "keep")

    def __init__(self, items: AsyncGenerator[StreamChunk | AgentResult, None],
                 keep: tuple[str, list[Message]] | None = None) -> None:
        self.items = items
        self.keep = keep


class Mapping(Protocol):
    """A protocol's pure mapping of a run's items to its frames (ui_stream.UIMessageStream,
    agui.AgUiStream): `start()`, `feed(item)` and `error(text)` give frames as dicts,
    `text(content)` a text delta's frames as their SSE bytes, `text_head()` the open text
    part's delta head (its next deltas are `delta_frame(head, content)` until a `feed`)."""

    def start(self) -> list[dict[str, Any]]: ...

    def feed(self, item: StreamChunk | AgentResult) -> list[dict[str, Any]]: ...

    def text(self, content: str) -> bytes: ...

    def text_head(self) -> bytes | None: ...

    def error(self, text: str) -> list[dict[str, Any]]: ...


AGUI_HEADERS = {"content-type": "text/event-stream", "cache-control": "no-cache",
                "x-accel-buffering": "no"}


class EventStream(Response):
    """One run as an SSE response (`mapping`'s frames, then `closing`), which cancels the
    run the moment the client disconnects and pings a silent stream; a run that ends well
    keeps its conversation (`run.keep`) in `conversations`.

    Starlette's StreamingResponse notices a disconnect only when it next writes (ASGI 2.4),
    and a model can think for a minute between two tokens: the run, and the HTTP stream to
    the model it holds open, would go on for nobody. Here the disconnect is watched
    beside the writes, and the run's items are closed whatever ends the response.
    A proxy cuts a connection idle for its timeout (often 30 to 60 s): after
    `keepalive_seconds` without a write, a `: ping` comment goes out (SSE readers skip it).

    The run's items are mapped, encoded and written in one loop (`pump`): every layer
    between the engine and the ASGI send is paid on every token.
    """

    def __init__(self, run: ServedRun, mapping: Mapping, closing: bytes,
                 headers: dict[str, str], conversations: Conversations,
                 keepalive_seconds: float | None = None) -> None:
        self.run = run
        self.mapping = mapping
        self.closing = closing
        self.conversations = conversations
        self.keepalive_seconds = keepalive_seconds
        self.status_code = 200
        self.background = None
        self.init_headers(headers)
        #: The start message went to `send` (`_Streaming.direct` answers failures by it).
        self.started = False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        run, mapping = self.run, self.mapping
        writes = 0  # the body's frames written so far: the keep-alive's measure of silence
        writing = False  # a write in progress (a slow client): no ping beside it

        async def pump() -> None:
            nonlocal writes, writing
            self.started = True
            await send({"type": "http.response.start", "status": 200,
                        "headers": self.raw_headers})
            await send({"type": "http.response.body",
                        "body": b"".join(map(sse, mapping.start())), "more_body": True})
            transcript = RunTranscript() if run.keep is not None else None
            said = transcript.text if transcript is not None else None
            text, feed, quote, tail = mapping.text, mapping.feed, ui_stream.quote, DELTA_TAIL
            head = None  # the open text part's delta head, once `text` has opened it
            try:
                async for item in run.items:
                    if type(item) is StreamChunk and item.event is None and (
                            content := item.content):
                        # Most items: a text delta, the first case of both `feed`s, taken
                        # without them (a test holds this to them); after the part's
                        # first, without `text` either: `delta_frame`, inline.
                        if said is not None:
                            said.append(content)
                        if head is not None:
                            data = head + quote(content).encode() + tail
                        else:
                            data = text(content)
                            head = mapping.text_head()
                    else:
                        if transcript is not None:
                            transcript.feed(item)
                        head = None  # (a feed may close the part, or restart the step)
                        data = b"".join(map(sse, feed(item)))
                        if not data:
                            continue
                    writing = True
                    await send({"type": "http.response.body", "body": data, "more_body": True})
                    writing = False
                    writes += 1
            except Exception as exc:
                if writing:  # the write failed (the client is gone): no failure of the run
                    raise
                last = b"".join(map(sse, mapping.error(public_error(exc))))
            else:
                last = b""
                if transcript is not None and run.keep is not None:
                    self.conversations.put(run.keep[0], run.keep[1] + transcript.messages())
            writing = True  # for good: nothing may follow the last body
            await send({"type": "http.response.body", "body": last + self.closing,
                        "more_body": False})

        async def watch() -> None:
            while (await receive())["type"] != "http.disconnect":
                pass

        async def keep_alive(every: float) -> None:
            # A look at the frames written every quarter of `every` (a clock read per
            # write would be paid on every token): four looks in a row that see none, and
            # no write in progress, a ping. Items that make no frame are silence too.
            seen, quiet = writes, 0
            while True:
                await asyncio.sleep(every / 4)
                if writes != seen or writing:
                    seen, quiet = writes, 0
                    continue
                quiet += 1
                if quiet == 4:
                    quiet = 0
                    await send({"type": "http.response.body", "body": PING, "more_body": True})

        tasks = [asyncio.ensure_future(pump()), asyncio.ensure_future(watch())]
        writer = tasks[0]
        if self.keepalive_seconds is not None:
            tasks.append(asyncio.ensure_future(keep_alive(self.keepalive_seconds)))
        try:
            await asyncio.wait(tasks[:2], return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await run.items.aclose()  # closes the run and its stream to the model
        if writer.done() and not writer.cancelled() and writer.exception() is not None:
            if not isinstance(writer.exception(), OSError):  # a client gone mid-write
                raise writer.exception()  # type: ignore[misc]


#: An SSE comment line: every reader skips it; a proxy sees the connection is alive.
PING = b": ping\n\n"


def public_error(exc: BaseException) -> str:
    """What a client may read of a run's failure: a provider's error (redacted where it
    left the provider), the run's deadline, a typed answer that stayed invalid (with
    output_failure="raise"), a session that waits for approvals, by class and message;
    anything else (a bug, a tool's environment) by class only, and logged here."""
    from ..agent.deadline import RunTimeoutError
    from ..output.errors import OutputValidationError  # (an error path: cost is no matter)
    from ..sessions.errors import ApprovalPendingError

    if isinstance(exc, ProviderError | RunTimeoutError | OutputValidationError
                  | ApprovalPendingError):
        return f"{type(exc).__name__}: {exc}"
    log.error("a served run failed", exc_info=exc)
    return f"the run failed ({type(exc).__name__}); the server's log has the details"
