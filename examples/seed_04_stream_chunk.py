"""Seed sample: the StreamChunk dataclass as the guide shows it, checked against ours."""

# --- preamble: names the sample leaves undefined ---
from dataclasses import dataclass, fields
from typing import List, Optional

from selectools import Role, ToolCall
from selectools.types import StreamChunk as LibraryStreamChunk

# --- the seed's sample, unchanged ---
@dataclass
class StreamChunk:
    content: str = "" # Text delta
    role: Role = Role.ASSISTANT
    tool_calls: Optional[List[ToolCall]] = None # Optional; present when chunk contains tool invocations

# --- check: the library's StreamChunk has these fields, with these defaults ---
ours = {f.name: f.default for f in fields(LibraryStreamChunk)}
for field in fields(StreamChunk):
    assert ours[field.name] == field.default, field.name
print("StreamChunk fields match:", [f.name for f in fields(StreamChunk)])
