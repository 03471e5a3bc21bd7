"""loadmon.report."""
