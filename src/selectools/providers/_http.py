"""The HTTP transport every provider shares: pooled sessions, streamed and whole answers.

Nothing here knows a protocol. A provider module builds a JSON body, hands it to an
`HttpTransport`, and decodes what comes back. The transport never retries (see `_retry.py`)
and never lets an aiohttp exception escape: timeouts become `ProviderTimeoutError`, refused
or dropped connections `ProviderConnectionError`, non-2xx answers whatever the provider's
`error_from_response` makes of them. It follows no redirect to another origin (the key
headers would go along), checks that a streamed answer is the stream it asked for, reads no
answer longer than `max_response_bytes`, a stream event longer than `max_event_bytes`, nor
a stream longer in all than `max_stream_bytes` (hostile input must not exhaust memory: see
MAX_RESPONSE_BYTES), and closes each session on its own loop, however the provider is
dropped. It reports what servers said as they said it: removing keys from errors is the
provider boundary's one redaction step, with `redact`. Framing lives in `_framing.py`, the
status-to-error mapping in `_status.py`, the per-loop timers in `_timers.py`, the
connection slots in `_slots.py`, the secrets `redact` masks in `_secrets.py`, the closing
of sessions on their loops in `_closing.py`, the connection pool (its reads sized for the
heap) in `_connector.py`.

aiohttp is imported on the first request, never at module import, so `import selectools`
stays light.

Event loops of your own: a session is closed when its loop shuts its async generators down
(`loop.shutdown_asyncgens()`, which `asyncio.run()` and `asyncio.Runner` call), or by
`await provider.aclose()`. A loop ended with `loop.close()` alone runs neither, and asyncio
offers no public hook to run code as a loop closes: the session is then only marked closed
(no "Unclosed client session" at exit), but its pooled sockets were left with the loop, and
under `-W default` a provider dropped afterwards shows "ResourceWarning: unclosed transport".
So before `loop.close()`, run `loop.run_until_complete(loop.shutdown_asyncgens())` (or
`provider.aclose()`) on that loop, as asyncio's own documentation asks of every loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import sys
import threading
from collections.abc import AsyncGenerator, Callable, Mapping
from typing import TYPE_CHECKING, Any, Literal

from .._json import encode as encode_json
from .._json import scan as scan_json
from ._closing import _close_session, _close_with_its_loop, _mark_closed
from ._connector import pooled_connector
from ._framing import EventStream, MalformedLineError, NdjsonDecoder, SseDecoder, WholeJson
from ._secrets import _longest_first, _mask_cut_secrets, _secret_values
from ._secrets import split_userinfo as split_userinfo  # (imported from here)
from ._slots import Slots as Slots  # (imported from here)
from ._status import CUT_MARK, body_snippet, json_or_none
from ._timers import _CallWatch, _ReadWatchdog
from ._timers import _ReadWatch as _ReadWatch  # (imported from here)
from .errors import (
    MalformedResponseError,
    MalformedStreamError,
    ProviderConnectionError,
    ProviderError,
    ProviderTimeoutError,
    RedirectError,
    ResponseTooLargeError,
)

if TYPE_CHECKING:
    import aiohttp

log = logging.getLogger("selectools.http")

Framing = Literal["sse", "ndjson"]
ErrorFromResponse = Callable[[int, Mapping[str, str], bytes], ProviderError]

_USER_AGENT = "selectools"

# Redirects. aiohttp would follow them and strip only Authorization and cookies on the way
# to another origin, so an `x-api-key` would go along: the transport follows them itself,
# only within the base URL's origin, and only those that keep the method and the body.
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_SAME_METHOD_REDIRECTS = frozenset({307, 308})
_MAX_REDIRECTS = 5

# Media types a streamed answer may come in, by framing (without parameters, lower case).
# A missing Content-Type is taken as the framing asked for: some small servers send none.
_SSE_TYPES = frozenset({"text/event-stream"})
_NDJSON_TYPES = frozenset({"application/x-ndjson", "application/ndjson", "application/jsonl",
                           "application/x-jsonlines", "application/json"})
_JSON_TYPE = "application/json"
#: The header wait's context when the loop's one timer bounds it (see _event_batches).
_NO_DEADLINE = contextlib.nullcontext()
_SNIPPET_BYTES = 1024  # read of a body that is not the stream asked for, for its error


# ---------------------------------------------------------------------------------------------
# Transport


#: Connections each session keeps to its server (aiohttp's default): calls beyond it wait.
POOL_SIZE = 100

# What a server may make us hold (hostile input must not exhaust memory): a whole answer is
# read to its end before it is parsed, and a stream's event (an SSE event, an NDJSON line)
# is held until it ends, so each has a limit; past it the rest is not read and the
# connection is closed (`ResponseTooLargeError`). So has a whole stream, whose text the run
# keeps. Each is compared once per read of the body (a chunk of up to aiohttp's buffer,
# tens of KiB), never per byte or line.
#: The longest whole answer read, decompressed (`max_response_bytes`). A model's longest
#: answer, 128K tokens of text, is about 0.5 MB (1 MB JSON-escaped); 32 MiB leaves room for
#: a few inline images (Gemini's, base64) and bounds 100 calls in flight to about 3 GiB.
MAX_RESPONSE_BYTES = 32 * 1024 * 1024
#: The longest stream event (`max_event_bytes`). Deltas are a token or a few (a few hundred
#: bytes); the largest single events seen are a whole tool call's arguments, from servers
#: that send a call in one event, and a generated image inline (a 1024x1024 PNG is about
#: 2 MB, under 3 MB in base64): 8 MiB is about three times that, and a stream holds at most
#: one event open, so it bounds a stream in flight to about that.
MAX_EVENT_BYTES = 8 * 1024 * 1024
#: The most a whole stream may bring (`max_stream_bytes`), every event together. A 128K-token
#: answer streamed is about 40 MB on the wire (a recorded OpenAI chunk, a token each, is 270
#: to 340 bytes); 256 MiB is six times that, and ends a server that streams without end as
#: fast as it can (the run keeping a tenth or so of it, as text) within seconds on a local
#: network. One that trickles is bounded by the run's `run_timeout` only.
MAX_STREAM_BYTES = 256 * 1024 * 1024
#: The limit of a setting of None: no limit (an int, so that the check stays one comparison).
_NO_LIMIT = sys.maxsize


class HttpTransport:
    """POSTs JSON to one base URL over a pooled aiohttp session (one per event loop).

    An aiohttp session is bound to the loop that opened it, so a transport used from several
    loops (the library's sync loop and a user's own) keeps one session for each.
    """

    def __init__(self, *, provider: str, base_url: str, headers: Mapping[str, str] | None = None,
                 timeout: float | None = 60.0, error_from_response: ErrorFromResponse,
                 max_response_bytes: int | None = MAX_RESPONSE_BYTES,
                 max_event_bytes: int | None = MAX_EVENT_BYTES,
                 max_stream_bytes: int | None = MAX_STREAM_BYTES,
                 max_connections: int = POOL_SIZE) -> None:
        self.provider = provider
        #: The byte limits (see MAX_RESPONSE_BYTES), _NO_LIMIT for a setting of None.
        self._response_limit = _byte_limit("max_response_bytes", max_response_bytes)
        self._event_limit = _byte_limit("max_event_bytes", max_event_bytes)
        self._stream_limit = _byte_limit("max_stream_bytes", max_stream_bytes)
        # Credentials in the URL (`http://user:token@proxy/v1`) are sent, never shown:
        # `base_url` (errors, repr, fallback labels) is the URL without them.
        self._request_base = base_url.rstrip("/")
        self.base_url, url_secrets = split_userinfo(self._request_base)
        self.timeout = timeout
        self._headers = {"User-Agent": _USER_AGENT, **(headers or {})}
        if url_secrets and any(name.lower() == "authorization" for name in self._headers):
            # aiohttp sends URL credentials as the Authorization header: it refuses both.
            raise ValueError(
                f"base_url {self.base_url} carries credentials (user:password@) and the "
                "Authorization header (the API key) is set too: only one can be sent")
        self._secrets = _longest_first([*_secret_values(self._headers), *url_secrets])
        self._error_from_response = error_from_response
        self._sessions: dict[asyncio.AbstractEventLoop, aiohttp.ClientSession] = {}
        #: Per session, one slot per pooled connection: a call waits for its slot before
        #: its time limit starts, so time queued behind other calls (many runs in flight)
        #: never counts as the server's (see `_pool`).
        self._slots: dict[asyncio.AbstractEventLoop, Slots] = {}
        #: Per loop, the one timer bounding the waits of its streams (see `_ReadWatch`).
        self._watches: dict[asyncio.AbstractEventLoop, _ReadWatch] = {}
        #: Per session (so per loop), the one timer bounding its whole calls (`_CallWatch`).
        self._calls: dict[asyncio.AbstractEventLoop, _CallWatch] = {}
        #: Connections (and so calls in flight) per session: `max_connections`.
        self.pool_size = _connection_limit(max_connections)
        self._lock = threading.Lock()
        self._parsed_urls: dict[str, Any] = {}
        self._last_whole_timeout: aiohttp.ClientTimeout | None = None
        self._last_stream_timeout: aiohttp.ClientTimeout | None = None

    def __repr__(self) -> str:
        return f"HttpTransport(provider={self.provider!r}, base_url={self.base_url!r})"

    @property
    def max_response_bytes(self) -> int | None:
        """The longest whole answer read (None: no limit)."""
        return None if self._response_limit == _NO_LIMIT else self._response_limit

    @property
    def max_event_bytes(self) -> int | None:
        """The longest stream event read (None: no limit)."""
        return None if self._event_limit == _NO_LIMIT else self._event_limit

    @property
    def max_stream_bytes(self) -> int | None:
        """The most a whole stream may bring (None: no limit)."""
        return None if self._stream_limit == _NO_LIMIT else self._stream_limit

    def url(self, path: str) -> str:
        """The URL of `path` as shown (without credentials)."""
        return f"{self.base_url}/{path.lstrip('/')}"

    def _url(self, path: str) -> Any:
        """`url(path)` as a parsed yarl.URL, parsed once per path: aiohttp would otherwise
        parse the string again on every request."""
        parsed = self._parsed_urls.get(path)
        if parsed is None:
            from yarl import URL

            parsed = self._parsed_urls[path] = URL(f"{self._request_base}/{path.lstrip('/')}")
        return parsed

    async def post_json(self, path: str, body: Any, *, timeout: float | None = None,
                        params: Mapping[str, str] | None = None) -> Any:
        """POST `body` and return the parsed JSON answer."""
        limit = self.timeout if timeout is None else timeout
        task: asyncio.Task[Any] | None = None
        watch: _CallWatch | None = None
        try:
            session, slots = self._pool()
            # A free slot while nobody waits is taken inline (`Slots.take`'s first step,
            # without its coroutine); anything else waits in Slots.take.
            if slots.free and not slots.waiting:
                slots.free -= 1
            else:
                await slots.take()
            try:
                # The limit kept by the loop's one timer (see _CallWatch), aiohttp then
                # told of none; outside a task (none to cancel), by aiohttp's own. (Not
                # above 0, it is no limit: aiohttp's reading of one.) No watch: the transport
                # was closed while the call waited for a slot; aiohttp's closed session says so.
                if limit is not None and limit > 0 \
                        and (task := asyncio.current_task()) is not None \
                        and (watch := self._calls.get(asyncio.get_running_loop())) is not None:
                    cancelling = watch.start(task, limit)
                    client_timeout = watch.no_timeout
                else:
                    client_timeout = self._whole_timeout(limit)
                # (posted here, not by a coroutine of ours: every await of the call would
                # pass through its layer)
                data = encode_json(body)
                response = await session.post(self._url(path), data=data, params=params,
                                              timeout=client_timeout, allow_redirects=False)
                if response.status in _REDIRECTS:
                    response = await self._redirected(session, response, path, data,
                                                      client_timeout)
                del data  # (the body's bytes: not held while the answer is read)
                try:
                    payload = await self._read_body(response)
                finally:
                    # (released here, not by `async with`: its two coroutines and its wait
                    # for the request's writer, long done once the answer is read whole;
                    # a read that failed leaves the connection closed by release, as there)
                    response.release()
                if log.isEnabledFor(logging.DEBUG):  # (one call, not two, when not)
                    log.debug("%s POST %s -> %s", self.provider, path, response.status)
                if response.status >= 300:
                    raise self._error_from_response(response.status, response.headers,
                                                    payload)
            finally:
                # (`Slots.give` inline when nobody waits: the slot is free again)
                if slots.waiting:
                    slots.give()
                else:
                    slots.free += 1
                if watch is not None:
                    watch.calls.pop(task, None)  # type: ignore[arg-type]
        except ProviderError:
            raise
        except asyncio.CancelledError as exc:
            # The watch's cancel (the limit passed) is a timeout, as asyncio.timeout makes
            # it: a cancel from outside, meanwhile or not, goes on as a cancel.
            if watch is None or not watch.expired(task, cancelling):  # type: ignore[arg-type]
                raise
            raise self._transport_error(TimeoutError(), limit) from exc
        except Exception as exc:
            if watch is not None and watch.expired(task, cancelling):  # type: ignore[arg-type]
                # (the timer's cancel met on the way out as another error: still the limit)
                raise self._transport_error(TimeoutError(), limit) from exc
            raise self._transport_error(exc, limit) from exc
        # The usual answer, UTF-8 text of exactly one JSON value, read by json's C scanner
        # here (as _json.loads reads it, without its call and json_or_none's); anything
        # else by json_or_none, which decides.
        try:
            text = payload.decode()
            data, end = scan_json(text, 0)
            if end == len(text) and data is not None:  # (`null` is refused below)
                return data
        except (StopIteration, ValueError, RecursionError):
            pass
        data = json_or_none(payload)
        if data is None:
            raise MalformedResponseError(
                f"expected a JSON answer, got {body_snippet(payload)!r}",
                provider=self.provider, status=response.status)
        return data

    def post_events(self, path: str, body: Any, *, framing: Framing,
                    timeout: float | None = None, params: Mapping[str, str] | None = None,
                    ) -> EventStream:
        """POST `body` and iterate over the answer's events as their bytes arrive: `SseEvent`s
        for `framing="sse"`, decoded JSON values for `"ndjson"`, one by one or (`batches()`)
        in the lists each read of the body brought. `timeout` bounds the wait for the
        connection and for each next byte, not the whole stream."""
        return EventStream(functools.partial(self._event_batches, path, body, framing,
                                             timeout, params))

    async def _event_batches(self, path: str, body: Any, framing: Framing,
                             timeout: float | None, params: Mapping[str, str] | None,
                             stream: EventStream) -> AsyncGenerator[list[Any], None]:
        """The events of `post_events`, a list per read of the body (never an empty one);
        `stream.body` is the body's reader while it is read (see EventStream)."""
        limit = self.timeout if timeout is None else timeout
        decoder: SseDecoder | NdjsonDecoder = SseDecoder() if framing == "sse" else NdjsonDecoder()
        watchdog: _ReadWatchdog | None = None
        task: asyncio.Task[Any] | None = None
        watch: _CallWatch | None = None
        session, slots = self._pool()
        held = False
        try:
            # Held until the stream is closed: its connection is in use until then.
            await slots.take()
            held = True
            # The wait for the answer's headers is bounded here, each wait for the body's
            # next bytes by a _ReadWatchdog (see there why not by aiohttp's sock_read):
            # by the loop's one timer for whole calls (see _CallWatch), else (outside a
            # task) by asyncio.timeout, which reads the limit alike (not above 0: at once).
            if limit and (task := asyncio.current_task()) is not None \
                    and (watch := self._calls.get(asyncio.get_running_loop())) is not None:
                cancelling = watch.start(task, limit)  # (no watch: closed while it waited)
            try:
                async with _NO_DEADLINE if watch is not None else asyncio.timeout(limit or None):
                    data, stream_timeout = encode_json(body), self._stream_timeout(limit)
                    del body  # (not held by this frame for as long as the stream lasts)
                    response = await session.post(self._url(path), data=data, params=params,
                                                  timeout=stream_timeout,
                                                  allow_redirects=False)
                    if response.status in _REDIRECTS:
                        response = await self._redirected(session, response, path, data,
                                                          stream_timeout)
                    del data  # (the body's bytes: not held for as long as the stream lasts)
            finally:
                if watch is not None:
                    watch.calls.pop(task, None)  # type: ignore[arg-type]
            async with response:
                if log.isEnabledFor(logging.DEBUG):  # (one call, not two, when not)
                    log.debug("%s POST %s -> %s (stream)", self.provider, path,
                              response.status)
                if response.status >= 300:
                    raise self._error_from_response(response.status, response.headers,
                                                    await self._read_whole(response, limit))
                whole = await self._not_a_stream(response, framing, limit)
                if whole is not None:
                    yield [whole]
                    return
                content = stream.body = response.content
                if limit:
                    watchdog = _ReadWatchdog(response, limit, self._watch())
                # The bytes read since the last read that ended an event: what the decoder
                # holds of the event still open (give or take the rest of that read), the
                # one thing a stream makes us hold. Counted only on reads that end none.
                unended, event_limit = 0, self._event_limit
                left = stream_limit = self._stream_limit  # (what the stream may still bring)
                while True:
                    if watchdog is not None:
                        watchdog.waiting_since = watchdog.clock()
                    chunk = await content.readany()
                    if watchdog is not None:
                        watchdog.waiting_since = None
                    if not chunk:
                        break
                    if (left := left - len(chunk)) < 0:
                        response.close()  # (not back to the pool: the rest is unread)
                        raise self._too_large("max_stream_bytes", stream_limit,
                                              stream_limit - left, response.status)
                    events = decoder.feed(chunk)
                    if events:
                        unended = 0
                        yield events
                    elif (unended := unended + len(chunk)) > event_limit:
                        response.close()  # (not back to the pool: the rest is unread)
                        raise self._too_large("max_event_bytes", event_limit, unended,
                                              response.status)
                events = decoder.close()
                if events:
                    yield events
        except ProviderError:
            raise
        except MalformedLineError as exc:
            raise MalformedStreamError(str(exc), provider=self.provider) from None
        except asyncio.CancelledError as exc:
            # The watch's cancel (the headers came too late) is a timeout (see post_json).
            if watch is None or not watch.expired(task, cancelling):  # type: ignore[arg-type]
                raise
            raise self._transport_error(TimeoutError(), limit) from exc
        except Exception as exc:
            if watch is not None and watch.expired(task, cancelling):  # type: ignore[arg-type]
                raise self._transport_error(TimeoutError(), limit) from exc
            raise self._transport_error(exc, limit) from exc
        finally:
            stream.body = None  # (the reader is not held past its read)
            if watchdog is not None:
                watchdog.disarm()
            if held:
                slots.give()

    async def _redirected(self, session: aiohttp.ClientSession,
                          response: aiohttp.ClientResponse, path: str, data: bytes,
                          timeout: aiohttp.ClientTimeout) -> aiohttp.ClientResponse:
        """The answer at the end of the redirects that `response` (to a POST of `data` to
        `path`) begins, its body unread.

        A redirect is followed only within the base URL's origin, and only when it keeps
        the method and the body (307, 308): the key headers never reach another origin.
        At most `_MAX_REDIRECTS` are followed."""
        for _ in range(_MAX_REDIRECTS):
            response.release()
            response = await session.post(self._redirect_target(response), data=data,
                                          timeout=timeout, allow_redirects=False)
            if response.status not in _REDIRECTS:
                return response
        response.release()
        self._redirect_target(response)  # (one it would not follow anyway says why first)
        raise RedirectError(f"more than {_MAX_REDIRECTS} redirects from {self.url(path)}",
                            provider=self.provider, status=response.status,
                            should_retry=False)

    def _redirect_target(self, response: aiohttp.ClientResponse) -> Any:
        """Where a redirect may be followed to, or the typed error saying why not."""
        from yarl import URL

        status, here = response.status, response.url
        location = response.headers.get("Location")
        try:
            target = here.join(URL(location)) if location else None
        except ValueError:
            target = None
        if target is None or not target.is_absolute():
            raise RedirectError(f"HTTP {status} redirect without a usable Location",
                                provider=self.provider, status=status, should_retry=False)
        if target.origin() != here.origin():
            # The origin only: a Location's path and query may carry tokens of their own.
            raise RedirectError(
                f"HTTP {status} redirect to another origin, {target.origin()}: not followed, "
                "so that the API key is not sent there (set base_url to the new address)",
                provider=self.provider, status=status, should_retry=False)
        if status not in _SAME_METHOD_REDIRECTS:
            raise RedirectError(
                f"HTTP {status} redirect to {target.path}: it would turn the POST into a GET "
                "(set base_url to the new address)",
                provider=self.provider, status=status, should_retry=False)
        return target

    async def _not_a_stream(self, response: aiohttp.ClientResponse, framing: Framing,
                            limit: float | None) -> WholeJson | None:
        """Check a 200 answer to a stream request by its content type: None for the stream
        asked for, a `WholeJson` for a whole JSON answer where SSE was asked for (a proxy
        that ignored `"stream": true`), a MalformedStreamError for anything else (an HTML
        page, say), naming the type and the start of the body."""
        header = response.headers.get("Content-Type")
        if header is None:
            return None
        media_type = header.partition(";")[0].strip().lower()
        if media_type in (_SSE_TYPES if framing == "sse" else _NDJSON_TYPES):
            return None
        if media_type == _JSON_TYPE:  # SSE asked for, a whole JSON document sent
            payload = await self._read_whole(response, limit)
            data = json_or_none(payload)
            if data is None:
                raise MalformedStreamError(
                    f"expected a stream, got {media_type} that is not JSON: "
                    f"{body_snippet(payload)!r}", provider=self.provider,
                    status=response.status)
            return WholeJson(data)
        async with asyncio.timeout(limit or None):
            start = await response.content.read(_SNIPPET_BYTES)
        expected = "text/event-stream" if framing == "sse" else "application/x-ndjson"
        raise MalformedStreamError(
            f"expected a stream ({expected}), got {media_type or header!r}: "
            f"{body_snippet(start)!r}", provider=self.provider, status=response.status)

    async def aclose(self) -> None:
        """Close every session this transport opened (those on other live loops are closed
        there, without waiting)."""
        with self._lock:
            sessions, self._sessions, self._slots = self._sessions, {}, {}
            self._watches, self._calls = {}, {}
        current = _running_loop()
        for loop, session in sessions.items():
            if loop is current:
                await _close_session(session)
            elif not loop.is_closed() and loop.is_running():
                asyncio.run_coroutine_threadsafe(_close_session(session), loop)
            else:
                _mark_closed(session)

    def _pool(self) -> tuple[aiohttp.ClientSession, Slots]:
        """This loop's session and its connection slots, `pool_size` of them as the
        session's pool has (one lookup per call for both).

        aiohttp queues a call for a free connection inside the request, where its time
        limit already runs: with more calls in flight than connections, calls failed with
        "no answer within 60 s" while the server answered each at once. Waiting here first,
        the limit counts only the call's own time. (A run's time limit, `run_timeout`, still
        counts the wait.)"""
        loop = asyncio.get_running_loop()
        session = self._sessions.get(loop)  # the lock-free path: the session is open
        if session is None or session.closed:
            session = self._session()  # (its slots are made with it, and dropped with it)
        return session, self._slots[loop]

    def _session(self) -> aiohttp.ClientSession:
        loop = asyncio.get_running_loop()
        session = self._sessions.get(loop)  # the lock-free path: the session is open
        if session is not None and not session.closed:
            return session
        import aiohttp

        with self._lock:
            session = self._sessions.get(loop)
            if session is None or session.closed:
                # Sessions on loops that have since closed can never be used again.
                for stale in [lp for lp in self._sessions if lp.is_closed()]:
                    _mark_closed(self._sessions.pop(stale))
                    self._slots.pop(stale, None)
                    self._watches.pop(stale, None)
                    self._calls.pop(stale, None)
                session = aiohttp.ClientSession(
                    connector=pooled_connector(self.pool_size),
                    headers={"Content-Type": "application/json", **self._headers})
                self._sessions[loop] = session
                self._slots[loop] = Slots(self.pool_size)
                self._calls[loop] = _CallWatch(loop, aiohttp.ClientTimeout(total=None))
                _close_with_its_loop(session, loop, owner=self)
            return session

    def _watch(self) -> _ReadWatch:
        """This loop's `_ReadWatch`, made on first use."""
        loop = asyncio.get_running_loop()
        watch = self._watches.get(loop)
        if watch is None:
            watch = self._watches[loop] = _ReadWatch(loop)
        return watch

    def _whole_timeout(self, limit: float | None) -> aiohttp.ClientTimeout:
        """aiohttp's timeout for a whole call: the last one again when the limit is the
        same (the usual case), since an attrs object costs about 1 us to build."""
        last = self._last_whole_timeout
        if last is not None and last.total == limit:
            return last
        import aiohttp

        self._last_whole_timeout = last = aiohttp.ClientTimeout(total=limit)
        return last

    def _stream_timeout(self, limit: float | None) -> aiohttp.ClientTimeout:
        """aiohttp's timeout for a stream: the connection only (see post_events); the last
        one again when the limit is the same, as `_whole_timeout` does."""
        last = self._last_stream_timeout
        if last is not None and last.sock_connect == limit:
            return last
        import aiohttp

        self._last_stream_timeout = last = aiohttp.ClientTimeout(
            total=None, sock_connect=limit, sock_read=None)
        return last

    def _transport_error(self, exc: BaseException, limit: float | None) -> ProviderError:
        import aiohttp

        if isinstance(exc, (asyncio.TimeoutError, TimeoutError)):
            return ProviderTimeoutError(f"no answer within {limit} s", provider=self.provider)
        if isinstance(exc, aiohttp.ClientPayloadError):
            return ProviderConnectionError(f"the connection was cut mid-answer: {exc}",
                                           provider=self.provider)
        if isinstance(exc, (aiohttp.ClientError, OSError)):
            return ProviderConnectionError(
                f"connection to {self.base_url} failed: {exc or type(exc).__name__}",
                provider=self.provider)
        return ProviderError(f"{type(exc).__name__}: {exc}", provider=self.provider)

    async def _read_body(self, response: aiohttp.ClientResponse) -> bytes:
        """The whole body of `response`, up to `max_response_bytes`: one announced longer by
        its Content-Length is refused unread, one that grows past it as it is read is refused
        there. Either way the connection is closed (the rest unread, it cannot be reused)
        and a ResponseTooLargeError raised. Read as aiohttp's `read()` reads it, a read of
        its buffer at a time, with one comparison a read; decompressed a buffer at a time
        too (aiohttp's `read()` lifts that bound), so a small gzip bomb is refused alike."""
        limit = self._response_limit
        announced = response.content_length
        if announced is not None and announced > limit:
            response.close()
            raise self._too_large("max_response_bytes", limit, announced, response.status,
                                  announced=True)
        content = response.content
        blocks: list[bytes] = []
        size = 0
        while chunk := await content.readany():
            if (size := size + len(chunk)) > limit:
                response.close()
                raise self._too_large("max_response_bytes", limit, size, response.status)
            blocks.append(chunk)
        return b"".join(blocks)  # (one block: that block itself, no copy)

    async def _read_whole(self, response: aiohttp.ClientResponse, limit: float | None,
                          ) -> bytes:
        """The whole body of a stream request's answer that is not a stream (an error, a
        whole JSON answer): stream requests set no read timeout of aiohttp's, so it is
        bounded here (and its length by `_read_body`)."""
        async with asyncio.timeout(limit or None):
            return await self._read_body(response)

    def _too_large(self, setting: str, limit: int, received: int, status: int, *,
                   announced: bool = False) -> ResponseTooLargeError:
        """The error of an answer (or event) past its limit: the limit, the bytes read (or
        announced), and the setting that raises it."""
        what, whats = {"max_event_bytes": ("stream event", "events"),
                       "max_stream_bytes": ("stream", "streams")}.get(
            setting, ("answer", "answers"))
        if announced:
            told = (f"{what} of {received:,} bytes (its Content-Length) is over "
                    f"{setting}={limit:,}{_in_mib(limit)}: refused unread")
        else:
            ending = " without the event ending" if setting == "max_event_bytes" else ""
            told = (f"{what} over {setting}={limit:,}{_in_mib(limit)}: {received:,} bytes "
                    f"read{ending}, the rest refused")
        return ResponseTooLargeError(
            f"{told} and the connection closed; to accept longer {whats}, raise the "
            f"provider's {setting}= (None for no limit)", setting=setting, limit=limit,
            received=received, provider=self.provider, status=status)

    def redact(self, text: str) -> str:
        """`text` without the values of this transport's key headers, whole or cut: a key
        that a quote of a body cut (`CUT_MARK` after its first characters) is masked too.
        The one redaction step: the provider boundary applies it to every error that leaves
        a call's attempt (`HttpProvider._safe`), so the transport's own messages need not."""
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, "***")
        if CUT_MARK in text:
            text = _mask_cut_secrets(text, self._secrets)
        return text


def _byte_limit(setting: str, value: int | None) -> int:
    """A byte limit setting as the transport keeps it: _NO_LIMIT for None; anything but a
    positive int refused, naming the setting."""
    if value is None:
        return _NO_LIMIT
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{setting} must be an int (bytes) or None, got "
                        f"{type(value).__name__}: {value!r}")
    if value <= 0:
        raise ValueError(f"{setting} must be above 0 (bytes), or None for no limit; "
                         f"got {value!r}")
    return int(value)


def _connection_limit(value: int) -> int:
    """`max_connections` as the transport keeps it: a positive int, else refused, named."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"max_connections must be an int (connections), got "
                        f"{type(value).__name__}: {value!r}")
    if value <= 0:
        raise ValueError(f"max_connections must be at least 1, got {value!r}")
    return int(value)


def _in_mib(size: int) -> str:
    """` (32 MiB)` for a size of a MiB or more, for the reader of an error."""
    return f" ({size / 1048576:.4g} MiB)" if size >= 1048576 else ""


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None
