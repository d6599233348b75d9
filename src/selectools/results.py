"""Typed tool results, and artifacts: files a tool made, delivered beside its text.

A tool may return a `ToolResult` (a frozen dataclass) instead of a string; the model reads
it as JSON with its `kind` first, so "nothing found" or "several matches" reach the model
as data it can reason over rather than prose. `NotFound` and `Ambiguous` are the two every
lookup tool needs; subclass `ToolResult` for your own kinds.

A tool that produces a file (a chart, an export) calls `emit_artifact(url, ...)` while it
runs: the artifact lands on `AgentResult.artifacts` of that run, so a user interface can
show or deliver it while the model gets a short text reply. Outside a run it does nothing
but return the Artifact, so tools stay callable in scripts and tests.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import Any, ClassVar, TypeVar

from ._artifacts import collector

_Marked = TypeVar("_Marked", bound=Callable[..., Any])


def _beta(obj: _Marked) -> _Marked:
    """Mark an API whose details may still change, as selectools 1.3.0 marks these
    (`__stability__ == "beta"`)."""
    obj.__stability__ = "beta"  # type: ignore[attr-defined]
    return obj


@_beta
@dataclass(frozen=True)
class ToolResult:
    """Base of typed tool results. A subclass names its kind in a class variable:

        @dataclass(frozen=True)
        class RateLimited(ToolResult):
            kind: ClassVar[str] = "rate_limited"
            retry_after: int = 0
    """

    kind: ClassVar[str] = ""

    def to_dict(self) -> dict[str, Any]:
        """`{"kind": ..., **fields}`: the kind first, where a model reads it first.
        (`dataclasses.asdict` leaves a ClassVar out.)"""
        data: dict[str, Any] = {"kind": self.kind} if self.kind else {}
        data.update((f.name, getattr(self, f.name)) for f in fields(self))
        return data


@_beta
@dataclass(frozen=True)
class NotFound(ToolResult):
    """A lookup matched nothing in this source at this time. It does not mean that the
    thing does not exist."""

    kind: ClassVar[str] = "not_found"
    entity: str
    query: str


@_beta
@dataclass(frozen=True)
class Ambiguous(ToolResult):
    """A lookup matched several candidates; `matches` lets the model (or the user) pick."""

    kind: ClassVar[str] = "ambiguous"
    entity: str
    query: str
    matches: list[dict[str, Any]]


@_beta
@dataclass(frozen=True)
class Artifact:
    """A file a tool produced. More than a URL, since URLs expire: `sha256` and `size`
    identify the body without storing it."""

    url: str
    mime_type: str | None = None
    filename: str | None = None
    sha256: str | None = None
    size: int | None = None
    role: str | None = None  # a hint for the consumer: "primary", "preview", ...
    retention: str | None = None  # a hint: "30d", "ephemeral", ...

    def to_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)
                if getattr(self, f.name) is not None}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Artifact:
        if not isinstance(data, dict) or not isinstance(data.get("url"), str):
            raise ValueError(f"Artifact.from_dict needs a dict with a 'url' str, got {data!r}")
        return cls(**{f.name: data[f.name] for f in fields(cls) if f.name in data})


@_beta
def emit_artifact(url: str, *, mime_type: str | None = None, filename: str | None = None,
                  sha256: str | None = None, size: int | None = None,
                  role: str | None = None, retention: str | None = None) -> Artifact:
    """Attach an artifact to the current run (`AgentResult.artifacts`); returns it."""
    artifact = Artifact(url, mime_type, filename, sha256, size, role, retention)
    collected = collector.get()
    if collected is not None:
        collected.append(artifact)
    return artifact
