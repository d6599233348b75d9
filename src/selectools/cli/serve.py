"""`selectools serve module:agent`: the agent's ASGI app (selectools.serve) on uvicorn.

Given no agent, it serves the demo's (the `search` tool) on the local model when that is
installed, else on the scripted stand-in, saying so."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ._loading import UsageError, _import_attribute, default_provider_name, make_provider
from ._output import PlainOutput

if TYPE_CHECKING:
    from ..agent.core import Agent

#: The environment variable `--auth-token` defaults to (a token on the command line shows
#: in `ps` to every user of the machine).
TOKEN_VARIABLE = "SELECTOOLS_AUTH_TOKEN"


#: The names of this machine's loopback address.
LOOPBACK = ("127.0.0.1", "localhost", "::1")


class LoopbackNamesOnly:
    """For a server on the loopback address without a token: a request must name the
    loopback address as its Host.

    Else DNS rebinding reaches it: a page at `http://evil.example:8000` whose name the
    attacker then points at 127.0.0.1 is, for the browser, of the same origin as this
    server; its requests (Origin and Host both `evil.example:8000`) would run the agent and
    read the answers. A server given a token is not concerned (the page does not have it);
    behind a proxy that sends another Host, give one (--auth-token)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] in ("http", "websocket"):
            from urllib.parse import urlsplit

            host = next((value.decode("latin-1") for name, value in scope["headers"]
                         if name == b"host"), None)
            if host is not None and urlsplit("//" + host).hostname not in LOOPBACK:
                if scope["type"] == "websocket":  # refused before it is accepted: a 403
                    await send({"type": "websocket.close", "code": 1008})
                    return
                from starlette.responses import JSONResponse

                response = JSONResponse({"error": (
                    f"this server answers requests for the loopback address, not for "
                    f"{host!r}: serve it with --auth-token to take other names")},
                    status_code=403)
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


def load_agent(spec: str) -> Agent:
    """`module:attribute` naming an Agent, or a callable that returns one."""
    from ..agent.core import Agent

    found = _import_attribute(spec, "serve")
    if not isinstance(found, Agent) and callable(found):
        try:
            found = found()
        except Exception as exc:  # the user's factory: say which and why, then stop
            raise UsageError(f"serve {spec}: calling it to make the agent failed: "
                             f"{type(exc).__name__}: {exc}") from None
    if not isinstance(found, Agent):
        raise UsageError(f"serve {spec}: expected an Agent (or a function returning one), "
                         f"got {type(found).__name__}")
    return found


def default_agent(output: PlainOutput) -> Agent:
    """The demo's agent on the default provider (the local model, else the stand-in)."""
    from .demo import demo_agent

    name, why = default_provider_name()
    if why:
        output.notice(why)
    return demo_agent(make_provider(name, None))


def run_serve(output: PlainOutput, *, agent_spec: str | None, host: str, port: int,
              auth_token: str | None, cors_origins: Sequence[str],
              max_body_bytes: int, response_format: str | None = None) -> int:
    try:
        import uvicorn

        from ..serve.app import create_app
    except ImportError as exc:
        raise UsageError(f"serving needs the serve extra: pip install 'selectools[serve]' "
                         f"({exc.name} is missing)") from None
    agent = load_agent(agent_spec) if agent_spec else default_agent(output)
    answer_type = _import_attribute(response_format, "--response-format") \
        if response_format else None
    token = auth_token if auth_token is not None else os.environ.get(TOKEN_VARIABLE) or None
    try:
        app = create_app(agent, auth_token=token, cors_origins=list(cors_origins),
                         max_body_bytes=max_body_bytes, response_format=answer_type)
    except (TypeError, ValueError) as exc:
        raise UsageError(f"serve: {exc}") from None
    if token is None and host not in LOOPBACK:
        output.notice(f"warning: serving on {host} without --auth-token: anyone who can reach "
                     "it can run the agent")
    served_app: Any = LoopbackNamesOnly(app) if token is None and host in LOOPBACK else app
    served = agent_spec or f"the demo agent ({getattr(agent.provider, 'name', 'local')})"
    output.hint(f"serving {served} on http://{host}:{port} (Ctrl-C stops)")
    # A stream can last minutes: on Ctrl-C, give open answers a few seconds, then end them
    # (their runs are cancelled with them) rather than wait for each to finish.
    uvicorn.run(served_app, host=host, port=port, log_level="info", ws_max_size=max_body_bytes,
                timeout_graceful_shutdown=5)
    return 0
