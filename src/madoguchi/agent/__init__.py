"""The card agent: bridges the desk page (browser) and the card reader on a desk terminal.

Pure library: no Django import (it runs on terminals without the server's database).
Protocol: docs/visits.md; operation: docs/agent.md.
"""

from madoguchi.agent.config import AgentConfig, ConfigError
from madoguchi.agent.core import Agent, running_agent

__all__ = ["Agent", "AgentConfig", "ConfigError", "running_agent"]
