"""madoguchi: desk system for My Number card benefit procedures."""

__version__ = "0.1.0"
