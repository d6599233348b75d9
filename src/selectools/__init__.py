"""selectools: tool-using LLM agents with token-level streaming on every provider."""
