"""Non-2xx HTTP answers as typed provider errors, with the server's retry hints."""

from __future__ import annotations

import email.utils
import time
from collections.abc import Mapping
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
