"""loadmon.ble."""
