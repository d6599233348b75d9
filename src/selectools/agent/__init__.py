from .config import AgentConfig
from .core import Agent
from .loop import RunTimeoutError

__all__ = ["Agent", "AgentConfig", "RunTimeoutError"]
