"""Local stand-ins for external services (real HTTP servers speaking their wire formats)."""
