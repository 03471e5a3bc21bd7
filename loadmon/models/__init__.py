"""loadmon.models."""
