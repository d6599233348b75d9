"""Per-tool counters, kept when AgentConfig(enable_analytics=True)."""

from __future__ import annotations

from dataclasses import dataclass, field

from .._dataclass import DataclassMethods


# repr and eq from DataclassMethods: none compiled at import.
@dataclass(repr=False, eq=False)
class ToolStats(DataclassMethods):
    calls: int = 0
    errors: int = 0
    total_ms: float = 0.0

    @property
    def average_ms(self) -> float:
        return self.total_ms / self.calls if self.calls else 0.0


@dataclass(repr=False, eq=False)
class ToolAnalytics(DataclassMethods):
    tools: dict[str, ToolStats] = field(default_factory=dict)

    def record(self, tool_name: str, ok: bool, duration_ms: float) -> None:
        stats = self.tools.setdefault(tool_name, ToolStats())
        stats.calls += 1
        stats.errors += 0 if ok else 1
        stats.total_ms += duration_ms
