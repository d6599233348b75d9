"""Model providers: `from selectools.providers import OpenAIProvider, ProviderError`.

Every name is imported on first access, so `import selectools` (which imports this package
for the provider protocol) still loads no provider module and no HTTP client.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from .registry import lazy_names

_ERRORS = ("ProviderError", "AuthenticationError", "PermissionDeniedError", "NotFoundError",
           "InvalidRequestError", "ContextLengthError", "RateLimitError", "ServerError",
           "OverloadedError", "ProviderTimeoutError", "ProviderConnectionError", "RedirectError",
           "StreamError", "MalformedResponseError", "MalformedStreamError", "ResponseTooLargeError")

# Name -> module; the provider classes come from the registry (which imports nothing).
_LAZY: dict[str, str] = {
    **lazy_names(),
    "Provider": f"{__name__}.base",
    "FallbackProvider": f"{__name__}.fallback",
    **{name: f"{__name__}.errors" for name in _ERRORS},
}

if TYPE_CHECKING:
    from .anthropic import AnthropicProvider
    from .base import Provider
    from .errors import (
        AuthenticationError,
        ContextLengthError,
        InvalidRequestError,
        MalformedResponseError,
        MalformedStreamError,
        NotFoundError,
        OverloadedError,
        PermissionDeniedError,
        ProviderConnectionError,
        ProviderError,
        ProviderTimeoutError,
        RateLimitError,
        RedirectError,
        ResponseTooLargeError,
        ServerError,
        StreamError,
    )
    from .fallback import FallbackProvider
    from .gemini import GeminiProvider
    from .llamacpp import LlamaCppProvider
    from .ollama import OllamaProvider
    from .openai import OpenAIProvider
    from .stubs import LocalProvider


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'selectools.providers' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value  # the next access is a plain global lookup
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_LAZY])


__all__ = [
    "AnthropicProvider", "AuthenticationError", "ContextLengthError", "FallbackProvider",
    "GeminiProvider", "InvalidRequestError", "LlamaCppProvider", "LocalProvider",
    "MalformedResponseError", "MalformedStreamError", "NotFoundError", "OllamaProvider",
    "OpenAIProvider", "OverloadedError", "PermissionDeniedError", "Provider",
    "ProviderConnectionError", "ProviderError", "ProviderTimeoutError", "RateLimitError",
    "RedirectError", "ResponseTooLargeError", "ServerError", "StreamError",
]
