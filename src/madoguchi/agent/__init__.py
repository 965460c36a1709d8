"""The card agent: bridges the desk page (browser) and the card reader on a desk terminal.

Pure library: no Django import (it runs on terminals without the server's database).
Protocol: docs/visits.md; operation: docs/agent.md.
"""

from madoguchi.agent.config import AgentConfig, ConfigError
from madoguchi.agent.server import Agent, run_agent_in_thread, running_agent

__all__ = ["Agent", "AgentConfig", "ConfigError", "run_agent_in_thread", "running_agent"]
