"""Typed provider errors. Retry and fallback decide on these classes, never on message text."""

from __future__ import annotations


class ProviderError(Exception):
    """A provider call failed. `retryable` says whether trying again may succeed."""

    retryable = False
    #: Whether another provider could plausibly succeed where this one failed.
    fail_over = False

    def __init__(self, message: str, *, provider: str = "", status: int | None = None,
                 retry_after: float | None = None, request_id: str | None = None,
                 error_type: str | None = None, should_retry: bool | None = None) -> None:
        self.message = message
        self.provider = provider
        self.status = status
        self.retry_after = retry_after
        self.request_id = request_id
        self.error_type = error_type
        # The server's own verdict (`x-should-retry`) overrides the class default.
        self.should_retry = self.retryable if should_retry is None else should_retry
        super().__init__(self._describe())

    def reword(self, *, message: str | None = None, provider: str | None = None) -> None:
        """Change the message or the provider named, keeping `str(self)` and `args` in step
        (the provider boundary uses it to redact keys and to name the provider)."""
        if message is not None:
            self.message = message
        if provider is not None:
            self.provider = provider
        self.args = (self._describe(),)

    def _describe(self) -> str:
        where = self.provider or "provider"
        status = f" {self.status}" if self.status is not None else ""
        kind = f" [{self.error_type}]" if self.error_type else ""
        return f"{where}{status}{kind}: {self.message}"


class AuthenticationError(ProviderError):
    """401: the API key is missing or wrong."""

    fail_over = True  # another provider has its own key and models


class PermissionDeniedError(ProviderError):
    """403: the key may not use this model or endpoint."""

    fail_over = True  # another provider has its own key and models


class NotFoundError(ProviderError):
    """404: unknown model or endpoint."""

    fail_over = True  # another provider has its own key and models


class InvalidRequestError(ProviderError):
    """400/422: the request itself is wrong; every provider would refuse it."""


class ContextLengthError(InvalidRequestError):
    """The prompt is longer than the model's context window."""


class RateLimitError(ProviderError):
    """429: too many requests or tokens; `retry_after` holds the server's delay if given."""

    retryable = True
    fail_over = True


class ServerError(ProviderError):
    """5xx: the provider failed."""

    retryable = True
    fail_over = True


class OverloadedError(ServerError):
    """503/529: the provider is overloaded."""


class ProviderTimeoutError(ProviderError):
    """No answer (or no next byte of a stream) within the timeout."""

    retryable = True
    fail_over = True


class ProviderConnectionError(ProviderError):
    """The connection could not be made or was dropped."""

    retryable = True
    fail_over = True


class StreamError(ProviderError):
    """The server reported an error inside a stream that had started with status 200."""

    retryable = True
    fail_over = True


class RedirectError(ProviderError):
    """The server redirected to another origin (or in a way that would change the request):
    not followed, so that the API key is never sent elsewhere. Not retried (the same server
    redirects again); another provider may well answer."""

    retryable = False
    fail_over = True


class MalformedResponseError(ProviderError):
    """The server answered, but not in the protocol's shape: a field of the wrong type, a
    tool call without a name, a stream with no events, JSON nested too deep. The message
    names what was wrong and where ("choices[0].message.tool_calls[1] has no function
    name"). Retrying the same server rarely helps; another provider may well answer."""

    fail_over = True


class MalformedStreamError(MalformedResponseError, StreamError):
    """A streamed answer that is not in the protocol's shape (an event that is not JSON, an
    empty body, a chunk of the wrong shape): a `StreamError` (as every error inside a 200
    stream) and a `MalformedResponseError`. Not retried: the same server sends the same."""

    retryable = False


class ResponseTooLargeError(MalformedResponseError):
    """An answer longer than the provider's `max_response_bytes`, or one stream event (an SSE
    event, an NDJSON line) longer than its `max_event_bytes`: the rest is not read, and the
    connection is closed rather than returned to the pool. `setting` names the limit, `limit`
    is its value, `received` the bytes read (or announced by Content-Length) when it was
    refused. Not retried: the same server sends the same. Another provider may well answer,
    so a FallbackProvider moves on (a broken or hostile server, not a bad request)."""

    def __init__(self, message: str, *, setting: str = "", limit: int = 0, received: int = 0,
                 provider: str = "", status: int | None = None) -> None:
        self.setting = setting
        self.limit = limit
        self.received = received
        super().__init__(message, provider=provider, status=status)
