"""Serve an agent to a browser: `create_app(agent)` is an ASGI app (Starlette; the
`selectools[serve]` extra) speaking the protocols web UIs already use.

    POST /api/chat   the Vercel AI SDK UI message stream (useChat works unchanged)
    POST /agui       AG-UI (RunAgentInput in, AG-UI events out)
    GET  /ws         a WebSocket with the seed's JSON messages plus tool events
    GET  /           the bundled chat page;  GET /healthz

From the command line: `selectools serve mymodule:agent [--host 127.0.0.1] [--port 8000]`.
Importing this package loads no web framework; `create_app` does.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from starlette.applications import Starlette

    from ..agent.core import Agent
    from ..output import ResponseFormat


def create_app(agent: Agent, *, auth_token: str | None = None,
               cors_origins: Sequence[str] = (), max_body_bytes: int = 1_000_000,
               response_format: ResponseFormat | None = None,
               max_conversations: int = 1000, max_conversation_messages: int = 200,
               keepalive_seconds: float | None = 15.0) -> Starlette:
    """An ASGI app serving `agent`; see `selectools.serve.app.create_app`."""
    try:
        from .app import create_app as make
    except ImportError as exc:  # starlette is an optional extra
        raise ImportError(f"serving needs the serve extra: pip install 'selectools[serve]' "
                          f"({exc})") from exc
    return make(agent, auth_token=auth_token, cors_origins=cors_origins,
                max_body_bytes=max_body_bytes, response_format=response_format,
                max_conversations=max_conversations,
                max_conversation_messages=max_conversation_messages,
                keepalive_seconds=keepalive_seconds)


__all__ = ["create_app"]
