from .config import AgentConfig
from .core import Agent
from .deadline import RunTimeoutError

__all__ = ["Agent", "AgentConfig", "RunTimeoutError"]
