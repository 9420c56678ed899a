"""The package's version, in a module of its own.

Lower layers (the index manifest, the MCP server) record it; they read it from here rather than
from `assistant`, whose public facade lazily imports the factory and would make their imports a
cycle through the composition root.
"""

__version__ = "0.1.0"
