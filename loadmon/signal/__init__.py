"""loadmon.signal."""
