"""The ASGI app: thin HTTP around the pure mappings (ui_stream, agui, websocket).

Routes: `GET /` (the bundled page), `GET /healthz`, `POST /api/chat` (Vercel AI SDK UI
message stream), `POST /agui` (AG-UI), `GET /ws` (WebSocket, the seed's JSON shape).

Faults have one answer each. A body that is no JSON, of the wrong shape, or over
`max_body_bytes` gets a 400/413 JSON `{"error": ...}` naming the problem. A client that goes
away mid-answer cancels the run at once (the disconnect is watched while the model is still
thinking, not noticed at the next write), which closes the run's HTTP stream to the model.
A run that fails ends its stream with the protocol's error frame; the text says what failed
(a provider's error, already redacted where it left the provider) but never carries a
traceback: other exceptions are logged here and reported by their class name only.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
from collections.abc import Awaitable, Callable, Sequence
from contextlib import aclosing
from pathlib import Path
from typing import TYPE_CHECKING, Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.types import ASGIApp, Receive, Scope, Send
from starlette.websockets import WebSocket, WebSocketDisconnect

from .._json import dumps_text
from ..types import Message, Role, check_messages
from . import ui_stream
from ._bodies import (
    BadRequest,
    TooLarge,
    agui_request,
    chat_request,
    decode_json,
    socket_message,
)
from .agui import AgUiStream
from .conversations import Conversations, RunTranscript
from .event_stream import AGUI_HEADERS, EventStream, ServedRun, public_error
from .websocket import socket_frame

if TYPE_CHECKING:
    from ..agent.core import Agent
    from ..output import ResponseFormat

log = logging.getLogger("selectools.serve")

STATIC = Path(__file__).parent / "static"
_PLACEHOLDER = (b"<!doctype html><meta charset=utf-8><title>selectools</title>"
                b"<p>This selectools server speaks POST /api/chat (Vercel AI SDK UI message "
                b"stream), POST /agui (AG-UI) and GET /ws (WebSocket).</p>")
#: Paths anyone may GET without the bearer token: the page must load to ask for it.
_PUBLIC = frozenset({"/", "/healthz"})


class _TooLarge(Exception):
    pass


class _SlowBody(Exception):
    pass


#: How long a request body may take to arrive, whole (a 408 after).
BODY_SECONDS = 60.0


def create_app(agent: Agent, *, auth_token: str | None = None,
               cors_origins: Sequence[str] = (), max_body_bytes: int = 1_000_000,
               response_format: ResponseFormat | None = None,
               max_conversations: int = 1000, max_conversation_messages: int = 200,
               keepalive_seconds: float | None = 15.0) -> Starlette:
    """An ASGI app serving `agent` (mount it in FastAPI with `app.mount("/agent", ...)`).

    `auth_token`: when set, every route but `/` and `/healthz` needs `Authorization: Bearer
    <token>` (a browser's WebSocket may send it as the subprotocols `["bearer", token]`).
    `cors_origins`: the origins allowed to call it from a browser (none by default).
    `max_body_bytes`: the largest request body (or WebSocket message) taken; larger is a 413.
    `response_format`: a type (or JSON schema) every run's final answer is validated as;
    its partial and final values reach the client (see each protocol's module).
    `max_conversations`: how many conversations are kept in memory, by id (without a session
    store), and `max_conversation_messages`: how many of each one's last messages (whole
    exchanges go from the front, as ConversationMemory trims).
    `keepalive_seconds`: an SSE stream silent this long (a model thinking; looked at every
    quarter of it, so within a quarter more) gets a `: ping` comment, which every SSE reader
    skips, so a proxy does not cut it as idle; None: never.
    """
    if not callable(getattr(agent, "astream", None)):
        raise TypeError(f"create_app serves an Agent, got {type(agent).__name__}")
    if auth_token is not None and not auth_token:
        raise ValueError("auth_token is empty: give a token, or None for no authentication")
    if max_body_bytes < 1:
        raise ValueError(f"max_body_bytes must be at least 1, got {max_body_bytes}")
    if isinstance(max_conversation_messages, bool) or not isinstance(
            max_conversation_messages, int) or max_conversation_messages < 1:
        raise ValueError(f"max_conversation_messages must be at least 1 (an int), "
                         f"got {max_conversation_messages!r}")
    if keepalive_seconds is not None and not keepalive_seconds > 0:
        raise ValueError(f"keepalive_seconds must be positive (or None for no pings), "
                         f"got {keepalive_seconds}")
    if isinstance(cors_origins, str):
        raise TypeError("cors_origins must be a list of origins, not one string")
    if response_format is not None:
        from ..output import output_schema

        output_schema(response_format)  # a response_format that is no type: refused now
    if getattr(agent, "memory", None) is not None:
        log.warning("the served agent has memory: every conversation would share it (the "
                    "server keeps each conversation's history by id instead)")
    kept = Conversations(max_conversations, max_conversation_messages)
    server = _Server(agent, max_body_bytes, response_format, kept, keepalive_seconds)

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        return JSONResponse({"error": exc.detail}, status_code=exc.status_code)

    async def server_error(request: Request, exc: Exception) -> Response:
        log.error("unhandled error in %s %s", request.method, request.url.path, exc_info=exc)
        return JSONResponse({"error": "internal server error"}, status_code=500)

    handlers: dict[Any, Any] = {HTTPException: http_error, Exception: server_error}
    app = _App(routes=[
        Route("/", server.page, methods=["GET"]),
        Route("/healthz", server.health, methods=["GET"]),
        Route("/api/chat", _Streaming(server.chat), methods=["POST"]),
        Route("/agui", _Streaming(server.agui), methods=["POST"]),
        WebSocketRoute("/ws", server.socket),
    ], exception_handlers=handlers)
    app.state.conversations = server.conversations
    # add_middleware puts each one outside the ones before it: CORS goes outermost, so a
    # preflight (which carries no credentials) gets its answer without the token.
    if auth_token is not None:
        app.add_middleware(_BearerAuth, token=auth_token)
    app.add_middleware(_SameSite, allowed=tuple(cors_origins))
    if cors_origins:
        from starlette.middleware.cors import CORSMiddleware

        app.add_middleware(CORSMiddleware, allow_origins=list(cors_origins),
                           allow_methods=["GET", "POST"],
                           allow_headers=["authorization", "content-type"],
                           expose_headers=["x-vercel-ai-ui-message-stream"])
    app.as_built(dict(handlers))
    return app


class _App(Starlette):
    """create_app's app. Its streaming POST routes skip Starlette's router and its two
    exception layers, whose send wrappers (ServerErrorMiddleware's, ExceptionMiddleware's)
    are a coroutine call each on every frame a stream writes: the same middlewares wrap
    them (same-site, the bearer token, CORS: what create_app added, in its order), and
    `_Streaming.direct` answers a failure as those layers do. An app changed after
    create_app (a middleware, an exception handler, a route put first, debug) is served
    by Starlette whole."""

    _built: tuple[list[Any], dict[Any, Any], list[Any]] | None = None
    _direct: ASGIApp | None = None
    _streams: dict[str, Any] = {}

    def as_built(self, handlers: dict[Any, Any]) -> None:
        """What create_app made: the app the direct dispatch stands for."""
        self._built = (list(self.user_middleware), handlers, list(self.router.routes))
        self._streams = {route.path: route for route in self.router.routes
                         if isinstance(route, Route) and isinstance(route.endpoint, _Streaming)}

    def build_middleware_stack(self) -> ASGIApp:
        # Called once, when the app first serves (Starlette refuses middleware after).
        self._direct = None
        if self._built is not None:
            middleware, handlers, routes = self._built
            if (self.user_middleware == middleware and self.exception_handlers == handlers
                    and not self.debug and getattr(self, "max_body_size", None) is None
                    and self.router.routes[:len(routes)] == routes
                    and self.router.middleware_stack == self.router.app):
                direct: ASGIApp = self._dispatch
                for cls, args, kwargs in reversed(middleware):
                    direct = cls(direct, *args, **kwargs)
                self._direct = direct
        return super().build_middleware_stack()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.middleware_stack is None:
            self.middleware_stack = self.build_middleware_stack()
        if self._direct is not None and scope["type"] == "http" and scope[
                "method"] == "POST" and _route_path(scope) in self._streams:
            scope["app"] = self
            await self._direct(scope, receive, send)
            return
        await super().__call__(scope, receive, send)

    async def _dispatch(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The router's part: the route found, its scope keys set as Starlette's router sets
        them."""
        route = self._streams[_route_path(scope)]
        scope.setdefault("router", self.router)
        scope["route"] = route
        scope.update(endpoint=route.endpoint, path_params={})
        handlers = self.exception_handlers
        await route.endpoint.direct(scope, receive, send, handlers[HTTPException],
                                    handlers[Exception])


class _Streaming:
    """A streaming route's handler as an ASGI app. Starlette wraps a handler function's
    `send` in one more layer of its own exception handling, a coroutine call on every
    frame a stream writes; an ASGI app it calls as it is, and its ExceptionMiddleware,
    around every route, applies the same handlers."""

    def __init__(self, handler: Callable[[Request], Awaitable[Response]]) -> None:
        self.handler = handler

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = await self.handler(Request(scope, receive, send))
        await response(scope, receive, send)

    async def direct(self, scope: Scope, receive: Receive, send: Send,
                     http_error: Callable[[Request, Exception], Awaitable[Response]],
                     server_error: Callable[[Request, Exception], Awaitable[Response]]) -> None:
        """`__call__` as Starlette's two exception layers run it, without their send
        wrappers (`_App`): a failure before the response starts gets their answer (an
        HTTPException `http_error`'s; anything else `server_error`'s 500, then raised for
        the server to log), one after it is raised as they raise it. A response counts as
        started, as they count it, once its start message goes to `send`."""
        response: Response | None = None
        try:
            response = await self.handler(Request(scope, receive, send))
            await response(scope, receive, send)
        except Exception as exc:
            if response is not None and getattr(response, "started", True):
                if isinstance(exc, HTTPException):
                    raise RuntimeError("Caught handled exception, but response already "
                                       "started.") from exc
                raise
            request = Request(scope)
            if isinstance(exc, HTTPException):
                await (await http_error(request, exc))(scope, receive, send)
                return
            await (await server_error(request, exc))(scope, receive, send)
            raise


class _Server:
    def __init__(self, agent: Agent, max_body_bytes: int,
                 response_format: ResponseFormat | None,
                 conversations: Conversations, keepalive_seconds: float | None) -> None:
        self.agent = agent
        self.keepalive_seconds = keepalive_seconds
        config = getattr(agent, "config", None)
        #: The agent's session store: conversations live there when it has one.
        self.store = getattr(config, "session_store", None)
        self.namespace: str | None = getattr(config, "session_namespace", None)
        self.max_body_bytes = max_body_bytes
        self.response_format = response_format
        self.conversations = conversations

    async def page(self, request: Request) -> Response:
        index = STATIC / "index.html"
        if index.is_file():
            return Response(index.read_bytes(), media_type="text/html; charset=utf-8")
        return HTMLResponse(_PLACEHOLDER)

    async def health(self, request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    # -- /api/chat ---------------------------------------------------------------------

    async def chat(self, request: Request) -> Response:
        try:
            parsed = chat_request(await self._json(request))
            self._check_session_id(parsed.chat_id, "id")
            if parsed.approvals is not None:
                return await self._chat_resume(parsed.chat_id, parsed.approvals,
                                               parsed.continued)
            history = parsed.messages
            if parsed.history_from_server and self.store is None:
                history = self.conversations.get(parsed.chat_id) + history
            check_messages(history)
        except _TooLarge:
            return _too_large(self.max_body_bytes)
        except _SlowBody:
            return _slow_body()
        except TooLarge as exc:  # an image over its own limit
            return JSONResponse({"error": str(exc)}, status_code=413)
        except (BadRequest, ValueError, TypeError) as exc:
            return _bad_request(exc)
        run = await self._run(history, parsed.chat_id,
                              parsed.new_messages or parsed.messages)
        return EventStream(run, ui_stream.UIMessageStream(), ui_stream.DONE,
                           ui_stream.HEADERS, self.conversations, self.keepalive_seconds)

    async def _chat_resume(self, chat_id: str, approvals: dict[str, tuple[bool, str]],
                           continued: str | None) -> Response:
        """useChat answered the tool approvals of its last message: the session's run goes
        on, its stream continuing that message."""
        if self.store is None:
            raise BadRequest("this request answers tool approvals, but the served agent has "
                             "no session store to resume from")
        if not chat_id:
            raise BadRequest("id is needed to answer tool approvals (the conversation's id)")
        decisions = {call_id: approved for call_id, (approved, _) in approvals.items()}
        await self._check_approvals(chat_id, decisions)
        mapper = ui_stream.UIMessageStream(continued or None, resumed=approvals)
        run = ServedRun(self.agent.astream_resume(chat_id, decisions, self.response_format,
                                             events=True))
        return EventStream(run, mapper, ui_stream.DONE, ui_stream.HEADERS, self.conversations,
                           self.keepalive_seconds)

    # -- /agui -------------------------------------------------------------------------

    async def agui(self, request: Request) -> Response:
        try:
            parsed = agui_request(await self._json(request))
            self._check_session_id(parsed.thread_id, "threadId")
            if parsed.approvals is None:
                check_messages(parsed.messages)
            elif self.store is None:
                raise BadRequest("resume answers tool approvals, but the served agent has "
                                 "no session store to resume from")
            else:  # (a resume needs no messages: the session holds them)
                await self._check_approvals(parsed.thread_id, parsed.approvals)
        except _TooLarge:
            return _too_large(self.max_body_bytes)
        except _SlowBody:
            return _slow_body()
        except (BadRequest, ValueError, TypeError) as exc:
            return _bad_request(exc)
        if parsed.approvals is not None:
            run = ServedRun(self.agent.astream_resume(parsed.thread_id, parsed.approvals,
                                                 self.response_format, events=True))
        else:
            run = await self._run(parsed.messages, parsed.thread_id,
                                  _after_last_answer(parsed.messages))
        return EventStream(run, AgUiStream(parsed.thread_id, parsed.run_id), b"",
                           AGUI_HEADERS, self.conversations, self.keepalive_seconds)

    async def _run(self, history: list[Message], conversation_id: str,
                   new: list[Message]) -> ServedRun:
        """A run of the agent on a conversation. With the agent's session store, the
        conversation is the session `conversation_id` (a session that exists already gets
        only the `new` messages: it holds the rest); else the whole `history` is sent and
        the conversation is kept here in memory, by id."""
        agent, output = self.agent, self.response_format
        if self.store is not None and conversation_id:
            exists = await self.store.aexists(conversation_id, self.namespace)
            return ServedRun(agent.astream(new if exists else history, output, events=True,
                                      session_id=conversation_id))
        keep = (conversation_id, history) if conversation_id else None
        return ServedRun(agent.astream(history, output, events=True), keep)

    async def _check_approvals(self, session_id: str, approvals: dict[str, bool]) -> None:
        """A client's answers to tool approvals, checked against what its session waits
        for before the run starts: its mistakes (a call id that waits for nothing, a call
        left undecided, a conversation that waits for none) are a 400 naming them. (The
        resumed run checks them again, the same way, under the session's lock; a run's
        failure reaches a client by its class only.)"""
        from ..agent.run import approval_decisions
        from ..sessions.errors import describe

        assert self.store is not None
        state = await self.store.aget(session_id, self.namespace)
        if state is None or state.pending is None:
            raise BadRequest(f"{describe(session_id, self.namespace)} has no tool calls "
                             "waiting for approval: nothing to resume")
        try:
            approval_decisions(state.pending, approvals)
        except (ValueError, TypeError) as exc:
            raise BadRequest(str(exc)) from None

    def _check_session_id(self, conversation_id: str, field: str) -> None:
        """With a session store, a conversation's id is its session id: one the store cannot
        take (a NUL in it, over 512 characters) is the client's mistake, a 400 naming it."""
        if self.store is None or not conversation_id:
            return
        from ..sessions.record import check_id

        try:
            check_id(field, conversation_id, none_ok=False)
        except ValueError as exc:
            raise BadRequest(f"{exc} (it is the session's id)") from None

    async def _json(self, request: Request) -> Any:
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_body_bytes:
            raise _TooLarge
        body = bytearray()
        try:
            # A client that sends its body a byte a minute (slowloris) would hold a task and
            # a socket for good: uvicorn bounds the wait for headers, not for a body.
            async with asyncio.timeout(BODY_SECONDS):
                async for piece in request.stream():
                    body += piece
                    if len(body) > self.max_body_bytes:
                        raise _TooLarge
        except TimeoutError:
            raise _SlowBody from None
        if not body:
            raise BadRequest("the body is empty: send a JSON object")
        return decode_json(bytes(body))

    # -- /ws ---------------------------------------------------------------------------

    async def socket(self, websocket: WebSocket) -> None:
        offered = websocket.scope.get("subprotocols") or []
        await websocket.accept(subprotocol="bearer" if "bearer" in offered else None)
        running: asyncio.Task[None] | None = None
        try:
            while True:
                received = await websocket.receive()
                if received["type"] == "websocket.disconnect":
                    break
                text = received.get("text")
                if text is None:  # a binary frame
                    await _send(websocket, {"type": "error", "message": (
                        "send JSON as text messages, not binary ones")})
                    continue
                # In bytes, as the limit says (a character is up to 4 of them); counted
                # only when the characters alone could not tell.
                limit = self.max_body_bytes
                if len(text) > limit or (len(text) * 4 > limit and len(
                        text.encode("utf-8", "surrogatepass")) > limit):
                    await _send(websocket, {"type": "error", "message": (
                        f"the message is over the {self.max_body_bytes}-byte limit")})
                    continue
                try:
                    message = socket_message(text)
                    self._check_session_id(message.conversation_id or "", "conversation_id")
                except BadRequest as exc:
                    await _send(websocket, {"type": "error", "message": str(exc)})
                    continue
                if message.kind == "stop":
                    if running is not None and not running.done():
                        running.cancel()
                        await asyncio.gather(running, return_exceptions=True)
                        await _send(websocket, {"type": "stopped"})
                    continue
                if running is not None and not running.done():
                    await _send(websocket, {"type": "error", "message": (
                        "a run is in progress on this socket: wait for done, or send stop")})
                    continue
                if message.kind == "approve":
                    if self.store is None:
                        await _send(websocket, {"type": "error", "message": (
                            "the served agent has no session store to resume from")})
                        continue
                    assert message.conversation_id and message.approvals is not None
                    try:
                        await self._check_approvals(message.conversation_id,
                                                    message.approvals)
                    except ValueError as exc:  # BadRequest, or a corrupt session
                        await _send(websocket, {"type": "error", "message": str(exc)})
                        continue
                    except Exception as exc:  # the store failed: the server's, not theirs
                        await _send(websocket, {"type": "error",
                                                "message": public_error(exc)})
                        continue
                    resumed = ServedRun(self.agent.astream_resume(
                        message.conversation_id, message.approvals, self.response_format,
                        events=True))
                    running = asyncio.ensure_future(self._socket_run(
                        websocket, [], [], message.conversation_id, resumed))
                    continue
                conversation = message.conversation_id or _new_conversation_id()
                said = [Message(role=Role.USER, content=message.content)]
                history = said if self.store is not None else \
                    self.conversations.get(conversation) + said
                running = asyncio.ensure_future(self._socket_run(websocket, history, said,
                                                                 conversation))
        except WebSocketDisconnect:
            pass
        finally:
            if running is not None and not running.done():
                running.cancel()
                await asyncio.gather(running, return_exceptions=True)

    async def _socket_run(self, websocket: WebSocket, history: list[Message],
                          said: list[Message], conversation: str,
                          run: ServedRun | None = None) -> None:
        transcript = RunTranscript()
        try:
            if run is None:
                run = await self._run(history, conversation, said)
            async with aclosing(run.items) as items:
                async for item in items:
                    transcript.feed(item)
                    frame = socket_frame(item, conversation)
                    if frame is not None:
                        await _send(websocket, frame)
        except Exception as exc:
            try:
                await _send(websocket, {"type": "error", "message": public_error(exc)})
            except Exception:  # the socket is gone too: nothing left to tell
                pass
            return
        if run.keep is not None:
            self.conversations.put(conversation, history + transcript.messages())


async def _send(websocket: WebSocket, frame: dict[str, Any]) -> None:
    """One frame as a JSON text message. A text holding half a surrogate pair (a client's
    lone `\\ud83d`, which a model may echo) has no UTF-8 to go as: then with JSON escapes
    (Starlette's send_json raised UnicodeEncodeError, and the run ended)."""
    await websocket.send_text(dumps_text(frame))


def _after_last_answer(messages: list[Message]) -> list[Message]:
    """The user's messages after the last assistant message: what a session does not hold
    yet. Tool results there are not taken: the session holds the results its own runs
    produced, so a client's are copies of those or forgeries (a result for a call no model
    made, which would be stored, and which every provider refuses on each later turn)."""
    start = 0
    for index in range(len(messages) - 1, -1, -1):
        if messages[index].role is Role.ASSISTANT:
            start = index + 1
            break
    return [message for message in messages[start:] if message.role is Role.USER]


def _new_conversation_id() -> str:
    from ._calls import new_id

    return new_id("conv")


class _BearerAuth:
    """Requires `Authorization: Bearer <token>` (compared in constant time) on every route
    but the public ones; a WebSocket may offer it as the subprotocols `bearer, <token>`."""

    def __init__(self, app: ASGIApp, token: str) -> None:
        self.app = app
        self.token = token.encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind not in ("http", "websocket") or (
                kind == "http" and scope["method"] in ("GET", "HEAD")
                and _route_path(scope) in _PUBLIC) or self._allowed(scope):
            await self.app(scope, receive, send)
            return
        if kind == "websocket":
            await send({"type": "websocket.close", "code": 1008})
            return
        response = JSONResponse({"error": "missing or wrong bearer token (send "
                                          "Authorization: Bearer <token>)"},
                                status_code=401, headers={"www-authenticate": "Bearer"})
        await response(scope, receive, send)

    def _allowed(self, scope: Scope) -> bool:
        offered = b""
        for name, value in scope.get("headers", ()):
            if name == b"authorization":
                scheme, _, credentials = value.partition(b" ")
                if scheme.lower() == b"bearer":
                    offered = credentials.strip()
            elif name == b"sec-websocket-protocol" and not offered:
                protocols = [p.strip() for p in value.split(b",")]
                if len(protocols) == 2 and protocols[0] == b"bearer":
                    offered = protocols[1]
        return hmac.compare_digest(offered, self.token)


class _SameSite:
    """Refuses what a web page of another site asks: a POST or a WebSocket whose `Origin`
    is neither this server's own (its `Host`, or `X-Forwarded-Host` behind a proxy) nor one
    of `cors_origins` gets a 403.

    CORS does not cover these: a browser sends a cross-site POST of `text/plain` without a
    preflight, and opens a WebSocket to any address. Without this check any page the user
    visits could run the agent (its tools with it) on a server without a token, such as
    `selectools serve` on the loopback address, and read the answers over /ws. Clients
    that are no browser send no Origin and are not concerned. (A page cannot forge
    `X-Forwarded-Host`: a header of its own makes its POST one that needs a preflight,
    and a WebSocket takes none.)"""

    def __init__(self, app: ASGIApp, allowed: Sequence[str]) -> None:
        self.app = app
        self.any_origin = "*" in allowed
        self.allowed = frozenset(origin.rstrip("/").lower() for origin in allowed)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "websocket" or (kind == "http"
                                   and scope["method"] not in ("GET", "HEAD", "OPTIONS")):
            origin, hosts = None, []
            for name, value in scope.get("headers", ()):
                if name == b"origin":
                    origin = value.decode("latin-1")
                elif name in (b"host", b"x-forwarded-host"):
                    hosts.append(value.decode("latin-1").split(",")[0].strip())
            if origin is not None and not self._allowed(origin, hosts):
                if kind == "websocket":  # closed before it is accepted: a 403
                    await send({"type": "websocket.close", "code": 1008})
                    return
                response = JSONResponse({"error": (
                    f"requests from pages of {origin} are not taken: serve the page from "
                    "this server, or give its origin in cors_origins (--cors-origin)")},
                    status_code=403)
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)

    def _allowed(self, origin: str, hosts: list[str]) -> bool:
        if self.any_origin or origin.rstrip("/").lower() in self.allowed:
            return True
        from urllib.parse import urlsplit

        try:
            page = urlsplit(origin)
            if page.scheme not in ("http", "https") or not page.hostname:
                return False  # "null" (a sandboxed frame, a file): no site of ours
            default = 443 if page.scheme == "https" else 80
            where = (page.hostname, page.port or default)
            for host in hosts:
                served = urlsplit("//" + host)
                if (served.hostname, served.port or default) == where:
                    return True
        except ValueError:  # a port that is no number
            return False
        return False


def _route_path(scope: Scope) -> str:
    """The path inside this app: mounted under a prefix (FastAPI's `mount`), the prefix is
    the scope's root_path and the path still carries it."""
    path: str = scope["path"]
    root: str = scope.get("root_path", "")
    return path[len(root):] or "/" if root and path.startswith(root) else path


def _bad_request(exc: Exception) -> Response:
    return JSONResponse({"error": str(exc)}, status_code=400)


def _too_large(limit: int) -> Response:
    return JSONResponse({"error": f"the body is over the {limit}-byte limit"}, status_code=413)



def _slow_body() -> Response:
    return JSONResponse({"error": f"the body did not arrive within {BODY_SECONDS:g} s"},
                        status_code=408, headers={"connection": "close"})
