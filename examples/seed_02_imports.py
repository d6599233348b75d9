"""Seed sample: the imports of the streaming guide."""

# --- the seed's sample, unchanged ---
from selectools import Agent, AgentConfig, Message, Role
from selectools.types import StreamChunk, AgentResult

# --- check ---
print("imported", Agent.__name__, AgentConfig.__name__, Message.__name__, Role.__name__,
      StreamChunk.__name__, AgentResult.__name__)
