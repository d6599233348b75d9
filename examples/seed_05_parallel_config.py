"""Seed sample: turning parallel tool execution on (it is the default)."""

# --- preamble ---
from selectools import AgentConfig

# --- the seed's sample, unchanged ---
config = AgentConfig(
    parallel_tool_execution=True # Default: enabled
)

# --- check ---
print("parallel_tool_execution:", config.parallel_tool_execution,
      "| default:", AgentConfig().parallel_tool_execution)
