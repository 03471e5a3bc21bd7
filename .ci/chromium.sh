# Source this file: makes sure Debian's headless Chromium and its WebDriver are there
# (tests/test_report.py opens the HTML report in it, offline).
if ! command -v chromium >/dev/null 2>&1 || ! command -v chromedriver >/dev/null 2>&1; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
    chromium chromium-driver >/dev/null
fi
echo "$(chromium --version 2>/dev/null | head -n 1)"
