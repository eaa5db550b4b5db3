#!/usr/bin/env bash
# Debian's chromium and its chromedriver, for the live scoreboard page's browser test
# (tests/e2e/test_assessment_board.py). Idempotent and quiet: does nothing when both are
# installed; otherwise installs them from Debian's packages (never a downloaded browser).
set -euo pipefail
if [[ -x /usr/bin/chromium && -x /usr/bin/chromedriver ]]; then
  exit 0
fi
SUDO=()
if [[ $(id -u) != 0 ]]; then SUDO=(sudo -n); fi
export DEBIAN_FRONTEND=noninteractive
"${SUDO[@]}" apt-get update -qq >/dev/null
"${SUDO[@]}" apt-get install -y -qq --no-install-recommends chromium chromium-driver >/dev/null
/usr/bin/chromium --version
