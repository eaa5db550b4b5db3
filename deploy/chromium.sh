#!/usr/bin/env bash
# Debian's chromium and its chromedriver, for the live scoreboard page's browser test
# (tests/e2e/test_assessment_board.py), and its translations (chromium-l10n): the workbench's
# browser test runs Chromium in zh-CN, as a township's desktop shows the pages (date inputs
# read 年/月/日). Idempotent and quiet: does nothing when all are installed; otherwise installs
# them from Debian's packages (never a downloaded browser).
set -euo pipefail
if [[ -x /usr/bin/chromium && -x /usr/bin/chromedriver && -f /usr/lib/chromium/locales/zh-CN.pak ]]; then
  exit 0
fi
SUDO=()
if [[ $(id -u) != 0 ]]; then SUDO=(sudo -n); fi
export DEBIAN_FRONTEND=noninteractive
"${SUDO[@]}" apt-get update -qq >/dev/null
"${SUDO[@]}" apt-get install -y -qq --no-install-recommends chromium chromium-driver \
  chromium-l10n >/dev/null
/usr/bin/chromium --version
