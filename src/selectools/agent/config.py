"""AgentConfig: how an agent calls the model and runs tools."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class AgentConfig:
    model: str | None = None
    temperature: float = 0.0
    max_tokens: int = 1000
    max_iterations: int = 6
    system_prompt: str | None = None
    parallel_tool_execution: bool = True
    max_parallel_tools: int | None = None
    routing_only: bool = False
    observers: list[Any] = field(default_factory=list)
    request_timeout: float | None = None
    max_retries: int | None = None
    tool_timeout_seconds: float | None = None
    run_timeout: float | None = None
    enable_analytics: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.max_iterations, int) or self.max_iterations < 1:
            raise ValueError(f"max_iterations must be a positive int, got {self.max_iterations!r}")
        if self.max_tokens < 1:
            raise ValueError(f"max_tokens must be positive, got {self.max_tokens!r}")
        if not 0.0 <= self.temperature <= 2.0:
            raise ValueError(f"temperature must be within 0..2, got {self.temperature!r}")
        if self.max_parallel_tools is not None and self.max_parallel_tools < 1:
            raise ValueError(
                f"max_parallel_tools must be at least 1 or None, got {self.max_parallel_tools!r}"
            )
        if self.max_retries is not None and self.max_retries < 0:
            raise ValueError(f"max_retries must be 0 or more, got {self.max_retries!r}")
        for name in ("request_timeout", "tool_timeout_seconds", "run_timeout"):
            value = getattr(self, name)
            if value is not None and value <= 0:
                raise ValueError(f"{name} must be positive or None, got {value!r}")
        self.observers = list(self.observers)
