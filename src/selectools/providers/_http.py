"""The HTTP transport every provider shares: pooled sessions, streamed and whole answers.

Nothing here knows a protocol. A provider module builds a JSON body, hands it to an
`HttpTransport`, and decodes what comes back. The transport never retries (see `_retry.py`)
and never lets an aiohttp exception escape: timeouts become `ProviderTimeoutError`, refused
or dropped connections `ProviderConnectionError`, non-2xx answers whatever the provider's
`error_from_response` makes of them. Framing lives in `_framing.py`, the status-to-error
mapping in `_status.py`.

aiohttp is imported on the first request, never at module import, so `import selectools`
stays light.
"""

from __future__ import annotations

import asyncio
import atexit
import logging
import threading
import weakref
from collections.abc import AsyncIterator, Callable, Mapping
from typing import TYPE_CHECKING, Any, Literal

from .._json import encode as encode_json
from ._framing import MalformedLineError, NdjsonDecoder, SseDecoder
from ._status import body_snippet, json_or_none
from .errors import (
    ProviderConnectionError,
    ProviderError,
    ProviderTimeoutError,
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
            raise ProviderError(f"expected a JSON answer, got {body_snippet(payload)!r}",
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
            raise StreamError(self.redact(str(exc)), provider=self.provider,
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
        error.message = self.redact(error.message)
        error.args = (self.redact(str(error)),)
        return error

    def _transport_error(self, exc: BaseException, limit: float | None) -> ProviderError:
        import aiohttp

        if isinstance(exc, (asyncio.TimeoutError, TimeoutError)):
            return ProviderTimeoutError(f"no answer within {limit} s", provider=self.provider)
        if isinstance(exc, aiohttp.ClientPayloadError):
            return ProviderConnectionError(
                self.redact(f"the connection was cut mid-answer: {exc}"), provider=self.provider)
        if isinstance(exc, (aiohttp.ClientError, OSError)):
            return ProviderConnectionError(
                self.redact(f"connection to {self.base_url} failed: {exc or type(exc).__name__}"),
                provider=self.provider)
        return ProviderError(self.redact(f"{type(exc).__name__}: {exc}"), provider=self.provider)

    def redact(self, text: str) -> str:
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
