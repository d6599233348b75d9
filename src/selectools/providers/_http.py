"""The HTTP layer every provider shares: framing (SSE, NDJSON), typed errors, pooled sessions.

Nothing here knows a protocol. A provider module builds a JSON body, hands it to an
`HttpTransport`, and decodes what comes back. The transport never retries (see `_retry.py`)
and never lets an aiohttp exception escape: timeouts become `ProviderTimeoutError`, refused
or dropped connections `ProviderConnectionError`, non-2xx answers whatever the provider's
`error_from_response` makes of them.

aiohttp is imported on the first request, never at module import, so `import selectools`
stays light.
"""

from __future__ import annotations

import asyncio
import atexit
import email.utils
import logging
import threading
import time
import weakref
from collections.abc import AsyncIterator, Callable, Mapping
from typing import TYPE_CHECKING, Any, Literal, NamedTuple

from .._json import encode as encode_json
from .._json import loads as loads_json
from .errors import (
    AuthenticationError,
    ContextLengthError,
    InvalidRequestError,
    NotFoundError,
    OverloadedError,
    PermissionDeniedError,
    ProviderConnectionError,
    ProviderError,
    ProviderTimeoutError,
    RateLimitError,
    ServerError,
    StreamError,
)

if TYPE_CHECKING:
    import aiohttp

log = logging.getLogger("selectools.http")

Framing = Literal["sse", "ndjson"]
ErrorFromResponse = Callable[[int, Mapping[str, str], bytes], ProviderError]

_USER_AGENT = "selectools"
# Headers whose values are secrets: they are redacted from every message we produce.
_SECRET_HEADERS = frozenset({"authorization", "x-api-key", "x-goog-api-key", "api-key"})


# ---------------------------------------------------------------------------------------------
# Server-sent events


class SseEvent(NamedTuple):
    """One dispatched server-sent event: its `event:` name (None when absent) and its data.

    A NamedTuple, not a dataclass: one is made per streamed token, and a tuple is cheapest.
    """

    event: str | None
    data: str


class SseDecoder:
    """Incremental SSE parser (the WHATWG event-stream rules, minus `id`/`retry`).

    Feed it network chunks in any split; the events come out the same. Lines may end in
    LF, CRLF or CR, and a CRLF split across two chunks still counts as one line end.
    """

    def __init__(self) -> None:
        self._partial = b""
        self._skip_lf = False  # the last chunk ended in CR; an LF opening the next one is its pair
        self._started = False
        self._event: str | None = None
        self._data: list[str] = []

    def feed(self, chunk: bytes) -> list[SseEvent]:
        if self._skip_lf and chunk:
            self._skip_lf = False
            if chunk[0] == 0x0A:
                chunk = chunk[1:]
        buffer = self._partial + chunk if self._partial else chunk
        # Only whole lines are decoded: a line end is ASCII, so it never splits a character.
        end = max(buffer.rfind(b"\n"), buffer.rfind(b"\r")) + 1
        if not end:
            self._partial = buffer
            return []
        if end == len(buffer):
            self._partial = b""
            self._skip_lf = buffer[-1] == 0x0D
        else:
            self._partial = buffer[end:]
            buffer = buffer[:end]
        text = buffer.decode("utf-8", errors="replace")
        if "\r" in text:
            text = text.replace("\r\n", "\n").replace("\r", "\n")
        lines = text.split("\n")
        lines.pop()  # the text ends with a line end: the last piece is empty
        events: list[SseEvent] = []
        self._take_lines(lines, events)
        return events

    def close(self) -> list[SseEvent]:
        """Flush: a last line without its line end, and an event without its blank line."""
        events: list[SseEvent] = []
        if self._partial:
            self._take_lines([self._partial.decode("utf-8", errors="replace")], events)
            self._partial = b""
        self._take_lines([""], events)
        return events

    def _take_lines(self, lines: list[str], events: list[SseEvent]) -> None:
        if not self._started and lines:
            self._started = True
            lines[0] = lines[0].removeprefix("\ufeff")
        data = self._data
        for line in lines:
            if line.startswith("data:"):  # by far the most common line: take it first
                data.append(line[6:] if line.startswith(" ", 5) else line[5:])
            elif not line:  # a blank line dispatches the event
                if data:
                    events.append(SseEvent(self._event, data[0] if len(data) == 1
                                           else "\n".join(data)))
                    data = self._data = []
                self._event = None
            elif line[0] != ":":  # ":" opens a comment, often a keep-alive
                name, colon, value = line.partition(":")
                if colon and value.startswith(" "):
                    value = value[1:]
                if name == "data":
                    data.append(value)
                elif name == "event":
                    self._event = value or None
                # `id`, `retry` and unknown fields are ignored, as the spec allows.


# ---------------------------------------------------------------------------------------------
# Newline-delimited JSON


class MalformedLineError(ValueError):
    """A stream line that is not JSON."""


class NdjsonDecoder:
    """Incremental NDJSON parser: one JSON value per non-empty line, in any chunk split.

    A line that is not JSON raises `MalformedLineError` (a `ValueError`) naming the line.
    """

    def __init__(self) -> None:
        self._partial = b""

    def feed(self, chunk: bytes) -> list[Any]:
        buffer = self._partial + chunk
        lines = buffer.split(b"\n")
        self._partial = lines.pop()
        return [_json_line(line) for line in lines if line.strip()]

    def close(self) -> list[Any]:
        line, self._partial = self._partial, b""
        return [_json_line(line)] if line.strip() else []


def _json_line(line: bytes) -> Any:
    try:
        return loads_json(line)
    except ValueError:
        raise MalformedLineError(f"stream line is not JSON: {_snippet(line)!r}") from None


# ---------------------------------------------------------------------------------------------
# The end of a stream

# How long a server may keep a stream open after its end marker before we stop waiting.
_DRAIN_LIMIT = 1.0


async def read_to_end(events: AsyncIterator[Any]) -> None:
    """Read and drop whatever follows a stream's end marker (`[DONE]`, `"done": true`).

    Normally that is only the end of the body, but it often comes in a later read, and
    aiohttp returns a connection to the pool only once its response was read to the end:
    stopping at the marker would cost a new TCP connection per call. The answer is complete
    by now, so a failure here only means the connection is not reused, and a server that
    holds the stream open is waited for `_DRAIN_LIMIT` seconds at most.
    """
    try:
        async with asyncio.timeout(_DRAIN_LIMIT):
            async for _ in events:
                pass
    except (ProviderError, TimeoutError):
        pass


# ---------------------------------------------------------------------------------------------
# Errors


def error_for_status(*, provider: str, status: int, message: str, headers: Mapping[str, str],
                     error_type: str | None = None, request_id: str | None = None,
                     context_length: bool = False) -> ProviderError:
    """The typed error for an HTTP status, with the server's retry hints parsed from headers.

    `headers` should be case-insensitive (aiohttp's are); plain dicts with lower-case keys work.
    """
    kind: type[ProviderError]
    if status == 401:
        kind = AuthenticationError
    elif status == 403:
        kind = PermissionDeniedError
    elif status == 404:
        kind = NotFoundError
    elif status in (400, 409, 413, 422):
        kind = ContextLengthError if context_length else InvalidRequestError
    elif status == 408:
        kind = ProviderTimeoutError
    elif status == 429:
        kind = RateLimitError
    elif status in (503, 529):
        kind = OverloadedError
    elif status >= 500:
        kind = ServerError
    else:
        kind = ProviderError
    return kind(
        message or f"HTTP {status}",
        provider=provider,
        status=status,
        retry_after=retry_after_from(headers),
        request_id=request_id or _header(headers, "x-request-id") or _header(headers, "request-id"),
        error_type=error_type,
        should_retry=_should_retry_from(headers),
    )


def retry_after_from(headers: Mapping[str, str]) -> float | None:
    """Seconds the server asks us to wait: `retry-after-ms`, else `retry-after` (seconds or
    an HTTP date). None when absent or unreadable."""
    millis = _header(headers, "retry-after-ms")
    if millis is not None:
        try:
            return max(0.0, float(millis) / 1000)
        except ValueError:
            pass
    value = _header(headers, "retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _should_retry_from(headers: Mapping[str, str]) -> bool | None:
    value = (_header(headers, "x-should-retry") or "").strip().lower()
    return {"true": True, "false": False}.get(value)


def _header(headers: Mapping[str, str], name: str) -> str | None:
    value = headers.get(name)
    if value is None:  # a plain dict with differently-cased keys
        for key, candidate in headers.items():
            if key.lower() == name:
                return candidate
    return value


def json_or_none(body: bytes) -> Any:
    """The body parsed as JSON, or None when it is not JSON (an HTML error page, say)."""
    try:
        return loads_json(body)
    except ValueError:
        return None


def _snippet(body: bytes, limit: int = 200) -> str:
    text = body.decode("utf-8", errors="replace").strip()
    return text if len(text) <= limit else text[:limit] + "..."


def body_snippet(body: bytes) -> str:
    """The start of a response body, for error messages when the body has no usable shape."""
    return _snippet(body)


# ---------------------------------------------------------------------------------------------
# Transport


class HttpTransport:
    """POSTs JSON to one base URL over a pooled aiohttp session (one per event loop).

    An aiohttp session is bound to the loop that opened it, so a transport used from several
    loops (the library's sync loop and a user's own) keeps one session for each.
    """

    def __init__(self, *, provider: str, base_url: str, headers: Mapping[str, str] | None = None,
                 timeout: float | None = 60.0, error_from_response: ErrorFromResponse) -> None:
        self.provider = provider
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self._headers = {"User-Agent": _USER_AGENT, **(headers or {})}
        self._secrets = _secret_values(self._headers)
        self._error_from_response = error_from_response
        self._sessions: dict[asyncio.AbstractEventLoop, aiohttp.ClientSession] = {}
        self._lock = threading.Lock()
        self._parsed_urls: dict[str, Any] = {}
        self._last_whole_timeout: aiohttp.ClientTimeout | None = None

    def __repr__(self) -> str:
        return f"HttpTransport(provider={self.provider!r}, base_url={self.base_url!r})"

    def url(self, path: str) -> str:
        return f"{self.base_url}/{path.lstrip('/')}"

    def _url(self, path: str) -> Any:
        """`url(path)` as a parsed yarl.URL, parsed once per path: aiohttp would otherwise
        parse the string again on every request."""
        parsed = self._parsed_urls.get(path)
        if parsed is None:
            from yarl import URL

            parsed = self._parsed_urls[path] = URL(self.url(path))
        return parsed

    async def post_json(self, path: str, body: Any, *, timeout: float | None = None,
                        params: Mapping[str, str] | None = None) -> Any:
        """POST `body` and return the parsed JSON answer."""
        limit = self._timeout(timeout)
        client_timeout = self._whole_timeout(limit)
        try:
            async with self._session().post(self._url(path), data=encode_json(body), params=params,
                                            timeout=client_timeout) as response:
                payload = await response.read()
                log.debug("%s POST %s -> %s", self.provider, path, response.status)
                if response.status >= 300:
                    raise self._error(response.status, response.headers, payload)
        except ProviderError:
            raise
        except Exception as exc:
            raise self._transport_error(exc, limit) from exc
        data = json_or_none(payload)
        if data is None:
            raise ProviderError(f"expected a JSON answer, got {_snippet(payload)!r}",
                                provider=self.provider, status=response.status)
        return data

    async def post_events(self, path: str, body: Any, *, framing: Framing,
                          timeout: float | None = None, params: Mapping[str, str] | None = None,
                          ) -> AsyncIterator[Any]:
        """POST `body` and yield the answer's events as their bytes arrive: `SseEvent`s for
        `framing="sse"`, decoded JSON values for `"ndjson"`. `timeout` bounds the wait for
        the connection and for each next byte, not the whole stream."""
        import aiohttp

        limit = self._timeout(timeout)
        # aiohttp's sock_read bounds the wait for the answer's headers; the body's reads are
        # then watched by a _ReadWatchdog (see there why).
        client_timeout = aiohttp.ClientTimeout(total=None, sock_connect=limit, sock_read=limit)
        decoder: SseDecoder | NdjsonDecoder = SseDecoder() if framing == "sse" else NdjsonDecoder()
        watchdog: _ReadWatchdog | None = None
        try:
            async with self._session().post(self._url(path), data=encode_json(body), params=params,
                                            timeout=client_timeout) as response:
                log.debug("%s POST %s -> %s (stream)", self.provider, path, response.status)
                if response.status >= 300:
                    raise self._error(response.status, response.headers, await response.read())
                content = response.content
                if limit:
                    watchdog = _ReadWatchdog(response, limit)
                while True:
                    if watchdog is not None:
                        watchdog.waiting_since = watchdog.clock()
                    chunk = await content.readany()
                    if watchdog is not None:
                        watchdog.waiting_since = None
                    if not chunk:
                        break
                    for item in decoder.feed(chunk):
                        yield item
                for item in decoder.close():
                    yield item
        except ProviderError:
            raise
        except MalformedLineError as exc:
            raise StreamError(self._redact(str(exc)), provider=self.provider,
                              should_retry=False) from exc
        except Exception as exc:
            raise self._transport_error(exc, limit) from exc
        finally:
            if watchdog is not None:
                watchdog.disarm()

    async def aclose(self) -> None:
        """Close every session this transport opened (those on other live loops are closed
        there, without waiting)."""
        with self._lock:
            sessions, self._sessions = self._sessions, {}
        current = _running_loop()
        for loop, session in sessions.items():
            if loop is current:
                await session.close()
            elif not loop.is_closed() and loop.is_running():
                asyncio.run_coroutine_threadsafe(session.close(), loop)
            else:
                _abandon(session)

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
                    _abandon(self._sessions.pop(stale))
                session = aiohttp.ClientSession(
                    headers={"Content-Type": "application/json", **self._headers})
                self._sessions[loop] = session
                _OPEN_TRANSPORTS.add(self)
            return session

    def close_at_exit(self) -> None:
        """Close every session without an event loop of our own: at interpreter exit, a
        session on a loop still running (the library's) is closed there, briefly waited
        for; one on a finished loop (`asyncio.run`) has its sockets closed directly."""
        with self._lock:
            sessions, self._sessions = self._sessions, {}
        for loop, session in sessions.items():
            if not loop.is_closed() and loop.is_running():
                try:
                    asyncio.run_coroutine_threadsafe(session.close(), loop).result(timeout=1)
                    continue
                except Exception:  # a loop busy or dying at exit: fall back to the sockets
                    pass
            _abandon(session)

    def _timeout(self, timeout: float | None) -> float | None:
        return self.timeout if timeout is None else timeout

    def _whole_timeout(self, limit: float | None) -> aiohttp.ClientTimeout:
        """aiohttp's timeout for a whole call: the last one again when the limit is the
        same (the usual case), since an attrs object costs about 1 us to build."""
        last = self._last_whole_timeout
        if last is not None and last.total == limit:
            return last
        import aiohttp

        self._last_whole_timeout = last = aiohttp.ClientTimeout(total=limit)
        return last

    def _error(self, status: int, headers: Mapping[str, str], body: bytes) -> ProviderError:
        error = self._error_from_response(status, headers, body)
        error.message = self._redact(error.message)
        error.args = (self._redact(str(error)),)
        return error

    def _transport_error(self, exc: BaseException, limit: float | None) -> ProviderError:
        import aiohttp

        if isinstance(exc, (asyncio.TimeoutError, TimeoutError)):
            return ProviderTimeoutError(f"no answer within {limit} s", provider=self.provider)
        if isinstance(exc, aiohttp.ClientPayloadError):
            return ProviderConnectionError(
                self._redact(f"the connection was cut mid-answer: {exc}"), provider=self.provider)
        if isinstance(exc, (aiohttp.ClientError, OSError)):
            return ProviderConnectionError(
                self._redact(f"connection to {self.base_url} failed: {exc or type(exc).__name__}"),
                provider=self.provider)
        return ProviderError(self._redact(f"{type(exc).__name__}: {exc}"), provider=self.provider)

    def _redact(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text


class _ReadWatchdog:
    """Bounds each wait for the next bytes of a streamed body with one timer per stream.

    aiohttp's `sock_read` re-arms a timer (a cancel and a new TimerHandle) on every read,
    which on a token stream is one per event. This watchdog instead notes when the stream
    started waiting (`waiting_since`, None while the consumer holds the events) and wakes
    once per `limit` seconds; it re-schedules itself until a wait has lasted `limit`, then
    fails the read with a TimeoutError, which the transport reports as ProviderTimeoutError.
    Time the consumer spends between reads is never counted against the server.
    """

    __slots__ = ("waiting_since", "clock", "_content", "_limit", "_loop", "_handle")

    def __init__(self, response: aiohttp.ClientResponse, limit: float) -> None:
        self._loop = asyncio.get_running_loop()
        self.clock = self._loop.time
        self.waiting_since: float | None = None
        self._content = response.content
        self._limit = limit
        connection = response.connection
        if connection is not None and connection.protocol is not None:
            # Stop aiohttp's per-read timer for this body (start_timeout with no timeout
            # cancels the pending one); aiohttp sets it again for the connection's next use.
            connection.protocol.read_timeout = None
            connection.protocol.start_timeout()
        self._handle: asyncio.TimerHandle | None = self._loop.call_later(limit, self._check)

    def _check(self) -> None:
        now = self.clock()
        since = self.waiting_since
        if since is not None and now - since >= self._limit:
            self._handle = None
            self._content.set_exception(TimeoutError(f"no data within {self._limit} s"))
            return
        self._handle = self._loop.call_at((now if since is None else since) + self._limit,
                                          self._check)

    def disarm(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None


def _secret_values(headers: Mapping[str, str]) -> list[str]:
    secrets: list[str] = []
    for name, value in headers.items():
        if name.lower() in _SECRET_HEADERS and value:
            secrets.append(value)
            scheme, _, token = value.partition(" ")
            if token and scheme.lower() == "bearer":
                secrets.append(token)
    # Longest first, so a token inside its "Bearer ..." header value is redacted whole.
    return sorted(set(secrets), key=len, reverse=True)


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


#: Transports with open sessions, closed at exit so that no "Unclosed client session"
#: warning ends a user's script; weak, so a transport dropped earlier is not kept alive.
_OPEN_TRANSPORTS: weakref.WeakSet[HttpTransport] = weakref.WeakSet()


@atexit.register
def _close_transports_at_exit() -> None:
    for transport in list(_OPEN_TRANSPORTS):
        transport.close_at_exit()


def _abandon(session: aiohttp.ClientSession) -> None:
    """Drop a session whose loop is gone: close its sockets without awaiting anything."""
    connector = session.connector
    if connector is not None and not connector.closed:
        try:
            connector._close()  # sync part of close; the async wrapper needs the dead loop
        except Exception:  # best effort: the loop and its sockets are gone already
            pass
