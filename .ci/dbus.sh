# Source this file: makes sure Debian's dbus-daemon is there (tests/test_ble_fake.py starts a
# private bus with a fake BlueZ on it, so bleak's real Linux backend runs without Bluetooth).
if ! command -v dbus-daemon >/dev/null 2>&1; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq dbus >/dev/null
fi
echo "$(dbus-daemon --version | head -n 1)"
