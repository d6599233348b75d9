"""Non-2xx HTTP answers as typed provider errors, with the server's retry hints."""

from __future__ import annotations

import email.utils
import json
import time
from collections.abc import Callable, Mapping
from typing import Any

from .._json import loads as loads_json
from .errors import (
    AuthenticationError,
    ContextLengthError,
    InvalidRequestError,
    NotFoundError,
    OverloadedError,
    PermissionDeniedError,
    ProviderError,
    ProviderTimeoutError,
    RateLimitError,
    ServerError,
    StreamError,
)


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


# ---------------------------------------------------------------------------------------------
# Errors reported inside a 200 answer

#: The error type words servers send (OpenAI's `type`/`code`, Anthropic's `type`, Google's
#: `status`), for errors that come without a telling HTTP status: inside a 200 answer, a
#: gateway's error object, a mid-stream error event.
ERROR_TYPES: dict[str, type[ProviderError]] = {
    # Anthropic, and OpenAI's words where they are the same
    "invalid_request_error": InvalidRequestError,
    "authentication_error": AuthenticationError,
    "permission_error": PermissionDeniedError,
    "not_found_error": NotFoundError,
    "request_too_large": InvalidRequestError,
    "rate_limit_error": RateLimitError,
    "api_error": ServerError,
    "timeout_error": ProviderTimeoutError,
    "overloaded_error": OverloadedError,
    # OpenAI and compatible servers
    "invalid_api_key": AuthenticationError,
    "model_not_found": NotFoundError,
    "rate_limit_exceeded": RateLimitError,
    "insufficient_quota": RateLimitError,
    "server_error": ServerError,
    "context_length_exceeded": ContextLengthError,
    "exceed_context_size_error": ContextLengthError,
    "string_above_max_length": ContextLengthError,
    # Google (google.rpc.Code names)
    "INVALID_ARGUMENT": InvalidRequestError,
    "FAILED_PRECONDITION": InvalidRequestError,
    "UNAUTHENTICATED": AuthenticationError,
    "PERMISSION_DENIED": PermissionDeniedError,
    "NOT_FOUND": NotFoundError,
    "RESOURCE_EXHAUSTED": RateLimitError,
    "DEADLINE_EXCEEDED": ProviderTimeoutError,
    "UNAVAILABLE": OverloadedError,
    "INTERNAL": ServerError,
}


def reported_error(error: Any, *, provider: str, stream: bool, request_id: Any = None,
                   context_length: Callable[[str], bool] | None = None) -> ProviderError:
    """The typed error for an error a server reported with status 200: the value of an
    answer's or a stream event's `error` key, in any protocol's shape (`{"message", "type",
    "code"}`, Google's `{"code", "message", "status"}`, a bare text). One policy for every
    protocol: the class comes from an HTTP status given as `code`, else from its type word
    (`ERROR_TYPES`), else it is a `ServerError` (a `StreamError` inside a stream, where a
    plain server failure is one too): the server failed to answer, so it is retried and
    fails over. `context_length(message)` picks out,
    by its words, a too-long prompt that carries no telling code."""
    if isinstance(error, Mapping):
        message = error.get("message") or error.get("detail") or json_text(error)
        code, kind = error.get("code"), error.get("type") or error.get("status")
    else:
        message, code, kind = error, None, None
    message = message if isinstance(message, str) else json_text(message)
    words = [word for word in (code, kind) if isinstance(word, str) and word]
    error_type = words[0] if words else None
    request_id = request_id if isinstance(request_id, str) and request_id else None
    too_long = context_length is not None and context_length(message)
    if type(code) is int and 400 <= code <= 599:  # Google's code is the HTTP status
        return error_for_status(provider=provider, status=code, message=message, headers={},
                                error_type=error_type, request_id=request_id,
                                context_length=too_long)
    kind_of = next((ERROR_TYPES[word] for word in words if word in ERROR_TYPES), None)
    if too_long and (kind_of is None or kind_of is InvalidRequestError):
        kind_of = ContextLengthError
    if kind_of is None or kind_of is ServerError:  # the server failed, nothing more specific
        kind_of = StreamError if stream else ServerError
    return kind_of(message or "the server reported an error", provider=provider,
                   error_type=error_type, request_id=request_id)


def json_text(value: Any) -> str:
    """`value` as JSON text for a message (its repr when it is not JSON-able)."""
    try:
        return json.dumps(value)
    except (TypeError, ValueError, RecursionError):
        return repr(value)


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
    except (ValueError, RecursionError):  # RecursionError: JSON nested too deep to read
        return None


#: How much of a body an error message quotes.
SNIPPET_CHARS = 200
#: What ends a quote that was cut. Redaction looks for it: a key cut there shows only its
#: start, which `HttpTransport.redact` masks as it masks the whole key.
CUT_MARK = "..."


def body_snippet(body: bytes | str, limit: int = SNIPPET_CHARS) -> str:
    """The start of a response body (or of a stream event's text), for error messages when
    it has no usable shape: the one place that decides how much of it an error quotes."""
    if isinstance(body, bytes):
        # Only what can be shown: a huge body is not decoded whole for its first 200 chars.
        body = body.lstrip()[:limit * 4 + 4].decode("utf-8", errors="replace")
    text = body.strip()
    return text if len(text) <= limit else text[:limit] + CUT_MARK
