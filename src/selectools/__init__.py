"""selectools: tool-using LLM agents with token-level streaming on every provider.

Importing this package loads no HTTP client and no provider module: provider classes are
imported on first access (`selectools.OpenAIProvider`), and aiohttp on a provider's first
request. Names a first run does not need (`ConversationMemory`, `ToolRegistry`, typed
output, sessions, ...) load on first access too (tests/test_import_weight.py).
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from .agent import Agent, AgentConfig, RunTimeoutError
from .observer import AgentObserver, AsyncAgentObserver, LoggingObserver
from .providers.registry import lazy_names
from .tools import Tool, ToolParameter, tool
from .trace import AgentTrace, TraceStep
from .types import (
    AgentResult,
    ContentPart,
    Message,
    Role,
    StreamChunk,
    ToolCall,
    image_message,
    text_content,
)
from .usage import AgentUsage, UsageStats

__version__ = "0.11.0"

# The provider classes come from the one registry the CLI and `testing` read too.
# Typed output too: most programs never ask for it, and it is most of a package.
_LAZY = {**lazy_names(), "FallbackProvider": "selectools.providers.fallback",
         "ToolCallParser": "selectools.parser",
         # Memory and a tool registry: each a convenience a first run does without.
         "ConversationMemory": "selectools.memory", "ToolRegistry": "selectools.tools.registry",
         "OutputValidationError": "selectools.output", "ResponseFormat": "selectools.output",
         **{name: "selectools.results" for name in (
             "ToolResult", "NotFound", "Ambiguous", "Artifact", "emit_artifact")},
         # Sessions and tracing: each store loads its own driver only when it is made.
         **{name: "selectools.sessions" for name in (
             "SessionStore", "SQLiteSessionStore", "JsonFileSessionStore",
             "RedisSessionStore", "PostgresSessionStore", "SessionConflictError",
             "ApprovalPendingError")},
         "OTelObserver": "selectools.otel"}
# Submodules `import selectools` loaded before they were deferred (session 7): still
# reachable as attributes (`selectools.memory.ConversationMemory`), imported when read.
_SUBMODULES = frozenset({"memory", "parser", "_sync"})

if TYPE_CHECKING:
    from .memory import ConversationMemory
    from .otel import OTelObserver
    from .output import OutputValidationError, ResponseFormat
    from .parser import ToolCallParser
    from .providers.anthropic import AnthropicProvider
    from .providers.fallback import FallbackProvider
    from .providers.gemini import GeminiProvider
    from .providers.llamacpp import LlamaCppProvider
    from .providers.ollama import OllamaProvider
    from .providers.openai import OpenAIProvider
    from .providers.stubs import LocalProvider
    from .results import Ambiguous, Artifact, NotFound, ToolResult, emit_artifact
    from .sessions import (
        ApprovalPendingError,
        JsonFileSessionStore,
        PostgresSessionStore,
        RedisSessionStore,
        SessionConflictError,
        SessionStore,
        SQLiteSessionStore,
    )
    from .tools.registry import ToolRegistry


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        if name in _SUBMODULES:  # (importing it sets it on the package: read once here)
            return import_module(f"{__name__}.{name}")
        raise AttributeError(f"module 'selectools' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY, *_SUBMODULES})


__all__ = [
    "Agent", "AgentConfig", "AgentObserver", "AgentResult", "AgentTrace", "AgentUsage",
    "Ambiguous", "Artifact", "AsyncAgentObserver", "ContentPart", "ConversationMemory",
    "LoggingObserver", "Message", "NotFound", "OutputValidationError", "ResponseFormat", "Role",
    "RunTimeoutError", "StreamChunk", "Tool",
    "ToolCall", "ToolCallParser", "ToolParameter", "ToolRegistry", "ToolResult", "TraceStep",
    "UsageStats", "emit_artifact", "image_message", "text_content", "tool",
    "OpenAIProvider", "AnthropicProvider", "GeminiProvider", "OllamaProvider",
    "FallbackProvider", "LlamaCppProvider", "LocalProvider",
    "SessionStore", "SQLiteSessionStore", "JsonFileSessionStore", "RedisSessionStore",
    "PostgresSessionStore", "SessionConflictError", "ApprovalPendingError", "OTelObserver",
]
