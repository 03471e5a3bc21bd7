"""A fake BlueZ on a private D-Bus for testing bleak's real Linux backend without Bluetooth."""
