"""What can go wrong with a stored session, each error naming the session."""

from __future__ import annotations


class SessionError(Exception):
    """A problem with one stored session; `session_id` and `namespace` say which."""

    def __init__(self, message: str, session_id: str, namespace: str | None = None) -> None:
        super().__init__(message)
        self.session_id = session_id
        self.namespace = namespace


def describe(session_id: str, namespace: str | None) -> str:
    """`session 'a'` or `session 'a' (namespace 'n')`, for messages."""
    return f"session {session_id!r}" + (f" (namespace {namespace!r})" if namespace else "")


class SessionConflictError(SessionError):
    """Another run committed to the session after this run loaded it: this run's messages
    were not committed (they would have overwritten the other's). Run again to answer on
    top of the new state, or set `AgentConfig(session_conflict="wait")` to queue runs of
    one session instead."""


class SessionCorruptError(SessionError, ValueError):
    """A stored record that is not a session this version can read (damaged, foreign, or
    from a newer version). Nothing was changed: the record is left as it is."""


class SessionLockTimeout(SessionError, TimeoutError):
    """`session_conflict="wait"`: the session stayed busy with another run for longer than
    `session_wait_timeout`."""


class ApprovalPendingError(SessionError, ValueError):
    """The session waits for a person's decision on tool calls: resume it with
    `agent.resume(session_id, approvals={call_id: True | False | {"arguments": ...}})`
    before sending it a new message."""
