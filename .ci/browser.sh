# Sourced by .ci/run: makes sure a headless Chromium is installed for the page's tests.
#
# tests/service/test_web_browser.py drives the system's Chromium through Playwright (the
# Python package, from the test extra; `playwright install` and its browser download are
# not used). Where Chromium is missing it is installed from the system packages (CI runs as
# root on Debian; elsewhere through sudo). Exports JUNIPER_DATA_CHROMIUM, the executable the
# tests launch. Standalone:
# `bash -c 'source .ci/browser.sh; python -m pytest -q tests/service/test_web_browser.py'`.

_jd_chromium() {
  command -v chromium 2>/dev/null || command -v chromium-browser 2>/dev/null || true
}

if [ -z "$(_jd_chromium)" ]; then
  _jd_sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    _jd_sudo="sudo"
  fi
  echo "browser.sh: installing chromium from the system packages" >&2
  $_jd_sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $_jd_sudo apt-get install -y -qq --no-install-recommends \
    chromium chromium-driver fonts-dejavu-core >/dev/null
  unset _jd_sudo
fi
JUNIPER_DATA_CHROMIUM="$(_jd_chromium)"
if [ -z "$JUNIPER_DATA_CHROMIUM" ]; then
  echo "browser.sh: no chromium after installing it" >&2
  return 1 2>/dev/null || exit 1
fi
export JUNIPER_DATA_CHROMIUM
echo "browser.sh: $("$JUNIPER_DATA_CHROMIUM" --version 2>/dev/null || echo chromium) at $JUNIPER_DATA_CHROMIUM" >&2
